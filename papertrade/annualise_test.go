package papertrade_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
)

// One history, two volatilities, one annualisation: Bitcoin's statistics
// (marketdata.Analyze) and a buy-and-hold backtest of the same bars both
// annualise over 365 trading days (the statistics used 252 for every
// asset: 53.9 % against the backtest's 81.48 %). They remain different
// statistics, each as documented: σ·√365 of the daily closes, and
// backtesting.py's standard deviation of a compounded year.
func TestVolatilityAnnualisedOverTheAssetsDays(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	o := sim.Default("sim-history")
	o.Now = func() time.Time { return now }
	p, err := sim.New(o)
	require.NoError(t, err)
	for _, c := range []struct {
		symbol string
		days   int
	}{{"BTC-USD", 365}, {"AAPL", 252}} {
		h, err := p.History(context.Background(), c.symbol, marketdata.HistoryRequest{Start: now.AddDate(-1, 0, 0)})
		require.NoError(t, err)
		st, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{})
		require.NoError(t, err)
		assert.Equal(t, c.days, st.TradingDays, c.symbol)
		assert.InEpsilon(t, st.StdDev*math.Sqrt(float64(c.days)), st.Volatility, 1e-12, c.symbol)

		bars, err := papertrade.FromHistory(h, false)
		require.NoError(t, err)
		s, err := papertrade.NewStrategy("buyhold", nil)
		require.NoError(t, err)
		res, err := papertrade.Run(context.Background(), bars, s, papertrade.Options{Cash: 1e6, Fractional: true})
		require.NoError(t, err)
		// The equity's daily returns, compounded over the same days.
		var rets []float64
		for i := res.FirstBar + 2; i < len(res.Equity); i++ {
			rets = append(rets, res.Equity[i]/res.Equity[i-1]-1)
		}
		g, v := geoMeanVar(rets)
		n := float64(c.days)
		want := math.Sqrt(math.Pow(v+(1+g)*(1+g), n)-math.Pow(1+g, 2*n)) * 100
		assert.InEpsilon(t, want, res.Stats.VolatilityAnnPct, 0.03, c.symbol)
		other := math.Sqrt(math.Pow(v+(1+g)*(1+g), float64(365+252-c.days))-math.Pow(1+g, 2*float64(365+252-c.days))) * 100
		assert.Greater(t, math.Abs(other-res.Stats.VolatilityAnnPct), 0.1*want, "%s: not the other calendar", c.symbol)
	}
}

// geoMeanVar is the geometric mean and the sample variance of returns.
func geoMeanVar(rs []float64) (g, v float64) {
	var logSum, sum float64
	for _, r := range rs {
		logSum += math.Log1p(r)
		sum += r
	}
	g = math.Expm1(logSum / float64(len(rs)))
	mean := sum / float64(len(rs))
	for _, r := range rs {
		v += (r - mean) * (r - mean)
	}
	return g, v / float64(len(rs)-1)
}
