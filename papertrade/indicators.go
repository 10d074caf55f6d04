package papertrade

import (
	"math"

	"github.com/finkit/finkit/internal/indicator"
)

// SMA returns the simple moving average of src over n values, bar-aligned
// like pandas' rolling(n).mean(): the first n-1 entries are NaN, and so is
// every window holding a NaN or infinite value (the average recovers n
// values after it). It is the NaN-padded view of marketdata.SMA's
// arithmetic: a running window sum, resynced every 1,024 values so that
// rounding cannot accumulate over millions of values; the sum is not
// compensated, so a value can differ from the exact window mean by a few
// ulps of the window's magnitude.
func SMA(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	s := indicator.NewSMA(n)
	s.Fill(out, src)
	return out
}

// EMA returns the exponential moving average of src with smoothing
// 2/(n+1), seeded with the simple average of the first n values (as TA-Lib
// does; pandas' ewm(span=n) starts from the first value instead), the
// NaN-padded view of marketdata.EMA: the first n-1 entries are NaN, and a
// NaN input makes every later value NaN.
func EMA(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	e := indicator.NewEMA(n)
	e.Fill(out, src)
	return out
}

// RSI returns Wilder's relative strength index of src over n periods
// (0-100), the NaN-padded view of marketdata.RSI: the average gain and loss
// are seeded with the simple mean of the first n changes, then smoothed by
// 1/n (Wilder's method, TA-Lib's). The first n entries are NaN.
func RSI(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	r := indicator.NewRSI(n)
	r.Fill(out, src)
	return out
}

// Highest returns the rolling maximum of src over n values (NaN for the
// first n-1).
func Highest(src []float64, n int) []float64 { return rollingExtreme(src, n, true) }

// Lowest returns the rolling minimum of src over n values (NaN for the
// first n-1).
func Lowest(src []float64, n int) []float64 { return rollingExtreme(src, n, false) }

func rollingExtreme(src []float64, n int, isMax bool) []float64 {
	out := make([]float64, len(src))
	if n <= 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return out
	}
	// Monotonic deque of indices: O(len(src)).
	dq := make([]int, 0, n)
	for i, x := range src {
		for len(dq) > 0 {
			last := src[dq[len(dq)-1]]
			if (isMax && last <= x) || (!isMax && last >= x) {
				dq = dq[:len(dq)-1]
				continue
			}
			break
		}
		dq = append(dq, i)
		if dq[0] <= i-n {
			dq = dq[1:]
		}
		if i < n-1 {
			out[i] = math.NaN()
		} else {
			out[i] = src[dq[0]]
		}
	}
	return out
}

// CrossedAbove reports whether series a crossed above series b between the
// previous and the current value: a was below b and is now above it (the
// same rule as backtesting.py's crossover). NaN never crosses.
func CrossedAbove(aPrev, a, bPrev, b float64) bool {
	return aPrev < bPrev && a > b
}
