// Package indicator is the one implementation of the moving averages and
// the relative strength index that marketdata and papertrade share.
//
// Each indicator is a small running state whose Fill pushes the next values
// of a series and writes the indicator at each, bar-aligned (out[i] is the
// value at src[i], NaN while it warms up). Filling a series at once, block
// by block or one value at a time gives the same values bit for bit: the
// state carries everything from one call to the next.
// marketdata's end-aligned functions and papertrade's NaN-padded series
// and streaming engine are views over these states.
package indicator

import "math"

// Resync is how often a running SMA recomputes its window sum from the
// window's values (a power of two), so rounding cannot accumulate over
// millions of values.
const Resync = 1024

// SMA is the running state of an N-value simple moving average, like
// pandas' rolling(N).mean(): NaN for the first N-1 values and for every
// window holding a NaN or infinite value (it recovers N values later). It
// keeps the last N values, their sum (the value entering minus the one
// leaving, added once per step) and the count of non-finite ones, and
// recomputes the sum from the window (oldest first) every Resync values.
// The sum is not compensated, so a value can differ from the exact window
// mean by a few ulps of the window's magnitude.
type SMA struct {
	n    int
	seen int       // values pushed
	win  []float64 // the last n values, a ring; oldest at head
	head int
	sum  float64 // of the finite values in the window
	bad  int     // non-finite values in the window
}

// NewSMA returns the state of an n-value SMA at the start of a series. A
// window n < 1 gives NaN everywhere.
func NewSMA(n int) SMA { return SMA{n: n} }

// NewSMAIn is NewSMA keeping its window in buf (at least n long) instead
// of a slice of its own, for callers that reuse memory.
func NewSMAIn(n int, buf []float64) SMA {
	s := SMA{n: n}
	if n >= 1 && len(buf) >= n {
		s.win = buf[:n]
	}
	return s
}

// finiteOr0 is x and 0, or 0 and 1 for NaN and ±Inf.
func finiteOr0(x float64) (float64, int) {
	if x-x != 0 { // NaN or ±Inf
		return 0, 1
	}
	return x, 0
}

// Fill pushes the values of src, in order, after those of earlier calls,
// and sets out[i] to the SMA at src[i] (len(out) >= len(src)).
func (s *SMA) Fill(out, src []float64) {
	n := s.n
	if n < 1 {
		fillNaN(out[:len(src)])
		return
	}
	if s.win == nil {
		s.win = make([]float64, n)
	}
	k := 0
	for ; k < len(src) && s.seen < n; k++ { // the window fills
		x := src[k]
		s.win[s.seen] = x
		v, b := finiteOr0(x)
		s.sum += v
		s.bad += b
		s.seen++
		out[k] = math.NaN()
		if s.seen == n && s.bad == 0 {
			out[k] = s.sum / float64(n)
		}
	}
	win, head, sum, bad, seen := s.win, s.head, s.sum, s.bad, s.seen
	for ; k < len(src); k++ {
		x, y := src[k], win[head]
		win[head] = x
		if head++; head == n {
			head = 0
		}
		i := seen
		seen++
		switch d := x - y; {
		case i&(Resync-1) == 0:
			s.head = head
			s.resync()
			sum, bad = s.sum, s.bad
		case d-d == 0 && bad == 0:
			// Both values finite (a finite difference), as they are in
			// validated prices: the same sum += x - y, without counting.
			sum += d
			out[k] = sum / float64(n)
			continue
		default:
			xv, xb := finiteOr0(x)
			yv, yb := finiteOr0(y)
			sum += xv - yv
			bad += xb - yb
		}
		out[k] = math.NaN()
		if bad == 0 {
			out[k] = sum / float64(n)
		}
	}
	s.head, s.sum, s.bad, s.seen = head, sum, bad, seen
}

// resync recomputes the window's sum and count from its values, oldest
// first.
func (s *SMA) resync() {
	s.sum, s.bad = 0, 0
	for _, part := range [2][]float64{s.win[s.head:], s.win[:s.head]} {
		for _, v := range part {
			x, b := finiteOr0(v)
			s.sum += x
			s.bad += b
		}
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
	seen  int
	alpha float64
	sum   float64 // of the first n values, while seeding
	prev  float64
}

// NewEMA returns the state of an n-value EMA at the start of a series. A
// window n < 1 gives NaN everywhere.
func NewEMA(n int) EMA { return EMA{n: n, alpha: 2 / float64(n+1)} }

// Fill pushes the values of src, in order, after those of earlier calls,
// and sets out[i] to the EMA at src[i] (len(out) >= len(src)).
func (e *EMA) Fill(out, src []float64) {
	n, alpha, sum, prev, seen := e.n, e.alpha, e.sum, e.prev, e.seen
	for k, x := range src {
		i := seen
		seen++
		switch {
		case n < 1:
			out[k] = math.NaN()
			continue
		case i < n-1:
			sum += x
			out[k] = math.NaN()
			continue
		case i == n-1:
			sum += x
			prev = sum / float64(n)
		default:
			prev = alpha*x + (1-alpha)*prev
		}
		out[k] = prev
	}
	e.sum, e.prev, e.seen = sum, prev, seen
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
	seen       int
	last       float64 // the previous value
	gain, loss float64
}

// NewRSI returns the state of an n-period RSI at the start of a series. A
// period n < 1 gives NaN everywhere.
func NewRSI(n int) RSI { return RSI{n: n} }

// Fill pushes the values of src, in order, after those of earlier calls,
// and sets out[i] to the RSI at src[i] (len(out) >= len(src)).
func (r *RSI) Fill(out, src []float64) {
	n := r.n
	for k, x := range src {
		i := r.seen
		r.seen++
		d := x - r.last
		r.last = x
		if n < 1 || i == 0 {
			out[k] = math.NaN()
			continue
		}
		g, l := 0.0, 0.0
		if d > 0 {
			g = d
		} else {
			l = -d
		}
		switch {
		case i < n:
			r.gain += g
			r.loss += l
			out[k] = math.NaN()
			continue
		case i == n:
			r.gain = (r.gain + g) / float64(n)
			r.loss = (r.loss + l) / float64(n)
		default:
			r.gain = (r.gain*float64(n-1) + g) / float64(n)
			r.loss = (r.loss*float64(n-1) + l) / float64(n)
		}
		out[k] = rsiValue(r.gain, r.loss)
	}
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
