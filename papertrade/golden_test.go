package papertrade

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadGOOG(t testing.TB) []Bar {
	t.Helper()
	bars, err := ReadCSVFile("testdata/GOOG.csv")
	require.NoError(t, err)
	return bars
}

// TestGoldenBacktestingPy compares our statistics for SMACross(10, 30) on
// GOOG.csv (cash 10,000, no commission, trades closed at the end) with the
// figures backtesting.py's own test suite asserts in test_compute_stats.
func TestGoldenBacktestingPy(t *testing.T) {
	bars := loadGOOG(t)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Cash: 10_000, Compat: true})
	require.NoError(t, err)
	s := res.Stats
	day := 24 * time.Hour

	assert.Equal(t, time.Date(2004, 8, 19, 0, 0, 0, 0, time.UTC), s.Start)
	assert.Equal(t, time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC), s.End)
	assert.Equal(t, 3116*day, s.Duration)
	assert.Equal(t, 66, s.NumTrades)
	assert.Equal(t, 41*day, s.AvgDrawdownDuration)
	assert.Equal(t, 46*day, s.AvgTradeDuration)
	assert.Equal(t, 584*day, s.MaxDrawdownDuration)
	assert.Equal(t, 183*day, s.MaxTradeDuration)

	want := []struct {
		name string
		got  float64
		want float64
	}{
		{"Avg. Drawdown [%]", s.AvgDrawdownPct, -5.925851581948801},
		{"Avg. Trade [%]", s.AvgTradePct, 2.5479693282886906},
		{"Best Trade [%]", s.BestTradePct, 53.59595229490424},
		{"Buy & Hold Return [%]", s.BuyHoldReturnPct, 522.0601851851852},
		{"Calmar Ratio", s.CalmarRatio, 0.4445179349739874},
		{"Equity Final [$]", s.EquityFinal, 51959.94999999997},
		{"Equity Peak [$]", s.EquityPeak, 75787.44},
		{"Expectancy [%]", s.ExpectancyPct, 3.2930986285628268},
		{"Exposure Time [%]", s.ExposurePct, 96.74115456238361},
		{"Max. Drawdown [%]", s.MaxDrawdownPct, -47.98012705007589},
		{"Profit Factor", s.ProfitFactor, 2.174469316409448},
		{"Return (Ann.) [%]", s.ReturnAnnPct, 21.32802699608929},
		{"Return [%]", s.ReturnPct, 419.59949999999964},
		{"Volatility (Ann.) [%]", s.VolatilityAnnPct, 36.53825234483751},
		{"CAGR [%]", s.CAGRPct, 14.255789393913654},
		{"SQN", s.SQN, 1.0880865497975716},
		{"Kelly Criterion", s.KellyCriterion, 0.15319708142323157},
		{"Sharpe Ratio", s.SharpeRatio, 0.5837177650097084},
		{"Sortino Ratio", s.SortinoRatio, 1.0923863161583598},
		{"Win Rate [%]", s.WinRatePct, 46.96969696969697},
		{"Worst Trade [%]", s.WorstTradePct, -18.39887353835481},
		{"Alpha [%]", s.AlphaPct, 399.7149324245838},
		{"Beta", s.Beta, 0.0380886498141251},
	}
	for _, w := range want {
		rel := math.Abs(w.got-w.want) / math.Abs(w.want)
		t.Logf("%-22s ours %.15g  backtesting.py %.15g  rel %.2g", w.name, w.got, w.want, rel)
		assert.LessOrEqualf(t, rel, 1e-6, "%s: got %.15g, backtesting.py %.15g (rel %.3g)", w.name, w.got, w.want, rel)
	}
	assert.Equal(t, 66, len(res.Trades))
}

// TestGoldenDefaultMode shows where the default semantics differ from
// Compat on the golden run: only CAGR, which the default computes over
// calendar years (3116 days = 8.53 years) instead of 3116/252 "years".
func TestGoldenDefaultMode(t *testing.T) {
	bars := loadGOOG(t)
	compat, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Compat: true})
	require.NoError(t, err)
	def, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	require.NoError(t, err)
	c, d := compat.Stats, def.Stats
	assert.InEpsilon(t, math.Pow(51959.95/10_000, 365.25/3116)*100-100, d.CAGRPct, 1e-12)
	c.CAGRPct, d.CAGRPct = 0, 0
	assert.Equal(t, c, d)
	assert.Equal(t, compat.Trades, def.Trades)
}
