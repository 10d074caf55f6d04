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

// TestGoldenBacktestingPy compares our statistics for SMACross(10, 30) on
// GOOG.csv (cash 10,000, no commission, trades closed at the end) with the
// figures backtesting.py's own test suite asserts in test_compute_stats.
func TestGoldenBacktestingPy(t *testing.T) {
	bars := loadGOOG(t)
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Cash: 10_000, Compat: true})
	require.NoError(t, err)
	s := res.Stats
	day := 24 * time.Hour

	assert.Equal(t, time.Date(2004, 8, 19, 0, 0, 0, 0, time.UTC), s.Start)
	assert.Equal(t, time.Date(2013, 3, 1, 0, 0, 0, 0, time.UTC), s.End)
	assert.Equal(t, 3116*day, s.Duration)
	assert.Equal(t, 66, s.NumTrades)
	assert.Equal(t, 41*day, s.AvgDrawdownDuration)
	assert.Equal(t, 46*day, s.AvgTradeDuration)
	assert.Equal(t, 584*day, s.MaxDrawdownDuration)
	assert.Equal(t, 183*day, s.MaxTradeDuration)

	want := []struct {
		name string
		got  float64
		want float64
	}{
		{"Avg. Drawdown [%]", s.AvgDrawdownPct, -5.925851581948801},
		{"Avg. Trade [%]", s.AvgTradePct, 2.5479693282886906},
		{"Best Trade [%]", s.BestTradePct, 53.59595229490424},
		{"Buy & Hold Return [%]", s.BuyHoldReturnPct, 522.0601851851852},
		{"Calmar Ratio", s.CalmarRatio, 0.4445179349739874},
		{"Equity Final [$]", s.EquityFinal, 51959.94999999997},
		{"Equity Peak [$]", s.EquityPeak, 75787.44},
		{"Expectancy [%]", s.ExpectancyPct, 3.2930986285628268},
		{"Exposure Time [%]", s.ExposurePct, 96.74115456238361},
		{"Max. Drawdown [%]", s.MaxDrawdownPct, -47.98012705007589},
		{"Profit Factor", s.ProfitFactor, 2.174469316409448},
		{"Return (Ann.) [%]", s.ReturnAnnPct, 21.32802699608929},
		{"Return [%]", s.ReturnPct, 419.59949999999964},
		{"Volatility (Ann.) [%]", s.VolatilityAnnPct, 36.53825234483751},
		{"CAGR [%]", s.CAGRPct, 14.255789393913654},
		{"SQN", s.SQN, 1.0880865497975716},
		{"Kelly Criterion", s.KellyCriterion, 0.15319708142323157},
		{"Sharpe Ratio", s.SharpeRatio, 0.5837177650097084},
		{"Sortino Ratio", s.SortinoRatio, 1.0923863161583598},
		{"Win Rate [%]", s.WinRatePct, 46.96969696969697},
		{"Worst Trade [%]", s.WorstTradePct, -18.39887353835481},
		{"Alpha [%]", s.AlphaPct, 399.7149324245838},
		{"Beta", s.Beta, 0.0380886498141251},
	}
	for _, w := range want {
		rel := math.Abs(w.got-w.want) / math.Abs(w.want)
		t.Logf("%-22s ours %.15g  backtesting.py %.15g  rel %.2g", w.name, w.got, w.want, rel)
		assert.LessOrEqualf(t, rel, 1e-6, "%s: got %.15g, backtesting.py %.15g (rel %.3g)", w.name, w.got, w.want, rel)
	}
	assert.Equal(t, 66, len(res.Trades))
}

// TestGoldenDefaultMode shows where the default semantics differ from
// Compat on the golden run: only CAGR, which the default computes over
// calendar years (3116 days = 8.53 years) instead of 3116/252 "years".
func TestGoldenDefaultMode(t *testing.T) {
	bars := loadGOOG(t)
	compat, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Compat: true})
	require.NoError(t, err)
	def, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	require.NoError(t, err)
	c, d := compat.Stats, def.Stats
	assert.InEpsilon(t, math.Pow(51959.95/10_000, 365.25/3116)*100-100, d.CAGRPct, 1e-12)
	c.CAGRPct, d.CAGRPct = 0, 0
	assert.Equal(t, c, d)
	assert.Equal(t, compat.Trades, def.Trades)
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
