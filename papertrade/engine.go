package papertrade

import (
	"context"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/finkit/finkit/internal/indicator"
)

// Trade is a closed (or, with Options.KeepOpen, still open) position taken
// by one filled order.
type Trade struct {
	Size       float64       `json:"size"` // units, negative for shorts
	EntryBar   int           `json:"entry_bar"`
	ExitBar    int           `json:"exit_bar"` // -1 while open
	EntryTime  time.Time     `json:"entry_time"`
	ExitTime   time.Time     `json:"exit_time"`
	EntryPrice float64       `json:"entry_price"`
	ExitPrice  float64       `json:"exit_price"`
	PnL        float64       `json:"pnl"`        // net of commissions
	ReturnPct  float64       `json:"return_pct"` // net return as a fraction of entry value
	Commission float64       `json:"commission"` // entry + exit fees
	Duration   time.Duration `json:"duration"`
	Tag        string        `json:"tag,omitempty"`
	Open       bool          `json:"open,omitempty"`
}

// Fill is one execution by the simulated broker: Quantity units (negative
// for a sale) at Price, paying Fee.
type Fill struct {
	Bar      int       `json:"bar"`
	Time     time.Time `json:"time"`
	Quantity float64   `json:"quantity"`
	Price    float64   `json:"price"`
	Fee      float64   `json:"fee"`
	Tag      string    `json:"tag,omitempty"`
}

type order struct {
	id     int
	size   float64 // signed; units, fraction or cash by kind
	kind   SizeKind
	limit  float64
	stop   float64
	sl, tp float64
	parent int // parent trade id for SL/TP/close orders, 0 for none
	isSL   bool
	isTP   bool
	tag    string
}

type trade struct {
	id         int
	size       float64
	entryPrice float64
	entryBar   int
	entryFee   float64 // for the current size
	slID, tpID int
	tag        string
}

type engine struct {
	opts     Options
	spread   float64
	leverage float64
	bars     []Bar
	ind      [][]float64
	i        int
	cash     float64
	orders   []order
	scratch  []order
	trades   []trade
	closed   []Trade
	fills    []Fill
	equity   []float64
	nextID   int
	rejected int
	ctx      Context
	setup    Setup
	indBuf   [][]float64
	srcBuf   [SourceVolume + 1][]float64
	block    []float64 // a block's source values for the streams
	srcHave  [SourceVolume + 1]bool
	streams  []stream
	customs  []customStream
	updating int // index into customs of the Updater running, -1 outside
	start    int // the first bar Next sees (known once run returns)
}

// customStream is a custom Updater the bar loop feeds one bar at a time,
// before the strategy's Next for that bar: the Updater never holds a bar
// the strategy has not reached.
type customStream struct {
	name  string
	u     Updater
	out   []float64 // e.ind[k]
	first int       // first bar with a value, -1 while warming up
}

// Run backtests strategy over bars and returns the result with statistics.
// Bars are validated first. A strategy that panics is reported as
// ErrStrategyPanic with the bar index; ctx cancels a long run.
func Run(ctx context.Context, bars []Bar, strategy Strategy, opts Options) (*Result, error) {
	if err := ValidateBars(bars); err != nil {
		return nil, err
	}
	e, start, err := newEngine(bars, strategy, opts)
	if err != nil {
		return nil, err
	}
	if err := e.run(ctx, strategy, start); err != nil {
		return nil, err
	}
	res := e.result(strategy)
	return res, nil
}

func newEngine(bars []Bar, strategy Strategy, opts Options) (*engine, int, error) {
	e := &engine{}
	start, err := e.reset(bars, strategy, opts)
	if err != nil {
		return nil, 0, err
	}
	return e, start, nil
}

// growFloats returns buf resized to n, reusing its memory when it can.
func growFloats(buf []float64, n int) []float64 {
	if cap(buf) < n {
		return make([]float64, n)
	}
	return buf[:n]
}

// reset prepares e for a run of strategy over bars, reusing the memory of
// a previous run (Monte Carlo workers run thousands of paths this way). It
// returns the first bar Next will see.
func (e *engine) reset(bars []Bar, strategy Strategy, opts Options) (int, error) {
	if strategy == nil {
		return 0, fmt.Errorf("%w: nil strategy", ErrInvalidStrategy)
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return 0, err
	}
	e.opts = opts
	e.spread = opts.SpreadBps / 1e4
	e.leverage = 1 / opts.Margin
	e.bars = bars
	e.i = 0
	e.cash = opts.Cash
	e.equity = growFloats(e.equity, len(bars))
	e.orders = e.orders[:0]
	e.scratch = e.scratch[:0]
	e.trades = e.trades[:0]
	e.closed = e.closed[:0]
	e.fills = e.fills[:0]
	e.nextID = 0
	e.rejected = 0
	e.ctx = Context{e: e}
	e.setup.specs = e.setup.specs[:0]
	e.setup.err = nil
	if err := safeInit(strategy, &e.setup); err != nil {
		return 0, err
	}
	if e.setup.err != nil {
		return 0, e.setup.err
	}
	// Indicators: the built-in ones are causal (a value depends only on
	// bars up to its own), computed over all bars before the loop or, for
	// SMA and EMA, a block at a time inside it; Next can only read values
	// up to the current bar through Context. Custom Updaters, whose state
	// the strategy may hold, are fed one bar at a time inside the loop.
	warm := 0
	e.srcHave = [SourceVolume + 1]bool{}
	specs := e.setup.specs
	for len(e.indBuf) < len(specs) {
		e.indBuf = append(e.indBuf, nil)
	}
	e.ind = e.indBuf[:len(specs)]
	e.streams = e.streams[:0]
	e.customs = e.customs[:0]
	e.updating = -1
	for k, spec := range specs {
		out := growFloats(e.ind[k], len(bars))
		e.ind[k] = out
		if spec.kind == "custom" {
			// Fed bar by bar inside the main loop; its warm-up is found
			// there, causally.
			e.customs = append(e.customs, customStream{name: spec.name, u: spec.updater, out: out, first: -1})
			continue
		}
		if spec.kind == "sma" || spec.kind == "ema" {
			// Computed bar by bar inside the main loop, in one pass with
			// everything else; the warm-up is known in advance.
			e.streams = append(e.streams, stream{out: out, src: spec.src, ema: spec.kind == "ema",
				sma: indicator.NewSMA(spec.n), em: indicator.NewEMA(spec.n)})
			warm = max(warm, spec.n-1)
			continue
		}
		computeIndicator(spec, e.source(spec.src), out)
		first := len(bars)
		for i, v := range out {
			if !math.IsNaN(v) {
				first = i
				break
			}
		}
		warm = max(warm, first)
	}
	e.ctx.ind = e.ind
	e.start = 1 + warm
	return e.start, nil
}

func safeInit(s Strategy, setup *Setup) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w in Init: %v", ErrStrategyPanic, r)
		}
	}()
	if err := s.Init(setup); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidStrategy, err)
	}
	return nil
}

func (e *engine) run(ctx context.Context, s Strategy, start int) (err error) {
	defer func() {
		if r := recover(); r != nil {
			where := ""
			if e.updating >= 0 {
				where = " in indicator " + e.customs[e.updating].name
			}
			err = fmt.Errorf("%w%s at bar %d (%s): %v", ErrStrategyPanic, where, e.i, e.bars[e.i].Time.Format(time.RFC3339), r)
		}
	}()
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("papertrade: backtest not started: %w", err)
	}
	n := len(e.bars)
	waiting := false
	if len(e.customs) > 0 {
		// Custom indicators see bar i only when the loop reaches it: feed
		// the bars before the static warm-up now; the loop then waits (no
		// order can exist yet) until each has had a value on an earlier bar.
		for i := range min(start, n) {
			e.i = i
			e.updateCustoms(i)
		}
		waiting = true
	}
	// Streaming indicators are computed a block of bars at a time, ahead
	// of the bar loop: Context only reads values up to the current bar, so
	// this cannot leak the future, and a tight loop per indicator keeps
	// its running sum in a register.
	ready := min(start, n)
	e.computeStreams(0, ready)
	for i := range ready {
		e.equity[i] = e.opts.Cash
	}
	outOfMoney := false
	for i := start; i < n; i++ {
		if i&0xffff == 0 && ctx.Err() != nil {
			return fmt.Errorf("papertrade: backtest stopped at bar %d: %w", i, ctx.Err())
		}
		e.i = i
		e.ctx.i = i
		if i >= ready {
			ready = min(i+streamBlock, n)
			e.computeStreams(i, ready)
		}
		if len(e.customs) > 0 {
			e.updateCustoms(i)
			if waiting {
				if waiting = !e.customsReady(i); waiting {
					e.equity[i] = e.opts.Cash
					continue
				}
			}
		}
		if !e.brokerNext() {
			outOfMoney = true
			break
		}
		s.Next(&e.ctx)
	}
	e.start = e.firstNext(start)
	if outOfMoney || e.start >= n || e.opts.KeepOpen {
		return nil
	}
	e.i = n - 1
	e.ctx.i = n - 1
	if e.opts.Compat {
		e.finalizeCompat()
		return nil
	}
	// Close what is still open at the last close, the price the equity
	// curve is marked at; orders still pending never fill: there is no
	// next bar.
	last := e.bars[n-1].Close
	for len(e.trades) > 0 {
		e.closeTrade(0, last, n-1)
	}
	e.orders = e.orders[:0]
	e.equity[n-1] = e.cash
	return nil
}

// finalizeCompat is backtesting.py's finalize_trades=True: for each open
// trade, newest first, Trade.close() inserts a closing order at the front
// of the queue, so the closing orders come oldest trade first, ahead of the
// orders still pending; the broker then runs once more on the last bar, so
// they fill at its open (at the previous close with TradeOnClose) before
// whatever the last Next ordered.
func (e *engine) finalizeCompat() {
	for k := len(e.trades) - 1; k >= 0; k-- {
		t := &e.trades[k]
		e.nextID++
		e.insertFront(order{id: e.nextID, size: -t.size, kind: SizeUnits, parent: t.id})
	}
	e.brokerNext()
}

// updateCustoms feeds bar i to every custom indicator.
func (e *engine) updateCustoms(i int) {
	b := e.bars[i]
	for k := range e.customs {
		c := &e.customs[k]
		e.updating = k
		v := c.u.Update(b)
		c.out[i] = v
		if c.first < 0 && !math.IsNaN(v) {
			c.first = i
		}
	}
	e.updating = -1
}

// customsReady reports whether every custom indicator had a value before
// bar i (Next needs a previous value to compare with, as for the others).
func (e *engine) customsReady(i int) bool {
	for k := range e.customs {
		if f := e.customs[k].first; f < 0 || f >= i {
			return false
		}
	}
	return true
}

// firstNext is the first bar Next saw (or would have seen): one after the
// last warm-up, static or custom (a custom indicator that never had a value
// warms up for the whole run).
func (e *engine) firstNext(static int) int {
	warm := static - 1
	for k := range e.customs {
		f := e.customs[k].first
		if f < 0 {
			f = len(e.bars)
		}
		warm = max(warm, f)
	}
	return 1 + warm
}

// brokerNext processes pending orders on bar e.i and records equity. It
// returns false when the account ran out of money.
func (e *engine) brokerNext() bool {
	if len(e.orders) > 0 {
		e.processOrders()
	}
	b := &e.bars[e.i]
	eq := e.equityAt(b.Close)
	e.equity[e.i] = eq
	if eq <= 0 {
		for len(e.trades) > 0 {
			e.closeTrade(0, b.Close, e.i)
		}
		e.cash = 0
		for j := e.i; j < len(e.equity); j++ {
			e.equity[j] = 0
		}
		return false
	}
	return true
}

func (e *engine) positionSize() float64 {
	var s float64
	for k := range e.trades {
		s += e.trades[k].size
	}
	return s
}

func (e *engine) equityAt(price float64) float64 {
	eq := e.cash
	for k := range e.trades {
		t := &e.trades[k]
		eq += t.size * (price - t.entryPrice)
	}
	return eq
}

// marginAvailable is equity minus the margin open trades use, both marked
// at price.
func (e *engine) marginAvailable(price float64) float64 {
	used := 0.0
	for k := range e.trades {
		used += math.Abs(e.trades[k].size) * price / e.leverage
	}
	return max(0, e.equityAt(price)-used)
}

func (e *engine) fee(size, price float64) float64 {
	if e.opts.Commission == nil || size == 0 {
		return 0
	}
	return e.opts.Commission.Fee(size, price)
}

func (e *engine) adjusted(size, price float64) float64 {
	return price * (1 + math.Copysign(e.spread, size))
}

func validPrice(p float64) bool { return p == 0 || (p > 0 && !math.IsInf(p, 0)) }

func (e *engine) placeOrder(o Order) (int, error) {
	if o.Side != Buy && o.Side != Sell {
		return 0, fmt.Errorf("%w: side %v", ErrInvalidOrder, o.Side)
	}
	if math.IsNaN(o.Size) || o.Size < 0 || math.IsInf(o.Size, 0) {
		return 0, fmt.Errorf("%w: size %v", ErrInvalidOrder, o.Size)
	}
	if !validPrice(o.Limit) || !validPrice(o.Stop) || !validPrice(o.StopLoss) || !validPrice(o.TakeProfit) {
		return 0, fmt.Errorf("%w: prices must be positive (limit %v, stop %v, sl %v, tp %v)", ErrInvalidOrder, o.Limit, o.Stop, o.StopLoss, o.TakeProfit)
	}
	size := o.Size
	switch o.SizeKind {
	case SizeEquity:
		if size > 1 {
			return 0, fmt.Errorf("%w: equity fraction %v above 1 (use SizeUnits for units)", ErrInvalidOrder, size)
		}
		if size == 0 || size == 1 {
			size = fullEquity
		}
	case SizeUnits:
		if size == 0 {
			return 0, fmt.Errorf("%w: zero units", ErrInvalidOrder)
		}
		if !e.opts.Fractional && size != math.Trunc(size) {
			return 0, fmt.Errorf("%w: %v units is fractional (set Options.Fractional)", ErrInvalidOrder, size)
		}
	case SizeCash:
		if size == 0 {
			return 0, fmt.Errorf("%w: zero cash amount", ErrInvalidOrder)
		}
	default:
		return 0, fmt.Errorf("%w: size kind %d", ErrInvalidOrder, o.SizeKind)
	}
	ref := o.Limit
	if ref == 0 {
		ref = o.Stop
	}
	if ref == 0 {
		ref = e.adjusted(float64(o.Side), e.bars[e.i].Close)
	}
	if o.Side == Buy {
		if (o.StopLoss != 0 && o.StopLoss >= ref) || (o.TakeProfit != 0 && o.TakeProfit <= ref) {
			return 0, fmt.Errorf("%w: long orders need stop-loss (%v) < price (%v) < take-profit (%v)", ErrInvalidOrder, o.StopLoss, ref, o.TakeProfit)
		}
	} else if (o.StopLoss != 0 && o.StopLoss <= ref) || (o.TakeProfit != 0 && o.TakeProfit >= ref) {
		return 0, fmt.Errorf("%w: short orders need take-profit (%v) < price (%v) < stop-loss (%v)", ErrInvalidOrder, o.TakeProfit, ref, o.StopLoss)
	}
	if e.opts.ExclusiveOrders && e.opts.Compat {
		// backtesting.py cancels every non-contingent order (all but
		// stop-loss and take-profit brackets, trade-closing orders
		// included) while iterating over the queue it removes them from,
		// so the order after each cancelled one is skipped and stays.
		for k := 0; k < len(e.orders); k++ {
			if x := e.orders[k]; !x.isSL && !x.isTP {
				e.orders = append(e.orders[:k], e.orders[k+1:]...)
			}
		}
		e.closeAll()
	} else if e.opts.ExclusiveOrders {
		kept := e.orders[:0]
		for _, x := range e.orders {
			if x.parent != 0 {
				kept = append(kept, x)
			}
		}
		e.orders = kept
		e.closeAll()
	}
	e.nextID++
	e.orders = append(e.orders, order{
		id: e.nextID, size: float64(o.Side) * size, kind: o.SizeKind,
		limit: o.Limit, stop: o.Stop, sl: o.StopLoss, tp: o.TakeProfit, tag: o.Tag,
	})
	return e.nextID, nil
}

func (e *engine) cancelOrder(id int) bool {
	for k := range e.orders {
		if e.orders[k].id == id {
			if e.orders[k].isSL || e.orders[k].isTP {
				for t := range e.trades {
					if e.trades[t].slID == id {
						e.trades[t].slID = 0
					}
					if e.trades[t].tpID == id {
						e.trades[t].tpID = 0
					}
				}
			}
			e.removeOrderAt(k)
			return true
		}
	}
	return false
}

func (e *engine) removeOrderAt(k int) {
	copy(e.orders[k:], e.orders[k+1:])
	e.orders = e.orders[:len(e.orders)-1]
}

func (e *engine) removeOrder(id int) {
	for k := range e.orders {
		if e.orders[k].id == id {
			e.removeOrderAt(k)
			return
		}
	}
}

func (e *engine) hasOrder(id int) bool {
	for k := range e.orders {
		if e.orders[k].id == id {
			return true
		}
	}
	return false
}

func (e *engine) insertFront(o order) {
	e.orders = append(e.orders, order{})
	copy(e.orders[1:], e.orders)
	e.orders[0] = o
}

// closeAll queues an order closing each open trade, ahead of other orders.
func (e *engine) closeAll() {
	for k := range e.trades {
		t := &e.trades[k]
		e.nextID++
		e.insertFront(order{id: e.nextID, size: -t.size, kind: SizeUnits, parent: t.id})
	}
}

func (e *engine) tradeIndex(id int) int {
	for k := range e.trades {
		if e.trades[k].id == id {
			return k
		}
	}
	return -1
}

// processOrders fills whatever pending orders bar e.i triggers, following
// backtesting.py's rules: orders in queue order (stop-losses at the front),
// each checked for its stop, then its limit, then filled; FIFO netting.
// An order that opens a trade with a bracket acting on this same bar has
// the queue processed again.
func (e *engine) processOrders() {
	if len(e.orders) == 0 {
		return
	}
	reprocess := false
	for _, o := range e.queueForBar() {
		if !e.hasOrder(o.id) {
			continue // filled or cancelled by an earlier order of this pass
		}
		if e.processOrder(o) {
			reprocess = true
		}
	}
	if reprocess {
		e.processOrders()
	}
}

// queueForBar is the order in which this bar sees the pending orders: the
// queue as it is, or with TradeOnClose (outside Compat) the market orders
// first, since they fill at the previous close, before anything that
// happens during this bar.
func (e *engine) queueForBar() []order {
	e.scratch = append(e.scratch[:0], e.orders...)
	if e.opts.TradeOnClose && !e.opts.Compat {
		slices.SortStableFunc(e.scratch, func(a, b order) int {
			am, bm := a.isPlainMarket(), b.isPlainMarket()
			switch {
			case am && !bm:
				return -1
			case bm && !am:
				return 1
			}
			return 0
		})
	}
	return e.scratch
}

// isPlainMarket reports whether o is a market order of the strategy's (no
// limit, no stop, not a bracket order).
func (o order) isPlainMarket() bool { return o.limit == 0 && o.stop == 0 && !o.isSL && !o.isTP }

// processOrder handles one pending order on bar e.i: it waits (stop or
// limit not reached), closes part of its parent trade (a bracket or close
// order), is rejected (no units, no margin) or fills, netting against
// opposite trades first. It reports whether a trade it opened has a
// bracket that must act on this same bar.
func (e *engine) processOrder(o order) (reprocess bool) {
	stop := o.stop
	if stop != 0 && !e.triggerStop(o) {
		return false
	}
	price, ok := e.fillPrice(o, stop)
	if !ok {
		return false
	}
	isMarket := o.limit == 0 && stop == 0
	at := e.i
	if isMarket && e.opts.TradeOnClose && e.i > 0 && !o.isSL && !o.isTP {
		at = e.i - 1
	}
	defer e.removeOrder(o.id)
	if o.parent != 0 {
		e.closeParent(o, price, at)
		return false
	}
	adjusted := e.adjusted(o.size, price)
	size := e.unitsFor(o, price, adjusted)
	if size == 0 {
		e.rejected++
		return false
	}
	need := size
	if !e.opts.Hedging {
		need = e.netAgainstOpposite(need, price, at)
	}
	if need == 0 {
		return false
	}
	if !e.affordable(o, need, price, adjusted) {
		e.rejected++
		return false
	}
	e.openTrade(adjusted, need, o.sl, o.tp, at, o.tag)
	return e.bracketActsNow(o, stop, isMarket)
}

// triggerStop reports whether bar e.i reaches o's stop price; if it does,
// the pending order becomes a market (or limit) order.
func (e *engine) triggerStop(o order) bool {
	b := &e.bars[e.i]
	long := o.size > 0
	if !(long && b.High >= o.stop) && !(!long && b.Low <= o.stop) {
		return false
	}
	for k := range e.orders {
		if e.orders[k].id == o.id {
			e.orders[k].stop = 0
		}
	}
	return true
}

// fillPrice is the price o fills at on bar e.i (stop is the order's stop
// price, already reached, or 0), or false when its limit is not reached.
func (e *engine) fillPrice(o order, stop float64) (float64, bool) {
	b := &e.bars[e.i]
	long := o.size > 0
	if o.limit != 0 {
		hit := (long && b.Low <= o.limit) || (!long && b.High >= o.limit)
		// Stop and limit both reached in this bar: pessimistically, the
		// limit was reached before the stop, so it does not count yet.
		before := hit && stop != 0 && ((long && o.limit <= stop) || (!long && o.limit >= stop))
		if !hit || before {
			return 0, false
		}
		ref := b.Open
		if stop != 0 {
			ref = stop
		}
		if long {
			return math.Min(ref, o.limit), true
		}
		return math.Max(ref, o.limit), true
	}
	// Bracket (SL/TP) orders are events inside this bar; other market
	// orders fill at the previous close with TradeOnClose.
	price := b.Open
	if e.opts.TradeOnClose && !o.isSL && !o.isTP && e.i > 0 {
		price = e.bars[e.i-1].Close
	}
	if stop != 0 {
		if long {
			price = math.Max(price, stop)
		} else {
			price = math.Min(price, stop)
		}
	}
	return price, true
}

// closeParent fills a bracket or close order: it closes up to its size of
// the trade it belongs to, if that trade is still open.
func (e *engine) closeParent(o order, price float64, at int) {
	k := e.tradeIndex(o.parent)
	if k < 0 {
		return
	}
	t := &e.trades[k]
	size := math.Copysign(math.Min(math.Abs(t.size), math.Abs(o.size)), o.size)
	e.reduceTrade(k, price, size, at)
}

// netAgainstOpposite closes (FIFO) open trades on the other side with up to
// need units and returns the units left to open.
func (e *engine) netAgainstOpposite(need, price float64, at int) float64 {
	for k := 0; k < len(e.trades) && need != 0; {
		t := &e.trades[k]
		if (t.size > 0) == (need > 0) {
			k++
			continue
		}
		if math.Abs(need) >= math.Abs(t.size) {
			need += t.size
			e.closeTrade(k, price, at)
			continue // trades shifted left
		}
		e.reduceTrade(k, price, need, at)
		need = 0
	}
	return need
}

// bracketActsNow reports whether the trade order o just opened has a
// bracket that must be checked on this same bar: after a market entry,
// or a stop entry whose take-profit the bar also reached while its
// stop-loss was not (not ambiguous: both went the same way).
func (e *engine) bracketActsNow(o order, stop float64, isMarket bool) bool {
	if (o.sl != 0 || o.tp != 0) && isMarket {
		return true
	}
	b := &e.bars[e.i]
	long := o.size > 0
	return stop != 0 && o.limit == 0 && o.tp != 0 &&
		((long && o.tp <= b.High && (o.sl == 0 || o.sl < b.Low)) || (!long && o.tp >= b.Low && (o.sl == 0 || o.sl > b.High)))
}

// markPrice is the price open trades are marked at while sizing orders on
// the current bar: its open (no look-ahead), or its close in Compat mode
// (what backtesting.py does).
func (e *engine) markPrice(open float64) float64 {
	if e.opts.Compat {
		return e.bars[e.i].Close
	}
	return open
}

// unitsFor turns an order's size into signed units.
func (e *engine) unitsFor(o order, price, adjusted float64) float64 {
	sign := math.Copysign(1, o.size)
	abs := math.Abs(o.size)
	var budget float64
	switch o.kind {
	case SizeUnits:
		return o.size
	case SizeCash:
		budget = abs
	default:
		budget = e.marginAvailable(e.markPrice(e.bars[e.i].Open)) * e.leverage * abs
	}
	if budget <= 0 {
		return 0
	}
	if e.opts.Compat && o.kind == SizeEquity {
		// backtesting.py: units = int(budget // (adjusted price +
		// commission(fraction, price) / fraction)), which spreads a fixed
		// fee over every unit.
		per := adjusted + e.fee(o.size, price)/abs
		units := pyFloorDiv(budget, per)
		if e.opts.Fractional {
			units = budget / per
		}
		if units <= 0 || math.IsNaN(units) {
			return 0
		}
		return sign * units
	}
	// Exact: the most units whose cost, fee included, fits the budget.
	perUnitFee := 0.0
	if e.opts.Commission != nil {
		perUnitFee = max(0, 2*(e.fee(sign, adjusted)-e.fee(sign*0.5, adjusted)))
	}
	var units float64
	if e.opts.Fractional {
		units = budget / (adjusted + perUnitFee)
		for iter := 0; iter < 64 && units > 0 && units*adjusted+e.fee(sign*units, adjusted) > budget; iter++ {
			units = (budget - e.fee(sign*units, adjusted)) / adjusted * (1 - 1e-12)
		}
	} else {
		units = pyFloorDiv(budget, adjusted+perUnitFee)
		for units > 0 && units*adjusted+e.fee(sign*units, adjusted) > budget*(1+1e-12) {
			units--
		}
	}
	if units <= 0 || math.IsNaN(units) {
		return 0
	}
	return sign * units
}

// affordable reports whether need units at adjusted (raw price price) fit
// the available margin.
func (e *engine) affordable(o order, need, price, adjusted float64) bool {
	avail := e.marginAvailable(e.markPrice(e.bars[e.i].Open)) * e.leverage
	if e.opts.Compat {
		per := adjusted + e.fee(o.size, price)/math.Abs(o.size)
		return math.Abs(need)*per <= avail
	}
	return math.Abs(need)*adjusted+e.fee(need, adjusted) <= avail
}

// pyFloorDiv is Python's float floor division a // b, which backtesting.py
// uses for "all in" sizing (exact, unlike math.Floor(a/b)).
func pyFloorDiv(a, b float64) float64 {
	mod := math.Mod(a, b)
	div := (a - mod) / b
	if mod != 0 && (b < 0) != (mod < 0) {
		div--
	}
	if div == 0 {
		return math.Copysign(0, a/b)
	}
	fl := math.Floor(div)
	if div-fl > 0.5 {
		fl++
	}
	return fl
}

func (e *engine) openTrade(price, size, sl, tp float64, at int, tag string) {
	// The commission is charged on the fill price (spread included).
	fee := e.fee(size, price)
	e.cash -= fee
	e.nextID++
	t := trade{id: e.nextID, size: size, entryPrice: price, entryBar: at, entryFee: fee, tag: tag}
	// As in backtesting.py, the SL order goes to the front of the queue
	// and the TP order to the back, so the SL wins an ambiguous bar.
	if tp != 0 {
		e.nextID++
		t.tpID = e.nextID
		e.orders = append(e.orders, order{id: e.nextID, size: -size, kind: SizeUnits, limit: tp, parent: t.id, isTP: true})
	}
	if sl != 0 {
		e.nextID++
		t.slID = e.nextID
		e.insertFront(order{id: e.nextID, size: -size, kind: SizeUnits, stop: sl, parent: t.id, isSL: true})
	}
	e.trades = append(e.trades, t)
	e.fills = append(e.fills, Fill{Bar: at, Time: e.bars[at].Time, Quantity: size, Price: price, Fee: fee, Tag: tag})
}

// reduceTrade closes size units (opposite sign to the trade) of trade k.
func (e *engine) reduceTrade(k int, price, size float64, at int) {
	t := &e.trades[k]
	left := t.size + size
	if left == 0 || (left > 0) != (t.size > 0) {
		e.closeTrade(k, price, at)
		return
	}
	// Split: close a copy of -size units, keep the rest open.
	part := *t
	part.size = -size
	part.entryFee = t.entryFee * math.Abs(size) / math.Abs(t.size)
	part.slID, part.tpID = 0, 0
	t.entryFee -= part.entryFee
	t.size = left
	for j := range e.orders {
		if e.orders[j].id == t.slID || e.orders[j].id == t.tpID {
			e.orders[j].size = -left
		}
	}
	e.trades = append(e.trades, part)
	e.closeTrade(len(e.trades)-1, price, at)
}

// closeTrade closes trade k entirely at price. As in backtesting.py the
// exit is at the unadjusted price: the spread was charged on entry.
func (e *engine) closeTrade(k int, price float64, at int) {
	t := e.trades[k]
	// With TradeOnClose in Compat mode a market order can be stamped with
	// the previous bar after a stop opened a trade on this one; never let
	// an exit precede its entry (backtesting.py does; see the package
	// documentation).
	at = max(at, t.entryBar)
	copy(e.trades[k:], e.trades[k+1:])
	e.trades = e.trades[:len(e.trades)-1]
	if t.slID != 0 {
		e.removeOrder(t.slID)
	}
	if t.tpID != 0 {
		e.removeOrder(t.tpID)
	}
	// The commission function sees the trade's signed size, at entry and
	// at exit, as in backtesting.py.
	exitFee := e.fee(t.size, price)
	gross := t.size * (price - t.entryPrice)
	e.cash += gross - exitFee
	comm := t.entryFee + exitFee
	if e.opts.Compat {
		// backtesting.py records the entry fee recomputed for the size
		// closed (a fixed fee counts again on each partial close).
		comm = exitFee + e.fee(t.size, t.entryPrice)
	}
	pnl := gross - comm
	entryValue := math.Abs(t.size) * t.entryPrice
	ret := math.Copysign(1, t.size)*(price/t.entryPrice-1) - comm/entryValue
	e.closed = append(e.closed, Trade{
		Size: t.size, EntryBar: t.entryBar, ExitBar: at,
		EntryTime: e.bars[t.entryBar].Time, ExitTime: e.bars[at].Time,
		EntryPrice: t.entryPrice, ExitPrice: price,
		PnL: pnl, ReturnPct: ret, Commission: comm,
		Duration: e.bars[at].Time.Sub(e.bars[t.entryBar].Time), Tag: t.tag,
	})
	e.fills = append(e.fills, Fill{Bar: at, Time: e.bars[at].Time, Quantity: -t.size, Price: price, Fee: exitFee, Tag: t.tag})
}

// stream is an indicator the main loop computes a block of bars at a time
// (SMA, EMA): the running state behind the batch functions SMA and EMA,
// filled block after block, so the values are theirs, bit for bit.
type stream struct {
	out []float64 // e.ind[k]
	src Source
	ema bool
	sma indicator.SMA
	em  indicator.EMA
}

// streamBlock is how many bars computeStreams does at a time: small enough
// for the block's bars and values to stay in cache for the bar loop.
const streamBlock = 512

// computeStreams computes the streaming indicators' values at bars from to
// to-1, continuing from bar from-1 (blocks must come in order).
func (e *engine) computeStreams(from, to int) {
	for k := range e.streams {
		st := &e.streams[k]
		e.block = sourceValues(e.bars[from:to], st.src, e.block)
		if st.ema {
			st.em.Fill(st.out[from:to], e.block)
		} else {
			st.sma.Fill(st.out[from:to], e.block)
		}
	}
}

// source returns the values of bar field src, one per bar, extracted once
// per run into a buffer the engine reuses.
func (e *engine) source(src Source) []float64 {
	if src < SourceClose || src > SourceVolume {
		src = SourceClose
	}
	if !e.srcHave[src] {
		e.srcBuf[src] = sourceValues(e.bars, src, e.srcBuf[src])
		e.srcHave[src] = true
	}
	return e.srcBuf[src]
}
