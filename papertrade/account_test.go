package papertrade

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var _ portfolio.Reportable = (*Result)(nil)
var _ portfolio.Reportable = (*Account)(nil)
var _ portfolio.PriceSource = (*ReplayQuotes)(nil)
var _ Booker = (*portfolio.Ledger)(nil)
var _ Holdings = (*portfolio.Ledger)(nil)

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func TestBookBacktestIntoLedger(t *testing.T) {
	bars := loadGOOG(t)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Compat: true})
	require.NoError(t, err)
	ledger, err := portfolio.NewLedger(portfolio.Account{ID: "bt", Name: "backtest", Currency: "USD", AllowShort: true})
	require.NoError(t, err)
	require.NoError(t, res.Book(ledger, BookOptions{Account: "bt", Symbol: "GOOG", Currency: "USD", Deposit: true}))
	assert.Equal(t, 1+2*66, ledger.Len(), "a deposit and two fills per trade")
	cash, err := ledger.Cash("bt")
	require.NoError(t, err)
	assert.True(t, cash.Equal(dec("51422.99")), "ledger cash %s is backtesting.py's final equity", cash)
	assert.Empty(t, ledger.Positions("bt"), "every trade was closed")
}

func TestBookIsAtomic(t *testing.T) {
	bars := loadGOOG(t)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	require.NoError(t, err)
	// This account does not allow shorts: the first short sale is
	// rejected and nothing at all is booked.
	ledger, err := portfolio.NewLedger(portfolio.Account{ID: "long", Name: "long only", Currency: "USD"})
	require.NoError(t, err)
	err = res.Book(ledger, BookOptions{Account: "long", Symbol: "GOOG", Deposit: true})
	require.ErrorIs(t, err, ErrBooking)
	assert.Equal(t, 0, ledger.Len())
	_, err = res.Transactions(BookOptions{})
	assert.ErrorIs(t, err, ErrBooking)
	assert.ErrorIs(t, res.Book(nil, BookOptions{Account: "a", Symbol: "b"}), ErrBooking)

	txs, err := res.Transactions(BookOptions{Account: "x", Symbol: "GOOG", IDPrefix: "run7"})
	require.NoError(t, err)
	assert.Equal(t, "run7-1", txs[0].ID)
	// The first trade is a short: a sale, then a buy to cover.
	assert.Equal(t, portfolio.TxSell, txs[0].Kind)
	assert.True(t, txs[0].Quantity.IsPositive())
	assert.Equal(t, portfolio.TxBuy, txs[1].Kind)
	assert.True(t, txs[0].Quantity.Equal(txs[1].Quantity))
}

type paperFixture struct {
	ledger *portfolio.Ledger
	quotes *ReplayQuotes
	bars   []Bar
	clock  time.Time
}

func newPaperFixture(t *testing.T) *paperFixture {
	t.Helper()
	bars := loadGOOG(t)[:60]
	q, err := NewReplayQuotes("USD", map[string][]Bar{"GOOG": bars})
	require.NoError(t, err)
	l, err := portfolio.NewLedger(portfolio.Account{ID: "paper", Name: "paper", Currency: "USD"})
	require.NoError(t, err)
	return &paperFixture{ledger: l, quotes: q, bars: bars, clock: bars[0].Time}
}

func (f *paperFixture) now() time.Time { f.clock = f.clock.Add(time.Minute); return f.clock }

func (f *paperFixture) open(t *testing.T) *Account {
	t.Helper()
	a, err := NewAccount(context.Background(), AccountOptions{
		ID: "paper", Quotes: f.quotes, Book: f.ledger, Deposit: dec("10000"),
		SlippageBps: 10, Commission: CommissionModel{Fixed: 1, Rate: 0.001}, Now: f.now,
	})
	require.NoError(t, err)
	return a
}

func TestAccountMarketOrders(t *testing.T) {
	f := newPaperFixture(t)
	ctx := context.Background()
	a := f.open(t)
	ex, err := a.Buy(ctx, "GOOG", dec("10"))
	require.NoError(t, err)
	// GOOG's first close is 100.34; plus 10 bps slippage.
	assert.True(t, ex.Price.Equal(dec("100.44034")), "price %s", ex.Price)
	wantFee := dec("1").Add(dec("0.001").Mul(dec("10")).Mul(ex.Price)).Round(8)
	assert.True(t, ex.Fee.Equal(wantFee), "fee %s", ex.Fee)
	wantCash := dec("10000").Sub(ex.Price.Mul(dec("10"))).Sub(wantFee)
	assert.True(t, a.Cash().Equal(wantCash))
	ledgerCash, err := f.ledger.Cash("paper")
	require.NoError(t, err)
	assert.True(t, ledgerCash.Equal(wantCash.Round(2)), "ledger %s, account %s", ledgerCash, wantCash)
	pos, ok := f.ledger.Position("paper", "GOOG")
	require.True(t, ok)
	assert.True(t, pos.Quantity.Equal(dec("10")))

	// Selling more than is held fails and changes nothing.
	before := f.ledger.Len()
	_, err = a.Sell(ctx, "GOOG", dec("11"))
	require.ErrorIs(t, err, ErrInsufficientHoldings)
	assert.Equal(t, before, f.ledger.Len())
	_, err = a.Buy(ctx, "GOOG", dec("1000"))
	require.ErrorIs(t, err, ErrInsufficientFunds)
	_, err = a.Buy(ctx, "MSFT", dec("1"))
	require.ErrorIs(t, err, ErrNoQuote)
	_, err = a.Buy(ctx, "GOOG", dec("-1"))
	require.ErrorIs(t, err, ErrInvalidOrder)
	assert.Equal(t, before, f.ledger.Len())

	// P&L follows the quotes.
	require.True(t, f.quotes.Advance())
	eq, err := a.Equity(ctx)
	require.NoError(t, err)
	assert.True(t, eq.Equal(a.Cash().Add(dec("10").Mul(toDecimal(f.bars[1].Close)))))

	ex, err = a.Sell(ctx, "GOOG", dec("10"))
	require.NoError(t, err)
	assert.True(t, ex.Price.LessThan(toDecimal(f.bars[1].Close)), "sells fill below the quote")
	assert.Empty(t, a.Positions())
	assert.Contains(t, a.Summary(), "paper account paper")
}

func TestAccountLimitOrdersAndResume(t *testing.T) {
	f := newPaperFixture(t)
	ctx := context.Background()
	a := f.open(t)
	limit := dec("110")
	id, err := a.PlaceLimit("GOOG", Buy, dec("5"), limit)
	require.NoError(t, err)
	// GOOG trades above 110 for a while after its first days; walk the
	// quotes until the order fills, checking it only fills at or below 110.
	var filled []Execution
	for len(filled) == 0 && f.quotes.Advance() {
		filled, err = a.Poll(ctx)
		require.NoError(t, err)
		p, _, _ := f.quotes.Price(ctx, "GOOG")
		if len(filled) == 0 {
			assert.True(t, p.GreaterThan(limit), "quote %s should have filled", p)
		}
	}
	require.Len(t, filled, 1)
	assert.Equal(t, id, filled[0].OrderID)
	assert.True(t, filled[0].Price.LessThanOrEqual(limit))
	assert.Empty(t, a.Orders())

	sellID, err := a.PlaceLimit("GOOG", Sell, dec("5"), dec("1000"))
	require.NoError(t, err)
	require.NoError(t, a.Cancel(sellID))
	assert.ErrorIs(t, a.Cancel(sellID), ErrUnknownOrder)
	_, err = a.PlaceLimit("GOOG", Buy, dec("1"), dec("0"))
	assert.ErrorIs(t, err, ErrInvalidOrder)

	// A new Account over the same ledger resumes: same cash and position,
	// no second deposit.
	b := f.open(t)
	assert.True(t, b.Cash().Round(2).Equal(a.Cash().Round(2)), "%s vs %s", b.Cash(), a.Cash())
	assert.True(t, b.Positions()["GOOG"].Equal(dec("5")))
	bal, err := f.ledger.Balance("paper")
	require.NoError(t, err)
	assert.True(t, bal.Deposits.Equal(dec("10000")))
}

func TestAccountConcurrentTrading(t *testing.T) {
	f := newPaperFixture(t)
	a := f.open(t)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 5 {
				_, _ = a.Buy(context.Background(), "GOOG", dec("1"))
			}
		})
	}
	wg.Wait()
	assert.True(t, a.Positions()["GOOG"].Equal(dec("40")))
	pos, ok := f.ledger.Position("paper", "GOOG")
	require.True(t, ok)
	assert.True(t, pos.Quantity.Equal(dec("40")))
}

func TestAccountBadSetup(t *testing.T) {
	f := newPaperFixture(t)
	_, err := NewAccount(context.Background(), AccountOptions{ID: "paper"})
	assert.ErrorIs(t, err, ErrInvalidOptions)
	_, err = NewAccount(context.Background(), AccountOptions{ID: "nope", Quotes: f.quotes, Book: f.ledger})
	assert.Error(t, err, "unknown ledger account")
	eur, err := NewReplayQuotes("EUR", map[string][]Bar{"SAP": f.bars})
	require.NoError(t, err)
	a, err := NewAccount(context.Background(), AccountOptions{ID: "paper", Quotes: eur, Book: f.ledger, Deposit: dec("100")})
	require.NoError(t, err)
	_, err = a.Buy(context.Background(), "SAP", dec("1"))
	assert.ErrorIs(t, err, ErrCurrency)
	_, err = NewReplayQuotes("USD", nil)
	assert.ErrorIs(t, err, ErrNoBars)
}

func TestSideJSON(t *testing.T) {
	b, err := json.Marshal(LiveOrder{ID: 1, Symbol: "X", Side: Sell, Quantity: dec("2"), Limit: dec("3")})
	require.NoError(t, err)
	assert.Contains(t, string(b), `"side":"sell"`)
	var o LiveOrder
	require.NoError(t, json.Unmarshal(b, &o))
	assert.Equal(t, Sell, o.Side)
	assert.Error(t, json.Unmarshal([]byte(`{"side":"hold"}`), &o))
	_, err = json.Marshal(Side(3))
	assert.Error(t, err)
}
