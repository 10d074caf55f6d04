// Package indicator is the one implementation of the moving averages and
// the relative strength index that marketdata and papertrade share.
//
// Each indicator is a small running state with a Fill method that writes
// the values at indexes [from, to) of a series into out (out[i] is the
// value at src[i], bar-aligned; NaN while the indicator warms up) and
// continues from where the previous Fill stopped. One Fill over the whole
// series and many Fills over consecutive blocks give the same values bit
// for bit: the arithmetic is the same, step by step. marketdata's
// end-aligned functions and papertrade's NaN-padded series and streaming
// engine are views over these states.
package indicator

import "math"

// Resync is how often a running SMA recomputes its window sum from the
// window's values (a power of two), so rounding cannot accumulate over
// millions of values.
const Resync = 1024

// SMA is the running state of an N-value simple moving average, like
// pandas' rolling(N).mean(): NaN for the first N-1 values and for every
// window holding a NaN or infinite value (it recovers N values later). It
// keeps the window sum (the value entering minus the one leaving, added
// once per step) and the count of non-finite values in the window, and
// resyncs the sum every Resync values. The sum is not compensated, so a
// value can differ from the exact window mean by a few ulps of the
// window's magnitude.
type SMA struct {
	n   int
	sum float64 // of the finite values in the window
	bad int     // non-finite values in the window
}

// NewSMA returns the state of an n-value SMA at the start of a series. A
// window n < 1 gives NaN everywhere.
func NewSMA(n int) SMA { return SMA{n: n} }

// finiteOr0 is x and 0, or 0 and 1 for NaN and ±Inf.
func finiteOr0(x float64) (float64, int) {
	if x-x != 0 { // NaN or ±Inf
		return 0, 1
	}
	return x, 0
}

// Fill writes the SMA at indexes [from, to) of src into out (len(out) >=
// to); the previous Fill must have ended at from.
func (s *SMA) Fill(out, src []float64, from, to int) {
	n := s.n
	if n < 1 {
		fillNaN(out[from:to])
		return
	}
	i := from
	for ; i < to && i < n; i++ { // the window fills
		x, b := finiteOr0(src[i])
		s.sum += x
		s.bad += b
		out[i] = s.mean(i)
	}
	sum, bad := s.sum, s.bad
	for ; i < to; i++ {
		if i&(Resync-1) == 0 {
			s.resync(src[i-n+1 : i+1])
			sum, bad = s.sum, s.bad
		} else if d := src[i] - src[i-n]; d-d == 0 && bad == 0 {
			// Both values finite (a finite difference), as they are in
			// validated prices: the same sum += x - y, without counting.
			sum += d
			out[i] = sum / float64(n)
			continue
		} else {
			xv, xb := finiteOr0(src[i])
			yv, yb := finiteOr0(src[i-n])
			sum += xv - yv
			bad += xb - yb
		}
		if bad > 0 {
			out[i] = math.NaN()
		} else {
			out[i] = sum / float64(n)
		}
	}
	s.sum, s.bad = sum, bad
}

// mean is the SMA's value at index i with the current window.
func (s *SMA) mean(i int) float64 {
	if i < s.n-1 || s.bad > 0 {
		return math.NaN()
	}
	return s.sum / float64(s.n)
}

// resync recomputes the window's sum and count from its values.
func (s *SMA) resync(window []float64) {
	s.sum, s.bad = 0, 0
	for _, v := range window {
		x, b := finiteOr0(v)
		s.sum += x
		s.bad += b
	}
}

// EMA is the running state of an N-value exponential moving average with
// smoothing 2/(N+1), seeded with the simple average of the first N values
// (as TA-Lib does; pandas' ewm(span=N) starts from the first value
// instead, and the two differ by a term that shrinks by 1−2/(N+1) a
// value). The first N-1 values are NaN; a NaN input makes every later
// value NaN.
type EMA struct {
	n     int
	alpha float64
	sum   float64 // of the first n values, while seeding
	prev  float64
}

// NewEMA returns the state of an n-value EMA at the start of a series. A
// window n < 1 gives NaN everywhere.
func NewEMA(n int) EMA { return EMA{n: n, alpha: 2 / float64(n+1)} }

// Fill writes the EMA at indexes [from, to) of src into out (len(out) >=
// to); the previous Fill must have ended at from.
func (e *EMA) Fill(out, src []float64, from, to int) {
	n := e.n
	if n < 1 {
		fillNaN(out[from:to])
		return
	}
	alpha, sum, prev := e.alpha, e.sum, e.prev
	for i := from; i < to; i++ {
		x := src[i]
		switch {
		case i < n-1:
			sum += x
			out[i] = math.NaN()
		case i == n-1:
			sum += x
			prev = sum / float64(n)
			out[i] = prev
		default:
			prev = alpha*x + (1-alpha)*prev
			out[i] = prev
		}
	}
	e.sum, e.prev = sum, prev
}

// RSI is the running state of Wilder's N-period relative strength index
// (0 to 100). The average gain and loss are seeded with the simple mean of
// the first N changes, then smoothed by 1/N (Wilder's own method, and
// TA-Lib's). An RSI whose averages are exponential from the first change,
// such as pandas' ewm(alpha=1/N), converges to it but differs over the
// first few hundred values. The first N values are NaN; a window with no
// losses is 100, with neither gains nor losses 50.
type RSI struct {
	n          int
	gain, loss float64
}

// NewRSI returns the state of an n-period RSI at the start of a series. A
// period n < 1 gives NaN everywhere.
func NewRSI(n int) RSI { return RSI{n: n} }

// Fill writes the RSI at indexes [from, to) of src into out (len(out) >=
// to); the previous Fill must have ended at from.
func (r *RSI) Fill(out, src []float64, from, to int) {
	n := r.n
	if n < 1 {
		fillNaN(out[from:to])
		return
	}
	gain, loss := r.gain, r.loss
	for i := from; i < to; i++ {
		if i == 0 {
			out[i] = math.NaN()
			continue
		}
		d := src[i] - src[i-1]
		g, l := 0.0, 0.0
		if d > 0 {
			g = d
		} else {
			l = -d
		}
		switch {
		case i < n:
			gain += g
			loss += l
			out[i] = math.NaN()
		case i == n:
			gain = (gain + g) / float64(n)
			loss = (loss + l) / float64(n)
			out[i] = rsiValue(gain, loss)
		default:
			gain = (gain*float64(n-1) + g) / float64(n)
			loss = (loss*float64(n-1) + l) / float64(n)
			out[i] = rsiValue(gain, loss)
		}
	}
	r.gain, r.loss = gain, loss
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

func fillNaN(out []float64) {
	for i := range out {
		out[i] = math.NaN()
	}
}
