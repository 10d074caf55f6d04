package portfolio

// The reference for Series: Ledger.Performance as it was before the
// series (commit aa16455), one full valuation per day of a fresh refReplay
// ledger, kept here verbatim but for names. The property tests compare
// every figure of a Series, after any sequence of changes, with it
// exactly, and BenchmarkSeries measures the series against it.

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
)

func refPerformance(ctx context.Context, l *Ledger, opts PerformanceOptions) (*Performance, error) {
	if !opts.Timing.valid() {
		return nil, fmt.Errorf("%w: %d", ErrInvalidTiming, int(opts.Timing))
	}
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
	r, err := newRefReplay(l, accounts, txs, opts)
	if err != nil {
		return nil, err
	}
	// Starting point: the state at the end of the day before From.
	if _, err := r.applyUntil(from); err != nil {
		return nil, err
	}
	var startValue float64
	if r.i > 0 {
		if startValue, err = r.valueAt(ctx, from.Add(-24*time.Hour)); err != nil {
			return nil, err
		}
	}
	fxEffect := decimal.Zero
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
		booked, err := r.applyUntil(d.Add(24 * time.Hour))
		if err != nil {
			return nil, err
		}
		if r.i == 0 {
			points[0].Time = d
			continue // nothing booked yet
		}
		prev := r.refExposure
		value, err := r.valueAt(ctx, d)
		if err != nil {
			return nil, err
		}
		effect, err := r.currencyEffect(ctx, prev, d)
		if err != nil {
			return nil, err
		}
		fxEffect = exact.Add(fxEffect, effect)
		flow, err := r.flow(ctx, booked, d)
		if err != nil {
			return nil, err
		}
		points = append(points, ValuePoint{Time: d, Value: value, Flow: flow})
		if flow != 0 {
			flows = append(flows, CashFlow{Time: flowTime(d, flow, opts.Timing), Amount: -flow})
		}
		perf.NetFlows += flow
		perf.EndValue = value
	}
	perf.Points = points
	perf.CurrencyEffect = fxEffect.InexactFloat64()
	twr, err := TWR(points, opts.Timing)
	if err != nil && !errors.Is(err, ErrNotEnoughData) {
		return nil, err
	}
	end := to.Add(24 * time.Hour)
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

// dayOf is the UTC day of t.

// refReplay is the state of Performance: a fresh ledger that books the
// transactions day by day.
type refReplay struct {
	l    *Ledger
	txs  []Transaction
	i    int // txs[:i] are booked
	opts PerformanceOptions
	// refExposure is the last valuation's holdings and cash by currency,
	// with the rates to Base it used.
	refExposure refExposure
}

// refExposure is what a valuation held in each currency other than the base
// (holdings at market in their currency, cash in its account's) and the
// rate of each to the base.
type refExposure struct {
	amounts map[string]decimal.Decimal
	rates   map[string]decimal.Decimal
}

func newRefReplay(l *Ledger, accounts []Account, txs []Transaction, opts PerformanceOptions) (*refReplay, error) {
	rl, err := NewLedger(accounts...)
	if err != nil {
		return nil, err
	}
	rl.stocks = refStocksCopy(l)
	return &refReplay{l: rl, txs: txs, opts: opts}, nil
}

// applyUntil books every transaction before end and returns them.
func (r *refReplay) applyUntil(end time.Time) ([]Transaction, error) {
	j := r.i
	for j < len(r.txs) && r.txs[j].Time.Before(end) {
		j++
	}
	booked := r.txs[r.i:j]
	if j > r.i {
		if err := r.l.Apply(booked...); err != nil {
			return nil, err
		}
		r.i = j
	}
	return booked, nil
}

// dayEnd is the last instant of day d.

// valueAt values the booked state at the end of day d.
func (r *refReplay) valueAt(ctx context.Context, d time.Time) (float64, error) {
	end := dayEnd(d)
	v, err := r.l.value(ctx, r.opts.Account, r.opts.Base, pricesAt{r.opts.History, end}, ratesAt{r.opts.History, end})
	if err != nil {
		return 0, err
	}
	total := v.Total.InexactFloat64()
	if math.IsInf(total, 0) {
		return 0, fmt.Errorf("%w: the value on %s is beyond float64", ErrNotEnoughData, d.Format(time.DateOnly))
	}
	amounts := make(map[string]decimal.Decimal)
	for i := range v.Holdings {
		if h := &v.Holdings[i]; h.Currency != r.opts.Base {
			amounts[h.Currency] = exact.Add(amounts[h.Currency], h.Value)
		}
	}
	for _, c := range v.Cash {
		if c.Currency != r.opts.Base && c.Amount.Sign() != 0 {
			amounts[c.Currency] = exact.Add(amounts[c.Currency], c.Amount)
		}
	}
	rates := make(map[string]decimal.Decimal, len(amounts))
	for c := range amounts {
		if rates[c], err = r.rate(ctx, c, end); err != nil {
			return 0, err
		}
	}
	r.refExposure = refExposure{amounts: amounts, rates: rates}
	return total, nil
}

// rate is the rate from ccy to the base at t, checked as valuation does.
func (r *refReplay) rate(ctx context.Context, ccy string, t time.Time) (decimal.Decimal, error) {
	rate, err := r.opts.History.RateAt(ctx, ccy, r.opts.Base, t)
	if err != nil {
		return decimal.Decimal{}, fmt.Errorf("portfolio: rate %s→%s: %w", ccy, r.opts.Base, err)
	}
	if rate.Sign() <= 0 {
		return decimal.Decimal{}, fmt.Errorf("%w: rate %s→%s is not positive", ErrNoPrice, ccy, r.opts.Base)
	}
	return rate, nil
}

// currencyEffect is what prev's amounts gained in the base from their
// rates moving to those at the end of day d.
func (r *refReplay) currencyEffect(ctx context.Context, prev refExposure, d time.Time) (decimal.Decimal, error) {
	sum := decimal.Zero
	for c, amount := range prev.amounts {
		now, ok := r.refExposure.rates[c]
		if !ok {
			var err error
			if now, err = r.rate(ctx, c, dayEnd(d)); err != nil {
				return decimal.Decimal{}, err
			}
		}
		if delta := now.Sub(prev.rates[c]); delta.Sign() != 0 {
			sum = sum.Add(exact.Mul(amount, delta))
		}
	}
	return sum, nil
}

// flow is the net external flow of the transactions booked on day d in
// the selected accounts, in the base currency at the day's prices and
// rates.
func (r *refReplay) flow(ctx context.Context, booked []Transaction, d time.Time) (float64, error) {
	end := dayEnd(d)
	sum := decimal.Zero
	for i := range booked {
		tx := &booked[i]
		if r.opts.Account != "" && tx.Account != r.opts.Account {
			continue
		}
		amount, ccy, ok, err := r.externalFlow(ctx, tx, end)
		if err != nil {
			return 0, err
		}
		if !ok {
			continue
		}
		if ccy != r.opts.Base {
			rate, err := r.rate(ctx, ccy, end)
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
func (r *refReplay) externalFlow(ctx context.Context, tx *Transaction, t time.Time) (decimal.Decimal, string, bool, error) {
	sign := 1
	switch tx.Kind {
	case TxDeposit, TxTransferIn:
	case TxWithdrawal, TxTransferOut:
		sign = -1
	default:
		return decimal.Decimal{}, "", false, nil
	}
	a := r.l.accts[tx.Account]
	var amount decimal.Decimal
	ccy := a.acct.Currency
	if tx.Symbol == "" || (tx.Kind != TxTransferIn && tx.Kind != TxTransferOut) {
		fx, err := txFX(a, tx)
		if err != nil {
			return decimal.Decimal{}, "", false, err
		}
		amount = toAcct(a, tx.Amount, fx)
	} else {
		price, quoteCcy, err := r.opts.History.PriceAt(ctx, tx.Symbol, t)
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

func refStocksCopy(l *Ledger) map[string]Stock {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(map[string]Stock, len(l.stocks))
	for k, v := range l.stocks {
		out[k] = v
	}
	return out
}
