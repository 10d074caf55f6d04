package portfolio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// CashFlow is an amount at a time, from the investor's point of view:
// money put in is negative, money taken out (and the final value) positive.
type CashFlow struct {
	Time   time.Time
	Amount float64
}

const yearDays = 365.0

// XIRR returns the annual internal rate of return of irregular cash flows,
// the rate r at which Σ amount / (1+r)^(days/365) = 0 (days since the first
// flow), as spreadsheets compute it. It uses Newton's method from 10% and
// falls back to bisection over a bracketing interval when Newton does not
// converge. Flows need at least one positive and one negative amount;
// otherwise, or when no rate in (−100%, 10^6%) solves them, it returns
// ErrNoRate.
func XIRR(flows []CashFlow) (float64, error) {
	if len(flows) < 2 {
		return 0, fmt.Errorf("%w: need at least two cash flows", ErrNoRate)
	}
	pos, neg := false, false
	t0 := flows[0].Time
	for _, f := range flows {
		if math.IsNaN(f.Amount) || math.IsInf(f.Amount, 0) {
			return 0, fmt.Errorf("%w: cash flow %v is not finite", ErrNoRate, f.Amount)
		}
		pos = pos || f.Amount > 0
		neg = neg || f.Amount < 0
		if f.Time.Before(t0) {
			t0 = f.Time
		}
	}
	if !pos || !neg {
		return 0, fmt.Errorf("%w: cash flows need both a positive and a negative amount", ErrNoRate)
	}
	years := make([]float64, len(flows))
	for i, f := range flows {
		years[i] = f.Time.Sub(t0).Hours() / 24 / yearDays
	}
	npv := func(r float64) (v, dv float64) {
		for i, f := range flows {
			disc := math.Pow(1+r, -years[i])
			v += f.Amount * disc
			dv -= years[i] * f.Amount * disc / (1 + r)
		}
		return v, dv
	}
	// Newton.
	r := 0.1
	for range 100 {
		v, dv := npv(r)
		if dv == 0 || math.IsNaN(v) || math.IsInf(v, 0) {
			break
		}
		next := r - v/dv
		if next <= -1 {
			next = (r - 1) / 2
		}
		if math.Abs(next-r) < 1e-12 {
			if vv, _ := npv(next); math.Abs(vv) < 1e-6*scale(flows) {
				return next, nil
			}
			break
		}
		r = next
	}
	// Bracketing fallback: scan for a sign change, then bisect.
	grid := []float64{-0.999999, -0.99, -0.9, -0.75, -0.5, -0.25, 0, 0.25, 0.5, 1, 2, 5, 10, 100, 1000, 10000}
	prevR := grid[0]
	prevV, _ := npv(prevR)
	for _, g := range grid[1:] {
		v, _ := npv(g)
		if !math.IsNaN(v) && !math.IsNaN(prevV) && (v == 0 || (v > 0) != (prevV > 0)) {
			return bisect(func(x float64) float64 { y, _ := npv(x); return y }, prevR, g), nil
		}
		prevR, prevV = g, v
	}
	return 0, ErrNoRate
}

// scale is the largest absolute flow, for a relative convergence test.
func scale(flows []CashFlow) float64 {
	m := 1.0
	for _, f := range flows {
		m = max(m, math.Abs(f.Amount))
	}
	return m
}

// bisect finds a root of f in [lo, hi] where f changes sign.
func bisect(f func(float64) float64, lo, hi float64) float64 {
	flo := f(lo)
	for range 200 {
		mid := (lo + hi) / 2
		fm := f(mid)
		if fm == 0 || hi-lo < 1e-14 {
			return mid
		}
		if (fm > 0) == (flo > 0) {
			lo, flo = mid, fm
		} else {
			hi = mid
		}
	}
	return (lo + hi) / 2
}

// FlowTiming says when during a day external cash flows are assumed to
// happen, for time-weighted returns.
type FlowTiming int

const (
	// FlowsAtStart treats a day's deposits and withdrawals as made before
	// the market opens: the day's return is V_end / (V_prev + flow) − 1, so
	// money deposited on a day earns that day's return. The default.
	FlowsAtStart FlowTiming = iota
	// FlowsAtEnd treats them as made after the close: the day's return is
	// (V_end − flow) / V_prev − 1.
	FlowsAtEnd
)

// ValuePoint is a portfolio's value at the end of a sub-period (a day) and
// the net external flow (deposits positive, withdrawals negative) during it.
type ValuePoint struct {
	Time  time.Time `json:"time"`
	Value float64   `json:"value"`
	Flow  float64   `json:"flow"`
}

// TWR chains the sub-period returns of points (the first point is the
// starting value; its Flow is ignored) into a time-weighted return, so that
// the size and timing of deposits and withdrawals do not affect it.
// Sub-periods with no capital at risk (a zero or negative denominator) are
// skipped. It needs at least two points.
func TWR(points []ValuePoint, timing FlowTiming) (float64, error) {
	if len(points) < 2 {
		return 0, fmt.Errorf("%w: need at least two values", ErrNotEnoughData)
	}
	growth := 1.0
	for i := 1; i < len(points); i++ {
		prev, cur := points[i-1].Value, points[i]
		var num, den float64
		if timing == FlowsAtEnd {
			num, den = cur.Value-cur.Flow, prev
		} else {
			num, den = cur.Value, prev+cur.Flow
		}
		if den <= 0 {
			continue
		}
		growth *= num / den
	}
	return growth - 1, nil
}

// Annualize turns a return over the period from..to into a yearly rate
// (365-day years). Periods shorter than a year are returned unchanged,
// because annualizing them exaggerates.
func Annualize(r float64, from, to time.Time) float64 {
	years := to.Sub(from).Hours() / 24 / yearDays
	if years <= 1 {
		return r
	}
	return math.Pow(1+r, 1/years) - 1
}

// PriceHistory gives historical prices and exchange rates: the latest price
// (and its currency) at or before t, and the latest rate at or before t.
type PriceHistory interface {
	PriceAt(ctx context.Context, symbol string, t time.Time) (decimal.Decimal, string, error)
	RateAt(ctx context.Context, from, to string, t time.Time) (decimal.Decimal, error)
}

// YTD returns the first instant of now's year (in now's location), the
// start of a year-to-date period.
func YTD(now time.Time) time.Time {
	return time.Date(now.Year(), 1, 1, 0, 0, 0, 0, now.Location())
}

// OneYear returns now minus one year, the start of a 1Y period.
func OneYear(now time.Time) time.Time { return now.AddDate(-1, 0, 0) }

// PerformanceOptions selects what Ledger.Performance measures.
type PerformanceOptions struct {
	Base    string       // currency of the values; required
	History PriceHistory // prices and rates per day; required
	Account string       // one account, or "" for all
	// From and To bound the period (UTC days, inclusive). A zero From means
	// since inception (the first transaction), a zero To the last
	// transaction's day.
	From, To time.Time
	Timing   FlowTiming
}

// Performance is the return of a portfolio over a period.
type Performance struct {
	Base       string       `json:"base"`
	From       time.Time    `json:"from"`
	To         time.Time    `json:"to"`
	StartValue float64      `json:"start_value"`
	EndValue   float64      `json:"end_value"`
	NetFlows   float64      `json:"net_flows"` // deposits − withdrawals in the period
	TWR        float64      `json:"twr"`       // time-weighted, for the period
	TWRAnnual  float64      `json:"twr_annual"`
	XIRR       float64      `json:"xirr"`                 // money-weighted, per year
	XIRRError  string       `json:"xirr_error,omitempty"` // why XIRR is missing
	Points     []ValuePoint `json:"-"`
}

// Summary is "2024-01-01..2024-12-31 TWR +12.3%, XIRR +11.8%/yr".
func (p *Performance) Summary() string {
	s := fmt.Sprintf("%s..%s TWR %s", p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), formatPct(decimal.NewFromFloat(p.TWR)))
	if p.XIRRError == "" {
		s += ", XIRR " + formatPct(decimal.NewFromFloat(p.XIRR)) + "/yr"
	}
	return s
}

// Performance replays the ledger day by day (UTC) over the period, values
// it at each day's end with History, and returns the time-weighted return
// (daily sub-periods, external flows neutralized as Timing says) and the
// money-weighted return (XIRR of the starting value, the flows and the end
// value). External flows are deposits, withdrawals and transfers of the
// selected account(s), securities transfers at their basis. The cost is one
// valuation per day.
func (l *Ledger) Performance(ctx context.Context, opts PerformanceOptions) (*Performance, error) {
	if opts.History == nil {
		return nil, fmt.Errorf("%w: no price history", ErrNotEnoughData)
	}
	txs := l.Transactions()
	accounts := l.Accounts()
	if len(txs) == 0 {
		return nil, fmt.Errorf("%w: no transactions", ErrNotEnoughData)
	}
	if opts.Account != "" {
		if _, err := l.Account(opts.Account); err != nil {
			return nil, err
		}
	}
	dayOf := func(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }
	from, to := dayOf(txs[0].Time), dayOf(txs[len(txs)-1].Time)
	if !opts.From.IsZero() {
		from = dayOf(opts.From)
	}
	if !opts.To.IsZero() {
		to = dayOf(opts.To)
	}
	if to.Before(from) {
		return nil, fmt.Errorf("%w: period ends before it starts", ErrNotEnoughData)
	}
	if to.Sub(from) > 40*366*24*time.Hour {
		return nil, fmt.Errorf("%w: period longer than 40 years", ErrNotEnoughData)
	}
	replay, err := NewLedger(accounts...)
	if err != nil {
		return nil, err
	}
	replay.stocks = l.stocksCopy()
	i := 0
	// applyUntil books every transaction before end.
	applyUntil := func(end time.Time) error {
		j := i
		for j < len(txs) && txs[j].Time.Before(end) {
			j++
		}
		if j > i {
			if err := replay.Apply(txs[i:j]...); err != nil {
				return err
			}
			i = j
		}
		return nil
	}
	valueAt := func(day time.Time) (value, inflow float64, err error) {
		end := day.Add(24*time.Hour - time.Nanosecond)
		v, err := replay.value(ctx, opts.Account, opts.Base, pricesAt{opts.History, end}, ratesAt{opts.History, end})
		if err != nil {
			return 0, 0, err
		}
		return v.Total.InexactFloat64(), v.NetInflow.InexactFloat64(), nil
	}
	// Starting point: the state at the end of the day before From.
	if err := applyUntil(from); err != nil {
		return nil, err
	}
	var startValue, prevInflow float64
	if i > 0 {
		startValue, prevInflow, err = valueAt(from.Add(-24 * time.Hour))
		if err != nil {
			return nil, err
		}
	}
	perf := &Performance{Base: opts.Base, From: from, To: to, StartValue: startValue}
	points := []ValuePoint{{Time: from.Add(-24 * time.Hour), Value: startValue}}
	flows := []CashFlow{}
	if startValue != 0 {
		flows = append(flows, CashFlow{Time: from, Amount: -startValue})
	}
	for d := from; !d.After(to); d = d.Add(24 * time.Hour) {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if err := applyUntil(d.Add(24 * time.Hour)); err != nil {
			return nil, err
		}
		if i == 0 {
			points[0].Time = d
			continue // nothing booked yet
		}
		value, inflow, err := valueAt(d)
		if err != nil {
			return nil, err
		}
		flow := inflow - prevInflow
		prevInflow = inflow
		points = append(points, ValuePoint{Time: d, Value: value, Flow: flow})
		if flow != 0 {
			flows = append(flows, CashFlow{Time: d, Amount: -flow})
		}
		perf.NetFlows += flow
		perf.EndValue = value
	}
	perf.Points = points
	twr, err := TWR(points, opts.Timing)
	if err != nil && !errors.Is(err, ErrNotEnoughData) {
		return nil, err
	}
	perf.TWR = twr
	perf.TWRAnnual = Annualize(twr, from, to.Add(24*time.Hour))
	flows = append(flows, CashFlow{Time: to, Amount: perf.EndValue})
	if x, err := XIRR(flows); err != nil {
		perf.XIRRError = err.Error()
	} else {
		perf.XIRR = x
	}
	return perf, nil
}

func (l *Ledger) stocksCopy() map[string]Stock {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]Stock, len(l.stocks))
	for k, v := range l.stocks {
		out[k] = v
	}
	return out
}

// pricesAt adapts a PriceHistory to a PriceSource at a fixed time.
type pricesAt struct {
	h PriceHistory
	t time.Time
}

func (p pricesAt) Price(ctx context.Context, symbol string) (decimal.Decimal, string, error) {
	return p.h.PriceAt(ctx, symbol, p.t)
}

// ratesAt adapts a PriceHistory to a RateSource at a fixed time.
type ratesAt struct {
	h PriceHistory
	t time.Time
}

func (r ratesAt) Rate(ctx context.Context, from, to string) (decimal.Decimal, error) {
	return r.h.RateAt(ctx, from, to, r.t)
}

// TradeHistory is a PriceHistory built from the ledger's own transactions:
// a symbol's price at t is its last trade (or transfer with a price) at or
// before t, adjusted for later splits up to t; a rate is the last FXRate of
// a transaction in that currency pair (or its inverse) at or before t. It
// lets a portfolio be measured without market data, marking each holding to
// its last trade.
func (l *Ledger) TradeHistory() PriceHistory {
	txs := l.Transactions()
	h := &tradeHistory{prices: make(map[string][]pricePoint), rates: make(map[[2]string][]ratePoint), splits: make(map[string][]pricePoint)}
	acctCcy := make(map[string]string)
	for _, a := range l.Accounts() {
		acctCcy[a.ID] = a.Currency
	}
	for _, tx := range txs {
		if tx.FXRate.Sign() > 0 && tx.Currency != acctCcy[tx.Account] {
			k := [2]string{tx.Currency, acctCcy[tx.Account]}
			h.rates[k] = append(h.rates[k], ratePoint{tx.Time, tx.FXRate})
		}
		switch {
		case tx.Kind == TxSplit:
			h.splits[tx.Symbol] = append(h.splits[tx.Symbol], pricePoint{t: tx.Time, price: tx.Quantity})
		case (tx.Kind == TxBuy || tx.Kind == TxSell || tx.Kind == TxTransferIn) && tx.Symbol != "" && tx.Price.Sign() > 0:
			h.prices[tx.Symbol] = append(h.prices[tx.Symbol], pricePoint{tx.Time, tx.Price, tx.Currency})
		}
	}
	return h
}

type pricePoint struct {
	t     time.Time
	price decimal.Decimal
	ccy   string
}

type ratePoint struct {
	t    time.Time
	rate decimal.Decimal
}

type tradeHistory struct {
	prices map[string][]pricePoint
	splits map[string][]pricePoint // price holds the ratio
	rates  map[[2]string][]ratePoint
}

func (h *tradeHistory) PriceAt(_ context.Context, symbol string, t time.Time) (decimal.Decimal, string, error) {
	pts := h.prices[symbol]
	i, _ := slices.BinarySearchFunc(pts, t, func(p pricePoint, t time.Time) int {
		if p.t.After(t) {
			return 1
		}
		return -1
	})
	if i == 0 {
		return decimal.Decimal{}, "", fmt.Errorf("%w: no trade of %s before %s", ErrNoPrice, symbol, t.Format(time.DateOnly))
	}
	p := pts[i-1]
	price := p.price
	for _, s := range h.splits[symbol] {
		if s.t.After(p.t) && !s.t.After(t) && s.price.Sign() > 0 {
			price = price.DivRound(s.price, 12)
		}
	}
	return price, p.ccy, nil
}

func (h *tradeHistory) RateAt(_ context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	find := func(pts []ratePoint) (decimal.Decimal, bool) {
		var best decimal.Decimal
		ok := false
		for _, p := range pts {
			if p.t.After(t) {
				break
			}
			best, ok = p.rate, true
		}
		if !ok && len(pts) > 0 {
			// Before the first known rate, use the earliest one.
			best, ok = pts[0].rate, true
		}
		return best, ok
	}
	if r, ok := find(h.rates[[2]string{from, to}]); ok {
		return r, nil
	}
	if r, ok := find(h.rates[[2]string{to, from}]); ok {
		return decimal.NewFromInt(1).DivRound(r, 16), nil
	}
	return decimal.Decimal{}, fmt.Errorf("%w: no %s/%s rate in the transactions", ErrNoPrice, from, to)
}

// PricesAt returns a PriceSource that answers with h's prices at t.
func PricesAt(h PriceHistory, t time.Time) PriceSource { return pricesAt{h, t} }

// RatesAt returns a RateSource that answers with h's rates at t.
func RatesAt(h PriceHistory, t time.Time) RateSource { return ratesAt{h, t} }
