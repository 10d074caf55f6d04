package papertrade

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func loadGOOG(t testing.TB) []Bar {
	t.Helper()
	bars, err := ReadCSVFile("testdata/GOOG.csv")
	require.NoError(t, err)
	return bars
}

// onDay places an order on the bar of the given date.
func onDay(day time.Time, o Order) *script {
	return &script{next: func(ctx *Context) {
		if ctx.Time().Equal(day) {
			if _, err := ctx.Place(o); err != nil {
				panic(err)
			}
		}
	}}
}

// TestGoldenBracketsBacktestingPy replays backtesting.py's bracket-order
// tests on GOOG: test_trade_enter_hit_sl_on_same_day and
// test_stop_price_between_sl_tp.
func TestGoldenBracketsBacktestingPy(t *testing.T) {
	bars := loadGOOG(t)
	day := time.Date(2012, 10, 17, 0, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		s         *script
		wantEntry float64
		wantExit  float64
	}{
		// A market buy with a stop-loss that the next bar already hits
		// exits at the stop-loss the same bar.
		{"market buy, SL hit on entry bar", onDay(day, Order{Side: Buy, StopLoss: 720}), 0, 720},
		// A stop buy whose SL would hit in its own entry bar exits on the
		// next matching bar instead (at its open, 705.58, gapping below).
		{"stop buy, SL next bar", onDay(day, Order{Side: Buy, Stop: 758, StopLoss: 720}), 0, 705.58},
		// A stop entry between SL and TP enters at the stop price.
		{"stop between sl and tp", onDay(time.Date(2004, 9, 9, 0, 0, 0, 0, time.UTC), Order{Side: Buy, Stop: 104, StopLoss: 103, TakeProfit: 110}), 104, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), bars, tc.s, Options{Compat: true})
			require.NoError(t, err)
			require.NotEmpty(t, res.Trades)
			if tc.wantEntry != 0 {
				assert.Equal(t, tc.wantEntry, res.Trades[0].EntryPrice)
			}
			if tc.wantExit != 0 {
				assert.Equal(t, tc.wantExit, res.Trades[0].ExitPrice)
			}
		})
	}
}

type commissionFunc func(size, price float64) float64

func (f commissionFunc) Fee(size, price float64) float64 { return f(size, price) }

// TestGoldenSpreadCommissionBacktestingPy replays backtesting.py's
// test_spread_commission: buy all-in on bar 1, close on bar 2, on the first
// 20 bars of GOOG, and compare the equity on bars 2 and 3.
func TestGoldenSpreadCommissionBacktestingPy(t *testing.T) {
	bars := loadGOOG(t)[:20]
	mk := func() *script {
		done := false
		return &script{next: func(ctx *Context) {
			if done {
				return
			}
			if ctx.Position() == 0 {
				_, _ = ctx.Buy(Order{})
				return
			}
			ctx.ClosePosition()
			done = true
		}}
	}
	tests := []struct {
		name string
		opts Options
		want [2]float64
	}{
		{"spread 1% + commission 1%", Options{SpreadBps: 100, Commission: RelativeCommission(0.01), Compat: true}, [2]float64{9685.31, 9749.33}},
		{"commission 100 + 1%", Options{Commission: CommissionModel{Fixed: 100, Rate: 0.01}, Compat: true}, [2]float64{9784.50, 9718.69}},
		{"commission function", Options{Commission: commissionFunc(func(size, price float64) float64 { return size * price * 0.01 }), Compat: true}, [2]float64{9781.28, 9846.04}},
		// The default mode agrees where backtesting.py's sizing is exact…
		{"default: spread + commission", Options{SpreadBps: 100, Commission: RelativeCommission(0.01)}, [2]float64{9685.31, 9749.33}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Run(context.Background(), bars, mk(), tc.opts)
			require.NoError(t, err)
			got := [2]float64{math.Round(res.Equity[2]*100) / 100, math.Round(res.Equity[3]*100) / 100}
			assert.Equal(t, tc.want, got)
			if tc.opts.SpreadBps != 0 {
				assert.Equal(t, bars[2].Open*1.01, res.Trades[0].EntryPrice)
			}
		})
	}
	// … but with a fixed fee it buys as many units as the cash really pays
	// for, where backtesting.py divides the fixed fee into every unit's
	// price (47 units instead of 88 here).
	compat, err := Run(context.Background(), bars, mk(), Options{Commission: CommissionModel{Fixed: 100, Rate: 0.01}, Compat: true})
	require.NoError(t, err)
	def, err := Run(context.Background(), bars, mk(), Options{Commission: CommissionModel{Fixed: 100, Rate: 0.01}})
	require.NoError(t, err)
	cu, du := compat.Trades[0].Size, def.Trades[0].Size
	assert.Less(t, cu, du)
	fee := 100 + 0.01*du*bars[2].Open
	assert.LessOrEqual(t, du*bars[2].Open+fee, 10_000.0)
	assert.Greater(t, (du+1)*bars[2].Open+fee+0.01*bars[2].Open, 10_000.0)
}
