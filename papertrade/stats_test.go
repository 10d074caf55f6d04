package papertrade

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestStatsNoTradesJSONAndTable(t *testing.T) {
	bars := loadGOOG(t)[:100]
	res, err := Run(context.Background(), bars, &idle{}, Options{})
	require.NoError(t, err)
	s := res.Stats
	assert.Equal(t, 0, s.NumTrades)
	assert.Equal(t, 10_000.0, s.EquityFinal)
	assert.Equal(t, 0.0, s.ReturnPct)
	assert.True(t, math.IsNaN(s.WinRatePct))
	assert.True(t, math.IsNaN(s.SharpeRatio))
	b, err := json.Marshal(s)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Nil(t, m["win_rate_pct"], "NaN is null")
	assert.Equal(t, 0.0, m["num_trades"])
	for _, k := range []string{"return_pct", "sharpe_ratio", "max_drawdown_pct", "num_trades", "win_rate_pct", "cagr_pct", "buy_hold_return_pct", "exposure_time_pct", "sqn", "kelly_criterion", "alpha_pct", "beta", "duration_days"} {
		assert.Contains(t, m, k)
	}
	// Keys come out in a fixed order.
	assert.True(t, strings.HasPrefix(string(b), `{"start":"2004-08-19T00:00:00Z","end":`), string(b))
	table := s.Table()
	assert.Contains(t, table, "Win Rate [%]")
	assert.Contains(t, table, "NaN")
	assert.Contains(t, table, "Duration")
	r, err := json.Marshal(res)
	require.NoError(t, err)
	assert.Contains(t, string(r), `"stats":{"start"`)
}

func TestStatsHourlyData(t *testing.T) {
	bars, err := ReadCSVFile("testdata/EURUSD.csv")
	require.NoError(t, err)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Cash: 10_000, Margin: 0.02, Fractional: true})
	require.NoError(t, err)
	s := res.Stats
	assert.Greater(t, s.NumTrades, 50)
	for _, v := range []float64{s.ReturnAnnPct, s.VolatilityAnnPct, s.SharpeRatio, s.SQN, s.Beta} {
		assert.False(t, math.IsNaN(v))
	}
	// Durations are rounded up to the data's resolution: whole hours.
	for _, d := range []time.Duration{s.MaxTradeDuration, s.AvgTradeDuration, s.MaxDrawdownDuration, s.AvgDrawdownDuration} {
		assert.Zero(t, d%time.Hour, d)
	}
	assert.Greater(t, s.AvgTradeDuration, time.Duration(0))
}

func TestDrawdownPeriods(t *testing.T) {
	// backtesting.py's test_compute_drawdown: dd [0,1,7,0,4,0,0] has two
	// drawdowns, 3 and 2 periods long, 7 and 4 deep.
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	bars := make([]Bar, 7)
	for i := range bars {
		bars[i].Time = t0.AddDate(0, 0, i)
	}
	durs, peaks := drawdownPeriods([]float64{0, 1, 7, 0, 4, 0, 0}, bars)
	assert.Equal(t, []time.Duration{3 * 24 * time.Hour, 2 * 24 * time.Hour}, durs)
	assert.Equal(t, []float64{7, 4}, peaks)
}

func TestCeilAndPeriodHelpers(t *testing.T) {
	assert.Equal(t, 2*24*time.Hour, ceilTo(25*time.Hour, 24*time.Hour))
	assert.Equal(t, 2*time.Hour, ceilTo(61*time.Minute, time.Hour))
	assert.Equal(t, 90*time.Minute, ceilTo(90*time.Minute, 30*time.Minute))
	assert.Equal(t, 0.0, geometricMean([]float64{0.1, -1}))
	assert.InDelta(t, math.Sqrt(1.1*1.2)-1, geometricMean([]float64{0.1, 0.2}), 1e-15)
	assert.Equal(t, 3.0, pyFloorDiv(7, 2))
	assert.Equal(t, -4.0, pyFloorDiv(-7, 2))
	assert.Equal(t, 2.0, pyFloorDiv(0.6, 0.2), "Python: 0.6 // 0.2 == 2.0")
}

func TestPeriodKeys(t *testing.T) {
	loc := time.FixedZone("UTC-5", -5*3600)
	// Late evening in New York is still the same calendar day there.
	a := time.Date(2024, 3, 5, 23, 0, 0, 0, loc)
	b := time.Date(2024, 3, 5, 1, 0, 0, 0, loc)
	assert.Equal(t, periodKey(a, 1), periodKey(b, 1))
	assert.NotEqual(t, periodKey(a, 1), periodKey(a.Add(2*time.Hour), 1))
	// Weeks end on Sunday: Monday 2024-03-04 … Sunday 2024-03-10 share a key.
	mon := time.Date(2024, 3, 4, 12, 0, 0, 0, time.UTC)
	sun := time.Date(2024, 3, 10, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, periodKey(mon, 7), periodKey(sun, 7))
	assert.NotEqual(t, periodKey(sun, 7), periodKey(sun.AddDate(0, 0, 1), 7))
	assert.Equal(t, periodKey(mon, 31), periodKey(sun.AddDate(0, 0, 10), 31))
	assert.Equal(t, dayNumber(time.Date(1969, 12, 31, 23, 0, 0, 0, time.UTC)), int64(-1))
}

func TestExposedBars(t *testing.T) {
	trades := []Trade{{EntryBar: 2, ExitBar: 4}, {EntryBar: 3, ExitBar: 6}, {EntryBar: 9, ExitBar: 9}, {EntryBar: 1, ExitBar: -1}}
	assert.Equal(t, 6, exposedBars(trades, 20), "bars 2-6 and 9")
	assert.Equal(t, 0, exposedBars(nil, 5))
}

// TestDrawdownCurveMatchesReference checks the one-pass drawdownCurve
// against the straightforward drawdowns, drawdownPeriods and slices.Max on
// random equity curves, including flat stretches, new peaks, a drawdown
// open at the end, and NaN.
func TestDrawdownCurveMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for iter := 0; iter < 500; iter++ {
		n := 1 + rng.IntN(60)
		eq := make([]float64, n)
		bars := make([]Bar, n)
		v := 100.0
		for i := range eq {
			switch rng.IntN(4) {
			case 0: // flat
			case 1:
				v *= 1 + 0.05*rng.Float64()
			default:
				v *= 1 - 0.05*rng.Float64()
			}
			eq[i] = v
			bars[i].Time = t0.Add(time.Duration(i) * time.Hour)
		}
		if iter%50 == 49 {
			eq[rng.IntN(n)] = math.NaN()
		}
		want := drawdowns(eq)
		wantDurs, wantPeaks := drawdownPeriods(want, bars)
		dd := make([]float64, n)
		got := drawdownCurve(eq, bars, dd)
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(dd), "curve %v", eq)
		require.Equal(t, wantDurs, got.durs, "durations %v", eq)
		require.Equal(t, fmt.Sprint(wantPeaks), fmt.Sprint(got.peaks), "depths %v", eq)
		require.Equal(t, fmt.Sprint(slices.Max(eq)), fmt.Sprint(got.equityPeak))
		require.Equal(t, fmt.Sprint(slices.Max(want)), fmt.Sprint(got.maxDD))
	}
}

// TestReturnStatsMatchesReference checks the one-pass returnStats against
// periodReturns, geometricMean, variance and the downside deviation over
// daily, intraday, weekly and monthly bars (with weekends, gaps, a time
// zone, and a ruined account).
func TestReturnStatsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	loc := time.FixedZone("UTC-5", -5*3600)
	steps := []time.Duration{24 * time.Hour, 6 * time.Hour, 7 * 24 * time.Hour, 31 * 24 * time.Hour}
	for iter := 0; iter < 400; iter++ {
		n := 1 + rng.IntN(300)
		step := steps[iter%len(steps)]
		freqDays := int(step / (24 * time.Hour))
		bars := make([]Bar, n)
		eq := make([]float64, n)
		tm := time.Date(2023, 12, 29, 15, 0, 0, 0, time.UTC)
		if iter%3 == 0 {
			tm = tm.In(loc)
		}
		v, c := 1000.0, 50.0
		for i := range bars {
			tm = tm.Add(step * time.Duration(1+rng.IntN(2)))
			v *= 1 + 0.03*rng.NormFloat64()
			c *= 1 + 0.02*rng.NormFloat64()
			bars[i] = Bar{Time: tm, Close: c}
			eq[i] = v
		}
		if iter%40 == 39 { // ruined: equity 0 from some bar on
			for i := rng.IntN(n); i < n; i++ {
				eq[i] = 0
			}
		}
		rets, weekend := periodReturns(bars, eq, freqDays)
		// backtesting.py 0.6.6 drops the NaN returns (the first, and 0/0
		// after a ruin) before averaging; 0.6.5 counts them as 0 returns
		// in the geometric mean.
		var down float64
		var defined []float64
		for _, r := range rets {
			if !math.IsNaN(r) {
				defined = append(defined, r)
				m := math.Min(r, 0)
				down += m * m
			}
		}
		down = nanDiv(down, float64(len(defined)))
		if len(defined) == 0 {
			down = math.NaN()
		}
		got := returnStats(bars, eq, freqDays)
		require.Equal(t, weekend, got.weekend)
		require.Equal(t, fmt.Sprint(geometricMean(rets)), fmt.Sprint(got.geoMean065), "iter %d", iter)
		require.Equal(t, fmt.Sprint(geometricMean(defined)), fmt.Sprint(got.geoMean), "iter %d", iter)
		require.Equal(t, fmt.Sprint(down), fmt.Sprint(got.downside), "iter %d", iter)
		want := variance(rets[1:], 1)
		if math.IsNaN(want) {
			require.True(t, math.IsNaN(got.variance), "iter %d: variance %v, want NaN", iter, got.variance)
		} else {
			require.InEpsilon(t, want, got.variance, 1e-12, "iter %d", iter)
		}
	}
}

// bigLogRatio is log(a/b) to about 200 bits: 2·atanh((a-b)/(a+b)) summed
// in big.Float until the terms vanish (|s| < 1/9 here).
func bigLogRatio(a, b float64) float64 {
	const prec = 200
	fa, fb := new(big.Float).SetPrec(prec).SetFloat64(a), new(big.Float).SetPrec(prec).SetFloat64(b)
	s := new(big.Float).SetPrec(prec).Quo(new(big.Float).SetPrec(prec).Sub(fa, fb), new(big.Float).SetPrec(prec).Add(fa, fb))
	z := new(big.Float).SetPrec(prec).Mul(s, s)
	sum := new(big.Float).SetPrec(prec)
	term := new(big.Float).SetPrec(prec).Set(s) // s^(2k+1)
	for k := 0; k < 80; k++ {
		q := new(big.Float).SetPrec(prec).Quo(term, new(big.Float).SetPrec(prec).SetInt64(int64(2*k+1)))
		sum.Add(sum, q)
		term.Mul(term, z)
	}
	sum.Mul(sum, new(big.Float).SetPrec(prec).SetInt64(2))
	f, _ := sum.Float64()
	return f
}

func TestLogRatioAccuracy(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for i := 0; i < 3000; i++ {
		a := 100 * math.Exp(2*rng.NormFloat64())
		var b float64
		switch i % 3 {
		case 0:
			b = a * math.Exp(0.08*rng.NormFloat64())
		case 1:
			b = a * (1 + 1e-9*rng.NormFloat64())
		default:
			b = a * (0.8 + 0.45*rng.Float64()) // the whole series range
		}
		got, want := logRatio(a, b), bigLogRatio(a, b)
		got2, got2b := logRatio2(a, b, b, a)
		require.Equal(t, got, got2, "logRatio2 = logRatio")
		require.Equal(t, logRatio(b, a), got2b, "logRatio2 = logRatio")
		if !(a > 0.8*b && a < 1.25*b) {
			require.Equal(t, math.Log(a/b), got, "outside the series range: math.Log(%v/%v)", a, b)
			continue
		}
		if want == 0 {
			require.Zero(t, got)
			continue
		}
		ulp := math.Nextafter(math.Abs(want), math.Inf(1)) - math.Abs(want)
		require.LessOrEqual(t, math.Abs(got-want), 2*ulp, "log(%v/%v) = %v, want %v", a, b, got, want)
	}
	// Outside the series range and odd inputs: math.Log(a / b).
	for _, c := range [][2]float64{{2, 1}, {1, 3}, {0, 0}, {0, 1}, {1, 0}, {-1, 1}, {-1, -1.1}, {math.NaN(), 1}, {math.Inf(1), math.Inf(1)}, {math.Inf(1), 1}} {
		want, got := math.Log(c[0]/c[1]), logRatio(c[0], c[1])
		require.Equal(t, fmt.Sprint(want), fmt.Sprint(got), "log(%v/%v)", c[0], c[1])
	}
}

// TestStatsUndefinedAtTheEdges: figures that have no value are NaN (null
// in JSON), not 0: trade durations without trades, drawdown durations
// without a drawdown, Return (Ann.) and volatility of a one-bar series (no
// period return at all), and beta when every market return is the same
// (the market has no variance to regress on).
func TestStatsUndefinedAtTheEdges(t *testing.T) {
	// No trades, equity never below its peak.
	res, err := Run(context.Background(), flatBars(1, 2, 3, 4, 5, 6), &idle{}, Options{})
	require.NoError(t, err)
	b, err := json.Marshal(res.Stats)
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	for _, k := range []string{"max_trade_duration_days", "avg_trade_duration_days", "max_drawdown_duration_days", "avg_drawdown_duration_days"} {
		require.Contains(t, m, k)
		assert.Nil(t, m[k], "%s is undefined: null", k)
		v, ok := StatValue(res.Stats, k)
		assert.True(t, ok && math.IsNaN(v), "StatValue(%s) = %v, want NaN", k, v)
	}
	assert.Equal(t, 5.0, m["duration_days"])
	assert.Contains(t, res.Stats.Table(), "Max. Trade Duration                       NaN")

	// One bar: no period return.
	one := flatBars(100)
	s := ComputeStats(one, []float64{10_000}, nil, StatsOptions{})
	assert.True(t, math.IsNaN(s.ReturnAnnPct), "Return (Ann.) of one bar: %v", s.ReturnAnnPct)
	assert.True(t, math.IsNaN(s.VolatilityAnnPct))
	assert.True(t, math.IsNaN(s.SharpeRatio))
	assert.True(t, math.IsNaN(s.CAGRPct))

	// Every market return the same: exactly (prices doubling) or up to
	// the rounding of the prices (1% a bar).
	for _, growth := range []float64{2, 1.01} {
		n := 40
		bars := make([]Bar, n)
		eq := make([]float64, n)
		p := 1.0
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range bars {
			bars[i] = Bar{Time: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, i), Open: p, High: p, Low: p, Close: p}
			p *= growth
			eq[i] = 10_000 * (1 + 0.1*rng.Float64())
		}
		s := ComputeStats(bars, eq, nil, StatsOptions{})
		assert.True(t, math.IsNaN(s.Beta), "growth %v: beta %v, want NaN", growth, s.Beta)
		assert.True(t, math.IsNaN(s.AlphaPct), "growth %v: alpha %v, want NaN", growth, s.AlphaPct)
	}
	// A market that moves still has a beta.
	s = ComputeStats(loadGOOG(t), Closes(loadGOOG(t)), nil, StatsOptions{})
	assert.InDelta(t, 1, s.Beta, 1e-12, "equity = the market: beta 1")
}
