package papertrade

import "math"

// SMA returns the simple moving average of src over n values, like
// pandas' rolling(n).mean(): the first n-1 entries are NaN, and so is every
// window holding a NaN or infinite value (the average recovers n values
// after it). It keeps a running window sum (the value entering minus the one
// leaving, added once per step) and recomputes that sum from the window
// every 1,024 values, so rounding cannot accumulate over millions of values;
// the sum is not compensated, so a value can differ from the exact window
// mean by a few ulps of the window's magnitude.
func SMA(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	smaInto(out, src, n)
	return out
}

// finiteOr0 is x, or 0 for NaN and ±Inf (which smaWindow counts instead of
// summing).
func finiteOr0(x float64) (float64, int) {
	if x-x != 0 { // NaN or ±Inf
		return 0, 1
	}
	return x, 0
}

// smaWindow is the running state of an SMA: the sum of the finite values
// in the window and how many are not finite.
type smaWindow struct {
	sum float64
	bad int
}

// push adds x entering the window and removes y leaving it (pass
// leaving=false while the window fills), with the arithmetic the SMA has
// always used for finite values: sum += x - y.
func (w *smaWindow) push(x, y float64, leaving bool) {
	xv, xb := finiteOr0(x)
	if !leaving {
		w.sum += xv
		w.bad += xb
		return
	}
	yv, yb := finiteOr0(y)
	w.sum += xv - yv
	w.bad += xb - yb
}

// resync recomputes the window's sum from its values.
func (w *smaWindow) resync(window []float64) {
	w.sum, w.bad = 0, 0
	for _, v := range window {
		xv, xb := finiteOr0(v)
		w.sum += xv
		w.bad += xb
	}
}

func (w *smaWindow) mean(n int) float64 {
	if w.bad > 0 {
		return math.NaN()
	}
	return w.sum / float64(n)
}

func smaInto(out, src []float64, n int) {
	if n <= 0 {
		for i := range out {
			out[i] = math.NaN()
		}
		return
	}
	var w smaWindow
	for i, x := range src {
		switch {
		case i < n:
			w.push(x, 0, false)
		case i&(smaResync-1) == 0:
			w.resync(src[i-n+1 : i+1])
		default:
			w.push(x, src[i-n], true)
		}
		if i < n-1 {
			out[i] = math.NaN()
			continue
		}
		out[i] = w.mean(n)
	}
}

// smaResync is how often a running SMA recomputes its window sum (a power
// of two).
const smaResync = 1024

// EMA returns the exponential moving average of src with smoothing
// 2/(n+1), seeded with the simple average of the first n values (as TA-Lib
// does; pandas' ewm(span=n) starts from the first value instead); the first
// n-1 entries are NaN, and a NaN input makes every later value NaN.
func EMA(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	for i := range out {
		out[i] = math.NaN()
	}
	if n <= 0 || len(src) < n {
		return out
	}
	alpha := 2 / float64(n+1)
	var seed float64
	for _, x := range src[:n] {
		seed += x
	}
	prev := seed / float64(n)
	out[n-1] = prev
	for i := n; i < len(src); i++ {
		prev = alpha*src[i] + (1-alpha)*prev
		out[i] = prev
	}
	return out
}

// RSI returns Wilder's relative strength index of src over n periods
// (0-100). The average gain and loss are seeded with the simple mean of the
// first n changes, then smoothed by 1/n (Wilder's method, TA-Lib's), which
// differs from averages exponential from the first change (pandas'
// ewm(alpha=1/n)) over the first few hundred values. The first n entries
// are NaN.
func RSI(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	for i := range out {
		out[i] = math.NaN()
	}
	if n <= 0 || len(src) <= n {
		return out
	}
	var gain, loss float64
	for i := 1; i <= n; i++ {
		d := src[i] - src[i-1]
		if d > 0 {
			gain += d
		} else {
			loss -= d
		}
	}
	gain /= float64(n)
	loss /= float64(n)
	out[n] = rsiValue(gain, loss)
	for i := n + 1; i < len(src); i++ {
		d := src[i] - src[i-1]
		g, l := 0.0, 0.0
		if d > 0 {
			g = d
		} else {
			l = -d
		}
		gain = (gain*float64(n-1) + g) / float64(n)
		loss = (loss*float64(n-1) + l) / float64(n)
		out[i] = rsiValue(gain, loss)
	}
	return out
}

func rsiValue(gain, loss float64) float64 {
	if loss == 0 {
		if gain == 0 {
			return 50
		}
		return 100
	}
	return 100 - 100/(1+gain/loss)
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
