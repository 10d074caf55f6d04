package portfolio

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
)

// SeriesOptions selects what a Series values.
type SeriesOptions struct {
	Base    string       // currency of the values; required
	History PriceHistory // prices and rates per day; required
	Account string       // one account, or "" for all
}

// Period selects the figures a Series reports.
type Period struct {
	// From and To bound the period (UTC days, inclusive). A zero From means
	// since inception (the first transaction), a zero To the last
	// transaction's day.
	From, To time.Time
	Timing   FlowTiming // where in a day flows fall; the zero value is FlowsSplit
}

// oneDay is the step of a series.
const oneDay = 24 * time.Hour

// Series is the daily valuation series of a ledger behind its performance
// figures (TWR, XIRR, net flows, currency effect) and its value over time,
// computed once and then kept up to date: a read after a change
// recomputes only the days from the change on.
//
//   - A transaction applied to the ledger (Ledger.Apply, Import) is seen
//     by the next read, which recomputes from that transaction's day on;
//     one booked today costs one day's valuation, a back-dated one the
//     days since its date.
//   - A new day (a later Period.To) costs the valuations of the new days.
//   - Prices or rates that change in the History are not seen by
//     themselves: call Invalidate with the first day they changed.
//   - A ledger reloaded from a store is handed over with SetLedger, which
//     compares its transactions with the ones the series was computed from
//     and recomputes from the first that differs (the comparison reads
//     every transaction; writes to the series' own ledger do not need it:
//     the ledger tells the series from which transaction on it changed).
//
// A read of a period the series already covers, with nothing changed, does
// no valuation: it sums the stored days (and is memoized per period).
// Every figure equals Ledger.Performance over the same ledger, history
// and period exactly; Ledger.Performance is a Series used once.
//
// A Series is safe for concurrent use. Its methods are serialized by a
// mutex: a read that must catch up with a change computes while holding
// it, and concurrent readers wait for that result instead of computing it
// again. It keeps a copy of the ledger's transactions, a ledger of its
// own that books them, and a few hundred bytes per day valued. It calls
// the History only with its lock held; a History shared with other code
// must be safe for concurrent use.
type Series struct {
	mu   sync.Mutex
	l    *Ledger
	opts SeriesOptions

	// The ledger's accounts and transactions the days are computed from,
	// at generation gen.
	synced   bool
	gen      uint64
	accounts []Account
	txs      []Transaction

	// r books txs[:booked] in a ledger of its own; nil until needed.
	r      *Ledger
	booked int
	// days are consecutive days from first; only days[0] may be a start
	// day (its value and exposure, no flow or effect).
	first time.Time
	days  []seriesDay
	pr    *pricer // reused from day to day

	memo map[Period]*Performance
}

// seriesDay is one day of a Series: the value at its end, the net
// external flow and the currency effect during it, and the exposure the
// next day's currency effect starts from.
type seriesDay struct {
	value  float64
	flow   float64
	effect decimal.Decimal
	exp    exposure
	start  bool // a start day: value and exposure only
}

// exposure is what a valuation held in each currency other than the base
// (holdings at market in their currency, cash in its account's) and the
// rate of each to the base.
type exposure []ccyAmount

type ccyAmount struct {
	ccy    string
	amount exact.Num
	rate   decimal.Decimal
}

// add adds amount in ccy.
func (e *exposure) add(ccy string, amount exact.Num) {
	for i := range *e {
		if x := &(*e)[i]; x.ccy == ccy {
			x.amount = x.amount.Add(amount)
			return
		}
	}
	*e = append(*e, ccyAmount{ccy: ccy, amount: amount})
}

// rate is the rate of ccy in e.
func (e exposure) rate(ccy string) (decimal.Decimal, bool) {
	for i := range e {
		if e[i].ccy == ccy {
			return e[i].rate, true
		}
	}
	return decimal.Decimal{}, false
}

// NewSeries returns the series of l's values as opts says. Nothing is
// computed until the first read.
func NewSeries(l *Ledger, opts SeriesOptions) (*Series, error) {
	if l == nil {
		return nil, fmt.Errorf("%w: no ledger", ErrNotEnoughData)
	}
	if opts.History == nil {
		return nil, fmt.Errorf("%w: no price history", ErrNotEnoughData)
	}
	return &Series{l: l, opts: opts, memo: make(map[Period]*Performance)}, nil
}

// generation is the number of changes made to the books so far.
func (l *Ledger) generation() uint64 {
	l.mu.RLock()
	defer l.mu.RUnlock()
	return l.gen
}

// changedSince returns the generation, the accounts and the transactions
// from the first journal index changed since generation gen (all of them
// when that is not known: all is set, or gen is older than the changes the
// ledger remembers), as of one moment.
func (l *Ledger) changedSince(gen uint64, all bool) (now uint64, accounts []Account, from int, txs []Transaction) {
	l.mu.RLock()
	defer l.mu.RUnlock()
	accounts = make([]Account, len(l.order))
	for i, st := range l.order {
		accounts[i] = st.acct
	}
	from = l.txs.len()
	if all || len(l.changes) == 0 || l.changes[0].gen > gen+1 || gen > l.gen {
		from = 0
	} else {
		for _, c := range l.changes {
			if c.gen > gen {
				from = min(from, c.from)
			}
		}
	}
	txs = make([]Transaction, 0, l.txs.len()-from)
	for i := from; i < l.txs.len(); i++ {
		txs = append(txs, *l.txs.at(i))
	}
	return l.gen, accounts, from, txs
}

// Invalidate says that prices or rates of the History changed from the
// start of from's UTC day on: the next read recomputes the days from
// there. A from before everything computed recomputes everything.
func (s *Series) Invalidate(from time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.invalidate(dayOf(from), len(s.txs))
}

// SetLedger makes l the ledger of the series (a new copy of the same
// books, reloaded after a write). The next read recomputes from the day
// of the first transaction in which l differs from the ledger the series
// was computed from; nothing when they are the same.
func (s *Series) SetLedger(l *Ledger) {
	if l == nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.l = l
	s.sync(true)
}

// Performance returns the figures over p, the same as Ledger.Performance
// with the series' options and p: the time-weighted return, the XIRR, net
// flows, the currency effect and the daily points. The result is the
// caller's to keep.
func (s *Series) Performance(ctx context.Context, p Period) (*Performance, error) {
	if !p.Timing.valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidTiming, int(p.Timing))
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.sync(false)
	if len(s.txs) == 0 {
		return nil, fmt.Errorf("%w: no transactions", ErrNotEnoughData)
	}
	if a := s.opts.Account; a != "" && !slices.ContainsFunc(s.accounts, func(x Account) bool { return x.ID == a }) {
		return nil, fmt.Errorf("%w: %q", ErrUnknownAccount, a)
	}
	from, to, err := s.period(p)
	if err != nil {
		return nil, err
	}
	key := Period{From: from, To: to, Timing: p.Timing}
	perf, ok := s.memo[key]
	if !ok {
		if err := s.cover(ctx, from, to); err != nil {
			return nil, err
		}
		if perf, err = s.figures(from, to, p.Timing); err != nil {
			return nil, err
		}
		if len(s.memo) >= 16 {
			clear(s.memo)
		}
		s.memo[key] = perf
	}
	out := *perf
	out.Points = slices.Clone(perf.Points)
	return &out, nil
}

// period is p's first and last day, checked.
func (s *Series) period(p Period) (from, to time.Time, err error) {
	from, to = dayOf(s.txs[0].Time), dayOf(s.txs[len(s.txs)-1].Time)
	if !p.From.IsZero() {
		from = dayOf(p.From)
	}
	if !p.To.IsZero() {
		to = dayOf(p.To)
	}
	if to.Before(from) {
		return from, to, fmt.Errorf("%w: period ends before it starts", ErrNotEnoughData)
	}
	if to.Sub(from) > 40*366*oneDay {
		return from, to, fmt.Errorf("%w: period longer than 40 years", ErrNotEnoughData)
	}
	return from, to, nil
}

// sync catches up with the ledger: when it changed since the last sync
// (or always, with force), the transactions from the first one the
// ledger changed (all of them, with force) are compared with the ones the
// days were computed from, and the days from the first difference on are
// dropped.
func (s *Series) sync(force bool) {
	if s.synced && !force && s.l.generation() == s.gen {
		return
	}
	gen, accounts, from, tail := s.l.changedSince(s.gen, force || !s.synced)
	if from > len(s.txs) { // not the ledger the series knows: compare all
		gen, accounts, from, tail = s.l.changedSince(s.gen, true)
	}
	if !s.synced || !slices.Equal(accounts, s.accounts) {
		s.reset()
	} else if k := from + firstDifference(s.txs[from:], tail); k < len(s.txs) || k < from+len(tail) {
		var changed time.Time
		switch {
		case k == len(s.txs):
			changed = tail[k-from].Time
		case k == from+len(tail) || s.txs[k].Time.Before(tail[k-from].Time):
			changed = s.txs[k].Time
		default:
			changed = tail[k-from].Time
		}
		s.invalidate(dayOf(changed), k)
	}
	s.synced, s.gen, s.accounts = true, gen, accounts
	s.txs = append(s.txs[:from], tail...)
}

// firstDifference is the index of the first transaction that a and b do
// not book alike (len of the shorter when one is a prefix of the other).
func firstDifference(a, b []Transaction) int {
	n := min(len(a), len(b))
	for i := range n {
		if !sameBooking(&a[i], &b[i]) {
			return i
		}
	}
	return n
}

// sameBooking reports whether a and b are the same transaction as booked:
// every field the same value with the same exponent, the same instant in
// the same UTC offset (the offset decides which day a transfer matches).
func sameBooking(a, b *Transaction) bool {
	if a.ID != b.ID || a.Account != b.Account || a.Kind != b.Kind || a.Symbol != b.Symbol ||
		a.Currency != b.Currency || a.Note != b.Note || !a.Time.Equal(b.Time) {
		return false
	}
	for _, p := range [...][2]*decimal.Decimal{{&a.Quantity, &b.Quantity}, {&a.Price, &b.Price}, {&a.Fee, &b.Fee},
		{&a.Tax, &b.Tax}, {&a.Amount, &b.Amount}, {&a.FXRate, &b.FXRate}} {
		if !sameDecimal(*p[0], *p[1]) {
			return false
		}
	}
	_, oa := a.Time.Zone()
	_, ob := b.Time.Zone()
	return oa == ob
}

// reset forgets every computed day.
func (s *Series) reset() {
	s.r, s.booked, s.days = nil, 0, nil
	clear(s.memo)
}

// invalidate drops the days from `from` on; k is the index of the first
// transaction that changed (len(s.txs): none). The replay ledger is kept
// when what it booked is unchanged and lies before the first day to
// compute again, or on it.
func (s *Series) invalidate(from time.Time, k int) {
	clear(s.memo)
	if n := int(from.Sub(s.first) / oneDay); len(s.days) > 0 && n < len(s.days) {
		s.days = s.days[:max(n, 0)]
	}
	if len(s.days) == 0 {
		s.reset()
		return
	}
	next := s.first.Add(time.Duration(len(s.days)) * oneDay)
	if k < s.booked || (s.booked > 0 && !s.txs[s.booked-1].Time.Before(next.Add(oneDay))) {
		s.r, s.booked = nil, 0
	}
}

// cover computes the days from..to need: from the day before from (or
// the first transaction's oneDay) to to.
func (s *Series) cover(ctx context.Context, from, to time.Time) error {
	firstTx := dayOf(s.txs[0].Time)
	if to.Before(firstTx) {
		return nil // nothing booked in the period
	}
	lo := from.Add(-oneDay)
	if lo.Before(firstTx) {
		lo = firstTx
	}
	if len(s.days) > 0 && s.first.After(lo) {
		s.reset()
	}
	if len(s.days) == 0 {
		if err := s.begin(ctx, lo, firstTx); err != nil {
			return err
		}
	}
	return s.extend(ctx, to)
}

// begin starts the days at lo: with a start day (the value at its end)
// when transactions were booked before it.
func (s *Series) begin(ctx context.Context, lo, firstTx time.Time) error {
	s.r, s.booked, s.first = nil, 0, lo
	if err := s.replayUntil(lo); err != nil {
		return err
	}
	if lo.Equal(firstTx) {
		return nil // the first day has no day before it
	}
	if err := s.bookUntil(lo.Add(oneDay)); err != nil {
		return err
	}
	value, exp, err := s.valueDay(ctx, lo)
	if err != nil {
		return err
	}
	s.days = append(s.days, seriesDay{value: value, exp: exp, start: true})
	return nil
}

// replayUntil makes sure the replay ledger exists and has booked every
// transaction before end.
func (s *Series) replayUntil(end time.Time) error {
	if s.r == nil {
		r, err := NewLedger(s.accounts...)
		if err != nil {
			return err
		}
		s.r, s.booked = r, 0
	}
	return s.bookUntil(end)
}

// bookUntil books the transactions before end.
func (s *Series) bookUntil(end time.Time) error {
	j := s.booked
	for j < len(s.txs) && s.txs[j].Time.Before(end) {
		j++
	}
	if j > s.booked {
		if err := s.r.Apply(s.txs[s.booked:j]...); err != nil {
			return err
		}
		s.booked = j
	}
	return nil
}

// extend computes the days after the last one up to to.
func (s *Series) extend(ctx context.Context, to time.Time) error {
	next := s.first.Add(time.Duration(len(s.days)) * oneDay)
	if err := s.replayUntil(next); err != nil {
		return err
	}
	for d := next; !d.After(to); d = d.Add(oneDay) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.bookUntil(d.Add(oneDay)); err != nil {
			return err
		}
		a, _ := slices.BinarySearchFunc(s.txs[:s.booked], d, func(tx Transaction, t time.Time) int {
			if tx.Time.Before(t) {
				return -1
			}
			return 1
		})
		rec, err := s.computeDay(ctx, d, s.txs[a:s.booked])
		if err != nil {
			return err
		}
		s.days = append(s.days, rec)
	}
	return nil
}

// computeDay is day d, whose transactions are booked.
func (s *Series) computeDay(ctx context.Context, d time.Time, booked []Transaction) (seriesDay, error) {
	var prev exposure
	if n := len(s.days); n > 0 {
		prev = s.days[n-1].exp
	}
	value, exp, err := s.valueDay(ctx, d)
	if err != nil {
		return seriesDay{}, err
	}
	effect, err := s.currencyEffect(ctx, prev, exp, d)
	if err != nil {
		return seriesDay{}, err
	}
	flow, err := s.flow(ctx, booked, d)
	if err != nil {
		return seriesDay{}, err
	}
	return seriesDay{value: value, flow: flow, effect: effect, exp: exp}, nil
}

// figures are the performance figures over from..to, from the days.
func (s *Series) figures(from, to time.Time, timing FlowTiming) (*Performance, error) {
	firstTx := dayOf(s.txs[0].Time)
	at := func(d time.Time) *seriesDay { return &s.days[int(d.Sub(s.first)/oneDay)] }
	var startValue float64
	if !from.Add(-oneDay).Before(firstTx) {
		startValue = at(from.Add(-oneDay)).value
	}
	perf := &Performance{Base: s.opts.Base, From: from, To: to, StartValue: startValue}
	points := []ValuePoint{{Time: from.Add(-oneDay), Value: startValue}}
	flows := []CashFlow{}
	if startValue != 0 {
		flows = append(flows, CashFlow{Time: from, Amount: -startValue})
	}
	fxEffect := decimal.Zero
	for d := from; !d.After(to); d = d.Add(oneDay) {
		if d.Before(firstTx) {
			points[0].Time = d
			continue // nothing booked yet
		}
		rec := at(d)
		fxEffect = exact.Add(fxEffect, rec.effect)
		points = append(points, ValuePoint{Time: d, Value: rec.value, Flow: rec.flow})
		if rec.flow != 0 {
			flows = append(flows, CashFlow{Time: flowTime(d, rec.flow, timing), Amount: -rec.flow})
		}
		perf.NetFlows += rec.flow
		perf.EndValue = rec.value
	}
	perf.Points = points
	perf.CurrencyEffect = fxEffect.InexactFloat64()
	twr, err := TWR(points, timing)
	if err != nil && !errors.Is(err, ErrNotEnoughData) {
		return nil, err
	}
	end := to.Add(oneDay)
	perf.TWR = twr
	perf.TWRAnnual = Annualize(twr, from, end)
	flows = append(flows, CashFlow{Time: end, Amount: perf.EndValue})
	unit := yearDays
	if days := end.Sub(from).Hours() / 24; days < yearDays {
		unit, perf.XIRRPeriodic = days, true
	}
	if x, err := irr(flows, unit); err != nil {
		perf.XIRRError = err.Error()
	} else {
		perf.XIRR = x
	}
	return perf, nil
}

// valueDay values the booked state at the end of day d: the total in the
// base and the exposure by currency. It prices holdings as Value does
// (the same pricer and inputs) but computes only the market values, which
// is all the series needs.
func (s *Series) valueDay(ctx context.Context, d time.Time) (float64, exposure, error) {
	base := s.opts.Base
	if !validCurrency(base) {
		return 0, nil, fmt.Errorf("%w: base %q is not a currency code", ErrCurrencyMismatch, base)
	}
	end := dayEnd(d)
	if s.pr == nil {
		s.pr = s.r.newPricer(base, nil, nil)
	}
	pr := s.pr
	pr.reset(s.r, pricesAt{s.opts.History, end}, ratesAt{s.opts.History, end})
	var sum exact.Num
	var exp exposure
	for _, st := range s.r.order {
		if err := ctx.Err(); err != nil {
			return 0, nil, err
		}
		if s.opts.Account != "" && st.acct.ID != s.opts.Account {
			continue
		}
		if err := s.valueAccount(ctx, st, &sum, &exp); err != nil {
			return 0, nil, err
		}
	}
	value := sum.Dec().InexactFloat64()
	if math.IsInf(value, 0) {
		return 0, nil, fmt.Errorf("%w: the value on %s is beyond float64", ErrNotEnoughData, d.Format(time.DateOnly))
	}
	for i := range exp {
		// Every currency held was converted to the base above.
		r, _, err := pr.rc.rate(ctx, exp[i].ccy, base)
		if err != nil {
			return 0, nil, err
		}
		exp[i].rate = r
	}
	return value, exp, nil
}

// valueAccount adds st's holdings at market and its cash to sum (in the
// base) and to exp (in their currencies).
func (s *Series) valueAccount(ctx context.Context, st *acctState, sum *exact.Num, exp *exposure) error {
	pr, base := s.pr, s.opts.Base
	ab, abID, err := pr.accountRate(ctx, st)
	if err != nil {
		return err
	}
	for _, p := range st.bySymbol {
		if p.s.qty.Sign() == 0 {
			continue
		}
		in, _, _, err := pr.price(ctx, st, p, ab, abID)
		if err != nil {
			return err
		}
		value, baseValue := in.marketValue()
		*sum = sum.Add(baseValue)
		if p.s.currency != base {
			exp.add(p.s.currency, value)
		}
	}
	cash := st.s.cash
	if abID {
		*sum = sum.Add(cash)
	} else {
		*sum = sum.Add(cash.Mul(exact.Of(ab)))
	}
	if st.acct.Currency != base && cash.Sign() != 0 {
		exp.add(st.acct.Currency, cash)
	}
	return nil
}

// rate is the rate from ccy to the base at t, checked as valuation does.
func (s *Series) rate(ctx context.Context, ccy string, t time.Time) (decimal.Decimal, error) {
	rate, err := s.opts.History.RateAt(ctx, ccy, s.opts.Base, t)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("portfolio: rate %s→%s: %w", ccy, s.opts.Base, err)
	}
	if rate.Sign() <= 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: rate %s→%s is not positive", ErrNoPrice, ccy, s.opts.Base)
	}
	return rate, nil
}

// currencyEffect is what prev's amounts gained in the base from their
// rates moving to those at the end of day d (cur's, or asked for a
// currency no longer held).
func (s *Series) currencyEffect(ctx context.Context, prev, cur exposure, d time.Time) (decimal.Decimal, error) {
	sum := decimal.Zero
	for _, x := range prev {
		now, ok := cur.rate(x.ccy)
		if !ok {
			var err error
			if now, err = s.rate(ctx, x.ccy, dayEnd(d)); err != nil {
				return decimal.Decimal{}, err
			}
		}
		if delta := now.Sub(x.rate); delta.Sign() != 0 {
			sum = sum.Add(exact.Mul(x.amount.Dec(), delta))
		}
	}
	return sum, nil
}

// flow is the net external flow of the transactions booked on day d in
// the selected accounts, in the base currency at the day's prices and
// rates.
func (s *Series) flow(ctx context.Context, booked []Transaction, d time.Time) (float64, error) {
	end := dayEnd(d)
	sum := decimal.Zero
	for i := range booked {
		tx := &booked[i]
		if s.opts.Account != "" && tx.Account != s.opts.Account {
			continue
		}
		amount, ccy, ok, err := s.externalFlow(ctx, tx, end)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		if ccy != s.opts.Base {
			rate, err := s.rate(ctx, ccy, end)
			if err != nil {
				return 0, err
			}
			amount = exact.Mul(amount, rate)
		}
		sum = exact.Add(sum, amount)
	}
	f := sum.InexactFloat64()
	if math.IsInf(f, 0) {
		return 0, fmt.Errorf("%w: the flows on %s are beyond float64", ErrNotEnoughData, d.Format(time.DateOnly))
	}
	return f, nil
}

// externalFlow is what tx brings into its account (negative: takes out)
// and the currency of that amount, ok false for a transaction that is not
// an external flow. Cash counts as booked (the account-currency amount);
// securities at market at t.
func (s *Series) externalFlow(ctx context.Context, tx *Transaction, t time.Time) (decimal.Decimal, string, bool, error) {
	sign := 1
	switch tx.Kind {
	case TxDeposit, TxTransferIn:
	case TxWithdrawal, TxTransferOut:
		sign = -1
	default:
		return decimal.Decimal{}, "", false, nil
	}
	a := s.r.accts[tx.Account]
	var amount decimal.Decimal
	ccy := a.acct.Currency
	if !securitiesTransfer(tx) {
		fx, err := txFX(a, tx)
		if err != nil {
			return decimal.Decimal{}, "", false, err
		}
		amount = toAcct(a, tx.Amount, fx)
	} else {
		price, quoteCcy, err := s.opts.History.PriceAt(ctx, tx.Symbol, t)
		if err != nil {
			return decimal.Decimal{}, "", false, fmt.Errorf("%w: %s: %w", ErrNoPrice, tx.Symbol, err)
		}
		if price.Sign() < 0 {
			return decimal.Decimal{}, "", false, fmt.Errorf("%w: %s: price is negative", ErrNoPrice, tx.Symbol)
		}
		if quoteCcy == "" {
			quoteCcy = tx.Currency
		}
		amount, ccy = exact.Mul(tx.Quantity, price), quoteCcy
	}
	if sign < 0 {
		amount = amount.Neg()
	}
	return amount, ccy, true, nil
}
