package portfolio

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRoundMoney(t *testing.T) {
	for _, tc := range []struct{ in, ccy, want string }{
		{"0.125", "EUR", "0.12"}, // half to even
		{"0.135", "EUR", "0.14"},
		{"0.1251", "EUR", "0.13"},
		{"-0.125", "EUR", "-0.12"},
		{"2.5", "JPY", "2"},
		{"3.5", "JPY", "4"},
		{"1.2345", "KWD", "1.234"},
		{"1.2355", "BHD", "1.236"},
		{"1.23", "NOK", "1.23"},
		{"0.123456785", "BTC", "0.12345678"},
	} {
		assert.Equal(t, tc.want, RoundMoney(d(tc.in), tc.ccy).String(), "%s %s", tc.in, tc.ccy)
	}
	assert.Equal(t, "37,488.00 NOK", FormatMoney(d("37488"), "NOK"))
	assert.Equal(t, "-1,234,567 JPY", FormatMoney(d("-1234567.4"), "JPY"))
	assert.Equal(t, "312.40 NOK", FormatPrice(d("312.4"), "NOK"))
	assert.Equal(t, "0.000123 USD", FormatPrice(d("0.000123"), "USD"))
}

func TestSummaryFormat(t *testing.T) {
	// 120 shares bought for 35,976 NOK are worth 37,488 NOK: +4.2%.
	h := Holding{Position: Position{Symbol: "EQNR.OL", Currency: "NOK", Quantity: d("120"), LocalBasis: d("35976")}, Price: d("312.40")}
	assert.Equal(t, "EQNR.OL 120 sh @ 312.40 NOK = 37,488.00 NOK (+4.2%)", h.Summary())
	var items []Reportable = []Reportable{h, h.Position, Account{ID: "a", Kind: KindBank, Currency: "NOK"},
		Stock{Symbol: "BTC", Class: AssetCrypto}, Transaction{Kind: TxBuy, Time: day("2024-01-01"), Symbol: "X", Quantity: d("1"), Price: d("2"), Currency: "USD", Account: "a"},
		Slice{Key: "stock", Base: "NOK", Value: d("1"), Weight: 1}, CashHolding{Account: "a", Currency: "NOK", Amount: d("5")},
		&Valuation{Base: "NOK"}, Balance{Account: "a", Currency: "NOK"}, &Performance{}, &Portfolio{}}
	for _, it := range items {
		assert.NotEmpty(t, it.Summary())
	}
	assert.Equal(t, "2024-01-01 buy 1 X @ 2.00 USD [a]", items[4].Summary())
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-02", "5"), trade("b", "a", TxBuy, "2024-01-03", "X", "1", "2", "")))
	assert.Equal(t, "1 accounts, 1 positions, 2 transactions since 2024-01-02", l.Summary())
}

func newLedger(t *testing.T, accts ...Account) *Ledger {
	t.Helper()
	l, err := NewLedger(accts...)
	require.NoError(t, err)
	return l
}

func TestSplit(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "1000"),
		trade("b", "a", TxBuy, "2024-01-02", "X", "10", "100", ""),
		Transaction{ID: "s", Account: "a", Kind: TxSplit, Time: day("2024-02-01"), Symbol: "X", Quantity: d("2")},
	))
	pos, _ := l.Position("a", "X")
	assertDec(t, "20", pos.Quantity)
	assertDec(t, "1000", pos.Basis)
	assertDec(t, "50", pos.LastPrice)
	assert.Empty(t, l.Realized("a"), "a split realizes nothing")
	require.NoError(t, l.Apply(trade("x", "a", TxSell, "2024-03-01", "X", "5", "60", "")))
	g := l.Realized("a")
	require.Len(t, g, 1)
	assertDec(t, "250", g[0].Basis)
	assertDec(t, "50", g[0].Gain)
	assert.Equal(t, day("2024-01-02"), g[0].Acquired)
}

func TestDividendAndCashKinds(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "1000"),
		Transaction{ID: "div", Account: "a", Kind: TxDividend, Time: day("2024-01-02"), Symbol: "X", Amount: d("100"), Tax: d("15"), Fee: d("1")},
		Transaction{ID: "div2", Account: "a", Kind: TxDividend, Time: day("2024-01-02"), Symbol: "X", Quantity: d("10"), Price: d("0.5")},
		Transaction{ID: "int", Account: "a", Kind: TxInterest, Time: day("2024-01-03"), Amount: d("2.5")},
		Transaction{ID: "fee", Account: "a", Kind: TxFee, Time: day("2024-01-04"), Amount: d("10")},
		Transaction{ID: "tax", Account: "a", Kind: TxTax, Time: day("2024-01-05"), Amount: d("20")},
		Transaction{ID: "w", Account: "a", Kind: TxWithdrawal, Time: day("2024-01-06"), Amount: d("50")},
	))
	b, err := l.Balance("a")
	require.NoError(t, err)
	assertDec(t, "1011.5", b.Cash) // 1000 + 84 + 5 + 2.5 − 10 − 20 − 50
	assertDec(t, "105", b.Dividends)
	assertDec(t, "2.5", b.Interest)
	assertDec(t, "11", b.Fees)
	assertDec(t, "35", b.Taxes)
	assertDec(t, "950", b.NetContributions())
}

// A NOK account buys a USD stock: cash moves in NOK at the trade's FX rate,
// the gain splits into price gain and currency effect.
func TestMultiCurrency(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "NOK"})
	usd := func(tx Transaction, fx string) Transaction { tx.Currency, tx.FXRate = "USD", d(fx); return tx }
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "20000"),
		usd(trade("b1", "a", TxBuy, "2024-01-02", "AAPL", "10", "100", "1"), "10.5"),
		usd(trade("b2", "a", TxBuy, "2024-01-03", "AAPL", "5", "100", ""), "10.5"),
		usd(trade("s1", "a", TxSell, "2024-02-01", "AAPL", "10", "110", "1"), "10"),
	))
	cash, _ := l.Cash("a")
	assertDec(t, "15229.50", cash) // 20000 − 10510.50 − 5250 + 10990
	g := l.Realized("a")
	require.Len(t, g, 1)
	assertDec(t, "10990", g[0].Proceeds)
	assertDec(t, "10510.5", g[0].Basis)
	assertDec(t, "479.5", g[0].Gain)
	assertDec(t, "98", g[0].LocalGain) // 1099 − 1001 USD

	v, err := l.Value(context.Background(), "NOK", Prices{"AAPL": {d("120"), "USD"}}, Rates{"USD/NOK": d("11")})
	require.NoError(t, err)
	require.Len(t, v.Holdings, 1)
	h := v.Holdings[0]
	assertDec(t, "6600", h.BaseValue)
	assertDec(t, "1350", h.Unrealized)
	assertDec(t, "1100", h.CapitalGain)      // (600 − 500) USD × 11
	assertDec(t, "250", h.CurrencyEffect)    // 500 USD × 11 − 5250
	assertDec(t, "479.5", v.Realized)        // realized gain 479.50 NOK
	assertDec(t, "2080", v.CapitalGain)      // 1100 + 98 USD × 10
	assertDec(t, "-250.5", v.CurrencyEffect) // 250 + (479.5 − 980)
	assertDec(t, "21829.50", v.Total)        // 15229.50 + 6600
	assertDec(t, "1829.50", v.TotalGain)     // realized 479.50 + unrealized 1350
	assertDec(t, v.TotalGain.String(), v.CapitalGain.Add(v.CurrencyEffect).Add(v.Income).Sub(v.Costs))
	// In USD the NOK cash is converted with the inverse rate.
	vu, err := l.Value(context.Background(), "USD", Prices{"AAPL": {d("120"), "USD"}}, Rates{"USD/NOK": d("10")})
	require.NoError(t, err)
	assertDec(t, "2122.95", vu.Total.Round(2)) // 600 + 1522.95
}

func TestTransfers(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "NOK"}, Account{ID: "b", Currency: "NOK"}, Account{ID: "c", Currency: "NOK", CostMethod: AverageCost})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "5000"),
		trade("b1", "a", TxBuy, "2024-01-02", "X", "10", "100", ""),
		trade("b2", "a", TxBuy, "2024-01-03", "X", "10", "120", ""),
		Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: day("2024-02-01"), Symbol: "X", Quantity: d("15")},
		Transaction{ID: "i", Account: "b", Kind: TxTransferIn, Time: day("2024-02-01"), Symbol: "X", Quantity: d("15")},
		Transaction{ID: "co", Account: "a", Kind: TxTransferOut, Time: day("2024-02-02"), Amount: d("500")},
		Transaction{ID: "ci", Account: "b", Kind: TxTransferIn, Time: day("2024-02-02"), Amount: d("500")},
		Transaction{ID: "gift", Account: "c", Kind: TxTransferIn, Time: day("2024-02-03"), Symbol: "X", Quantity: d("3"), Price: d("90")},
	))
	lots := l.Lots("b", "X")
	require.Len(t, lots, 2, "lots keep their acquisition dates")
	assert.Equal(t, day("2024-01-02"), lots[0].Acquired)
	assertDec(t, "10", lots[0].Quantity)
	assertDec(t, "1000", lots[0].Basis)
	assertDec(t, "5", lots[1].Quantity)
	assertDec(t, "600", lots[1].Basis)
	pa, _ := l.Position("a", "X")
	assertDec(t, "5", pa.Quantity)
	assertDec(t, "600", pa.Basis)
	assert.Empty(t, l.Realized(""), "transfers realize nothing")
	ca, _ := l.Cash("a")
	cb, _ := l.Cash("b")
	assertDec(t, "2300", ca)
	assertDec(t, "500", cb)
	pc, _ := l.Position("c", "X")
	assertDec(t, "270", pc.Basis)
	ba, _ := l.Balance("a")
	assertDec(t, "2100", ba.Withdrawals) // 1600 basis + 500 cash
}

func TestShorts(t *testing.T) {
	l := newLedger(t, Account{ID: "s", Currency: "USD", AllowShort: true})
	require.NoError(t, l.Apply(
		deposit("d", "s", "2024-01-01", "1000"),
		trade("s1", "s", TxSell, "2024-01-02", "X", "10", "100", ""),
	))
	pos, _ := l.Position("s", "X")
	assertDec(t, "-10", pos.Quantity)
	assertDec(t, "-1000", pos.Basis)
	require.NoError(t, l.Apply(trade("b1", "s", TxBuy, "2024-01-03", "X", "4", "80", "")))
	g := l.Realized("s")
	require.Len(t, g, 1)
	assertDec(t, "80", g[0].Gain) // sold 4 at 100, bought back at 80
	assertDec(t, "-4", g[0].Quantity)
	// Buying 10 covers the remaining 6 and opens a long of 4.
	require.NoError(t, l.Apply(trade("b2", "s", TxBuy, "2024-01-04", "X", "10", "90", "")))
	g = l.Realized("s")
	require.Len(t, g, 2)
	assertDec(t, "60", g[1].Gain)
	pos, _ = l.Position("s", "X")
	assertDec(t, "4", pos.Quantity)
	assertDec(t, "360", pos.Basis)
	cash, _ := l.Cash("s")
	assertDec(t, "780", cash) // 1000 + 1000 − 320 − 900
	v, err := l.Value(context.Background(), "USD", Prices{"X": {d("95"), "USD"}}, nil)
	require.NoError(t, err)
	assertDec(t, "160", v.TotalGain) // 80 + 60 + 4 × 5
}

func TestBackdatedBatchReplays(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "1000"), trade("b2", "a", TxBuy, "2024-03-01", "X", "1", "200", "")))
	// A buy in February lands before the March one: FIFO sells it first.
	require.NoError(t, l.Apply(trade("b1", "a", TxBuy, "2024-02-01", "X", "1", "100", ""), trade("s", "a", TxSell, "2024-04-01", "X", "1", "150", "")))
	g := l.Realized("a")
	require.Len(t, g, 1)
	assertDec(t, "50", g[0].Gain)
	assert.Equal(t, []string{"d", "b1", "b2", "s"}, ids(l.Transactions()))
	// A back-dated batch that fails leaves everything as it was.
	err := l.Apply(Transaction{ID: "w", Account: "a", Kind: TxWithdrawal, Time: day("2024-01-02"), Amount: d("950")})
	require.ErrorIs(t, err, ErrInsufficientFunds)
	assert.Equal(t, []string{"d", "b1", "b2", "s"}, ids(l.Transactions()))
	cash, _ := l.Cash("a")
	assertDec(t, "850", cash)
}

func TestEmptyIDsAndUnsortedBatch(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(
		Transaction{Account: "a", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "X", Quantity: d("1"), Price: d("10")},
		Transaction{Account: "a", Kind: TxDeposit, Time: day("2024-01-01"), Amount: d("10")},
	))
	txs := l.Transactions()
	assert.Equal(t, TxDeposit, txs[0].Kind)
	assert.Equal(t, "auto-1", txs[0].ID)
	assert.Equal(t, "USD", txs[0].Currency)
}

func TestAccountsValidation(t *testing.T) {
	_, err := NewLedger(Account{ID: "a", Currency: "USD"}, Account{ID: "a", Currency: "USD"})
	require.ErrorIs(t, err, ErrDuplicateAccount)
	for _, a := range []Account{{Currency: "USD"}, {ID: "a", Currency: "usd"}, {ID: "a", Currency: "USD", Kind: "piggy"}, {ID: "a", Currency: "USD", CostMethod: "lifo"}} {
		_, err := NewLedger(a)
		require.ErrorIs(t, err, ErrInvalidAccount, "%+v", a)
	}
	l := newLedger(t)
	require.NoError(t, l.AddAccount(Account{ID: "x", Currency: "JPY"}))
	acct, err := l.Account("x")
	require.NoError(t, err)
	assert.Equal(t, FIFO, acct.CostMethod)
	assert.Equal(t, KindBrokerage, acct.Kind)
	_, err = l.Account("nope")
	require.ErrorIs(t, err, ErrUnknownAccount)
}

func TestValuationAllocation(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "NOK"}, Account{ID: "c", Currency: "USD", Kind: KindCrypto})
	l.AddStocks(Stock{Symbol: "EQNR.OL", Currency: "NOK", Class: AssetStock}, Stock{Symbol: "OBXEDNB", Currency: "NOK", Class: AssetFund, Name: "DNB OBX"})
	require.NoError(t, l.Apply(
		deposit("d1", "a", "2024-01-01", "10000"),
		deposit("d2", "c", "2024-01-01", "1000"),
		trade("b1", "a", TxBuy, "2024-01-02", "EQNR.OL", "10", "300", ""),
		trade("b2", "a", TxBuy, "2024-01-02", "OBXEDNB", "10", "200", ""),
		trade("b3", "c", TxBuy, "2024-01-02", "BTC", "0.01", "40000", ""),
	))
	v, err := l.Value(context.Background(), "NOK", Prices{"EQNR.OL": {d("310"), "NOK"}, "OBXEDNB": {d("200"), "NOK"}, "BTC": {d("50000"), "USD"}}, Rates{"USD/NOK": d("10")})
	require.NoError(t, err)
	// a: 3100 + 2000 + 5000 cash; c: 500 USD × 10 + 600 USD × 10.
	assertDec(t, "21100", v.Total)
	for _, alloc := range [][]Slice{v.ByClass, v.ByCurrency, v.ByAccount, v.BySymbol} {
		sum := 0.0
		for _, s := range alloc {
			sum += s.Weight
		}
		assert.InDelta(t, 1, sum, 1e-12)
	}
	classes := map[string]string{}
	for _, s := range v.ByClass {
		classes[s.Key] = s.Value.String()
	}
	assert.Equal(t, map[string]string{"stock": "3100", "fund": "2000", "crypto": "5000", "cash": "11000"}, classes)
	require.Len(t, v.Holdings, 3)
	assert.Equal(t, []string{"EQNR.OL", "OBXEDNB", "BTC"}, []string{v.Holdings[0].Symbol, v.Holdings[1].Symbol, v.Holdings[2].Symbol}, "by account, then symbol")
	assert.Equal(t, AssetCrypto, v.Holdings[2].Class)
	assert.Equal(t, "BTC 0.01 units @ 50,000.00 USD = 500.00 USD (+25.0%)", v.Holdings[2].Summary())
	assert.Equal(t, "cash", v.ByClass[0].Key, "allocation largest first")

	va, err := l.ValueAccount(context.Background(), "c", "USD", Prices{"BTC": {d("50000"), "USD"}}, nil)
	require.NoError(t, err)
	assertDec(t, "1100", va.Total) // 500 + 600 cash
	_, err = l.ValueAccount(context.Background(), "nope", "USD", Prices{}, nil)
	require.ErrorIs(t, err, ErrUnknownAccount)
	_, err = l.Value(context.Background(), "NOK", Prices{}, nil)
	require.ErrorIs(t, err, ErrNoPrice)
	_, err = l.Value(context.Background(), "nok", Prices{}, nil)
	require.ErrorIs(t, err, ErrCurrencyMismatch)
}

// Readers and writers at once, for -race.
func TestConcurrentUse(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD", AllowMargin: true})
	var wg sync.WaitGroup
	for w := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				_ = l.Apply(trade(fmt.Sprintf("w%d-%d", w, i), "a", TxBuy, "2024-01-01", "X", "1", "1", ""))
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for range 200 {
			_ = l.Positions("")
			_, _ = l.Value(context.Background(), "USD", Prices{"X": {d("1"), "USD"}}, nil)
		}
	}()
	wg.Wait()
	assert.Equal(t, 400, l.Len())
	_ = time.Now
}

// A rejected batch with a transfer into an existing FIFO position leaves
// the receiving lots exactly as they were.
func TestTransferInRollbackKeepsLots(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("da", "a", "2024-01-01", "1000"),
		deposit("db", "b", "2024-01-01", "1000"),
		trade("ba", "a", TxBuy, "2024-01-02", "X", "2", "100", ""),
		trade("bb", "b", TxBuy, "2024-03-01", "X", "1", "150", ""),
	))
	// Make room in b's lot array so an in-place sort would be visible.
	require.NoError(t, l.Apply(trade("bb2", "b", TxBuy, "2024-03-02", "X", "1", "150", "")))
	require.NoError(t, l.Apply(trade("bb3", "b", TxBuy, "2024-03-02", "X", "1", "150", ""))) // 3 lots, capacity 4
	require.NoError(t, l.Apply(trade("sb2", "b", TxSell, "2024-03-03", "X", "1", "150", "")))
	before := l.Lots("b", "X")
	err := l.Apply(
		Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: day("2024-04-01"), Symbol: "X", Quantity: d("2")},
		Transaction{ID: "i", Account: "b", Kind: TxTransferIn, Time: day("2024-04-01"), Symbol: "X", Quantity: d("2")},
		Transaction{ID: "w", Account: "b", Kind: TxWithdrawal, Time: day("2024-04-02"), Amount: d("5000")},
	)
	require.ErrorIs(t, err, ErrInsufficientFunds)
	assert.Equal(t, before, l.Lots("b", "X"))
	require.Len(t, l.Lots("a", "X"), 1)
	// And the same batch without the withdrawal carries the older lot first.
	require.NoError(t, l.Apply(
		Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: day("2024-04-01"), Symbol: "X", Quantity: d("2")},
		Transaction{ID: "i", Account: "b", Kind: TxTransferIn, Time: day("2024-04-01"), Symbol: "X", Quantity: d("2")},
	))
	lots := l.Lots("b", "X")
	require.Len(t, lots, 3) // a's January lot, then b's remaining March lots
	assert.Equal(t, day("2024-01-02"), lots[0].Acquired)
}
