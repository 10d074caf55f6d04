package papertrade

import (
	"context"
	"math"
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
