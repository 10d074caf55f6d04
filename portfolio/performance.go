package portfolio

import (
	"context"
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

// maxXIRR is the largest rate XIRR reports: 10^6 % per year (or per
// period, for Performance over less than a year).
const maxXIRR = 1e4

// XIRR returns the annual internal rate of return of irregular cash flows,
// the rate r at which Σ amount / (1+r)^(days/365) = 0 (days since the first
// flow), as spreadsheets compute it. It uses Newton's method from 10% and,
// when that does not converge to a rate in range, brackets the root on a
// grid and bisects (taking the root nearest 10% when there are several).
// Flows need at least one positive and one negative amount; otherwise, or
// when no rate in (−100%, 10^6%] solves them, it returns ErrNoRate. A rate
// it returns is always in that range and solves the flows. It annualizes
// any span, however short (a gain of 1% in a day is 3,678% a year);
// Performance reports the period's return for periods under a year.
func XIRR(flows []CashFlow) (float64, error) {
	return irr(flows, yearDays)
}

// irr is XIRR with time measured in units of unitDays days: the rate per
// unit of time.
func irr(flows []CashFlow, unitDays float64) (float64, error) {
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
	units := make([]float64, len(flows))
	for i, f := range flows {
		// In seconds since t0, not time.Sub, which saturates after 292
		// years.
		secs := float64(f.Time.Unix()-t0.Unix()) + float64(f.Time.Nanosecond()-t0.Nanosecond())/1e9
		units[i] = secs / 86400 / unitDays
	}
	if r, ok := newtonIRR(flows, units); ok {
		return r, nil
	}
	if r, ok := bracketIRR(flows, units); ok {
		return r, nil
	}
	return 0, fmt.Errorf("%w: no rate in (-100%%, 10^6%%]", ErrNoRate)
}

// newtonIRR is Newton's method from 10%; ok only when it converged to a
// rate in range whose present value is zero (relative to the flows).
func newtonIRR(flows []CashFlow, units []float64) (float64, bool) {
	npv := func(r float64) (v, dv float64) {
		for i, f := range flows {
			disc := math.Pow(1+r, -units[i])
			v += f.Amount * disc
			dv -= units[i] * f.Amount * disc / (1 + r)
		}
		return v, dv
	}
	r := 0.1
	for range 100 {
		v, dv := npv(r)
		if dv == 0 || math.IsNaN(v) || math.IsInf(v, 0) || math.IsNaN(dv) || math.IsInf(dv, 0) {
			return 0, false
		}
		next := r - v/dv
		if next <= -1 {
			next = (r - 1) / 2
		}
		if math.Abs(next-r) < 1e-12*max(1, math.Abs(r)) {
			vv, _ := npv(next)
			ok := next > -1 && next <= maxXIRR && math.Abs(vv) < 1e-6*scale(flows)
			return next, ok
		}
		r = next
	}
	return 0, false
}

// bracketIRR looks for sign changes of the present value on a grid of
// x = ln(1+r) over (−100%, maxXIRR] and bisects the one nearest 10%.
func bracketIRR(flows []CashFlow, units []float64) (float64, bool) {
	lastUnit := slices.Max(units)
	// sign of the present value at x, scaled by e^(x·t) for a t that keeps
	// every exponent ≤ 0, so nothing overflows whatever the rate.
	f := func(x float64) float64 {
		ref := 0.0
		if x < 0 {
			ref = lastUnit
		}
		var v float64
		for i, fl := range flows {
			v += fl.Amount * math.Exp(-x*(units[i]-ref))
		}
		return v
	}
	const lo, step = -14.0, 0.05 // 1+r from e^-14 ≈ 8e-7
	hi := math.Log1p(maxXIRR)
	target := math.Log1p(0.1)
	best, found := 0.0, false
	prevX, prevV := lo, f(lo)
	for x := lo + step; prevX < hi; x += step {
		x = min(x, hi)
		v := f(x)
		var root float64
		switch {
		case v == 0:
			root = x
		case prevV != 0 && (v > 0) != (prevV > 0):
			root = bisect(f, prevX, x)
		default:
			prevX, prevV = x, v
			continue
		}
		if !found || math.Abs(root-target) < math.Abs(best-target) {
			best, found = root, true
		}
		prevX, prevV = x, v
	}
	if !found {
		return 0, false
	}
	return math.Expm1(best), true
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
	// FlowsSplit, the default, treats a day's net inflow as made before the
	// market opens and a net outflow as made after the close, as Portfolio
	// Performance does: the day's return is V_end / (V_prev + inflow) − 1
	// or (V_end + outflow) / V_prev − 1. Money deposited on a day earns that
	// day's return, and money withdrawn did so too, so a day that ends with
	// everything withdrawn still counts.
	FlowsSplit FlowTiming = iota
	// FlowsAtEnd treats every flow as made after the close: the day's
	// return is (V_end − flow) / V_prev − 1.
	FlowsAtEnd
	// FlowsAtStart treats every flow as made before the open: the day's
	// return is V_end / (V_prev + flow) − 1. A day whose withdrawals reach
	// the opening value has no capital at risk by this measure and is
	// skipped; FlowsSplit counts it.
	FlowsAtStart
)

// valid reports whether t is one of the declared timings.
func (t FlowTiming) valid() bool { return t >= FlowsSplit && t <= FlowsAtStart }

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
// skipped. It needs at least two points; a timing that is none of the
// declared constants is ErrInvalidTiming.
func TWR(points []ValuePoint, timing FlowTiming) (float64, error) {
	if !timing.valid() {
		return 0, fmt.Errorf("%w: %d", ErrInvalidTiming, int(timing))
	}
	if len(points) < 2 {
		return 0, fmt.Errorf("%w: need at least two values", ErrNotEnoughData)
	}
	growth := 1.0
	for i := 1; i < len(points); i++ {
		prev, cur := points[i-1].Value, points[i]
		atEnd := timing == FlowsAtEnd || (timing == FlowsSplit && cur.Flow < 0)
		num, den := cur.Value, prev+cur.Flow
		if atEnd {
			num, den = cur.Value-cur.Flow, prev
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
	Timing   FlowTiming // where in a day flows fall; the zero value is FlowsSplit
}

// Performance is the return of a portfolio over a period.
type Performance struct {
	Base       string    `json:"base"`
	From       time.Time `json:"from"`
	To         time.Time `json:"to"`
	StartValue float64   `json:"start_value"`
	EndValue   float64   `json:"end_value"`
	// NetFlows is deposits − withdrawals in the period, each converted at
	// its own day's rate, securities transfers at market.
	NetFlows  float64 `json:"net_flows"`
	TWR       float64 `json:"twr"` // time-weighted, for the period
	TWRAnnual float64 `json:"twr_annual"`
	// CurrencyEffect is the part of the gain (EndValue − StartValue −
	// NetFlows) that came from exchange rates: each day, the previous
	// day's holdings and cash in each currency revalued from the previous
	// day's rate to Base to the day's rate.
	CurrencyEffect float64 `json:"currency_effect"`
	// XIRR is the money-weighted return per year, or, when XIRRPeriodic is
	// set (periods shorter than a year, see Annualize), over the period.
	XIRR         float64      `json:"xirr"`
	XIRRPeriodic bool         `json:"xirr_periodic,omitempty"`
	XIRRError    string       `json:"xirr_error,omitempty"` // why XIRR is missing
	Points       []ValuePoint `json:"-"`
}

// Summary is "2024-01-01..2024-12-31 TWR +12.3%, XIRR +11.8%/yr" (no
// "/yr" when XIRR is the period's return).
func (p *Performance) Summary() string {
	s := fmt.Sprintf("%s..%s TWR %s", p.From.Format(time.DateOnly), p.To.Format(time.DateOnly), formatPct(decimal.NewFromFloat(p.TWR)))
	if p.XIRRError == "" {
		s += ", XIRR " + formatPct(decimal.NewFromFloat(p.XIRR))
		if !p.XIRRPeriodic {
			s += "/yr"
		}
	}
	return s
}

// Performance replays the ledger day by day (UTC) over the period, values
// it at each day's end with History, and returns the time-weighted return
// (daily sub-periods, external flows placed as Timing says) and the
// money-weighted return (the IRR of the starting value, the flows and the
// end value; per year for a period of a year or more, else over the
// period, flagged by XIRRPeriodic).
//
// External flows are the deposits, withdrawals and transfers of the
// selected account(s). Each is converted to Base once, at the rate of its
// own day (a later move of the rate is a gain or loss, not a flow), and a
// day's flows are netted. Securities transfers count at market value (the
// day's price and rate, as the day's valuation uses), not at their basis,
// so a transfer between two selected accounts on one day is no flow and a
// transfer out of an account carries the gain it made there. In the time
// line of XIRR, a day's net inflow is at the start of the day, a net
// outflow at its end (all at the start or the end with FlowsAtStart and
// FlowsAtEnd). A day's value or flow beyond the range of float64 is
// ErrNotEnoughData.
//
// It is a Series used once, so it costs one (market-value-only) valuation
// per day; an app that shows the figures again and again keeps a Series,
// which recomputes only what changed.
func (l *Ledger) Performance(ctx context.Context, opts PerformanceOptions) (*Performance, error) {
	if !opts.Timing.valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidTiming, int(opts.Timing))
	}
	s, err := NewSeries(l, SeriesOptions{Base: opts.Base, History: opts.History, Account: opts.Account})
	if err != nil {
		return nil, err
	}
	return s.Performance(ctx, Period{From: opts.From, To: opts.To, Timing: opts.Timing})
}

// dayOf is the UTC day of t.
func dayOf(t time.Time) time.Time { return t.UTC().Truncate(24 * time.Hour) }

// flowTime places day d's net flow in the XIRR time line as timing says:
// at the start of the day or at its end (midnight after).
func flowTime(d time.Time, flow float64, timing FlowTiming) time.Time {
	if timing == FlowsAtEnd || (timing == FlowsSplit && flow < 0) {
		return d.Add(24 * time.Hour)
	}
	return d
}

// dayEnd is the last instant of day d.
func dayEnd(d time.Time) time.Time { return d.Add(24*time.Hour - time.Nanosecond) }

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
	h := &tradeHistory{prices: make(map[string][]pricePoint), rates: make(map[[2]string][]ratePoint), splits: make(map[string][]splitPoint)}
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
			h.splits[tx.Symbol] = append(h.splits[tx.Symbol], splitPoint{t: tx.Time, num: tx.Quantity, den: tx.Price})
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

// splitPoint is a split of num new units for den old ones (0: 1).
type splitPoint struct {
	t        time.Time
	num, den decimal.Decimal
}

type ratePoint struct {
	t    time.Time
	rate decimal.Decimal
}

type tradeHistory struct {
	prices map[string][]pricePoint
	splits map[string][]splitPoint
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
		if s.t.After(p.t) && !s.t.After(t) && s.num.Sign() > 0 && s.den.Sign() >= 0 {
			den := s.den
			if den.Sign() == 0 {
				den = one
			}
			price = splitPrice(price, s.num, den)
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
