package portfolio

import (
	"bytes"
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Withholding tax on interest is a tax, as it is on a dividend; a fee on
// interest stays a fee.
func TestInterestWithholdingIsTax(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "EUR"})
	require.NoError(t, l.Apply(
		Transaction{ID: "i", Account: "a", Kind: TxInterest, Time: day("2024-01-31"), Amount: d("10"), Tax: d("2.5"), Fee: d("0.4")},
	))
	b, err := l.Balance("a")
	require.NoError(t, err)
	assertDec(t, "7.1", b.Cash)
	assertDec(t, "10", b.Interest)
	assertDec(t, "2.5", b.Taxes)
	assertDec(t, "0.4", b.Fees)
}

// XIRR keeps to its documented range whichever way it finds the root: a
// root above the bound is ErrNoRate whether Newton's method converges to
// it or not, and a root inside it is found even when Newton's method
// wanders off.
func TestXIRRRange(t *testing.T) {
	// −1 then +2 ten days later: the root is 2^36.5 − 1 ≈ 9.7e10, far
	// beyond the bound, so ErrNoRate (Newton converges to it).
	_, err := XIRR([]CashFlow{{day("2024-01-01"), -1}, {day("2024-01-11"), 2}})
	require.ErrorIs(t, err, ErrNoRate)
	// A root near 3.6e7: also beyond the bound.
	_, err = XIRR([]CashFlow{{day("2024-01-01"), -1}, {day("2024-01-21"), 2.58}})
	require.ErrorIs(t, err, ErrNoRate)
	// A root just inside the bound (10^4): 1 + r = 2^(365/27.5).
	want := math.Pow(2, 365/27.5) - 1
	require.Less(t, want, maxXIRR)
	r, err := XIRR([]CashFlow{{day("2024-01-01"), -100}, {day("2024-01-28").Add(12 * 3600e9), 200}})
	require.NoError(t, err)
	assert.InEpsilon(t, want, r, 1e-9)
	// Every root the function returns solves the flows.
	for _, flows := range [][]CashFlow{
		{{day("2024-01-01"), -1000}, {day("2024-01-02"), 1001}},
		{{day("2024-01-01"), -1000}, {day("2024-06-01"), 500}, {day("2024-12-31"), 700}},
		{{day("2024-01-01"), -1000}, {day("2024-01-05"), 5}},
	} {
		r, err := XIRR(flows)
		if err != nil {
			require.ErrorIs(t, err, ErrNoRate)
			continue
		}
		assert.LessOrEqual(t, r, maxXIRR)
		assert.Greater(t, r, -1.0)
		var npv float64
		for _, f := range flows {
			npv += f.Amount * math.Pow(1+r, -f.Time.Sub(flows[0].Time).Hours()/24/365)
		}
		assert.InDelta(t, 0, npv, 1e-6*1000, "flows %v rate %v", flows, r)
	}
}

// An EUR deposit valued in USD: the move of EUR/USD from 1.1 to 1.2 is a
// gain, not a deposit. The flow is converted once, at its own day's rate.
func TestPerformanceFXIsNotAFlow(t *testing.T) {
	l := newLedger(t, Account{ID: "e", Currency: "EUR"})
	require.NoError(t, l.Apply(deposit("d", "e", "2024-03-01", "1000")))
	h := newTestHistory().rate("EUR/USD", "2024-03-01", "1.1").rate("EUR/USD", "2024-03-02", "1.2")
	p, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h, To: day("2024-03-02")})
	require.NoError(t, err)
	assert.InDelta(t, 1200.0/1100-1, p.TWR, 1e-12)
	assert.InDelta(t, 1100, p.NetFlows, 1e-9)
	assert.InDelta(t, 1200, p.EndValue, 1e-9)
	require.Empty(t, p.XIRRError)
	assert.InDelta(t, 1200.0/1100-1, p.XIRR, 1e-9) // over two days: the period's return
}

// A day that ends with everything withdrawn still counts: 1,000 was at
// risk at the open and became 1,100.
func TestPerformanceFullWithdrawalDay(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d1", "a", "2024-01-01", "1000"),
		trade("b1", "a", TxBuy, "2024-01-01", "X", "10", "100", ""),
		trade("s1", "a", TxSell, "2024-01-02", "X", "10", "110", ""),
		Transaction{ID: "w", Account: "a", Kind: TxWithdrawal, Time: day("2024-01-02"), Amount: d("1100")},
		deposit("d2", "a", "2024-01-05", "500"),
		trade("b2", "a", TxBuy, "2024-01-05", "X", "5", "100", ""),
	))
	h := newTestHistory().price("X", "2024-01-01", "100", "USD").price("X", "2024-01-02", "110", "USD").
		price("X", "2024-01-05", "100", "USD").price("X", "2024-01-06", "105", "USD")
	for _, timing := range []FlowTiming{FlowsSplit, FlowsAtEnd} {
		p, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h, To: day("2024-01-06"), Timing: timing})
		require.NoError(t, err)
		assert.InDelta(t, 1.1*1.05-1, p.TWR, 1e-12, "timing %d", timing)
	}
	// The default is the split timing.
	p, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h, To: day("2024-01-06")})
	require.NoError(t, err)
	assert.InDelta(t, 1.1*1.05-1, p.TWR, 1e-12)
}

// Shares that double in account a and then move to b: a's return is
// +100 %, the transfer valued at market as an outflow of a and an inflow
// of b; for the whole portfolio the transfer is no flow at all.
func TestPerformanceTransferAtMarket(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "1000"),
		trade("b1", "a", TxBuy, "2024-01-01", "X", "10", "100", ""),
		Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: day("2024-01-02"), Symbol: "X", Quantity: d("10")},
		Transaction{ID: "i", Account: "b", Kind: TxTransferIn, Time: day("2024-01-02"), Symbol: "X", Quantity: d("10")},
	))
	h := newTestHistory().price("X", "2024-01-01", "100", "USD").price("X", "2024-01-02", "200", "USD").price("X", "2024-01-03", "220", "USD")
	ctx := context.Background()
	for _, timing := range []FlowTiming{FlowsSplit, FlowsAtEnd} {
		pa, err := l.Performance(ctx, PerformanceOptions{Base: "USD", History: h, Account: "a", To: day("2024-01-03"), Timing: timing})
		require.NoError(t, err)
		assert.InDelta(t, 1.0, pa.TWR, 1e-12, "a, timing %d", timing)
		assert.InDelta(t, 1000-2000, pa.NetFlows, 1e-9)
		pb, err := l.Performance(ctx, PerformanceOptions{Base: "USD", History: h, Account: "b", To: day("2024-01-03"), Timing: timing})
		require.NoError(t, err)
		assert.InDelta(t, 0.1, pb.TWR, 1e-12, "b, timing %d", timing)
		assert.InDelta(t, 2000, pb.NetFlows, 1e-9)
		all, err := l.Performance(ctx, PerformanceOptions{Base: "USD", History: h, To: day("2024-01-03"), Timing: timing})
		require.NoError(t, err)
		assert.InDelta(t, 1.2, all.TWR, 1e-12, "all, timing %d", timing)
		assert.InDelta(t, 1000, all.NetFlows, 1e-9)
	}
}

// Over a short period XIRR is the period's money-weighted return, flagged,
// not a rate annualized to 10^13.
func TestPerformanceShortPeriodXIRR(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "1000"), trade("b", "a", TxBuy, "2024-01-01", "X", "10", "100", "")))
	h := newTestHistory().price("X", "2024-01-01", "100", "USD").price("X", "2024-01-02", "110", "USD")
	p, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h, To: day("2024-01-02")})
	require.NoError(t, err)
	require.Empty(t, p.XIRRError)
	assert.True(t, p.XIRRPeriodic)
	assert.InDelta(t, 0.1, p.XIRR, 1e-9)
	assert.InDelta(t, 0.1, p.TWR, 1e-12)
	assert.Contains(t, p.Summary(), "XIRR +10.0%")
	assert.NotContains(t, p.Summary(), "/yr")
}

// In a one-currency portfolio the cent a trade is rounded to is price gain,
// never a currency effect, and the average cost is what was paid.
func TestRoundingIsNoCurrencyEffect(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "EUR"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "1000"),
		Transaction{ID: "b", Account: "a", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "X", Quantity: d("1"), Price: d("10.005")},
		Transaction{ID: "b2", Account: "a", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "Y", Quantity: d("3"), Price: d("10.005")}))
	v, err := l.Value(context.Background(), "EUR", Prices{"X": {d("10.005"), "EUR"}, "Y": {d("10.005"), "EUR"}}, nil)
	require.NoError(t, err)
	assertDec(t, "0", v.CurrencyEffect)
	assertDec(t, "0.005", v.Holdings[0].CapitalGain) // paid 10.00 (half to even)
	assertDec(t, "0", v.Holdings[0].CurrencyEffect)
	y, ok := l.Position("a", "Y")
	require.True(t, ok)
	assertDec(t, "30.02", y.Basis)
	assertDec(t, "30.02", y.LocalBasis)
	assertDec(t, y.Basis.String(), y.AverageCost().Mul(y.Quantity).Round(12))

	// Many small trades at prices with a third decimal: still no currency effect.
	rng := rand.New(rand.NewPCG(24, 3))
	m := newLedger(t, Account{ID: "a", Currency: "EUR", AllowMargin: true, AllowShort: true})
	ps := Prices{}
	for i := range 2000 {
		sym := fmt.Sprint("S", i%7)
		kind := TxBuy
		if i%3 == 2 {
			kind = TxSell
		}
		require.NoError(t, m.Apply(Transaction{ID: fmt.Sprint(i), Account: "a", Kind: kind, Time: day("2024-01-01").Add(time.Duration(i) * time.Minute),
			Symbol: sym, Quantity: d("1"), Price: decimal.New(1000+rng.Int64N(9000), -3), Fee: decimal.New(rng.Int64N(100), -3)}))
		ps[sym] = Quote{decimal.New(1000+rng.Int64N(9000), -3), "EUR"}
	}
	mv, err := m.Value(context.Background(), "EUR", ps, nil)
	require.NoError(t, err)
	assertDec(t, "0", mv.CurrencyEffect)
	for _, h := range mv.Holdings {
		assertDec(t, "0", h.CurrencyEffect, h.Symbol)
		assertDec(t, h.Basis.String(), h.LocalBasis, h.Symbol)
	}
	for _, g := range m.Realized("a") {
		assertDec(t, g.Gain.String(), g.LocalGain)
	}

	// A foreign trade keeps its local basis in the instrument currency's
	// cents.
	f := newLedger(t, Account{ID: "n", Currency: "NOK"})
	require.NoError(t, f.Apply(deposit("d", "n", "2024-01-01", "1000"),
		Transaction{ID: "b", Account: "n", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "U", Quantity: d("3"), Price: d("10.005"), Currency: "USD", FXRate: d("10.5")}))
	u, _ := f.Position("n", "U")
	assertDec(t, "30.02", u.LocalBasis)
	assertDec(t, "315.16", u.Basis) // 30.015 × 10.5 = 315.1575, the cash paid
}

// A USD stock moved between two EUR accounts keeps its lots: dates, EUR
// basis and USD basis, and the receiving position is in USD.
func TestTransferForeignStockKeepsBasis(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "EUR"}, Account{ID: "b", Currency: "EUR"})
	txs := []Transaction{
		deposit("d", "a", "2024-01-01", "1000"),
		{ID: "buy", Account: "a", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "Y", Quantity: d("10"), Price: d("100"), Currency: "USD", FXRate: d("0.9")},
		{ID: "o", Account: "a", Kind: TxTransferOut, Time: day("2024-02-01"), Symbol: "Y", Quantity: d("10")},
		{ID: "i", Account: "b", Kind: TxTransferIn, Time: day("2024-02-01"), Symbol: "Y", Quantity: d("10")},
	}
	require.NoError(t, l.Apply(txs...))
	p, ok := l.Position("b", "Y")
	require.True(t, ok)
	assert.Equal(t, "USD", p.Currency)
	assertDec(t, "900", p.Basis)
	assertDec(t, "1000", p.LocalBasis)
	lots := l.Lots("b", "Y")
	require.Len(t, lots, 1)
	assert.Equal(t, day("2024-01-02"), lots[0].Acquired)
	v, err := l.Value(context.Background(), "EUR", Prices{"Y": {d("120"), "USD"}}, Rates{"USD/EUR": d("0.95")})
	require.NoError(t, err)
	assertDec(t, "240", v.TotalGain) // 10 × 120 × 0.95 − 900
	assertDec(t, "1240", v.Total)

	// The stored transactions (currencies filled in) rebuild the same
	// ledger, through a store and through CSV.
	store := NewMemStore()
	ctx := context.Background()
	for _, a := range l.Accounts() {
		require.NoError(t, store.SaveAccount(ctx, a))
	}
	_, err = BookTransactions(ctx, store, l.Transactions())
	require.NoError(t, err)
	back, err := LoadLedger(ctx, store)
	require.NoError(t, err)
	assert.Equal(t, state(l), state(back))
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, l.Transactions()))
	parsed, err := ReadCSV(&buf)
	require.NoError(t, err)
	again := newLedger(t, l.Accounts()...)
	require.NoError(t, again.Apply(parsed...))
	assert.Equal(t, state(l), state(again))
}

// Lots moved out and not taken in on the same day have left the
// portfolio: a later transfer_in at price 0 does not inherit them, it is
// refused (give its cost as Price).
func TestTransferLotsDoNotWait(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD"}, Account{ID: "c", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2023-01-01", "1000"),
		trade("buy", "a", TxBuy, "2023-01-02", "X", "4", "100", ""),
		Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: day("2023-01-10"), Symbol: "X", Quantity: d("4")},
	))
	late := Transaction{ID: "i", Account: "c", Kind: TxTransferIn, Time: day("2023-03-10"), Symbol: "X", Quantity: d("4")}
	err := l.Apply(late)
	require.ErrorIs(t, err, ErrUnmatchedTransfer)
	_, ok := l.Position("c", "X")
	require.False(t, ok)
	late.Price = d("90")
	require.NoError(t, l.Apply(late))
	lots := l.Lots("c", "X")
	require.Len(t, lots, 1)
	assert.Equal(t, day("2023-03-10"), lots[0].Acquired)
	assertDec(t, "360", lots[0].Basis)

	// A transfer_in for more than was moved out that day is refused too.
	require.NoError(t, l.Apply(trade("buy2", "a", TxBuy, "2023-04-01", "X", "2", "100", "")))
	err = l.Apply(
		Transaction{ID: "o2", Account: "a", Kind: TxTransferOut, Time: day("2023-04-02"), Symbol: "X", Quantity: d("2")},
		Transaction{ID: "i2", Account: "b", Kind: TxTransferIn, Time: day("2023-04-02"), Symbol: "X", Quantity: d("3")},
	)
	require.ErrorIs(t, err, ErrUnmatchedTransfer)
}

// Holdings moved to an account in another currency keep their lot dates;
// the basis in the new currency is the local basis when the instrument
// trades in it, else the local basis at the transfer's FX rate.
func TestTransferAcrossCurrenciesKeepsDates(t *testing.T) {
	l := newLedger(t, Account{ID: "nok", Currency: "NOK"}, Account{ID: "usd", Currency: "USD"}, Account{ID: "eur", Currency: "EUR"})
	require.NoError(t, l.Apply(
		deposit("d", "nok", "2024-01-01", "100000"),
		Transaction{ID: "b1", Account: "nok", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "U", Quantity: d("10"), Price: d("100.004"), Currency: "USD", FXRate: d("10.5")},
		Transaction{ID: "b2", Account: "nok", Kind: TxBuy, Time: day("2024-01-03"), Symbol: "U", Quantity: d("10"), Price: d("110"), Currency: "USD", FXRate: d("10")},
		Transaction{ID: "o", Account: "nok", Kind: TxTransferOut, Time: day("2024-02-01"), Symbol: "U", Quantity: d("15")},
		Transaction{ID: "i", Account: "usd", Kind: TxTransferIn, Time: day("2024-02-01"), Symbol: "U", Quantity: d("15")},
	))
	lots := l.Lots("usd", "U")
	require.Len(t, lots, 2)
	assert.Equal(t, day("2024-01-02"), lots[0].Acquired)
	assertDec(t, "1000.04", lots[0].Basis)
	assertDec(t, "1000.04", lots[0].LocalBasis)
	assertDec(t, "550", lots[1].Basis)
	p, _ := l.Position("usd", "U")
	assert.Equal(t, "USD", p.Currency)

	// To EUR the transfer needs the USD→EUR rate.
	out := Transaction{ID: "o2", Account: "usd", Kind: TxTransferOut, Time: day("2024-03-01"), Symbol: "U", Quantity: d("5")}
	in := Transaction{ID: "i2", Account: "eur", Kind: TxTransferIn, Time: day("2024-03-01"), Symbol: "U", Quantity: d("5")}
	require.ErrorIs(t, l.Apply(out, in), ErrCurrencyMismatch)
	in.Currency, in.FXRate = "USD", d("0.9")
	require.NoError(t, l.Apply(out, in))
	el := l.Lots("eur", "U")
	require.Len(t, el, 1)
	assert.Equal(t, day("2024-01-02"), el[0].Acquired)
	assertDec(t, "450.02", el[0].Basis) // 500.02 USD × 0.9 = 450.018
	assertDec(t, "500.02", el[0].LocalBasis)
}

// A sale's tax year is the year of its local date as recorded (the
// offset of its time), not of UTC.
func TestRealizedByYearLocalDate(t *testing.T) {
	ny := time.FixedZone("-05:00", -5*3600)
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2023-01-01", "1000"),
		trade("b", "a", TxBuy, "2023-01-02", "X", "10", "10", ""),
		Transaction{ID: "s", Account: "a", Kind: TxSell, Time: time.Date(2023, 12, 31, 20, 0, 0, 0, ny), Symbol: "X", Quantity: d("5"), Price: d("12")},
	))
	by := l.RealizedByYear("a")
	require.Len(t, by, 1)
	assertDec(t, "10", by[2023])
}

// A price quoted without a currency is in each holding's own currency,
// not in whichever account happened to hold the symbol first.
func TestQuoteWithoutCurrency(t *testing.T) {
	l := newLedger(t, Account{ID: "u", Currency: "USD"}, Account{ID: "e", Currency: "EUR"})
	require.NoError(t, l.Apply(
		deposit("du", "u", "2024-01-01", "1000"), deposit("de", "e", "2024-01-01", "1000"),
		trade("bu", "u", TxBuy, "2024-01-02", "X", "1", "10", ""),
		trade("be", "e", TxBuy, "2024-01-02", "X", "1", "9", ""),
	))
	v, err := l.Value(context.Background(), "EUR", Prices{"X": {d("11"), ""}}, Rates{"USD/EUR": d("0.9")})
	require.NoError(t, err)
	require.Len(t, v.Holdings, 2)
	assertDec(t, "11", v.Holdings[0].Value) // 11 USD
	assertDec(t, "9.9", v.Holdings[0].BaseValue)
	assertDec(t, "11", v.Holdings[1].Value) // 11 EUR, not 11 USD converted
	assertDec(t, "11", v.Holdings[1].BaseValue)
}

// A split is Quantity new units for Price old ones (Price 0 or empty: 1),
// so a 2-for-3 reverse split is exact.
func TestSplitRatio(t *testing.T) {
	for _, m := range []CostMethod{FIFO, AverageCost} {
		l := newLedger(t, Account{ID: "a", Currency: "USD", CostMethod: m})
		require.NoError(t, l.Apply(
			deposit("d", "a", "2024-01-01", "10000"),
			trade("b1", "a", TxBuy, "2024-01-02", "X", "30", "10", ""),
			trade("b2", "a", TxBuy, "2024-01-03", "X", "15", "12", ""),
			Transaction{ID: "sp", Account: "a", Kind: TxSplit, Time: day("2024-02-01"), Symbol: "X", Quantity: d("2"), Price: d("3")},
		))
		p, ok := l.Position("a", "X")
		require.True(t, ok)
		assertDec(t, "30", p.Quantity, m)
		assert.Equal(t, int32(0), p.Quantity.Exponent(), "an exact quotient has no trailing zeros")
		assertDec(t, "480", p.Basis)
		assertDec(t, "18", p.LastPrice) // 12 × 3 / 2
		if m == FIFO {
			lots := l.Lots("a", "X")
			require.Len(t, lots, 2)
			assertDec(t, "20", lots[0].Quantity)
			assertDec(t, "10", lots[1].Quantity)
		}
		assert.Contains(t, l.Transactions()[3].Summary(), "X 2:3")
		h := l.TradeHistory()
		price, _, err := h.PriceAt(context.Background(), "X", day("2024-02-02"))
		require.NoError(t, err)
		assertDec(t, "18", price)
		require.ErrorIs(t, l.Apply(Transaction{ID: "bad", Account: "a", Kind: TxSplit, Time: day("2024-03-01"), Symbol: "X", Quantity: d("2"), Price: d("-3")}), ErrInvalidQuantity)
	}
}

// Performance's currency effect: the EUR deposit valued in USD gains 100
// USD from EUR/USD 1.1 → 1.2, all of it currency.
func TestPerformanceCurrencyEffect(t *testing.T) {
	l := newLedger(t, Account{ID: "e", Currency: "EUR"})
	require.NoError(t, l.Apply(deposit("d", "e", "2024-03-01", "1000"),
		Transaction{ID: "b", Account: "e", Kind: TxBuy, Time: day("2024-03-02"), Symbol: "U", Quantity: d("10"), Price: d("50"), Currency: "USD", FXRate: d("0.8")}))
	h := newTestHistory().rate("EUR/USD", "2024-03-01", "1.1").rate("EUR/USD", "2024-03-02", "1.2").rate("EUR/USD", "2024-03-03", "1.25").
		price("U", "2024-03-02", "50", "USD").price("U", "2024-03-03", "55", "USD")
	p, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h, To: day("2024-03-03")})
	require.NoError(t, err)
	// Day 2: 1000 EUR × 0.1. Day 3: the 600 EUR cash left × 0.05; the
	// USD stock has no currency effect in USD.
	assert.InDelta(t, 100+30, p.CurrencyEffect, 1e-9)
	assert.InDelta(t, 1100, p.NetFlows, 1e-9)
	assert.InDelta(t, 600*1.25+550, p.EndValue, 1e-9)
}

// "The same day" of a transfer is the date as recorded: an evening
// transfer at −05:00 whose legs straddle midnight UTC still pairs.
func TestTransferSameLocalDay(t *testing.T) {
	ny := time.FixedZone("-05:00", -5*3600)
	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "1000"),
		trade("buy", "a", TxBuy, "2024-01-02", "X", "4", "100", ""),
		Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: time.Date(2024, 2, 1, 18, 0, 0, 0, ny), Symbol: "X", Quantity: d("4")},
		Transaction{ID: "i", Account: "b", Kind: TxTransferIn, Time: time.Date(2024, 2, 1, 20, 0, 0, 0, ny), Symbol: "X", Quantity: d("4")},
	))
	lots := l.Lots("b", "X")
	require.Len(t, lots, 1)
	assertDec(t, "400", lots[0].Basis)
}
