package sim_test

import (
	"context"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata/sim"
)

// TestNoiseSides: a source with NoiseSide +1 is never below the market, one
// with -1 never above, so the median of the market and the two is the
// market's price at every instant; NoiseSide 0 errs both ways.
func TestNoiseSides(t *testing.T) {
	ctx := context.Background()
	at := time.Date(2026, 3, 10, 14, 0, 0, 0, time.UTC)
	clock := func() time.Time { return at }
	newSim := func(name string, noise float64, side int) *sim.Provider {
		o := sim.Default(name)
		o.Noise, o.NoiseSide, o.Now = noise, side, clock
		p, err := sim.New(o)
		require.NoError(t, err)
		return p
	}
	market := newSim("sim", 0, 0)
	above, below := newSim("sim-eu", 0.0008, +1), newSim("sim-slow", 0.0015, -1)
	either := newSim("sim-x", 0.0015, 0)
	var ups, downs int
	for i := range 400 {
		at = at.Add(time.Duration(i) * 37 * time.Second)
		for _, sym := range []string{"AAPL", "BTC-USD", "EQNR.OL"} {
			m, err := market.Quote(ctx, sym)
			require.NoError(t, err)
			a, err := above.Quote(ctx, sym)
			require.NoError(t, err)
			b, err := below.Quote(ctx, sym)
			require.NoError(t, err)
			require.GreaterOrEqual(t, a.Price, m.Price, "%s at %v", sym, at)
			require.LessOrEqual(t, b.Price, m.Price, "%s at %v", sym, at)
			prices := []float64{a.Price, m.Price, b.Price}
			sort.Float64s(prices)
			require.Equal(t, m.Price, prices[1], "%s at %v: the median is the market", sym, at)
			e, err := either.Quote(ctx, sym)
			require.NoError(t, err)
			switch {
			case e.Price > m.Price:
				ups++
			case e.Price < m.Price:
				downs++
			}
		}
	}
	assert.Greater(t, ups, 400, "side 0 errs upwards too")
	assert.Greater(t, downs, 400, "side 0 errs downwards too")

	for _, side := range []int{-2, 2} {
		o := sim.Default("bad")
		o.NoiseSide = side
		_, err := sim.New(o)
		assert.Error(t, err, "side %d", side)
	}
}
