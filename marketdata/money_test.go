package marketdata_test

import (
	"context"
	"math"
	"math/big"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/portfolio"
)

var _ portfolio.PriceHistory = (*marketdata.HistoryPrices)(nil)

func TestToDecimal(t *testing.T) {
	for _, tc := range []struct {
		in   float64
		want string
	}{
		{189.92, "189.92"},
		{0.1 + 0.2, "0.3"}, // 0.30000000000000004 as a float64
		{(100.01 + 100.02) / 2, "100.015"},
		{1.1 * 10.3, "11.33"}, // a cross rate: 11.330000000000002
		{73783.82, "73783.82"},
		{1.23456789012345e-9, "0.000000001234567890"},
		{1.5e11, "150000000000"},
		{123456.789162, "123456.7892"}, // ten significant digits
	} {
		got, err := marketdata.ToDecimal(tc.in)
		require.NoError(t, err, "%v", tc.in)
		assert.True(t, got.Equal(decimal.RequireFromString(tc.want)), "ToDecimal(%v) = %s, want %s", tc.in, got, tc.want)
	}
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		_, err := marketdata.ToDecimal(bad)
		assert.ErrorIs(t, err, marketdata.ErrBadData, "%v", bad)
	}
}

func FuzzToDecimal(f *testing.F) {
	for _, v := range []float64{0, 1, -1, 0.1 + 0.2, 1e-300, 1e300, math.MaxFloat64, math.SmallestNonzeroFloat64} {
		f.Add(v)
	}
	f.Fuzz(func(t *testing.T, v float64) {
		d, err := marketdata.ToDecimal(v)
		if math.IsNaN(v) || math.IsInf(v, 0) {
			if err == nil {
				t.Fatalf("ToDecimal(%v) accepted", v)
			}
			return
		}
		if err != nil {
			t.Fatalf("ToDecimal(%v): %v", v, err)
		}
		exact := decimal.RequireFromString(new(big.Float).SetFloat64(v).Text('e', 40)) // the float's binary value
		if d.Sub(exact).Abs().GreaterThan(exact.Abs().Shift(-9)) {
			t.Fatalf("ToDecimal(%v) = %s, off by more than the ten digits", v, d)
		}
	})
}

// noisyProvider quotes a float with binary noise in its last digits, as a
// median or a currency conversion produces.
type noisyProvider struct{}

func (noisyProvider) Name() string { return "noisy" }
func (noisyProvider) Quote(_ context.Context, symbol string) (marketdata.Quote, error) {
	return marketdata.Quote{Symbol: symbol, Price: 0.1 + 0.2, Currency: "USD", Time: t0, Provider: "noisy"}, nil
}

// TestPriceIsRoundedInMarketdata: the consensus becomes money in
// marketdata, rounded to SignificantDigits, not as decimal.NewFromFloat of
// the float (which kept 0.30000000000000004).
func TestPriceIsRoundedInMarketdata(t *testing.T) {
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{noisyProvider{}}})
	p, _, err := a.Price(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.Equal(t, "0.3", p.String())
	g, _, err := a.BestGuess().Price(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.Equal(t, "0.3", g.String())
}

func TestHistoryPrices(t *testing.T) {
	p := newSim(t, sim.Options{Seed: 5})
	start := t0.AddDate(0, -2, 0)
	hp := marketdata.NewHistoryPrices(p, start)
	ctx := context.Background()
	h, err := p.History(ctx, "AAPL", marketdata.HistoryRequest{Start: start.AddDate(0, 0, -7), Interval: marketdata.Daily})
	require.NoError(t, err)
	require.Greater(t, len(h.Bars), 20)

	mid := h.Bars[len(h.Bars)/2]
	price, ccy, err := hp.PriceAt(ctx, "AAPL", mid.Time.Add(5*time.Hour))
	require.NoError(t, err)
	want, _ := marketdata.ToDecimal(mid.Close)
	assert.True(t, want.Equal(price), "close of the bar at or before t: %s, want %s", price, want)
	assert.Equal(t, h.Currency, ccy)
	first, _, err := hp.PriceAt(ctx, "AAPL", h.Bars[0].Time.AddDate(0, 0, -30))
	require.NoError(t, err)
	want, _ = marketdata.ToDecimal(h.Bars[0].Close)
	assert.True(t, want.Equal(first), "before the first bar: the first close")

	one, err := hp.RateAt(ctx, "EUR", "EUR", mid.Time)
	require.NoError(t, err)
	assert.Equal(t, "1", one.String())
	r, err := hp.RateAt(ctx, "EUR", "USD", mid.Time)
	require.NoError(t, err)
	assert.True(t, r.IsPositive())

	_, _, err = hp.PriceAt(ctx, "NOSUCH", mid.Time)
	assert.ErrorIs(t, err, marketdata.ErrNotFound)

	// Through portfolio: a valuation over time with these prices.
	l := &portfolio.Ledger{}
	require.NoError(t, l.AddAccount(portfolio.Account{ID: "b", Name: "Broker", Kind: portfolio.KindBrokerage, Currency: "USD"}))
	buy, _ := marketdata.ToDecimal(h.Bars[10].Close)
	last, _ := marketdata.ToDecimal(h.Bars[len(h.Bars)-1].Close)
	ten := decimal.NewFromInt(10)
	require.NoError(t, l.Apply(
		portfolio.Transaction{ID: "d", Account: "b", Kind: portfolio.TxDeposit, Time: h.Bars[10].Time, Amount: decimal.NewFromInt(10_000)},
		portfolio.Transaction{ID: "a", Account: "b", Kind: portfolio.TxBuy, Time: h.Bars[10].Time, Symbol: "AAPL", Quantity: ten, Price: buy},
	))
	perf, err := l.Performance(ctx, portfolio.PerformanceOptions{Base: "USD", History: hp, To: h.Bars[len(h.Bars)-1].Time})
	require.NoError(t, err)
	// The ledger books the purchase's cash in cents.
	end, _ := decimal.NewFromInt(10_000).Sub(ten.Mul(buy).Round(2)).Add(ten.Mul(last)).Float64()
	assert.InDelta(t, end, perf.EndValue, 1e-6)
}

// The indicators append to a reused buffer without allocating.
func TestIndicatorsDoNotAllocate(t *testing.T) {
	prices := make([]float64, 500)
	for i := range prices {
		prices[i] = 100 + math.Sin(float64(i)/7)
	}
	buf := make([]float64, 0, 1024)
	for name, f := range map[string]func() error{
		"SMA": func() error { _, err := marketdata.SMA(buf[:0], prices, 50); return err },
		"EMA": func() error { _, err := marketdata.EMA(buf[:0], prices, 50); return err },
		"RSI": func() error { _, err := marketdata.RSI(buf[:0], prices, 14); return err },
	} {
		require.NoError(t, f())
		assert.Zero(t, testing.AllocsPerRun(20, func() { _ = f() }), name)
	}
}
