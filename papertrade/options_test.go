package papertrade

import (
	"context"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestEngineOptionsHandComputed covers, on small hand-computed cases, the
// engine options the CLI exposes that no backtesting.py reference file
// exercises (the others: TestTradeOnClose, TestNettingHedgingExclusive,
// TestAllInWholeUnitsAndFractional, TestCommissionFixedPlusRelative,
// TestGoldenSpreadCommissionBacktestingPy, TestDefaultModeDifferences).
func TestEngineOptionsHandComputed(t *testing.T) {
	ctx := context.Background()
	buyOne := func(units float64) Strategy {
		return onBar(1, func(c *Context) { _, _ = c.Buy(Order{Size: units, SizeKind: SizeUnits}) })
	}

	t.Run("spread", func(t *testing.T) {
		// 100 bps on entry: bought at 10.1, sold at the unadjusted 12.
		res, err := Run(ctx, flatBars(10, 10, 10, 12), buyOne(5), Options{SpreadBps: 100})
		require.NoError(t, err)
		require.Len(t, res.Trades, 1)
		assert.InDelta(t, 10.1, res.Trades[0].EntryPrice, 1e-12)
		assert.InDelta(t, 5*(12-10.1), res.Trades[0].PnL, 1e-9)
		assert.InDelta(t, 10_000+5*(12-10.1), res.Stats.EquityFinal, 1e-9)
	})

	t.Run("commission minimum", func(t *testing.T) {
		// 0.1% of 50 is 0.05, below the minimum of 1: 1 at entry and exit.
		res, err := Run(ctx, flatBars(10, 10, 10, 10), buyOne(5), Options{Commission: CommissionModel{Rate: 0.001, Minimum: 1}})
		require.NoError(t, err)
		assert.Equal(t, 2.0, res.Trades[0].Commission)
		assert.Equal(t, 9_998.0, res.Stats.EquityFinal)
	})

	t.Run("margin", func(t *testing.T) {
		// Margin 0.1 (10:1): all in with 1,000 buys 1,000·10·(1-ε) / 10 →
		// 999 units at 10; at 11 the account is worth 1,000 + 999.
		bars := flatBars(10, 10, 10, 11)
		res, err := Run(ctx, bars, onBar(1, func(c *Context) { _, _ = c.Buy(Order{}) }), Options{Cash: 1000, Margin: 0.1})
		require.NoError(t, err)
		assert.Equal(t, 999.0, res.Trades[0].Size)
		assert.Equal(t, 1999.0, res.Stats.EquityFinal)
		// A fall of 10% wipes the account out: equity 0 from then on.
		res, err = Run(ctx, flatBars(10, 10, 10, 8.9, 12), onBar(1, func(c *Context) { _, _ = c.Buy(Order{}) }), Options{Cash: 1000, Margin: 0.1})
		require.NoError(t, err)
		assert.Equal(t, []float64{1000, 1000, 1000, 0, 0}, res.Equity)
	})

	t.Run("keep open", func(t *testing.T) {
		res, err := Run(ctx, flatBars(10, 10, 10, 13), buyOne(2), Options{KeepOpen: true})
		require.NoError(t, err)
		require.Len(t, res.Trades, 1)
		assert.True(t, res.Trades[0].Open)
		assert.Equal(t, -1, res.Trades[0].ExitBar)
		assert.Equal(t, 6.0, res.Trades[0].PnL, "marked at the last close")
		assert.Equal(t, 0, res.Stats.NumTrades, "open trades are not in the trade statistics")
		assert.Equal(t, 10_006.0, res.Stats.EquityFinal)
	})

	t.Run("risk-free rate", func(t *testing.T) {
		bars := loadGOOG(t)
		zero, err := Run(ctx, bars, &SMACross{Fast: 10, Slow: 30}, Options{})
		require.NoError(t, err)
		rf, err := Run(ctx, bars, &SMACross{Fast: 10, Slow: 30}, Options{RiskFreeRate: 0.02})
		require.NoError(t, err)
		s := rf.Stats
		assert.InEpsilon(t, (s.ReturnAnnPct-2)/s.VolatilityAnnPct, s.SharpeRatio, 1e-12)
		assert.InEpsilon(t, s.ReturnPct-2-s.Beta*(s.BuyHoldReturnPct-2), s.AlphaPct, 1e-12)
		assert.Equal(t, zero.Trades, rf.Trades)
		assert.Less(t, s.SharpeRatio, zero.Stats.SharpeRatio)
	})

	t.Run("smacross no close", func(t *testing.T) {
		// SMA(1) against SMA(2): a cross up on bar 2 (9 → 10), a cross
		// down on bar 4 (11 → 10).
		bars := flatBars(10, 9, 10, 11, 10, 10, 8)
		s := func() Strategy { return &SMACross{Fast: 1, Slow: 2, NoClose: true} }
		// Exclusive orders: long 90 at 11 (1,000·(1-ε) / 11), closed at
		// 10 when the short of 910·(1-ε) / 10 → 90 units opens; the short
		// closes at the last close, 8.
		res, err := Run(ctx, bars, s(), Options{Cash: 1000, ExclusiveOrders: true})
		require.NoError(t, err)
		require.Len(t, res.Trades, 2)
		assert.Equal(t, [4]float64{90, 11, 10, -90}, [4]float64{res.Trades[0].Size, res.Trades[0].EntryPrice, res.Trades[0].ExitPrice, res.Trades[0].PnL})
		assert.Equal(t, [4]float64{-90, 10, 8, 180}, [4]float64{res.Trades[1].Size, res.Trades[1].EntryPrice, res.Trades[1].ExitPrice, res.Trades[1].PnL})
		assert.Equal(t, 1090.0, res.Stats.EquityFinal)
		// Without them the sell is sized on the margin the long leaves
		// free (910 - 900 = 10: not one unit at 10) and rejected, as in
		// backtesting.py; the long runs to the end.
		res, err = Run(ctx, bars, s(), Options{Cash: 1000})
		require.NoError(t, err)
		require.Len(t, res.Trades, 1)
		assert.Equal(t, 1, res.RejectedOrders)
		assert.Equal(t, -270.0, res.Trades[0].PnL)
		// The close-then-reverse SMACross closes first: the same trades as
		// with exclusive orders.
		rev, err := Run(ctx, bars, &SMACross{Fast: 1, Slow: 2}, Options{Cash: 1000})
		require.NoError(t, err)
		excl, err := Run(ctx, bars, s(), Options{Cash: 1000, ExclusiveOrders: true})
		require.NoError(t, err)
		assert.Equal(t, excl.Trades, rev.Trades)
		assert.False(t, math.IsNaN(rev.Stats.SQN))
	})
}
