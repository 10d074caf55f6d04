package sim_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

var (
	_ marketdata.BatchProvider   = (*sim.Provider)(nil)
	_ marketdata.RateProvider    = (*sim.Provider)(nil)
	_ marketdata.HistoryProvider = (*sim.Provider)(nil)
)

type clock struct{ t time.Time }

func (c *clock) now() time.Time { return c.t }

func TestDeterministicForSeed(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	mk := func(seed uint64) *sim.Provider {
		p, err := sim.New(sim.Options{Seed: seed, Now: c.now})
		require.NoError(t, err)
		return p
	}
	a, b, other := mk(42), mk(42), mk(43)
	ctx := context.Background()
	for _, sym := range []string{"AAPL", "EQNR.OL", "BTC-USD", "EURUSD=X", "HSBA.L"} {
		qa, err := a.Quote(ctx, sym)
		require.NoError(t, err)
		qb, err := b.Quote(ctx, sym)
		require.NoError(t, err)
		qo, err := other.Quote(ctx, sym)
		require.NoError(t, err)
		assert.Equal(t, qa.Price, qb.Price, sym)
		assert.NotEqual(t, qa.Price, qo.Price, sym)
		assert.Positive(t, qa.Price)
		again, _ := a.Quote(ctx, sym)
		assert.Equal(t, qa.Price, again.Price, "same clock reading, same price")
	}
	q, _ := a.Quote(ctx, "EQNR.OL")
	assert.Equal(t, "NOK", q.Currency)
	q, _ = a.Quote(ctx, "HSBA.L")
	assert.Equal(t, "GBP", q.Currency)

	c.t = c.t.Add(time.Hour)
	q1, _ := a.Quote(ctx, "AAPL")
	q2, _ := b.Quote(ctx, "AAPL")
	assert.Equal(t, q1.Price, q2.Price, "paths stay in step")
}

func TestGBMStatistics(t *testing.T) {
	// Daily log returns of the simulated history have the instrument's
	// volatility over its trading days: BTC σ = 0.65 → daily sd 0.65·√(1/365).
	p, err := sim.New(sim.Options{Seed: 9})
	require.NoError(t, err)
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, err := p.History(context.Background(), "BTC-USD", marketdata.HistoryRequest{Start: end.AddDate(-20, 0, 0), End: end})
	require.NoError(t, err)
	closes := marketdata.Closes(nil, h.Bars, false)
	lr, err := marketdata.LogReturns(nil, closes)
	require.NoError(t, err)
	var sum, ss float64
	for _, r := range lr {
		sum += r
	}
	mean := sum / float64(len(lr))
	for _, r := range lr {
		ss += (r - mean) * (r - mean)
	}
	sd := math.Sqrt(ss / float64(len(lr)-1))
	assert.InDelta(t, 0.65*math.Sqrt(1.0/365), sd, 0.002) // BTC σ = 0.65, every day trades
	for _, b := range h.Bars {
		assert.True(t, b.Low <= math.Min(b.Open, b.Close) && b.High >= math.Max(b.Open, b.Close))
	}

	s, err := p.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: end.AddDate(0, 0, -14), End: end})
	require.NoError(t, err)
	for _, b := range s.Bars {
		assert.NotEqual(t, time.Saturday, b.Time.Weekday())
		assert.NotEqual(t, time.Sunday, b.Time.Weekday())
	}
	again, err := p.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: end.AddDate(0, 0, -14), End: end})
	require.NoError(t, err)
	assert.Equal(t, s.Bars, again.Bars)
}

func TestFailuresLatencyOutage(t *testing.T) {
	ctx := context.Background()
	broken, err := sim.New(sim.Options{ErrorRate: 1})
	require.NoError(t, err)
	_, err = broken.Quote(ctx, "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)

	p, err := sim.New(sim.Options{Latency: 20 * time.Millisecond})
	require.NoError(t, err)
	start := time.Now()
	_, err = p.Quote(ctx, "AAPL")
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)
	short, cancel := context.WithTimeout(ctx, time.Millisecond)
	defer cancel()
	_, err = p.Quote(short, "AAPL")
	require.ErrorIs(t, err, context.DeadlineExceeded)

	p.SetOutage(true)
	_, err = p.Quotes(ctx, []string{"AAPL"})
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	p.SetOutage(false)
	m, err := p.Quotes(ctx, []string{"AAPL", "NOPE"})
	require.NoError(t, err)
	assert.Len(t, m, 1)

	_, err = p.Quote(ctx, "NOPE")
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	_, err = p.Quote(ctx, "a b")
	require.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
	_, err = p.Rate(ctx, "EUR", "XXX")
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	early, err := sim.New(sim.Options{Now: func() time.Time { return sim.DefaultStart().Add(12 * time.Hour) }})
	require.NoError(t, err)
	r, err := early.Rate(ctx, "EUR", "NOK")
	require.NoError(t, err)
	assert.InDelta(t, 1.0354/0.0882, r.Rate, 0.1, "the start's rate, half a day on")

	any, err := sim.New(sim.Options{AllSymbols: true})
	require.NoError(t, err)
	q, err := any.Quote(ctx, "ZZZZ")
	require.NoError(t, err)
	assert.Positive(t, q.Price)

	for _, bad := range []sim.Options{{ErrorRate: 2}, {Noise: -1}, {Bias: -1}, {Latency: -1}} {
		_, err := sim.New(bad)
		assert.Error(t, err)
	}
}

func TestScheduledOutage(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := &clock{t: start.Add(30 * time.Second)}
	p, err := sim.New(sim.Options{Start: start, Now: c.now, OutageEvery: time.Minute, OutageFor: 10 * time.Second})
	require.NoError(t, err)
	_, err = p.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	c.t = start.Add(65 * time.Second) // 5s into the second period's outage
	_, err = p.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	assert.Contains(t, err.Error(), "simulated outage")
}

func TestRatesAreConsistent(t *testing.T) {
	c := &clock{t: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}
	p, err := sim.New(sim.Options{Seed: 7, Now: c.now})
	require.NoError(t, err)
	ctx := context.Background()
	rate := func(from, to string) float64 {
		t.Helper()
		r, err := p.Rate(ctx, from, to)
		require.NoError(t, err)
		return r.Rate
	}
	for step := 0; step < 3; step++ {
		for _, pair := range [][2]string{{"USD", "NOK"}, {"EUR", "USD"}, {"GBP", "JPY"}, {"SEK", "CHF"}} {
			from, to := pair[0], pair[1]
			assert.InDelta(t, 1, rate(from, to)*rate(to, from), 1e-12, "%s/%s × %s/%s", from, to, to, from)
		}
		assert.InDelta(t, rate("EUR", "NOK"), rate("EUR", "USD")*rate("USD", "NOK"), 1e-9, "cross rate through USD")
		c.t = c.t.Add(24 * time.Hour)
	}
}
