package papertrade

import (
	"context"
	"errors"
	"math"
	"runtime/debug"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flatBars makes daily bars whose open, high, low and close all equal the
// given prices.
func flatBars(prices ...float64) []Bar {
	bars := make([]Bar, len(prices))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, p := range prices {
		bars[i] = Bar{Time: t0.AddDate(0, 0, i), Open: p, High: p, Low: p, Close: p}
	}
	return bars
}

// script is a strategy driven by a function of the bar index.
type script struct {
	next func(ctx *Context)
}

func (s *script) Init(*Setup) error { return nil }
func (s *script) Next(ctx *Context) { s.next(ctx) }
func onBar(i int, f func(*Context)) *script {
	return &script{next: func(ctx *Context) {
		if ctx.Index() == i {
			f(ctx)
		}
	}}
}

func TestCommissionFixedPlusRelative(t *testing.T) {
	// backtesting.py's test_commissions: buy 100 units on bar 1 with a
	// take-profit at 3; filled at bar 2's open (1), exits at bar 4 (4).
	bars := flatBars(1, 1, 1, 2, 4, 1, 2)
	s := onBar(1, func(ctx *Context) {
		_, err := ctx.Buy(Order{Size: 100, SizeKind: SizeUnits, TakeProfit: 3})
		require.NoError(t, err)
	})
	res, err := Run(context.Background(), bars, s, Options{Cash: 5000, Commission: CommissionModel{Fixed: 10, Rate: 0.01}})
	require.NoError(t, err)
	want := 10 + 0.01*100*1 + 10 + 0.01*100*4
	require.Len(t, res.Trades, 1)
	assert.InDelta(t, want, res.Stats.Commissions, 1e-9)
	assert.InDelta(t, want, res.Trades[0].Commission, 1e-9)
	assert.InDelta(t, 5000+3*100-want, res.Stats.EquityFinal, 1e-9)
	assert.Equal(t, 2, res.Trades[0].EntryBar)
	assert.Equal(t, 4, res.Trades[0].ExitBar)
	assert.Equal(t, 4.0, res.Trades[0].ExitPrice)
	assert.InDelta(t, 300-want, res.Trades[0].PnL, 1e-9)
}

func TestLimitAndStopFills(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	bars := []Bar{
		{Time: t0, Open: 100, High: 101, Low: 99, Close: 100},
		{Time: t0.AddDate(0, 0, 1), Open: 100, High: 102, Low: 98, Close: 101},  // limit 99 hit at 99
		{Time: t0.AddDate(0, 0, 2), Open: 104, High: 106, Low: 103, Close: 105}, // stop 103 gapped: fills at open 104
		{Time: t0.AddDate(0, 0, 3), Open: 105, High: 105, Low: 95, Close: 96},
		{Time: t0.AddDate(0, 0, 4), Open: 96, High: 97, Low: 95, Close: 96},
	}
	tests := []struct {
		name      string
		order     Order
		wantPrice float64
		wantBar   int
	}{
		{"limit buy fills at limit", Order{Side: Buy, Size: 1, SizeKind: SizeUnits, Limit: 99}, 99, 1},
		{"limit buy gapped fills at open", Order{Side: Buy, Size: 1, SizeKind: SizeUnits, Limit: 100.5}, 100, 1},
		{"stop buy gapped fills at open", Order{Side: Buy, Size: 1, SizeKind: SizeUnits, Stop: 103}, 104, 2},
		{"stop buy inside bar fills at stop", Order{Side: Buy, Size: 1, SizeKind: SizeUnits, Stop: 101.5}, 101.5, 1},
		{"stop sell", Order{Side: Sell, Size: 1, SizeKind: SizeUnits, Stop: 97}, 97, 3},
		{"market buy next open", Order{Side: Buy, Size: 1, SizeKind: SizeUnits}, 100, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := onBar(0, func(ctx *Context) {
				_, err := ctx.Place(tc.order)
				require.NoError(t, err)
			})
			e, _, err := newEngine(bars, s, Options{KeepOpen: true})
			require.NoError(t, err)
			require.NoError(t, e.run(context.Background(), s, 0))
			require.Len(t, e.fills, 1)
			assert.Equal(t, tc.wantPrice, e.fills[0].Price)
			assert.Equal(t, tc.wantBar, e.fills[0].Bar)
		})
	}
}

func TestStopLossBracket(t *testing.T) {
	bars := flatBars(100, 100, 100, 101, 99, 94, 96, 97)
	s := onBar(1, func(ctx *Context) {
		_, err := ctx.Buy(Order{Size: 10, SizeKind: SizeUnits, StopLoss: 95, TakeProfit: 120})
		require.NoError(t, err)
	})
	res, err := Run(context.Background(), bars, s, Options{})
	require.NoError(t, err)
	require.Len(t, res.Trades, 1)
	tr := res.Trades[0]
	assert.Equal(t, 5, tr.ExitBar)
	assert.Equal(t, 94.0, tr.ExitPrice, "gap below the stop fills at the open")
	assert.InDelta(t, -60, tr.PnL, 1e-9)
}

func TestNettingHedgingExclusive(t *testing.T) {
	bars := flatBars(10, 10, 11, 12, 13, 14)
	mk := func() *script {
		return &script{next: func(ctx *Context) {
			switch ctx.Index() {
			case 0:
				_, _ = ctx.Buy(Order{Size: 2, SizeKind: SizeUnits})
			case 1:
				_, _ = ctx.Sell(Order{Size: 3, SizeKind: SizeUnits})
			}
		}}
	}
	run := func(o Options) *engine {
		o.KeepOpen = true
		s := mk()
		e, _, err := newEngine(bars, s, o)
		require.NoError(t, err)
		require.NoError(t, e.run(context.Background(), s, 0))
		return e
	}
	e := run(Options{})
	require.Len(t, e.trades, 1, "FIFO netting: the long is closed, one short remains")
	assert.Equal(t, -1.0, e.trades[0].size)
	require.Len(t, e.closed, 1)
	assert.Equal(t, 2.0, e.closed[0].Size)

	e = run(Options{Hedging: true})
	assert.Len(t, e.trades, 2)
	assert.Equal(t, -1.0, e.positionSize())

	e = run(Options{ExclusiveOrders: true})
	require.Len(t, e.trades, 1)
	assert.Equal(t, -3.0, e.trades[0].size)
}

func TestTradeOnClose(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	bars := []Bar{
		{Time: t0, Open: 10, High: 12, Low: 9, Close: 11},
		{Time: t0.AddDate(0, 0, 1), Open: 12, High: 13, Low: 11, Close: 12},
		{Time: t0.AddDate(0, 0, 2), Open: 12, High: 13, Low: 11, Close: 13},
	}
	s := onBar(1, func(ctx *Context) { _, _ = ctx.Buy(Order{Size: 1, SizeKind: SizeUnits}) })
	res, err := Run(context.Background(), bars, s, Options{TradeOnClose: true})
	require.NoError(t, err)
	require.Len(t, res.Trades, 1)
	assert.Equal(t, 12.0, res.Trades[0].EntryPrice, "filled at the close of the signal bar")
	assert.Equal(t, 1, res.Trades[0].EntryBar)
}

func TestAllInWholeUnitsAndFractional(t *testing.T) {
	bars := flatBars(30, 30, 30, 30)
	buy := func() *script { return onBar(1, func(ctx *Context) { _, _ = ctx.Buy(Order{}) }) }
	res, err := Run(context.Background(), bars, buy(), Options{Cash: 100})
	require.NoError(t, err)
	require.Len(t, res.Fills, 2)
	assert.Equal(t, 3.0, res.Fills[0].Quantity)

	res, err = Run(context.Background(), bars, buy(), Options{Cash: 100, Fractional: true})
	require.NoError(t, err)
	assert.InDelta(t, 100.0/30, res.Fills[0].Quantity, 1e-9)
	assert.LessOrEqual(t, res.Fills[0].Quantity*30, 100.0)

	// With a 1% commission the buy must leave room for the fee.
	res, err = Run(context.Background(), bars, buy(), Options{Cash: 3031, Commission: RelativeCommission(0.01)})
	require.NoError(t, err)
	assert.Equal(t, 100.0, res.Fills[0].Quantity)
	res, err = Run(context.Background(), bars, buy(), Options{Cash: 3029.99, Commission: RelativeCommission(0.01)})
	require.NoError(t, err)
	assert.Equal(t, 99.0, res.Fills[0].Quantity)
}

func TestInsufficientFundsRejected(t *testing.T) {
	bars := flatBars(100, 100, 100)
	s := onBar(1, func(ctx *Context) { _, _ = ctx.Buy(Order{Size: 1000, SizeKind: SizeUnits}) })
	res, err := Run(context.Background(), bars, s, Options{Cash: 1000})
	require.NoError(t, err)
	assert.Equal(t, 1, res.RejectedOrders)
	assert.Empty(t, res.Trades)
	assert.Equal(t, 1000.0, res.Stats.EquityFinal)
}

func TestOrderValidation(t *testing.T) {
	bars := flatBars(100, 100, 100)
	tests := []Order{
		{Side: 0, Size: 1, SizeKind: SizeUnits},
		{Side: Buy, Size: -1, SizeKind: SizeUnits},
		{Side: Buy, Size: math.NaN()},
		{Side: Buy, Size: 1.5, SizeKind: SizeUnits},
		{Side: Buy, Limit: -3},
		{Side: Buy, StopLoss: 101},
		{Side: Buy, TakeProfit: 99},
		{Side: Sell, StopLoss: 99},
		{Side: Buy, SizeKind: SizeKind(9), Size: 1},
		{Side: Buy, Size: 2},
	}
	for _, o := range tests {
		var got error
		s := onBar(1, func(ctx *Context) { _, got = ctx.Place(o) })
		_, err := Run(context.Background(), bars, s, Options{})
		require.NoError(t, err)
		assert.ErrorIs(t, got, ErrInvalidOrder, "%+v", o)
	}
}

func TestBadInput(t *testing.T) {
	good := flatBars(1, 2, 3)
	nanBar := flatBars(1, 2, 3)
	nanBar[1].Close = math.NaN()
	hl := flatBars(1, 2, 3)
	hl[2].High, hl[2].Low = 2, 4
	neg := flatBars(1, -2, 3)
	unsorted := flatBars(1, 2, 3)
	unsorted[0].Time, unsorted[1].Time = unsorted[1].Time, unsorted[0].Time
	dup := flatBars(1, 2, 3)
	dup[2].Time = dup[1].Time
	tests := []struct {
		name string
		bars []Bar
		want error
	}{
		{"empty", nil, ErrNoBars},
		{"nan", nanBar, ErrInvalidBar},
		{"high<low", hl, ErrInvalidBar},
		{"negative", neg, ErrInvalidBar},
		{"unsorted", unsorted, ErrUnsorted},
		{"duplicate", dup, ErrDuplicateTime},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Run(context.Background(), tc.bars, &BuyAndHold{}, Options{})
			assert.ErrorIs(t, err, tc.want)
		})
	}
	_, err := Run(context.Background(), good, nil, Options{})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
	_, err = Run(context.Background(), good, &BuyAndHold{}, Options{Cash: -5})
	assert.ErrorIs(t, err, ErrInvalidOptions)
	_, err = Run(context.Background(), good, &BuyAndHold{}, Options{Margin: 2})
	assert.ErrorIs(t, err, ErrInvalidOptions)
	_, err = Run(context.Background(), good, &SMACross{Fast: 0, Slow: 3}, Options{})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
}

func TestStrategyPanicReportsBar(t *testing.T) {
	bars := flatBars(1, 2, 3, 4, 5)
	s := onBar(3, func(*Context) { panic("boom") })
	_, err := Run(context.Background(), bars, s, Options{})
	require.ErrorIs(t, err, ErrStrategyPanic)
	assert.Contains(t, err.Error(), "bar 3")
	assert.Contains(t, err.Error(), "boom")
}

func TestNoLookAhead(t *testing.T) {
	bars := flatBars(1, 2, 3, 4, 5)
	var sawFuture bool
	var ind Indicator
	s := &struct{ script }{}
	s.next = func(ctx *Context) {
		if _, ok := ctx.Bar(-1); ok {
			sawFuture = true
		}
		if !math.IsNaN(ctx.Value(ind, -1)) || !math.IsNaN(ctx.Close(-1)) {
			sawFuture = true
		}
		b, ok := ctx.Bar(0)
		if !ok || b.Close != float64(ctx.Index()+1) {
			sawFuture = true
		}
	}
	_, err := Run(context.Background(), bars, s, Options{})
	require.NoError(t, err)
	assert.False(t, sawFuture)
}

func TestCancelContext(t *testing.T) {
	bars := syntheticBars(200_000, 3)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := Run(ctx, bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	assert.True(t, errors.Is(err, context.Canceled))
}

// idle never trades; it reads its indicators on every bar.
type idle struct{ a, b Indicator }

func (s *idle) Init(st *Setup) error {
	s.a, s.b = st.SMA(SourceClose, 5), st.EMA(SourceClose, 8)
	return nil
}
func (s *idle) Next(ctx *Context) { _ = ctx.Cross(s.a, s.b) }

// TestZeroAllocsPerBar shows that the per-bar loop does not allocate: a run
// over 100,000 bars allocates as often as one over 5,000 bars (up to a
// stray runtime allocation), so the steady state is 0 allocations per bar.
func TestZeroAllocsPerBar(t *testing.T) {
	defer debug.SetGCPercent(debug.SetGCPercent(-1))
	allocs := func(n int) float64 {
		bars := syntheticBars(n, 9)
		return testing.AllocsPerRun(3, func() {
			s := &idle{}
			e, start, err := newEngine(bars, s, Options{})
			if err != nil {
				t.Fatal(err)
			}
			if err := e.run(context.Background(), s, start); err != nil {
				t.Fatal(err)
			}
		})
	}
	small, big := allocs(5_000), allocs(100_000)
	assert.InDelta(t, small, big, 2, "allocations grow with bar count: %v vs %v", small, big)
	assert.Less(t, big, 30.0)
}

func TestSMACrossLongOnlyAndOthersRun(t *testing.T) {
	bars := loadGOOG(t)
	for _, s := range []Strategy{
		&SMACross{Fast: 10, Slow: 30, LongOnly: true},
		&BuyAndHold{},
		&RSIReversion{Period: 14, Lower: 30, Upper: 70},
		&Breakout{Lookback: 20},
		&RandomTrader{Seed: 7},
	} {
		res, err := Run(context.Background(), bars, s, Options{Commission: RelativeCommission(0.002)})
		require.NoError(t, err, "%v", s)
		assert.Positive(t, res.Stats.EquityFinal, "%v", s)
		for _, tr := range res.Trades {
			if _, ok := s.(*SMACross); ok {
				assert.Positive(t, tr.Size, "long only")
			}
			assert.LessOrEqual(t, tr.EntryBar, tr.ExitBar)
		}
		assert.NotEmpty(t, res.Summary())
	}
	// Buy and hold's final equity is its units times the last close plus
	// leftover cash, less two commissions.
	res, err := Run(context.Background(), bars, &BuyAndHold{}, Options{})
	require.NoError(t, err)
	// The first Next runs on bar 1 (backtesting.py needs two bars), so the
	// buy fills at bar 2's open.
	units := math.Floor(10_000 * fullEquity / bars[2].Open)
	assert.InDelta(t, 10_000+units*(bars[len(bars)-1].Close-bars[2].Open), res.Stats.EquityFinal, 1e-6)

	// The random trader is reproducible per seed.
	a, _ := Run(context.Background(), bars, &RandomTrader{Seed: 1}, Options{})
	b, _ := Run(context.Background(), bars, &RandomTrader{Seed: 1}, Options{})
	c, _ := Run(context.Background(), bars, &RandomTrader{Seed: 2}, Options{})
	assert.Equal(t, a.Stats.EquityFinal, b.Stats.EquityFinal)
	assert.NotEqual(t, a.Stats.EquityFinal, c.Stats.EquityFinal)
}
