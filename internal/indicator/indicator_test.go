package indicator

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
)

// meanOf is the definition of one SMA value: the mean of a full window,
// NaN when the window is short or holds a value that is not finite.
func meanOf(window []float64, n int) float64 {
	notFinite := func(v float64) bool { return math.IsNaN(v) || math.IsInf(v, 0) }
	if len(window) < n || slices.ContainsFunc(window, notFinite) {
		return math.NaN()
	}
	total := 0.0
	for _, v := range window {
		total += v
	}
	return total / float64(n)
}

// series is a seeded random walk of len n with a few NaN and infinite
// values when holes is true.
func series(rng *rand.Rand, n int, holes bool) []float64 {
	out := make([]float64, n)
	p := 100.0
	for i := range out {
		p *= math.Exp(0.02 * rng.NormFloat64())
		out[i] = p
		if holes && rng.IntN(400) == 0 {
			out[i] = [...]float64{math.NaN(), math.Inf(1), math.Inf(-1)}[rng.IntN(3)]
		}
	}
	return out
}

type filler interface{ Fill(out, src []float64) }

// blocks fills out over src in random consecutive blocks, some pushed one
// value at a time.
func blocks(rng *rand.Rand, f filler, out, src []float64) {
	for from := 0; from < len(src); {
		to := min(len(src), from+1+rng.IntN(1500))
		if rng.IntN(2) == 0 {
			f.Fill(out[from:to], src[from:to])
		} else {
			for i := from; i < to; i++ {
				f.Fill(out[i:i+1], src[i:i+1])
			}
		}
		from = to
	}
}

func same(a, b float64) bool { return a == b || (math.IsNaN(a) && math.IsNaN(b)) }

// TestBlocksEqualOneFill: streaming in blocks or value by value (the
// engine) gives the batch values bit for bit, for windows around the
// resync points and with non-finite inputs.
func TestBlocksEqualOneFill(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 1))
	for _, n := range []int{-1, 0, 1, 2, 3, 14, 200, 1023, 1024, 1025, 3000} {
		for _, holes := range []bool{false, true} {
			src := series(rng, 5000, holes)
			for name, mk := range map[string]func() filler{
				"sma": func() filler { s := NewSMA(n); return &s },
				"ema": func() filler { e := NewEMA(n); return &e },
				"rsi": func() filler { r := NewRSI(n); return &r },
			} {
				whole := make([]float64, len(src))
				mk().Fill(whole, src)
				parts := make([]float64, len(src))
				blocks(rng, mk(), parts, src)
				for i := range whole {
					if !same(whole[i], parts[i]) {
						t.Fatalf("%s(%d) holes=%v at %d: blocks %v, one fill %v", name, n, holes, i, parts[i], whole[i])
					}
				}
			}
		}
	}
}

func TestSMAMatchesDefinition(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 1))
	src := series(rng, 4000, true)
	for _, n := range []int{1, 5, 1024, 1500} {
		got := make([]float64, len(src))
		s := NewSMA(n)
		s.Fill(got, src)
		for i := range src {
			want := meanOf(src[max(0, i-n+1):i+1], n)
			if math.IsNaN(want) != math.IsNaN(got[i]) || (!math.IsNaN(want) && math.Abs(got[i]/want-1) > 1e-12) {
				t.Fatalf("SMA(%d) at %d: %v, want %v", n, i, got[i], want)
			}
		}
	}
}

func TestKnownValues(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6}
	out := make([]float64, len(x))
	e := NewEMA(3)
	e.Fill(out, x)
	if !math.IsNaN(out[1]) || out[2] != 2 || out[3] != 3 || out[5] != 5 {
		t.Fatalf("EMA(3) = %v", out)
	}
	r := NewRSI(3)
	r.Fill(out, x)
	if !math.IsNaN(out[2]) || out[3] != 100 {
		t.Fatalf("RSI(3) of gains = %v", out)
	}
	flat := []float64{5, 5, 5}
	r = NewRSI(2)
	r.Fill(out, flat)
	if out[2] != 50 {
		t.Fatalf("RSI of a flat series = %v, want 50", out[2])
	}
	// The usual RSI(14) worked example: 14 changes with gains summing to
	// 3.34 and losses to 1.40, so RSI = 100·3.34/4.74 = 70.464 (printed as
	// 70.53 where the averages are rounded to four places first).
	closes := []float64{44.34, 44.09, 44.15, 43.61, 44.33, 44.83, 45.10, 45.42, 45.84, 46.08, 45.89, 46.03, 45.61, 46.28, 46.28}
	out = make([]float64, len(closes))
	r = NewRSI(14)
	r.Fill(out, closes)
	if math.Abs(out[14]-100*3.34/4.74) > 1e-9 {
		t.Fatalf("RSI(14) = %v, want 70.464", out[14])
	}
}
