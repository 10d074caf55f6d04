package papertrade

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// peeker is a custom indicator whose state a strategy reads directly,
// through the pointer it handed to Setup.Custom: the last bar it was given
// and a running sum of closes.
type peeker struct {
	warm int
	n    int
	last Bar
	sum  float64
}

func (p *peeker) Update(b Bar) float64 {
	p.n++
	p.last = b
	p.sum += b.Close
	if p.n < p.warm {
		return math.NaN()
	}
	return p.sum / float64(p.n)
}

// nosy is a random strategy that reads every piece of indicator state it
// can reach on each bar (its indicators' current and past values, its own
// Updaters' fields, its position and equity) and derives its decision from
// all of it, so a value that differs anywhere changes what it does. It logs
// what it read and what it decided.
type nosy struct {
	seed    uint64
	rng     *rand.Rand
	ind     []Indicator
	peekers []*peeker
	log     map[int][]uint64 // bar -> the bits of what was read, then the decision
}

func (s *nosy) Init(st *Setup) error {
	s.rng = rand.New(rand.NewPCG(s.seed, 7))
	s.log = map[int][]uint64{}
	s.ind = s.ind[:0]
	s.peekers = s.peekers[:0]
	for range 1 + s.rng.IntN(4) {
		n := 2 + s.rng.IntN(25)
		src := Source(s.rng.IntN(5))
		switch s.rng.IntN(6) {
		case 0:
			s.ind = append(s.ind, st.SMA(src, n))
		case 1:
			s.ind = append(s.ind, st.EMA(src, n))
		case 2:
			s.ind = append(s.ind, st.RSI(src, n))
		case 3:
			s.ind = append(s.ind, st.Highest(src, n))
		case 4:
			s.ind = append(s.ind, st.Lowest(src, n))
		default:
			p := &peeker{warm: n}
			s.peekers = append(s.peekers, p)
			s.ind = append(s.ind, st.Custom("peek", p))
		}
	}
	return nil
}

func (s *nosy) Next(ctx *Context) {
	var seen []uint64
	h := uint64(14695981039346656037)
	read := func(x float64) {
		b := math.Float64bits(x)
		seen = append(seen, b)
		h = (h ^ b) * 1099511628211
	}
	for _, ind := range s.ind {
		for ago := range 3 {
			read(ctx.Value(ind, ago))
		}
	}
	for _, p := range s.peekers {
		read(p.last.Open)
		read(p.last.Close)
		read(p.last.Volume)
		read(p.sum)
		read(float64(p.n))
	}
	read(ctx.Position())
	read(ctx.Equity())
	decision := (h ^ s.rng.Uint64()) % 7
	seen = append(seen, decision)
	s.log[ctx.Index()] = seen
	price := ctx.Close(0)
	switch decision {
	case 0:
		_, _ = ctx.Buy(Order{})
	case 1:
		_, _ = ctx.Sell(Order{Size: 0.5})
	case 2:
		ctx.ClosePosition()
	case 3:
		_, _ = ctx.Buy(Order{Limit: price * 0.99, StopLoss: price * 0.9})
	case 4:
		_, _ = ctx.Sell(Order{Stop: price * 0.99, SizeKind: SizeUnits, Size: 3})
	}
}

// TestNoLookAheadProperty: a strategy reading any indicator state at bar i
// makes the same decisions up to bar i when every bar after i is replaced.
// Custom Updaters were once run over all bars before the first Next, so a
// strategy reading its Updater's fields saw the last bar on every bar.
func TestNoLookAheadProperty(t *testing.T) {
	const n = 300
	base := syntheticBars(n, 11)
	customs := 0
	for k := range 150 {
		seed := uint64(k)
		rng := rand.New(rand.NewPCG(seed, 3))
		cut := rng.IntN(n - 1)
		other := syntheticBars(n, 1000+seed)
		alt := append([]Bar(nil), base...)
		for j := cut + 1; j < n; j++ {
			b := other[j]
			b.Time = base[j].Time
			if k%3 == 0 {
				b.Volume = math.NaN()
			}
			alt[j] = b
		}
		opts := Options{TradeOnClose: k%2 == 0, Hedging: k%5 == 0, ExclusiveOrders: k%7 == 0, Compat: k%4 == 0,
			Commission: CommissionModel{Fixed: 1, Rate: 0.001}}
		a, b := &nosy{seed: seed}, &nosy{seed: seed}
		ra, err := Run(context.Background(), base, a, opts)
		require.NoError(t, err)
		rb, err := Run(context.Background(), alt, b, opts)
		require.NoError(t, err)
		customs += len(a.peekers)
		if ra.FirstBar <= cut {
			require.Equal(t, ra.FirstBar, rb.FirstBar, "seed %d: first bar", seed)
		}
		for i := 0; i <= cut; i++ {
			require.Equal(t, a.log[i], b.log[i], "seed %d: bar %d of %d read different state (bars after %d replaced)", seed, i, n, cut)
		}
		for i := 0; i <= cut; i++ {
			require.Equal(t, ra.Equity[i], rb.Equity[i], "seed %d: equity at bar %d", seed, i)
		}
	}
	require.Greater(t, customs, 20, "the random strategies must exercise custom indicators")
}
