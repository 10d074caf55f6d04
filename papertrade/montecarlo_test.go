package papertrade

import (
	"context"
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func smaFactory() Strategy { return &SMACross{Fast: 10, Slow: 30} }

func TestMonteCarloDeterministicAcrossWorkers(t *testing.T) {
	bars := loadGOOG(t)
	for _, method := range []Method{GBM, Bootstrap} {
		t.Run(string(method), func(t *testing.T) {
			run := func(workers int, seed uint64) *MonteCarloResult {
				r, err := MonteCarlo(context.Background(), bars, smaFactory, MonteCarloOptions{
					Paths: 60, Bars: 500, Method: method, Seed: seed, Workers: workers,
				})
				require.NoError(t, err)
				return r
			}
			one, four, other := run(1, 42), run(4, 42), run(4, 43)
			assert.Equal(t, one.Outcomes, four.Outcomes, "bit-identical for 1 and 4 workers")
			assert.Equal(t, one.Verdict, four.Verdict)
			assert.NotEqual(t, one.Outcomes, other.Outcomes, "another seed gives other paths")
			assert.Equal(t, 60, one.Paths)
			assert.InDelta(t, 500.0/251.7, one.Years, 0.05)
			assert.GreaterOrEqual(t, one.ProbProfit, 0.0)
			assert.LessOrEqual(t, one.ProbProfit, 1.0)
			assert.LessOrEqual(t, one.Return.P5, one.Return.Median)
			assert.LessOrEqual(t, one.Return.Median, one.Return.P95)
			total := 0
			for _, b := range one.Histogram {
				total += b.Count
			}
			assert.Equal(t, 60, total)
			assert.True(t, strings.Contains(one.Verdict, "of 60 simulated"), one.Verdict)
		})
	}
}

// TestMonteCarloGBMCalibration checks that GBM paths reproduce the input's
// drift: the mean buy-and-hold log growth over many paths is close to the
// historical mean log return times the number of bars.
func TestMonteCarloGBMCalibration(t *testing.T) {
	bars := loadGOOG(t)
	m := newPathModel(bars)
	r, err := MonteCarlo(context.Background(), bars, func() Strategy { return &BuyAndHold{} }, MonteCarloOptions{Paths: 400, Bars: 252, Seed: 1})
	require.NoError(t, err)
	// Buy and hold from bar 2's open to the last close: ~249 bars of drift.
	wantMedian := math.Expm1(m.mu*249) * 100
	assert.InDelta(t, wantMedian, r.BuyHoldReturn.Median, 8, "median buy-and-hold return near the calibrated drift")
	for _, o := range r.Outcomes {
		assert.Equal(t, o.ReturnPct, o.BuyHoldReturnPct, "the strategy is buy and hold")
	}
}

func TestMonteCarloProgressAndCancel(t *testing.T) {
	bars := loadGOOG(t)
	calls := 0
	_, err := MonteCarlo(context.Background(), bars, smaFactory, MonteCarloOptions{
		Paths: 25, Bars: 300, Workers: 3, Progress: func(done, total int) {
			calls++
			assert.Equal(t, 25, total)
			assert.Equal(t, calls, done)
		},
	})
	require.NoError(t, err)
	assert.Equal(t, 25, calls)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = MonteCarlo(ctx, bars, smaFactory, MonteCarloOptions{Paths: 1000, Bars: 300})
	assert.ErrorIs(t, err, context.Canceled)
}

func TestMonteCarloBadOptions(t *testing.T) {
	bars := loadGOOG(t)
	for _, o := range []MonteCarloOptions{
		{Paths: -1},
		{Bars: 2},
		{Method: "heston"},
		{BlockSize: -3},
		{Ruin: 1.5},
		{Bins: -1},
		{Backtest: Options{Cash: -1}},
		{Years: -2},
	} {
		_, err := MonteCarlo(context.Background(), bars, smaFactory, o)
		assert.Error(t, err, "%+v", o)
	}
	_, err := MonteCarlo(context.Background(), bars, nil, MonteCarloOptions{})
	assert.ErrorIs(t, err, ErrInvalidMonteCarlo)
	_, err = MonteCarlo(context.Background(), bars[:2], smaFactory, MonteCarloOptions{})
	assert.ErrorIs(t, err, ErrInvalidMonteCarlo)
	_, err = MonteCarlo(context.Background(), bars, func() Strategy { return &SMACross{} }, MonteCarloOptions{Paths: 3})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
}

func benchmarkMonteCarlo(b *testing.B, workers int) {
	bars := loadGOOG(b)
	b.ReportAllocs()
	cpu0 := processCPU()
	for b.Loop() {
		r, err := MonteCarlo(context.Background(), bars, smaFactory, MonteCarloOptions{Paths: 10_000, Bars: 2520, Seed: 1, Workers: workers})
		if err != nil {
			b.Fatal(err)
		}
		_ = r
	}
	reportRate(b, 10_000*2520, cpu0)
}

func BenchmarkMonteCarlo10kx2520Workers1(b *testing.B) { benchmarkMonteCarlo(b, 1) }
func BenchmarkMonteCarlo10kx2520Workers2(b *testing.B) { benchmarkMonteCarlo(b, 2) }

func TestExpSmall(t *testing.T) {
	for _, x := range []float64{0, 1e-9, -0.01, 0.02, 0.1, -0.3, 0.49, -0.5, 0.7, -3, math.NaN()} {
		want := math.Exp(x)
		got := expSmall(x)
		if math.IsNaN(x) {
			assert.True(t, math.IsNaN(got))
			continue
		}
		assert.InEpsilon(t, want, got, 3e-13, "x=%v", x)
		if math.Abs(x) <= 0.02 {
			assert.InEpsilon(t, want, got, 1e-15, "x=%v", x)
		}
	}
}

func TestMonteCarloYears(t *testing.T) {
	r, err := MonteCarlo(context.Background(), loadGOOG(t), smaFactory, MonteCarloOptions{Paths: 4, Years: 2})
	require.NoError(t, err)
	assert.InDelta(t, 503, r.BarsPerPath, 2, "two years of GOOG's ~251.6 bars a year")
	assert.InDelta(t, 2, r.Years, 0.01)
}

// TestMonteCarloBuyHoldShortcut checks that buy and hold computed on the
// bars it trades on equals a full engine run on every path.
func TestMonteCarloBuyHoldShortcut(t *testing.T) {
	bars := loadGOOG(t)
	for _, bt := range []Options{{}, {Commission: CommissionModel{Fixed: 3, Rate: 0.001}, SpreadBps: 2}} {
		r, err := MonteCarlo(context.Background(), bars, func() Strategy { return &BuyAndHold{} }, MonteCarloOptions{
			Paths: 30, Bars: 400, Method: Bootstrap, Seed: 5, Backtest: bt,
		})
		require.NoError(t, err)
		for _, o := range r.Outcomes {
			assert.Equal(t, o.ReturnPct, o.BuyHoldReturnPct)
		}
	}
}

// rallyBars: a 400-bar series whose first 20 returns are a +3% rally and
// the rest small noise around zero, the case where a bootstrap that draws
// block starts from [0, k-block] loses most of the drift (the first returns
// only appear in blocks starting at 0..19).
func rallyBars() []Bar {
	bars := syntheticBars(400, 17)
	price := 100.0
	for i := range bars {
		open := price
		switch {
		case i == 0:
		case i <= 20:
			price *= 1.03
		default:
			price *= math.Exp(0.002 * math.Sin(float64(i)))
		}
		bars[i].Open, bars[i].Close = open, price
		bars[i].High, bars[i].Low = math.Max(open, price)*1.001, math.Min(open, price)*0.999
	}
	return bars
}

// TestBootstrapUnbiased: the circular block bootstrap's expected per-bar
// log return equals the sample's, whatever the block length (each path
// position is a uniformly drawn historical return). Block starts drawn from
// [0, k-block] gave -59% of the drift here with blocks of 20.
func TestBootstrapUnbiased(t *testing.T) {
	bars := rallyBars()
	m := newPathModel(bars)
	var want float64
	for _, r := range m.ret {
		want += math.Log(r)
	}
	want /= float64(len(m.ret))
	for _, block := range []int{1, 20, 100, 398} {
		path := make([]Bar, 400)
		var sum float64
		count := 0
		for p := range 3000 {
			rng := rand.New(rand.NewPCG(5, uint64(p)))
			m.fill(path, Bootstrap, block, rng, p == 0)
			prev := m.start
			for _, b := range path {
				sum += math.Log(b.Close / prev)
				prev = b.Close
				count++
			}
		}
		got := sum / float64(count)
		assert.InEpsilon(t, want, got, 0.04, "block %d: mean log return %.6g, sample %.6g", block, got, want)
	}
}

// TestBootstrapBlockLongerThanHistory: a block as long as the history's
// returns would repeat the history on every path (200 identical paths, P =
// 1 with interval [1, 1]); it is refused.
func TestBootstrapBlockLongerThanHistory(t *testing.T) {
	bars := syntheticBars(200, 3) // 199 returns
	for _, block := range []int{199, 200, 5000} {
		_, err := MonteCarlo(context.Background(), bars, smaFactory, MonteCarloOptions{Method: Bootstrap, BlockSize: block, Paths: 10})
		assert.ErrorIs(t, err, ErrInvalidMonteCarlo, "block %d", block)
	}
	_, err := MonteCarlo(context.Background(), bars, smaFactory, MonteCarloOptions{Method: Bootstrap, BlockSize: 198, Paths: 10})
	assert.NoError(t, err)
	// GBM ignores the block length.
	_, err = MonteCarlo(context.Background(), bars, smaFactory, MonteCarloOptions{BlockSize: 5000, Paths: 10})
	assert.NoError(t, err)
}

// binomialCoverage is the exact probability that the interval from
// interval(x, n) covers p when x ~ Binomial(n, p).
func binomialCoverage(p float64, n int, interval func(x, n int) (float64, float64)) float64 {
	var cover float64
	for x := 0; x <= n; x++ {
		lg, _ := math.Lgamma(float64(n + 1))
		a, _ := math.Lgamma(float64(x + 1))
		b, _ := math.Lgamma(float64(n - x + 1))
		pmf := math.Exp(lg - a - b + float64(x)*math.Log(p) + float64(n-x)*math.Log1p(-p))
		if lo, hi := interval(x, n); lo <= p && p <= hi {
			cover += pmf
		}
	}
	return cover
}

// TestProbProfitInterval: the 95% interval for P(profit) is Wilson's,
// which keeps its coverage near 0 and 1 where the Wald interval p ± 1.96 SE
// collapses (68% coverage at P = 0.99 with 100 paths; [1, 1] when every
// path profits).
func TestProbProfitInterval(t *testing.T) {
	wald := func(x, n int) (float64, float64) {
		p := float64(x) / float64(n)
		se := math.Sqrt(p * (1 - p) / float64(n))
		return math.Max(0, p-1.96*se), math.Min(1, p+1.96*se)
	}
	assert.Less(t, binomialCoverage(0.99, 100, wald), 0.7, "the Wald interval under-covers")
	for _, n := range []int{20, 100, 1000} {
		for _, p := range []float64{0.005, 0.01, 0.05, 0.3, 0.5, 0.9, 0.99, 0.995} {
			c := binomialCoverage(p, n, wilson95)
			if p*float64(n) >= 1 && (1-p)*float64(n) >= 1 {
				assert.Greater(t, c, 0.9, "n %d p %v: coverage %.3f", n, p, c)
			}
		}
	}
	lo, hi := wilson95(100, 100)
	assert.Less(t, lo, 1.0)
	assert.Equal(t, 1.0, hi)
	lo, hi = wilson95(0, 100)
	assert.Equal(t, 0.0, lo)
	assert.Greater(t, hi, 0.0)
	assert.InDelta(t, 0.0370, hi, 5e-4, "Wilson upper bound for 0 of 100")

	// MonteCarlo reports it.
	r, err := MonteCarlo(context.Background(), loadGOOG(t), func() Strategy { return &BuyAndHold{} }, MonteCarloOptions{Paths: 50, Bars: 100, Seed: 2})
	require.NoError(t, err)
	x := int(math.Round(r.ProbProfit * 50))
	wlo, whi := wilson95(x, 50)
	assert.Equal(t, wlo, r.ProbProfitLo95)
	assert.Equal(t, whi, r.ProbProfitHi95)

	// And for P(beat buy & hold): buy and hold never beats itself, 0 of
	// 50, where p ± 1.96 SE gave the point [0, 0].
	assert.Equal(t, 0.0, r.ProbBeatBH)
	blo, bhi := wilson95(0, 50)
	assert.Equal(t, [2]float64{blo, bhi}, [2]float64{r.ProbBeatBHLo95, r.ProbBeatBHHi95})
	assert.Greater(t, r.ProbBeatBHHi95, 0.05)
	r, err = MonteCarlo(context.Background(), loadGOOG(t), smaFactory, MonteCarloOptions{Paths: 60, Bars: 200, Seed: 3})
	require.NoError(t, err)
	x = int(math.Round(r.ProbBeatBH * 60))
	blo, bhi = wilson95(x, 60)
	assert.Equal(t, [2]float64{blo, bhi}, [2]float64{r.ProbBeatBHLo95, r.ProbBeatBHHi95})
}

// TestBootstrapDrawsEveryBarEquallyOften: each historical bar fills a path
// position equally often, block length and path length notwithstanding
// (the exact form of the unbiasedness above). Bar j is recognisable by its
// open, j+1, on a flat series. Starts drawn from [0, k-block] gave bar 0 a
// twentieth of bar 20's share; an off-by-one in the circular draw shows
// as a 5% gap at one bar, four standard deviations here.
func TestBootstrapDrawsEveryBarEquallyOften(t *testing.T) {
	const k, block, bars, paths = 50, 20, 30, 20000
	m := pathModel{start: 1}
	for j := range k {
		m.ret = append(m.ret, 1)
		m.gap = append(m.gap, float64(j+1))
		m.hi = append(m.hi, float64(j+1))
		m.lo = append(m.lo, 1)
	}
	count := make([]int, k)
	path := make([]Bar, bars)
	for p := range paths {
		m.fill(path, Bootstrap, block, rand.New(rand.NewPCG(9, uint64(p))), p == 0)
		for _, b := range path {
			count[int(b.Open)-1]++
		}
	}
	want := float64(paths*bars) / k
	for j, c := range count {
		assert.InEpsilon(t, want, float64(c), 0.03, "bar %d drawn %d times, want %.0f", j, c, want)
	}
}
