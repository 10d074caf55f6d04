package papertrade

import (
	"errors"
	"fmt"
	"math"
)

// Sentinel errors for orders, options and strategies.
var (
	// ErrInvalidOrder is returned for an order that cannot be placed: bad
	// side, non-positive or NaN size/prices, or stop-loss/take-profit on the
	// wrong side of the price.
	ErrInvalidOrder = errors.New("papertrade: invalid order")
	// ErrInsufficientFunds is returned when cash or margin cannot pay for an
	// order.
	ErrInsufficientFunds = errors.New("papertrade: insufficient funds")
	// ErrInvalidOptions is returned for bad engine options.
	ErrInvalidOptions = errors.New("papertrade: invalid options")
	// ErrInvalidStrategy is returned when a strategy's parameters or
	// indicator declarations are wrong.
	ErrInvalidStrategy = errors.New("papertrade: invalid strategy")
	// ErrStrategyPanic is returned when a strategy panics; the error names
	// the bar index.
	ErrStrategyPanic = errors.New("papertrade: strategy panicked")
	// ErrUnknownOrder is returned when an order id is not pending.
	ErrUnknownOrder = errors.New("papertrade: unknown order")
)

// Side is the direction of an order.
type Side int

// Order sides.
const (
	Buy  Side = 1
	Sell Side = -1
)

// String returns "buy" or "sell".
func (s Side) String() string {
	switch s {
	case Buy:
		return "buy"
	case Sell:
		return "sell"
	}
	return fmt.Sprintf("Side(%d)", int(s))
}

// MarshalText encodes the side as "buy" or "sell".
func (s Side) MarshalText() ([]byte, error) {
	if s != Buy && s != Sell {
		return nil, fmt.Errorf("%w: side %d", ErrInvalidOrder, int(s))
	}
	return []byte(s.String()), nil
}

// UnmarshalText reads "buy" or "sell".
func (s *Side) UnmarshalText(b []byte) error {
	switch string(b) {
	case "buy":
		*s = Buy
	case "sell":
		*s = Sell
	default:
		return fmt.Errorf("%w: side %q", ErrInvalidOrder, b)
	}
	return nil
}

// SizeKind says how Order.Size is read.
type SizeKind int

// Order size kinds.
const (
	// SizeEquity (the default): Size is a fraction of available equity
	// (0 < Size <= 1; 0 means "all in" like backtesting.py). The engine
	// buys as many units as that money pays for, commission included.
	SizeEquity SizeKind = iota
	// SizeUnits: Size is a number of units (shares, coins, lots).
	SizeUnits
	// SizeCash: Size is an amount of money to spend.
	SizeCash
)

// fullEquity is backtesting.py's default order size: 1 - machine epsilon.
const fullEquity = 1 - 2.220446049250313e-16

// Order is an instruction to the simulated broker.
//
// With neither Limit nor Stop it is a market order, filled at the next bar's
// open (or at this bar's close with Options.TradeOnClose). With Limit it
// fills when a later bar trades through the limit, at the limit (or at the
// open when the bar gaps past it). With Stop it becomes a market (or, with
// Limit too, a limit) order once a bar trades through the stop. StopLoss and
// TakeProfit attach a bracket to the resulting trade.
type Order struct {
	Side       Side
	Size       float64
	SizeKind   SizeKind
	Limit      float64 // 0: none
	Stop       float64 // 0: none
	StopLoss   float64 // 0: none
	TakeProfit float64 // 0: none
	Tag        string
}

// Commission computes the fee for trading size units at price. size is the
// trade's signed size (negative for shorts), at entry and at exit alike.
type Commission interface {
	Fee(size, price float64) float64
}

// CommissionModel is the common commission schedule: a fixed amount per
// order plus a rate of the notional, never less than Minimum. It is charged
// when a trade opens and again when it closes.
type CommissionModel struct {
	Fixed   float64 // per order, in account currency
	Rate    float64 // fraction of notional (0.002 = 0.2%)
	Minimum float64 // minimum fee per order
}

// Fee implements Commission.
func (m CommissionModel) Fee(size, price float64) float64 {
	f := m.Fixed + m.Rate*math.Abs(size)*price
	if f < m.Minimum {
		f = m.Minimum
	}
	return f
}

// RelativeCommission charges rate × notional per fill.
func RelativeCommission(rate float64) CommissionModel { return CommissionModel{Rate: rate} }

// FixedCommission charges a fixed fee per fill.
func FixedCommission(fee float64) CommissionModel { return CommissionModel{Fixed: fee} }

// Options configure a backtest. The zero value is usable: 10,000 cash, no
// fees, fills at the next open, whole units, no leverage, long and short.
type Options struct {
	// Cash is the starting cash (default 10,000).
	Cash float64
	// Commission is charged on every fill (nil: none).
	Commission Commission
	// SpreadBps is slippage/half-spread in basis points: buys fill that
	// much above the price, sells that much below.
	SpreadBps float64
	// Margin is the required margin ratio (default 1: no leverage; 0.02 is
	// 50:1).
	Margin float64
	// TradeOnClose fills market orders at the close of the bar they were
	// placed on instead of the next bar's open.
	TradeOnClose bool
	// Hedging allows long and short trades at the same time; without it an
	// opposite order first closes open trades, oldest first (FIFO).
	Hedging bool
	// ExclusiveOrders makes every new order cancel pending orders and close
	// open trades first, so at most one trade is open.
	ExclusiveOrders bool
	// Fractional allows fractional units (crypto); the default trades whole
	// units like backtesting.py.
	Fractional bool
	// KeepOpen leaves trades open at the end instead of closing them on the
	// last bar (they then do not count in the trade statistics).
	KeepOpen bool
	// Compat reproduces backtesting.py (0.6.6 unless CompatVersion says
	// otherwise) exactly, quirks included (see the package documentation):
	// its "all in" sizing formula with commissions, marking open trades at
	// the current bar's close while sizing, its per-trade commission
	// record, and closing the trades still open at the end at the last
	// bar's open.
	Compat bool
	// CompatVersion, with Compat, names the backtesting.py release to
	// reproduce: "" or BacktestingPy066, or BacktestingPy065, whose
	// statistics count the undefined first daily return as a 0 return and
	// compute CAGR over 252-day "years" (its broker is 0.6.6's).
	CompatVersion string
	// RiskFreeRate is the annual risk-free rate for Sharpe, Sortino and
	// alpha (0.02 = 2%).
	RiskFreeRate float64
}

// statsVersion is the StatsOptions.Version the options call for.
func (o Options) statsVersion() string {
	if o.Compat {
		return o.CompatVersion
	}
	return ""
}

func (o Options) withDefaults() (Options, error) {
	if o.Cash == 0 {
		o.Cash = 10_000
	}
	if o.Margin == 0 {
		o.Margin = 1
	}
	switch {
	case math.IsNaN(o.Cash) || o.Cash <= 0 || math.IsInf(o.Cash, 0):
		return o, fmt.Errorf("%w: cash %v must be positive", ErrInvalidOptions, o.Cash)
	case math.IsNaN(o.Margin) || o.Margin <= 0 || o.Margin > 1:
		return o, fmt.Errorf("%w: margin %v must be in (0, 1]", ErrInvalidOptions, o.Margin)
	case math.IsNaN(o.SpreadBps) || o.SpreadBps < 0 || o.SpreadBps >= 1000:
		return o, fmt.Errorf("%w: spread %v bps must be in [0, 1000)", ErrInvalidOptions, o.SpreadBps)
	case math.IsNaN(o.RiskFreeRate) || o.RiskFreeRate <= -1 || o.RiskFreeRate >= 1:
		return o, fmt.Errorf("%w: risk-free rate %v must be in (-1, 1)", ErrInvalidOptions, o.RiskFreeRate)
	case !validStatsVersion(o.CompatVersion):
		return o, fmt.Errorf("%w: backtesting.py version %q (known: %s, %s)", ErrInvalidOptions, o.CompatVersion, BacktestingPy066, BacktestingPy065)
	case o.CompatVersion != "" && !o.Compat:
		return o, fmt.Errorf("%w: CompatVersion %q needs Compat", ErrInvalidOptions, o.CompatVersion)
	}
	if m, ok := o.Commission.(CommissionModel); ok {
		if math.IsNaN(m.Rate) || m.Rate <= -0.1 || m.Rate >= 0.1 || m.Fixed < 0 || m.Minimum < 0 || math.IsNaN(m.Fixed) || math.IsNaN(m.Minimum) {
			return o, fmt.Errorf("%w: commission %+v out of range (rate in (-10%%, 10%%), fees non-negative)", ErrInvalidOptions, m)
		}
	}
	return o, nil
}
