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

func newAt(t *testing.T, o sim.Options, c *clock) *sim.Provider {
	t.Helper()
	o.Now = c.now
	p, err := sim.New(o)
	require.NoError(t, err)
	return p
}

func quote(t *testing.T, p *sim.Provider, sym string) float64 {
	t.Helper()
	q, err := p.Quote(context.Background(), sym)
	require.NoError(t, err)
	return q.Price
}

// The price at an instant is the market's, not the provider's history of
// calls: a provider that was asked every hour for a week and one asked
// once give the same price (a path that advanced from its last reading
// gave each process its own prices for one seed).
func TestPriceIsAFunctionOfTheInstant(t *testing.T) {
	t0 := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	busy := &clock{t: t0}
	pb := newAt(t, sim.Default("busy"), busy)
	for busy.t.Before(t0.AddDate(0, 0, 7)) {
		for _, sym := range []string{"AAPL", "BTC-USD", "EURNOK=X"} {
			quote(t, pb, sym)
		}
		busy.t = busy.t.Add(time.Hour + 17*time.Second)
	}
	at := t0.AddDate(0, 0, 7).Add(90 * time.Minute)
	busy.t = at
	fresh := newAt(t, sim.Default("fresh"), &clock{t: at})
	for _, sym := range []string{"AAPL", "BTC-USD", "EURNOK=X", "BTC-EUR"} {
		assert.Equal(t, quote(t, fresh, sym), quote(t, pb, sym), sym)
	}
	// …and across a history request of any range first.
	late := newAt(t, sim.Default("late"), &clock{t: at})
	_, err := late.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: at.AddDate(-3, 0, 0)})
	require.NoError(t, err)
	assert.Equal(t, quote(t, fresh, "AAPL"), quote(t, late, "AAPL"))
}

// A day's close is the same whatever range a history asks for, and it is
// the price a quote gives at the end of that day; the next day's first
// instant starts from it.
func TestCloseOfADayIsOneNumber(t *testing.T) {
	now := &clock{t: time.Date(2026, 12, 2, 10, 30, 0, 0, time.UTC)}
	p := newAt(t, sim.Default(""), now)
	ctx := context.Background()
	day := time.Date(2025, 11, 12, 0, 0, 0, 0, time.UTC) // a Wednesday
	closeOn := func(h marketdata.History) float64 {
		for _, b := range h.Bars {
			if b.Time.Equal(day) {
				return b.Close
			}
		}
		t.Fatalf("no bar on %s", day)
		return 0
	}
	var closes []float64
	for _, req := range []marketdata.HistoryRequest{
		{Start: sim.DefaultStart()},
		{Start: day.AddDate(0, 0, -3), End: day},
		{Start: day.AddDate(-5, 0, 0)},
		{Start: day.AddDate(0, 0, -1), End: day.AddDate(0, 0, 1)},
	} {
		h, err := p.History(ctx, "SPY", req)
		require.NoError(t, err)
		closes = append(closes, closeOn(h))
	}
	for _, c := range closes[1:] {
		assert.Equal(t, closes[0], c)
	}
	q := newAt(t, sim.Default(""), &clock{t: day.Add(24*time.Hour - time.Nanosecond)})
	assert.InEpsilon(t, closes[0], quote(t, q, "SPY"), 1e-3, "the last second of the day")
	q = newAt(t, sim.Default(""), &clock{t: day.Add(24 * time.Hour)})
	assert.Equal(t, closes[0], quote(t, q, "SPY"), "the next day opens at the close")

	// A weekend does not trade: Saturday's price is Friday's close.
	fri := time.Date(2025, 11, 14, 0, 0, 0, 0, time.UTC)
	h, err := p.History(ctx, "SPY", marketdata.HistoryRequest{Start: fri.AddDate(0, 0, -1), End: fri})
	require.NoError(t, err)
	sat := newAt(t, sim.Default(""), &clock{t: fri.Add(36 * time.Hour)})
	assert.Equal(t, h.Bars[len(h.Bars)-1].Close, quote(t, sat, "SPY"))
}

// The bar of a day still trading closes at the current quote, and no bar
// lies in the future.
func TestHistoryEndsAtTheQuote(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 14, 7, 9, 0, time.UTC)}
	p := newAt(t, sim.Default(""), c)
	for _, sym := range []string{"AAPL", "BTC-USD", "EURUSD=X", "EQNR.OL", "BTC-NOK"} {
		h, err := p.History(context.Background(), sym, marketdata.HistoryRequest{End: c.t.AddDate(1, 0, 0)})
		require.NoError(t, err, sym)
		last := h.Bars[len(h.Bars)-1]
		assert.Equal(t, time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC), last.Time, sym)
		assert.Equal(t, quote(t, p, sym), last.Close, sym)
		assert.Equal(t, h.Bars[len(h.Bars)-2].Close, last.Open, sym)
		for _, b := range h.Bars {
			require.True(t, b.Low <= math.Min(b.Open, b.Close) && b.High >= math.Max(b.Open, b.Close), sym)
		}
	}
}

// The volatility of a simulated history, annualised over the asset's
// trading days (365 for crypto, 252 otherwise), is the instrument's σ.
func TestVolatilityOverTheAssetsTradingDays(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	p := newAt(t, sim.Default(""), c)
	for _, in := range sim.Instruments() {
		h, err := p.History(context.Background(), in.Symbol, marketdata.HistoryRequest{Start: c.t.AddDate(-20, 0, 0)})
		require.NoError(t, err)
		st, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{TradingDays: in.TradingDaysPerYear()})
		require.NoError(t, err)
		// 20 years: the sample σ is within about 3 % of the true one.
		assert.InEpsilon(t, in.Vol, st.Volatility, 0.06, in.Symbol)
	}
	btc := sim.Instruments()[18]
	require.Equal(t, "BTC-USD", btc.Symbol)
	assert.Equal(t, 365, btc.TradingDaysPerYear())
	assert.Equal(t, 252, sim.Instruments()[0].TradingDaysPerYear())
}

// A coin has one price: BTC-EUR is BTC-USD converted at the simulated
// EURUSD, at every instant and on every day.
func TestCoinInAnotherCurrencyIsConverted(t *testing.T) {
	for _, at := range []time.Time{time.Date(2025, 3, 4, 9, 0, 0, 0, time.UTC), time.Date(2026, 12, 2, 16, 45, 0, 0, time.UTC)} {
		p := newAt(t, sim.Default(""), &clock{t: at})
		usd, eur, nok := quote(t, p, "BTC-USD"), quote(t, p, "BTC-EUR"), quote(t, p, "BTC-NOK")
		eurusd, usdnok := quote(t, p, "EURUSD=X"), quote(t, p, "USDNOK=X")
		assert.InEpsilon(t, usd, eur*eurusd, 1e-12)
		assert.InEpsilon(t, usd*usdnok, nok, 1e-12)
	}
}

// Instants outside the simulated century are an error, not a panic or an
// endless loop.
func TestOutsideTheMarket(t *testing.T) {
	p := newAt(t, sim.Default(""), &clock{t: time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)})
	_, err := p.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	q := newAt(t, sim.Default(""), &clock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)})
	_, err = q.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: time.Date(1800, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(1810, 1, 1, 0, 0, 0, 0, time.UTC)})
	require.Error(t, err)
}

// Noisy sources scatter around the same price: over many instants their
// relative error averages out within their noise.
func TestNoiseAroundTheSamePrice(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	truth := newAt(t, sim.Default(""), c)
	o := sim.Default("noisy")
	o.Noise = 0.001
	noisy := newAt(t, o, c)
	var sum, ss float64
	const n = 400
	for range n {
		r := quote(t, noisy, "MSFT")/quote(t, truth, "MSFT") - 1
		sum += r
		ss += r * r
		c.t = c.t.Add(time.Second)
	}
	assert.InDelta(t, 0, sum/n, 3*0.001/math.Sqrt(n))
	assert.InEpsilon(t, 0.001, math.Sqrt(ss/n), 0.15)
}

// A noisy source asked twice at the same instant gives the same answer,
// so every view of a symbol at one instant agrees; at the next instant it
// draws again.
func TestNoiseIsOneDrawPerInstant(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)}
	o := sim.Default("sim-eu")
	o.Noise = 0.001
	a, b := newAt(t, o, c), newAt(t, o, c)
	first := quote(t, a, "AAPL")
	assert.Equal(t, first, quote(t, a, "AAPL"))
	assert.Equal(t, first, quote(t, b, "AAPL"))
	m, err := b.Quotes(context.Background(), []string{"AAPL"})
	require.NoError(t, err)
	assert.Equal(t, first, m["AAPL"].Price)
	c.t = c.t.Add(time.Second)
	assert.NotEqual(t, first, quote(t, a, "AAPL"))
}

// The intraday path moves all day: every minute of a weekday, the evening
// (UTC) included, has its own price, and consecutive minutes stay close.
// The tick of an instant was computed as nanoseconds × 2¹⁷ in an int64,
// which overflows after 19:32:48 UTC: the price then froze at the day's
// close for four and a half hours and jumped there.
func TestPathMovesUntilMidnight(t *testing.T) {
	day := time.Date(2026, 3, 4, 0, 0, 0, 0, time.UTC) // a Wednesday
	c := &clock{t: day}
	p := newAt(t, sim.Default(""), c)
	in := sim.Instruments()[0] // AAPL
	require.Equal(t, "AAPL", in.Symbol)
	perMinute := in.Vol * math.Sqrt(1.0/sim.WeekdaysPerYear/24/60)
	seen := map[float64]bool{}
	prev := quote(t, p, "AAPL")
	for m := 1; m < 24*60; m++ {
		c.t = day.Add(time.Duration(m) * time.Minute)
		now := quote(t, p, "AAPL")
		if c.t.Hour() >= 19 {
			seen[now] = true
		}
		require.Less(t, math.Abs(math.Log(now/prev)), 8*perMinute, "jump at %s", c.t.Format(time.TimeOnly))
		prev = now
	}
	assert.Greater(t, len(seen), 250, "the evening's minutes have their own prices")
}

// A range inside one day is that day's bar: from today's midnight to now
// is today's bar at the current price, and a Monday morning to its
// afternoon is Monday's close (both were refused as "start not before
// end", the day of Start and of End being the same).
func TestHistoryOfOneDay(t *testing.T) {
	c := &clock{t: time.Date(2026, 12, 2, 14, 7, 9, 0, time.UTC)} // a Wednesday
	p := newAt(t, sim.Default(""), c)
	ctx := context.Background()
	h, err := p.History(ctx, "AAPL", marketdata.HistoryRequest{Start: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 1)
	assert.Equal(t, quote(t, p, "AAPL"), h.Bars[0].Close)

	mon := time.Date(2026, 11, 30, 0, 0, 0, 0, time.UTC)
	h, err = p.History(ctx, "AAPL", marketdata.HistoryRequest{Start: mon.Add(9 * time.Hour), End: mon.Add(17 * time.Hour)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 1)
	week, err := p.History(ctx, "AAPL", marketdata.HistoryRequest{Start: mon.AddDate(0, 0, -7), End: mon})
	require.NoError(t, err)
	assert.Equal(t, week.Bars[len(week.Bars)-1], h.Bars[0])

	// A weekend alone has no bar of a share (a clear "no trading days").
	_, err = p.History(ctx, "AAPL", marketdata.HistoryRequest{Start: mon.AddDate(0, 0, -2), End: mon.AddDate(0, 0, -1)})
	assert.ErrorIs(t, err, marketdata.ErrNotFound)
}
