package papertrade

import (
	"fmt"
	"math/rand/v2"
)

// BuyAndHold buys with all available equity on the first bar it sees and
// holds to the end.
type BuyAndHold struct{ done bool }

// Init implements Strategy.
func (s *BuyAndHold) Init(*Setup) error { s.done = false; return nil }

// Next implements Strategy.
func (s *BuyAndHold) Next(ctx *Context) {
	if !s.done {
		if _, err := ctx.Buy(Order{}); err == nil {
			s.done = true
		}
	}
}

// String names the strategy and its parameters.
func (s *BuyAndHold) String() string { return "BuyAndHold" }

// SMACross is the classic moving-average crossover: when the fast SMA of the
// close crosses above the slow one it closes any position and goes long with
// all equity; when it crosses below it closes and goes short (or stays flat
// with LongOnly). With Fast 10, Slow 30 it is the SmaCross of backtesting.py's
// test suite.
//
// With NoClose it only places the order, Buy on a cross up and Sell on a
// cross down, without closing the position first: backtesting.py's README
// SmaCross (run there with exclusive_orders=True, Options.ExclusiveOrders
// here, so that each order closes the trade before it; without it a sell
// nets against the long position, FIFO). LongOnly then closes on a cross
// down instead of selling.
type SMACross struct {
	Fast, Slow int
	LongOnly   bool
	NoClose    bool
	fast, slow Indicator
}

// Init implements Strategy.
func (s *SMACross) Init(st *Setup) error {
	if s.Fast <= 0 || s.Slow <= 0 {
		return fmt.Errorf("smacross: periods must be positive (fast %d, slow %d)", s.Fast, s.Slow)
	}
	s.fast = st.SMA(SourceClose, s.Fast)
	s.slow = st.SMA(SourceClose, s.Slow)
	return nil
}

// Next implements Strategy.
func (s *SMACross) Next(ctx *Context) {
	switch ctx.Cross(s.fast, s.slow) {
	case 1:
		if !s.NoClose {
			ctx.ClosePosition()
		}
		_, _ = ctx.Buy(Order{})
	case -1:
		if !s.NoClose || s.LongOnly {
			ctx.ClosePosition()
		}
		if !s.LongOnly {
			_, _ = ctx.Sell(Order{})
		}
	}
}

// String names the strategy and its parameters.
func (s *SMACross) String() string {
	name := fmt.Sprintf("SMACross(%d,%d", s.Fast, s.Slow)
	if s.LongOnly {
		name += ",long only"
	}
	if s.NoClose {
		name += ",no close"
	}
	return name + ")"
}

// RSIReversion buys when the RSI falls below Lower and exits when it rises
// above Upper: mean reversion, long only.
type RSIReversion struct {
	Period       int
	Lower, Upper float64
	rsi          Indicator
}

// Init implements Strategy.
func (s *RSIReversion) Init(st *Setup) error {
	if s.Period <= 0 || !(0 < s.Lower && s.Lower < s.Upper && s.Upper < 100) {
		return fmt.Errorf("rsi: need period > 0 and 0 < lower < upper < 100 (got %d, %v, %v)", s.Period, s.Lower, s.Upper)
	}
	s.rsi = st.RSI(SourceClose, s.Period)
	return nil
}

// Next implements Strategy.
func (s *RSIReversion) Next(ctx *Context) {
	r := ctx.Value(s.rsi, 0)
	pos := ctx.Position()
	switch {
	case pos == 0 && ctx.PendingOrders() == 0 && r < s.Lower:
		_, _ = ctx.Buy(Order{})
	case pos > 0 && r > s.Upper:
		ctx.ClosePosition()
	}
}

// String names the strategy and its parameters.
func (s *RSIReversion) String() string {
	return fmt.Sprintf("RSIReversion(%d,%g,%g)", s.Period, s.Lower, s.Upper)
}

// Breakout is a Donchian-channel momentum strategy: go long when the close
// breaks above the highest high of the previous Lookback bars; exit when it
// falls below the lowest low of the previous Exit bars (default Lookback/2).
type Breakout struct {
	Lookback, Exit int
	hi, lo         Indicator
}

// Init implements Strategy.
func (s *Breakout) Init(st *Setup) error {
	if s.Lookback <= 1 {
		return fmt.Errorf("breakout: lookback %d must be > 1", s.Lookback)
	}
	exit := s.Exit
	if exit <= 0 {
		exit = max(1, s.Lookback/2)
	}
	s.hi = st.Highest(SourceHigh, s.Lookback)
	s.lo = st.Lowest(SourceLow, exit)
	return nil
}

// Next implements Strategy.
func (s *Breakout) Next(ctx *Context) {
	c := ctx.Close(0)
	pos := ctx.Position()
	switch {
	case pos == 0 && ctx.PendingOrders() == 0 && c > ctx.Value(s.hi, 1):
		_, _ = ctx.Buy(Order{})
	case pos > 0 && c < ctx.Value(s.lo, 1):
		ctx.ClosePosition()
	}
}

// String names the strategy and its parameters.
func (s *Breakout) String() string { return fmt.Sprintf("Breakout(%d,%d)", s.Lookback, s.Exit) }

// RandomTrader is the coin-flip baseline: on each bar, with probability
// Prob (default 0.05), it flips a fair coin and goes all-in long or short
// (closing what it had). The same Seed gives the same trades.
type RandomTrader struct {
	Seed uint64
	Prob float64
	rng  *rand.Rand
}

// Init implements Strategy.
func (s *RandomTrader) Init(*Setup) error {
	if s.Prob < 0 || s.Prob > 1 {
		return fmt.Errorf("random: probability %v not in [0, 1]", s.Prob)
	}
	s.rng = rand.New(rand.NewPCG(s.Seed, 0x5eed))
	return nil
}

// Next implements Strategy.
func (s *RandomTrader) Next(ctx *Context) {
	p := s.Prob
	if p == 0 {
		p = 0.05
	}
	if s.rng.Float64() >= p {
		return
	}
	ctx.ClosePosition()
	if s.rng.IntN(2) == 0 {
		_, _ = ctx.Buy(Order{})
	} else {
		_, _ = ctx.Sell(Order{})
	}
}

// String names the strategy and its parameters.
func (s *RandomTrader) String() string { return fmt.Sprintf("RandomTrader(seed=%d)", s.Seed) }
