package marketdata

import (
	"fmt"
	"math"
	"slices"

	"github.com/finkit/finkit/internal/indicator"
)

// The indicator functions append to dst (which may be nil, or a reused
// buffer so that repeated calls do not allocate) and return it. Inputs must
// be positive finite prices; windows must fit the data. Outputs are aligned
// to the end of the input: an n-bar indicator over k prices yields k−n+1
// values, the last one for the last price.

// Closes appends the close (or adjusted close) of each bar to dst.
func Closes(dst []float64, bars []Bar, adj bool) []float64 {
	for i := range bars {
		if adj {
			dst = append(dst, bars[i].AdjClose)
		} else {
			dst = append(dst, bars[i].Close)
		}
	}
	return dst
}

func checkPrices(prices []float64, need int, what string) error {
	if need < 1 {
		return fmt.Errorf("%w: %s window %d", ErrBadData, what, need)
	}
	if len(prices) < need {
		return fmt.Errorf("%w: %s needs %d prices, have %d", ErrTooFewBars, what, need, len(prices))
	}
	for i, p := range prices {
		if !(p > 0) || math.IsInf(p, 0) {
			return fmt.Errorf("%w: %s: price %v at index %d", ErrBadData, what, p, i)
		}
	}
	return nil
}

// finiteTail checks the values an indicator appended to dst from index
// from on: prices that are each valid can still overflow (a move from 1e-300
// to 1e300), and such a result is an error, never NaN or ±Inf. On error dst
// is returned as it was.
func finiteTail(dst []float64, from int, what string) ([]float64, error) {
	for _, v := range dst[from:] {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return dst[:from], fmt.Errorf("%w: %s: price moves too extreme for finite results", ErrBadData, what)
		}
	}
	return dst, nil
}

// Returns appends the simple returns p[i]/p[i−1] − 1 (len(prices)−1 values).
func Returns(dst, prices []float64) ([]float64, error) {
	if err := checkPrices(prices, 2, "returns"); err != nil {
		return dst, err
	}
	from := len(dst)
	for i := 1; i < len(prices); i++ {
		dst = append(dst, prices[i]/prices[i-1]-1)
	}
	return finiteTail(dst, from, "returns")
}

// LogReturns appends the log returns ln(p[i]/p[i−1]).
func LogReturns(dst, prices []float64) ([]float64, error) {
	if err := checkPrices(prices, 2, "log returns"); err != nil {
		return dst, err
	}
	from := len(dst)
	for i := 1; i < len(prices); i++ {
		dst = append(dst, math.Log(prices[i]/prices[i-1]))
	}
	return finiteTail(dst, from, "log returns")
}

// SMA appends the n-period simple moving average: a running window sum,
// resynced from the window every 1,024 prices so that rounding cannot
// accumulate over long series (uncompensated, so a value can differ from
// the exact window mean by a few ulps). papertrade.SMA is the same
// arithmetic as a NaN-padded, bar-aligned series.
func SMA(dst, prices []float64, n int) ([]float64, error) {
	if err := checkPrices(prices, n, "SMA"); err != nil {
		return dst, err
	}
	from := len(dst)
	// The window lives past the values, in dst's spare capacity.
	dst = slices.Grow(dst, len(prices)+n)[:from+len(prices)]
	s := indicator.NewSMAIn(n, dst[from+len(prices):from+len(prices)+n])
	s.Fill(dst[from:], prices)
	return dropWarmUp(dst, from, n-1, "SMA")
}

// EMA appends the n-period exponential moving average, smoothing 2/(n+1),
// seeded with the SMA of the first n prices (as TA-Lib does), so its first
// value is at price n−1. pandas' ewm(span=n) starts from the first price
// instead; the two differ by a term that shrinks by 1−2/(n+1) per price.
// papertrade.EMA is the same arithmetic as a NaN-padded series.
func EMA(dst, prices []float64, n int) ([]float64, error) {
	if err := checkPrices(prices, n, "EMA"); err != nil {
		return dst, err
	}
	e := indicator.NewEMA(n)
	from := len(dst)
	dst = slices.Grow(dst, len(prices))[:from+len(prices)]
	e.Fill(dst[from:], prices)
	return dropWarmUp(dst, from, n-1, "EMA")
}

// RSI appends Wilder's n-period relative strength index (0..100); it needs
// n+1 prices and yields len(prices)−n values. The average gain and loss
// are seeded with the simple mean of the first n changes, then smoothed
// with Wilder's 1/n (Wilder's own method, and TA-Lib's). An RSI whose
// averages are exponential from the first change, such as pandas'
// ewm(alpha=1/n), converges to it but differs at first: on GOOG's daily
// closes with n = 14, by more than 0.01 over the first 90 values and more
// than 1e-6 over the first 215. A window with no losses is 100, with
// neither gains nor losses 50. papertrade.RSI is the same arithmetic as a
// NaN-padded series.
func RSI(dst, prices []float64, n int) ([]float64, error) {
	if n < 1 {
		return dst, fmt.Errorf("%w: RSI window %d", ErrBadData, n)
	}
	if err := checkPrices(prices, n+1, "RSI"); err != nil {
		return dst, err
	}
	r := indicator.NewRSI(n)
	from := len(dst)
	dst = slices.Grow(dst, len(prices))[:from+len(prices)]
	r.Fill(dst[from:], prices)
	return dropWarmUp(dst, from, n, "RSI")
}

// dropWarmUp removes the first warm values appended to dst from index from
// on (the NaN warm-up of the bar-aligned series an indicator state fills),
// so that the values are end-aligned, and checks the rest (finiteTail).
func dropWarmUp(dst []float64, from, warm int, what string) ([]float64, error) {
	dst = append(dst[:from], dst[from+warm:]...)
	return finiteTail(dst, from, what)
}

// Band is one point of Bollinger bands.
type Band struct {
	Mid, Upper, Lower float64
}

// Bollinger appends n-period Bollinger bands k population standard
// deviations around the SMA (the usual choice is n=20, k=2).
func Bollinger(dst []Band, prices []float64, n int, k float64) ([]Band, error) {
	if err := checkPrices(prices, n, "Bollinger"); err != nil {
		return dst, err
	}
	if !(k >= 0) || math.IsInf(k, 0) {
		return dst, fmt.Errorf("%w: Bollinger width %v", ErrBadData, k)
	}
	from := len(dst)
	for i := n - 1; i < len(prices); i++ {
		w := prices[i-n+1 : i+1]
		var mean float64
		for _, p := range w {
			mean += p
		}
		mean /= float64(n)
		var ss float64
		for _, p := range w {
			ss += (p - mean) * (p - mean)
		}
		sd := math.Sqrt(ss / float64(n))
		b := Band{Mid: mean, Upper: mean + k*sd, Lower: mean - k*sd}
		if math.IsNaN(b.Upper) || math.IsInf(b.Upper, 0) || math.IsNaN(b.Lower) || math.IsInf(b.Lower, 0) || math.IsInf(b.Mid, 0) {
			return dst[:from], fmt.Errorf("%w: Bollinger: price moves too extreme for finite results", ErrBadData)
		}
		dst = append(dst, b)
	}
	return dst, nil
}

// Histogram counts values in equal-width bins between Min and Max.
type Histogram struct {
	Min, Max float64
	Edges    []float64 // len(Counts)+1 bin edges; bin i is [Edges[i], Edges[i+1]), the last one closed
	Counts   []int
}

// ReturnHistogram bins daily returns (e.g. from Returns) into bins
// equal-width bins from the smallest to the largest return.
func ReturnHistogram(returns []float64, bins int) (Histogram, error) {
	if bins < 1 || bins > 10000 {
		return Histogram{}, fmt.Errorf("%w: %d histogram bins", ErrBadData, bins)
	}
	if len(returns) == 0 {
		return Histogram{}, fmt.Errorf("%w: no returns for a histogram", ErrTooFewBars)
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range returns {
		if math.IsNaN(r) || math.IsInf(r, 0) {
			return Histogram{}, fmt.Errorf("%w: return %v", ErrBadData, r)
		}
		lo, hi = math.Min(lo, r), math.Max(hi, r)
	}
	if lo == hi {
		bins = 1
	}
	h := Histogram{Min: lo, Max: hi, Edges: make([]float64, bins+1), Counts: make([]int, bins)}
	width := hi/float64(bins) - lo/float64(bins) // hi−lo itself may overflow
	for i := range h.Edges {
		h.Edges[i] = lo + float64(i)*width
	}
	h.Edges[bins] = hi
	for _, r := range returns {
		i := bins - 1
		// f is compared as a float first: int() of a huge or NaN float is
		// implementation-defined (a negative index on amd64).
		if f := r/width - lo/width; width > 0 && f < float64(bins-1) {
			i = max(int(f), 0)
		}
		h.Counts[i]++
	}
	return h, nil
}
