package papertrade

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// syntheticBars makes n daily bars of a seeded random walk.
func syntheticBars(n int, seed uint64) []Bar {
	rng := rand.New(rand.NewPCG(seed, 1))
	bars := make([]Bar, n)
	t0 := time.Date(2000, 1, 3, 0, 0, 0, 0, time.UTC)
	price := 100.0
	for i := range bars {
		open := price
		price *= math.Exp(0.0002 + 0.015*rng.NormFloat64())
		hi := math.Max(open, price) * (1 + 0.005*rng.Float64())
		lo := math.Min(open, price) * (1 - 0.005*rng.Float64())
		bars[i] = Bar{Time: t0.AddDate(0, 0, i), Open: open, High: hi, Low: lo, Close: price, Volume: 1000}
	}
	return bars
}

// baselineSMACross is the minimal hand-written loop the engine is compared
// with: the same SMA(fast)/SMA(slow) crossover signals, all-in whole-unit
// fills at the next open, long and short, equity marked at each close and
// recorded in an equity curve (the engine's Result has one too).
func baselineSMACross(bars []Bar, fast, slow int, cash float64) (float64, int) {
	n := len(bars)
	curve := make([]float64, n)
	var sf, ss float64
	prevF, prevS := math.NaN(), math.NaN()
	pos, entry := 0.0, 0.0
	pending := 0 // +1 go long, -1 go short at next open
	trades := 0
	equity := cash
	for i := 0; i < n; i++ {
		b := &bars[i]
		if pending != 0 {
			if pos != 0 {
				cash += pos * (b.Open - entry)
				pos = 0
				trades++
			}
			units := math.Floor(cash / b.Open)
			pos, entry = float64(pending)*units, b.Open
			pending = 0
		}
		equity = cash + pos*(b.Close-entry)
		curve[i] = equity
		sf += b.Close
		ss += b.Close
		if i >= fast {
			sf -= bars[i-fast].Close
		}
		if i >= slow {
			ss -= bars[i-slow].Close
		}
		f, s := math.NaN(), math.NaN()
		if i >= fast-1 {
			f = sf / float64(fast)
		}
		if i >= slow-1 {
			s = ss / float64(slow)
		}
		switch {
		case prevF < prevS && f > s:
			pending = 1
		case prevS < prevF && s > f:
			pending = -1
		}
		prevF, prevS = f, s
	}
	if pos != 0 {
		trades++
	}
	return curve[n-1], trades
}

// TestBaselineMatchesEngine shows the baseline computes what the engine
// does, so the benchmark compares like with like.
func TestBaselineMatchesEngine(t *testing.T) {
	bars := syntheticBars(100_000, 1)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	if err != nil {
		t.Fatal(err)
	}
	eq, trades := baselineSMACross(bars, 10, 30, 10_000)
	if trades != len(res.Trades) || math.Abs(eq-res.Stats.EquityFinal) > 1e-6*eq {
		t.Fatalf("baseline %v equity / %d trades, engine %v / %d", eq, trades, res.Stats.EquityFinal, len(res.Trades))
	}
}

// BenchmarkSMACrossEngine1M is the engine's bar loop: indicators, broker
// and strategy over 1,000,000 bars, equity curve included.
func BenchmarkSMACrossEngine1M(b *testing.B) {
	bars := syntheticBars(1_000_000, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		e, start, err := newEngine(bars, &SMACross{Fast: 10, Slow: 30}, Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := e.run(ctx, &SMACross{Fast: 10, Slow: 30}, start); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, float64(len(bars)), cpu0)
}

// BenchmarkSMACrossRun1M is a whole Run: validation, the bar loop and the
// statistics.
func BenchmarkSMACrossRun1M(b *testing.B) {
	bars := syntheticBars(1_000_000, 1)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if _, err := Run(ctx, bars, &SMACross{Fast: 10, Slow: 30}, Options{}); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, float64(len(bars)), cpu0)
}

// BenchmarkSMACrossBaseline1M is the hand-written loop computing the same
// signals, fills and equity curve.
func BenchmarkSMACrossBaseline1M(b *testing.B) {
	bars := syntheticBars(1_000_000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		baselineSMACross(bars, 10, 30, 10_000)
	}
	reportRate(b, float64(len(bars)), cpu0)
}

// reportRate reports bars per wall second and per CPU second (the latter
// is robust to a busy machine for single-threaded code).
func reportRate(b *testing.B, barsPerOp float64, cpu0 time.Duration) {
	total := float64(b.N) * barsPerOp
	b.ReportMetric(total/b.Elapsed().Seconds()/1e6, "Mbars/s")
	if cpu := processCPU() - cpu0; cpu > 0 {
		b.ReportMetric(total/cpu.Seconds()/1e6, "Mbars/cpu-s")
	}
}

// BenchmarkComputeStats1M is the statistics part of a Run over 1,000,000
// bars: drawdowns, period returns, ratios, alpha and beta, trade figures.
func BenchmarkComputeStats1M(b *testing.B) {
	bars := syntheticBars(1_000_000, 1)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		ComputeStats(bars, res.Equity, res.Trades, StatsOptions{WarmupBars: res.FirstBar - 1})
	}
	reportRate(b, float64(len(bars)), cpu0)
}

// BenchmarkValidateBars1M is the validation every Run starts with.
func BenchmarkValidateBars1M(b *testing.B) {
	bars := syntheticBars(1_000_000, 1)
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := processCPU()
	for b.Loop() {
		if err := ValidateBars(bars); err != nil {
			b.Fatal(err)
		}
	}
	reportRate(b, float64(len(bars)), cpu0)
}
