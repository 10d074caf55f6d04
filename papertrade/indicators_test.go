package papertrade

import (
	"context"
	"math"
	"testing"

	"github.com/finkit/finkit/marketdata"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestIndicatorsKnownValues(t *testing.T) {
	x := []float64{1, 2, 3, 4, 5, 6}
	sma := SMA(x, 3)
	assert.True(t, math.IsNaN(sma[0]) && math.IsNaN(sma[1]))
	assert.Equal(t, []float64{2, 3, 4, 5}, sma[2:])
	ema := EMA(x, 3)
	assert.InDelta(t, 2, ema[2], 1e-12)
	assert.InDelta(t, 3, ema[3], 1e-12) // 0.5*4 + 0.5*2
	assert.InDelta(t, 4, ema[4], 1e-12)
	assert.Equal(t, 100.0, RSI(x, 3)[3], "only gains")
	down := []float64{6, 5, 4, 3, 2}
	assert.Equal(t, 0.0, RSI(down, 3)[4], "only losses")
	mixed := []float64{44, 44.34, 44.09, 43.61, 44.33, 44.83}
	r := RSI(mixed, 2)
	assert.True(t, r[2] > 0 && r[2] < 100)
	assert.Equal(t, []float64{3, 4, 5, 6}, Highest(x, 3)[2:])
	assert.Equal(t, []float64{1, 2, 3, 4}, Lowest(x, 3)[2:])
	assert.True(t, CrossedAbove(1, 3, 2, 2))
	assert.False(t, CrossedAbove(2, 3, 2, 2), "touching is not crossing")
	assert.False(t, CrossedAbove(math.NaN(), 3, 2, 2))
}

// TestSMAAccurate checks the resynced running sum against exact window
// sums over a long, badly scaled series.
func TestSMAAccurate(t *testing.T) {
	bars := syntheticBars(200_000, 5)
	c := Closes(bars)
	for i := range c {
		c[i] += 1e6
	}
	got := SMA(c, 50)
	for _, i := range []int{49, 1000, 99_999, 199_999} {
		var s float64
		for _, v := range c[i-49 : i+1] {
			s += v
		}
		assert.InEpsilon(t, s/50, got[i], 1e-14)
	}
}

// probe records indicator values the engine streams, to compare them with
// the batch functions.
type probe struct {
	sma, ema, rsi Indicator
	seen          [][3]float64
}

func (p *probe) Init(s *Setup) error {
	p.sma, p.ema, p.rsi = s.SMA(SourceClose, 7), s.EMA(SourceHigh, 5), s.RSI(SourceClose, 14)
	return nil
}

func (p *probe) Next(ctx *Context) {
	p.seen = append(p.seen, [3]float64{ctx.Value(p.sma, 0), ctx.Value(p.ema, 0), ctx.Value(p.rsi, 0)})
}

func TestEngineIndicatorsMatchBatch(t *testing.T) {
	bars := loadGOOG(t)
	p := &probe{}
	res, err := Run(context.Background(), bars, p, Options{})
	require.NoError(t, err)
	assert.Equal(t, 15, res.FirstBar, "first Next once RSI(14) has two values")
	sma := SMA(Closes(bars), 7)
	highs := make([]float64, len(bars))
	for i, b := range bars {
		highs[i] = b.High
	}
	ema := EMA(highs, 5)
	rsi := RSI(Closes(bars), 14)
	require.Len(t, p.seen, len(bars)-15)
	for k, v := range p.seen {
		i := k + 15
		assert.Equal(t, sma[i], v[0])
		assert.Equal(t, ema[i], v[1])
		assert.Equal(t, rsi[i], v[2])
	}
}

type counter struct{ n int }

func (c *counter) Update(b Bar) float64 {
	c.n++
	if c.n < 4 {
		return math.NaN()
	}
	return b.Close * 2
}

type customUser struct{ ind Indicator }

func (s *customUser) Init(st *Setup) error { s.ind = st.Custom("double", &counter{}); return nil }
func (s *customUser) Next(ctx *Context) {
	if ctx.Value(s.ind, 0) != ctx.Close(0)*2 {
		panic("custom indicator mismatch")
	}
}

func TestCustomIndicatorWarmup(t *testing.T) {
	res, err := Run(context.Background(), loadGOOG(t)[:50], &customUser{}, Options{})
	require.NoError(t, err)
	assert.Equal(t, 4, res.FirstBar)
}

type exploding struct{ n int }

func (x *exploding) Update(Bar) float64 {
	x.n++
	if x.n == 7 {
		panic("kaboom")
	}
	return 1
}

type explodingUser struct{}

func (explodingUser) Init(st *Setup) error { st.Custom("boom", &exploding{}); return nil }
func (explodingUser) Next(*Context)        {}

func TestCustomIndicatorPanicIsAnError(t *testing.T) {
	_, err := Run(context.Background(), loadGOOG(t)[:20], explodingUser{}, Options{})
	require.ErrorIs(t, err, ErrStrategyPanic)
	assert.Contains(t, err.Error(), "boom")
	assert.Contains(t, err.Error(), "kaboom")
}

// blockProbe records streamed SMAs and an EMA whose windows span the
// engine's blocks of streamBlock bars and the SMA resync points.
type blockProbe struct {
	ind  []Indicator
	seen [][]float64
}

func (p *blockProbe) Init(s *Setup) error {
	p.ind = []Indicator{s.SMA(SourceClose, 3), s.SMA(SourceOpen, 700), s.SMA(SourceClose, 1500), s.EMA(SourceLow, 40)}
	return nil
}

func (p *blockProbe) Next(ctx *Context) {
	row := make([]float64, 0, 2*len(p.ind))
	for _, ind := range p.ind {
		row = append(row, ctx.Value(ind, 0), ctx.Value(ind, -1))
	}
	p.seen = append(p.seen, row)
}

func TestEngineStreamBlocksMatchBatch(t *testing.T) {
	bars := syntheticBars(5000, 3)
	p := &blockProbe{}
	res, err := Run(context.Background(), bars, p, Options{})
	require.NoError(t, err)
	require.Equal(t, 1500, res.FirstBar)
	opens, lows := make([]float64, len(bars)), make([]float64, len(bars))
	for i, b := range bars {
		opens[i], lows[i] = b.Open, b.Low
	}
	want := [][]float64{SMA(Closes(bars), 3), SMA(opens, 700), SMA(Closes(bars), 1500), EMA(lows, 40)}
	require.Len(t, p.seen, len(bars)-1500)
	for k, row := range p.seen {
		i := k + 1500
		for j, w := range want {
			require.Equal(t, w[i], row[2*j], "indicator %d at bar %d", j, i)
			require.True(t, math.IsNaN(row[2*j+1]), "no look-ahead: indicator %d at bar %d", j, i)
		}
	}
}

// naiveSMA is the definition: the mean of the last n values, NaN while
// fewer than n values have been seen or when one of them is not finite
// (pandas' rolling mean).
func naiveSMA(src []float64, n int) []float64 {
	out := make([]float64, len(src))
	for i := range src {
		out[i] = math.NaN()
		if i < n-1 {
			continue
		}
		var s float64
		ok := true
		for _, v := range src[i-n+1 : i+1] {
			ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
			s += v
		}
		if ok {
			out[i] = s / float64(n)
		}
	}
	return out
}

type volumeSMA struct {
	n    int
	ind  Indicator
	seen map[int]float64
}

func (s *volumeSMA) Init(st *Setup) error {
	s.ind, s.seen = st.SMA(SourceVolume, s.n), map[int]float64{}
	return nil
}
func (s *volumeSMA) Next(ctx *Context) { s.seen[ctx.Index()] = ctx.Value(s.ind, 0) }

// TestSMARecoversAfterNonFinite: one NaN (or infinite) value makes the SMA
// undefined for the n windows that hold it, then it recovers, in SMA() and
// in the engine's Setup.SMA alike. The running sum used to carry the NaN
// until its next resync, up to 1,024 values later.
func TestSMARecoversAfterNonFinite(t *testing.T) {
	got := SMA([]float64{1, 2, math.NaN(), 4, 5, 6, 7}, 2)
	assert.True(t, math.IsNaN(got[0]) && math.IsNaN(got[2]) && math.IsNaN(got[3]))
	assert.Equal(t, []float64{4.5, 5.5, 6.5}, got[4:])

	bars := syntheticBars(3000, 21)
	vol := make([]float64, len(bars))
	for i := range bars {
		bars[i].Volume = 1000 + float64(i%97)
		switch i {
		case 5, 1100, 1101, 2047, 2048:
			bars[i].Volume = math.NaN()
		}
		vol[i] = bars[i].Volume
	}
	src := append([]float64(nil), vol...)
	src[1500], src[1600] = math.Inf(1), math.Inf(-1)
	for _, n := range []int{1, 3, 20, 700} {
		want := naiveSMA(src, n)
		got := SMA(src, n)
		for i := range want {
			if math.IsNaN(want[i]) {
				require.True(t, math.IsNaN(got[i]), "SMA(%d) at %d: %v, want NaN", n, i, got[i])
			} else {
				require.InEpsilon(t, want[i], got[i], 1e-12, "SMA(%d) at %d", n, i)
			}
		}
		s := &volumeSMA{n: n}
		_, err := Run(context.Background(), bars, s, Options{})
		require.NoError(t, err)
		want = naiveSMA(vol, n)
		for i, v := range s.seen {
			if math.IsNaN(want[i]) {
				require.True(t, math.IsNaN(v), "engine SMA(V,%d) at %d: %v, want NaN", n, i, v)
			} else {
				require.InEpsilon(t, want[i], v, 1e-12, "engine SMA(V,%d) at %d", n, i)
			}
		}
		require.False(t, math.IsNaN(s.seen[30+n]), "engine SMA(V,%d) recovered after the NaN at bar 5", n)
	}
}

// TestIndicatorsAreMarketdatas: papertrade's NaN-padded series are
// marketdata's end-aligned indicators, value for value (the two used to be
// separate implementations whose sums rounded differently).
func TestIndicatorsAreMarketdatas(t *testing.T) {
	c := Closes(syntheticBars(20_000, 9))
	for _, n := range []int{2, 14, 50, 200, 1500} {
		for name, f := range map[string]struct {
			pad  func([]float64, int) []float64
			end  func([]float64, []float64, int) ([]float64, error)
			warm int
		}{
			"SMA": {SMA, marketdata.SMA, n - 1},
			"EMA": {EMA, marketdata.EMA, n - 1},
			"RSI": {RSI, marketdata.RSI, n},
		} {
			padded := f.pad(c, n)
			end, err := f.end(nil, c, n)
			require.NoError(t, err)
			require.Len(t, end, len(c)-f.warm, "%s(%d)", name, n)
			for i := range f.warm {
				require.True(t, math.IsNaN(padded[i]), "%s(%d) warm-up at %d", name, n, i)
			}
			for k, v := range end {
				require.Equal(t, v, padded[f.warm+k], "%s(%d) at %d", name, n, f.warm+k)
			}
		}
	}
}
