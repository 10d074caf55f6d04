package papertrade

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"
)

// chaos places random orders of every kind, driven by a seed.
type chaos struct {
	rng *rand.Rand
}

func (c *chaos) Init(*Setup) error { return nil }

func (c *chaos) Next(ctx *Context) {
	r := c.rng
	if r.IntN(4) != 0 {
		return
	}
	price := ctx.Close(0)
	o := Order{Side: Buy}
	if r.IntN(2) == 0 {
		o.Side = Sell
	}
	switch r.IntN(3) {
	case 0:
		o.SizeKind, o.Size = SizeUnits, float64(1+r.IntN(20))
	case 1:
		o.SizeKind, o.Size = SizeCash, 100+r.Float64()*5000
	default:
		o.Size = r.Float64()
	}
	dir := float64(o.Side)
	switch r.IntN(4) {
	case 1:
		o.Limit = price * (1 - dir*0.02*r.Float64())
	case 2:
		o.Stop = price * (1 + dir*0.02*r.Float64())
	case 3:
		o.Stop = price * (1 + dir*0.01*r.Float64())
		o.Limit = o.Stop * (1 + dir*0.005)
	}
	if r.IntN(3) == 0 {
		o.StopLoss = price * (1 - dir*(0.03+0.05*r.Float64()))
	}
	if r.IntN(3) == 0 {
		o.TakeProfit = price * (1 + dir*(0.03+0.05*r.Float64()))
	}
	switch r.IntN(10) {
	case 0:
		ctx.ClosePosition()
	case 1:
		ctx.Cancel(1 + r.IntN(50))
	default:
		_, _ = ctx.Place(o)
	}
}

// FuzzEngineAccounting drives the broker with random orders and checks the
// books balance: with every trade closed at the end, final equity equals
// starting cash plus the sum of trade P&L, and cash never becomes NaN.
func FuzzEngineAccounting(f *testing.F) {
	f.Add(uint64(1), uint8(0), false, false)
	f.Add(uint64(2), uint8(3), true, false)
	f.Add(uint64(3), uint8(7), false, true)
	f.Add(uint64(4), uint8(8), false, false)
	f.Add(uint64(5), uint8(15), true, false)
	f.Add(uint64(6), uint8(13), false, true)
	bars := syntheticBars(400, 4)
	f.Fuzz(func(t *testing.T, seed uint64, mode uint8, hedging, exclusive bool) {
		opts := Options{
			Cash:            20_000,
			Hedging:         hedging,
			ExclusiveOrders: exclusive,
			TradeOnClose:    mode&1 != 0,
			Fractional:      mode&2 != 0,
			Compat:          mode&8 != 0,
		}
		if mode&4 != 0 {
			opts.Commission = CommissionModel{Fixed: 1, Rate: 0.001, Minimum: 2}
			opts.SpreadBps = 5
		}
		s := &chaos{rng: rand.New(rand.NewPCG(seed, 99))}
		res, err := Run(context.Background(), bars, s, opts)
		require.NoError(t, err)
		var gross, recorded, paid float64
		for _, tr := range res.Trades {
			// Open trades (Compat: entered as the last bar's orders
			// filled) count at their value at the last close.
			gross += tr.PnL + tr.Commission
			require.False(t, math.IsNaN(tr.PnL))
			if tr.Open {
				require.Equal(t, -1, tr.ExitBar)
				continue
			}
			recorded += tr.Commission
			require.LessOrEqual(t, tr.EntryBar, tr.ExitBar)
		}
		for _, f := range res.Fills {
			paid += f.Fee
		}
		final := res.Equity[len(res.Equity)-1]
		require.InDelta(t, opts.Cash+gross-paid, final, 1e-6*opts.Cash, "equity = cash + gross P&L - fees paid")
		require.InDelta(t, recorded, res.Stats.Commissions, 1e-9)
		if !opts.Compat {
			// backtesting.py's commission record differs from what was
			// paid on partial closes; ours does not.
			var all float64
			for _, tr := range res.Trades {
				all += tr.Commission
			}
			require.InDelta(t, paid, all, 1e-6*opts.Cash)
		}
		for _, v := range res.Equity {
			require.False(t, math.IsNaN(v))
		}
	})
}

func TestEngineAccountingSeeds(t *testing.T) {
	// The fuzz target's seed corpus runs as a normal test; add a few
	// hundred more random seeds here.
	bars := syntheticBars(300, 8)
	for seed := range uint64(200) {
		opts := Options{Cash: 20_000, Hedging: seed%3 == 0, ExclusiveOrders: seed%5 == 0, TradeOnClose: seed%2 == 0,
			Commission: CommissionModel{Fixed: 1, Rate: 0.001}, SpreadBps: float64(seed % 7)}
		res, err := Run(context.Background(), bars, &chaos{rng: rand.New(rand.NewPCG(seed, 1))}, opts)
		require.NoError(t, err)
		var pnl float64
		for _, tr := range res.Trades {
			pnl += tr.PnL
		}
		require.InDelta(t, opts.Cash+pnl, res.Stats.EquityFinal, 1e-6*opts.Cash, "seed %d", seed)

		// Compat, whose commission record is not what was paid: equity is
		// cash plus gross P&L (open trades included) minus the fees paid.
		opts.Compat = true
		res, err = Run(context.Background(), bars, &chaos{rng: rand.New(rand.NewPCG(seed, 1))}, opts)
		require.NoError(t, err)
		var gross, paid float64
		for _, tr := range res.Trades {
			gross += tr.PnL + tr.Commission
		}
		for _, f := range res.Fills {
			paid += f.Fee
		}
		require.InDelta(t, opts.Cash+gross-paid, res.Stats.EquityFinal, 1e-6*opts.Cash, "compat seed %d", seed)
	}
}
