package papertrade

import (
	"fmt"
	"math"
	"time"

	"github.com/finkit/finkit/internal/indicator"
)

// Strategy is a trading rule the engine replays bars through.
//
// Init runs once before the first bar. It declares the indicators the
// strategy reads (through Setup) and never sees the bars, so it cannot peek
// at the future. Next runs once per bar, after that bar has closed and any
// orders pending from earlier bars have been processed; the Context only
// exposes bars and indicator values up to the current one, so look-ahead is
// impossible by construction. Orders placed in Next are filled from the next
// bar on (at its open by default).
//
// A Strategy value keeps per-run state (its indicator handles), so use one
// value per run; Optimize and MonteCarlo take a factory for that reason.
type Strategy interface {
	Init(s *Setup) error
	Next(ctx *Context)
}

// Source selects a bar field as indicator input.
type Source int

// Indicator inputs.
const (
	SourceClose Source = iota
	SourceOpen
	SourceHigh
	SourceLow
	SourceVolume
)

func (s Source) letter() string {
	switch s {
	case SourceOpen:
		return "O"
	case SourceHigh:
		return "H"
	case SourceLow:
		return "L"
	case SourceVolume:
		return "V"
	}
	return "C"
}

// Indicator is a handle to an indicator series declared in Strategy.Init.
// Read it in Next with Context.Value.
type Indicator int

// Updater is a custom streaming indicator: Update receives the bars one at a
// time, in order, and returns the indicator value at that bar (NaN while it
// warms up). The engine calls Update with bar i inside its bar loop, just
// before the strategy's Next for bar i, so an Updater never holds a later
// bar and a strategy may read the Updater's own fields as well as its
// values. Next starts once every custom indicator has had a value on an
// earlier bar.
type Updater interface {
	Update(b Bar) float64
}

type indicatorSpec struct {
	name    string
	kind    string // sma, ema, rsi, max, min, custom
	src     Source
	n       int
	updater Updater
}

// Setup is what Strategy.Init gets: a place to declare indicators.
type Setup struct {
	specs []indicatorSpec
	err   error
}

func (s *Setup) add(spec indicatorSpec) Indicator {
	if spec.kind != "custom" && spec.n <= 0 && s.err == nil {
		s.err = fmt.Errorf("%w: %s period %d must be positive", ErrInvalidStrategy, spec.kind, spec.n)
	}
	s.specs = append(s.specs, spec)
	return Indicator(len(s.specs) - 1)
}

// SMA declares a simple moving average of src over n bars.
func (s *Setup) SMA(src Source, n int) Indicator {
	return s.add(indicatorSpec{name: fmt.Sprintf("SMA(%s,%d)", src.letter(), n), kind: "sma", src: src, n: n})
}

// EMA declares an exponential moving average of src over n bars.
func (s *Setup) EMA(src Source, n int) Indicator {
	return s.add(indicatorSpec{name: fmt.Sprintf("EMA(%s,%d)", src.letter(), n), kind: "ema", src: src, n: n})
}

// RSI declares Wilder's relative strength index of src over n bars, seeded
// with the simple mean of the first n changes (see the function RSI).
func (s *Setup) RSI(src Source, n int) Indicator {
	return s.add(indicatorSpec{name: fmt.Sprintf("RSI(%s,%d)", src.letter(), n), kind: "rsi", src: src, n: n})
}

// Highest declares the rolling maximum of src over n bars (including the
// current one; read it with ago=1 for "the previous n bars").
func (s *Setup) Highest(src Source, n int) Indicator {
	return s.add(indicatorSpec{name: fmt.Sprintf("MAX(%s,%d)", src.letter(), n), kind: "max", src: src, n: n})
}

// Lowest declares the rolling minimum of src over n bars.
func (s *Setup) Lowest(src Source, n int) Indicator {
	return s.add(indicatorSpec{name: fmt.Sprintf("MIN(%s,%d)", src.letter(), n), kind: "min", src: src, n: n})
}

// Custom declares a streaming indicator computed by u.
func (s *Setup) Custom(name string, u Updater) Indicator {
	if u == nil && s.err == nil {
		s.err = fmt.Errorf("%w: custom indicator %q has no updater", ErrInvalidStrategy, name)
	}
	return s.add(indicatorSpec{name: name, kind: "custom", updater: u})
}

func sourceValues(bars []Bar, src Source, dst []float64) []float64 {
	if cap(dst) < len(bars) {
		dst = make([]float64, len(bars))
	}
	dst = dst[:len(bars)]
	switch src {
	case SourceOpen:
		for i := range bars {
			dst[i] = bars[i].Open
		}
	case SourceHigh:
		for i := range bars {
			dst[i] = bars[i].High
		}
	case SourceLow:
		for i := range bars {
			dst[i] = bars[i].Low
		}
	case SourceVolume:
		for i := range bars {
			dst[i] = bars[i].Volume
		}
	default:
		for i := range bars {
			dst[i] = bars[i].Close
		}
	}
	return dst
}

// computeIndicator fills out (one value per bar) with the values of a
// batch indicator over src, the values of its source.
func computeIndicator(spec indicatorSpec, src []float64, out []float64) {
	switch spec.kind {
	case "rsi":
		r := indicator.NewRSI(spec.n)
		r.Fill(out, src)
	case "max":
		copy(out, Highest(src, spec.n))
	case "min":
		copy(out, Lowest(src, spec.n))
	}
}

// Context is a strategy's view of the market and its account during Next.
// It is only valid inside that call.
type Context struct {
	e   *engine
	i   int         // current bar, mirrors e.i
	ind [][]float64 // indicator values, mirrors e.ind
}

// Index is the current bar's index (0-based).
func (c *Context) Index() int { return c.e.i }

// Time is the current bar's time.
func (c *Context) Time() time.Time { return c.e.bars[c.e.i].Time }

// Bar returns the bar ago bars back (0 = current). Asking for a bar before
// the first returns the zero Bar and false.
func (c *Context) Bar(ago int) (Bar, bool) {
	j := c.e.i - ago
	if ago < 0 || j < 0 {
		return Bar{}, false
	}
	return c.e.bars[j], true
}

// Close returns the close ago bars back (0 = current), NaN when out of range.
func (c *Context) Close(ago int) float64 {
	j := c.e.i - ago
	if ago < 0 || j < 0 {
		return math.NaN()
	}
	return c.e.bars[j].Close
}

// Value returns indicator ind ago bars back (0 = current), NaN when out of
// range or unknown.
func (c *Context) Value(ind Indicator, ago int) float64 {
	j := c.i - ago
	if ago < 0 || j < 0 || uint(ind) >= uint(len(c.ind)) {
		return math.NaN()
	}
	return c.ind[ind][j]
}

// CrossedAbove reports whether indicator a crossed above indicator b on this
// bar: a < b on the previous bar and a > b now.
func (c *Context) CrossedAbove(a, b Indicator) bool {
	return CrossedAbove(c.Value(a, 1), c.Value(a, 0), c.Value(b, 1), c.Value(b, 0))
}

// Cross compares indicators a and b over the last two bars: +1 when a
// crossed above b on this bar, -1 when it crossed below, 0 otherwise.
func (c *Context) Cross(a, b Indicator) int {
	a1, a0 := c.Value(a, 1), c.Value(a, 0)
	b1, b0 := c.Value(b, 1), c.Value(b, 0)
	switch {
	case a1 < b1 && a0 > b0:
		return 1
	case b1 < a1 && b0 > a0:
		return -1
	}
	return 0
}

// CrossedBelow reports whether indicator a crossed below indicator b.
func (c *Context) CrossedBelow(a, b Indicator) bool { return c.CrossedAbove(b, a) }

// Position is the net open position in units (negative when short).
func (c *Context) Position() float64 { return c.e.positionSize() }

// Equity is cash plus open positions marked to the current close.
func (c *Context) Equity() float64 { return c.e.equityAt(c.e.bars[c.e.i].Close) }

// Cash is the account's cash.
func (c *Context) Cash() float64 { return c.e.cash }

// OpenTrades is the number of open trades.
func (c *Context) OpenTrades() int { return len(c.e.trades) }

// PendingOrders is the number of orders waiting to be filled.
func (c *Context) PendingOrders() int { return len(c.e.orders) }

// Buy places a long order (see Order). It returns the order id.
func (c *Context) Buy(o Order) (int, error) { o.Side = Buy; return c.e.placeOrder(o) }

// Sell places a short order (see Order). It returns the order id.
func (c *Context) Sell(o Order) (int, error) { o.Side = Sell; return c.e.placeOrder(o) }

// Place places o as given (o.Side must be Buy or Sell).
func (c *Context) Place(o Order) (int, error) { return c.e.placeOrder(o) }

// Cancel cancels a pending order by id; false when no such order is pending.
func (c *Context) Cancel(id int) bool { return c.e.cancelOrder(id) }

// ClosePosition places orders that close every open trade at the next fill
// price (they are processed before other pending orders).
func (c *Context) ClosePosition() { c.e.closeAll() }
