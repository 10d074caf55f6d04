package portfolio

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
	"github.com/finkit/finkit/portfolio/internal/rank"
)

// Holding is a position valued at a current price, with its gain split into
// price (capital) gain and currency effect, in the valuation's base currency.
type Holding struct {
	Position
	Name  string     `json:"name,omitempty"`
	Class AssetClass `json:"class"`
	// Price is the current price in the position's Currency.
	Price decimal.Decimal `json:"price"`
	// Value is Quantity × Price in the position's Currency.
	Value decimal.Decimal `json:"value"`
	// Base is the valuation's base currency; the fields below are in it.
	Base      string          `json:"base"`
	BaseValue decimal.Decimal `json:"base_value"`
	BaseBasis decimal.Decimal `json:"base_basis"` // basis at today's account→base rate
	// Unrealized = BaseValue − BaseBasis = CapitalGain + CurrencyEffect.
	Unrealized     decimal.Decimal `json:"unrealized"`
	CapitalGain    decimal.Decimal `json:"capital_gain"`    // (Value − LocalBasis) at today's rate
	CurrencyEffect decimal.Decimal `json:"currency_effect"` // the rest (see Valuation)
	Weight         float64         `json:"weight"`          // share of the total value
}

// Summary is "EQNR.OL 120 sh @ 312.40 NOK = 37,488.00 NOK (+4.2%)": the
// percentage is the gain in the instrument currency over the cost basis.
func (h Holding) Summary() string {
	unit := ""
	switch h.Class {
	case AssetCrypto, AssetCurrency, AssetCash:
		unit = "units"
	case AssetBond:
		unit = "nominal"
	}
	return holdingLine(h.Symbol, h.Quantity, h.Price, h.Currency, h.LocalBasis, unit)
}

// CashHolding is the cash of one account.
type CashHolding struct {
	Account   string          `json:"account"`
	Currency  string          `json:"currency"`
	Amount    decimal.Decimal `json:"amount"`
	Base      string          `json:"base"`
	BaseValue decimal.Decimal `json:"base_value"`
	Weight    float64         `json:"weight"`
}

// Summary is "cash broker 1,000.00 NOK".
func (c CashHolding) Summary() string {
	return fmt.Sprintf("cash %s %s", c.Account, FormatMoney(c.Amount, c.Currency))
}

// Slice is one group of an allocation: the value in the base currency and
// its weight of the total. The weights of an allocation sum to 1 (up to
// float64 rounding) when the total is not zero.
type Slice struct {
	Key    string          `json:"key"`
	Base   string          `json:"base"`
	Value  decimal.Decimal `json:"value"`
	Weight float64         `json:"weight"`
}

// Summary is "stock 62.5% 10,000.00 NOK".
func (s Slice) Summary() string {
	return fmt.Sprintf("%s %.1f%% %s", s.Key, s.Weight*100, FormatMoney(s.Value, s.Base))
}

// Valuation is a portfolio valued in a base currency. Totals that come from
// the accounts' books (realized gains, income, costs, contributions, bases)
// are converted from each account currency at today's rate.
//
// The currency effect here is the instrument currency's move against the
// account currency (the FX rate of the trades against today's rate); the
// account currency's move against Base is not in it, since the books are
// converted at today's rate: a USD account holding USD stocks valued in EUR
// shows no currency effect. Performance.CurrencyEffect measures the effect
// in the base currency over a period, from daily rates.
type Valuation struct {
	Base     string        `json:"base"`
	Holdings []Holding     `json:"holdings"`
	Cash     []CashHolding `json:"cash"`

	Total      decimal.Decimal `json:"total"`      // holdings + cash
	Securities decimal.Decimal `json:"securities"` // market value of holdings
	CashTotal  decimal.Decimal `json:"cash_total"` // all cash
	Basis      decimal.Decimal `json:"basis"`      // cost of the holdings
	Unrealized decimal.Decimal `json:"unrealized"` // Securities − Basis
	Realized   decimal.Decimal `json:"realized"`   // closed positions
	Income     decimal.Decimal `json:"income"`     // dividends (gross) and interest
	Costs      decimal.Decimal `json:"costs"`      // fees and taxes not in a basis
	NetInflow  decimal.Decimal `json:"net_inflow"` // deposits − withdrawals (transfers included)
	TotalGain  decimal.Decimal `json:"total_gain"` // Total − NetInflow
	// The total gain split: CapitalGain + CurrencyEffect = Unrealized + Realized,
	// and TotalGain = CapitalGain + CurrencyEffect + Income − Costs.
	CapitalGain    decimal.Decimal `json:"capital_gain"`
	CurrencyEffect decimal.Decimal `json:"currency_effect"`

	ByClass    []Slice `json:"by_class"`
	ByCurrency []Slice `json:"by_currency"` // holdings by trading currency, cash by its currency
	ByAccount  []Slice `json:"by_account"`
	BySymbol   []Slice `json:"by_symbol"` // cash appears as "cash:CCY"
}

// Summary is "total 1,234,567.00 NOK (securities …, cash …), gain … (+x%)".
func (v *Valuation) Summary() string {
	s := fmt.Sprintf("total %s (securities %s, cash %s), gain %s",
		FormatMoney(v.Total, v.Base), FormatMoney(v.Securities, v.Base),
		FormatMoney(v.CashTotal, v.Base), FormatMoney(v.TotalGain, v.Base))
	if v.NetInflow.Sign() > 0 {
		s += " (" + formatPct(v.TotalGain.Div(v.NetInflow)) + ")"
	}
	return s
}

// rateCache memoizes RateSource answers for one valuation.
type rateCache struct {
	src   RateSource
	rates map[[2]string]decimal.Decimal
	// the last pair asked, to skip hashing in runs of the same currency
	last     [2]string
	lastRate decimal.Decimal
	lastOK   bool
}

func (rc *rateCache) rate(ctx context.Context, from, to string) (decimal.Decimal, bool, error) {
	if from == to {
		return decimal.Decimal{}, true, nil
	}
	if rc.lastOK && rc.last == [2]string{from, to} {
		return rc.lastRate, false, nil
	}
	k := [2]string{from, to}
	if r, ok := rc.rates[k]; ok {
		rc.last, rc.lastRate, rc.lastOK = k, r, true
		return r, false, nil
	}
	if rc.src == nil {
		return decimal.Decimal{}, false, fmt.Errorf("%w: no rate source for %s→%s", ErrNoPrice, from, to)
	}
	r, err := rc.src.Rate(ctx, from, to)
	if err != nil {
		return decimal.Decimal{}, false, fmt.Errorf("portfolio: rate %s→%s: %w", from, to, err)
	}
	if r.Sign() <= 0 || r.Exponent() > maxExponent || r.Exponent() < -maxExponent {
		return decimal.Decimal{}, false, fmt.Errorf("%w: rate %s→%s is not positive or out of range", ErrNoPrice, from, to)
	}
	rc.rates[k] = r
	return r, false, nil
}

// conv multiplies x by r unless identity is set.
func conv(x, r decimal.Decimal, identity bool) decimal.Decimal {
	if identity {
		return x
	}
	return exact.Mul(x, r)
}

// Value values every account in base: holdings at prices from prices,
// converted with rates (rates may be nil when everything is in base). A
// symbol without a price fails with ErrNoPrice; a price without a currency
// is taken to be in each holding's own currency. Each symbol is priced once
// and each currency pair converted once. Holdings come ordered by account
// (as added) and symbol; allocation slices largest first. A position whose
// quantity, basis, price and rates are the same (values and exponents) as
// at the previous valuation reuses the amounts computed then, so valuing
// again after a few transactions or price changes recomputes only what
// changed.
func (l *Ledger) Value(ctx context.Context, base string, prices PriceSource, rates RateSource) (*Valuation, error) {
	return l.value(ctx, "", base, prices, rates)
}

// ValueAccount is Value for one account only.
func (l *Ledger) ValueAccount(ctx context.Context, account, base string, prices PriceSource, rates RateSource) (*Valuation, error) {
	if _, err := l.Account(account); err != nil {
		return nil, err
	}
	return l.value(ctx, account, base, prices, rates)
}

func (l *Ledger) value(ctx context.Context, account, base string, prices PriceSource, rates RateSource) (*Valuation, error) {
	if !validCurrency(base) {
		return nil, fmt.Errorf("%w: base %q is not a currency code", ErrCurrencyMismatch, base)
	}
	l.mu.RLock()
	defer l.mu.RUnlock()
	pr := l.newPricer(base, prices, rates)
	// The positions' holding caches are used by one valuation at a time;
	// a valuation running next to another one computes its holdings
	// without them rather than wait.
	if pr.useCache = l.hcMu.TryLock(); pr.useCache {
		defer l.hcMu.Unlock()
	}
	b := newValuationBuilder(l, base)
	for _, st := range l.order {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		if account != "" && st.acct.ID != account {
			continue
		}
		if err := b.addAccount(ctx, pr, st); err != nil {
			return nil, err
		}
	}
	return b.finish(), nil
}

// pricer values the holdings of one valuation: each symbol is priced
// once, each currency pair converted once, and a position whose inputs
// are those of its last valuation reuses the amounts computed then. The
// caller holds the ledger's read lock (and hcMu when useCache is set).
type pricer struct {
	base     string
	prices   PriceSource
	rc       rateCache
	useCache bool         // the positions' holding caches may be used
	fresh    holdingCache // the amounts when they may not
	// symIdx is 1 + the index in quotes of each symbol (by its id), 0
	// before it is priced.
	symIdx []int32
	quotes []symQuote
}

// symQuote is a symbol's price as its source gave it.
type symQuote struct {
	price decimal.Decimal
	ccy   string // "": the holding's currency
}

func (l *Ledger) newPricer(base string, prices PriceSource, rates RateSource) *pricer {
	return &pricer{
		base: base, prices: prices,
		rc:     rateCache{src: rates, rates: make(map[[2]string]decimal.Decimal)},
		symIdx: make([]int32, len(l.symIDs)),
		quotes: make([]symQuote, 0, len(l.symIDs)),
	}
}

// reset readies pr for another valuation of l with other sources,
// keeping its memory.
func (pr *pricer) reset(l *Ledger, prices PriceSource, rates RateSource) {
	pr.prices, pr.rc.src = prices, rates
	clear(pr.rc.rates)
	pr.rc.lastOK = false
	pr.symIdx = slices.Grow(pr.symIdx[:0], len(l.symIDs))[:len(l.symIDs)]
	clear(pr.symIdx)
	clear(pr.quotes)
	pr.quotes = pr.quotes[:0]
}

// accountRate is the rate from st's currency to the base; identity is set
// (and the rate zero) when they are the same.
func (pr *pricer) accountRate(ctx context.Context, st *acctState) (rate decimal.Decimal, identity bool, err error) {
	return pr.rc.rate(ctx, st.acct.Currency, pr.base)
}

// quote returns the index in pr.quotes of p's symbol, asking the price
// source on the symbol's first use (first is then set).
func (pr *pricer) quote(ctx context.Context, p *position) (qi int32, first bool, err error) {
	if i := pr.symIdx[p.symID]; i > 0 {
		return i - 1, false, nil
	}
	price, ccy, err := pr.prices.Price(ctx, p.symbol)
	if err != nil {
		return 0, false, fmt.Errorf("%w: %s: %w", ErrNoPrice, p.symbol, err)
	}
	if price.Sign() < 0 || price.Exponent() > maxExponent || price.Exponent() < -maxExponent {
		return 0, false, fmt.Errorf("%w: %s: price is negative or out of range", ErrNoPrice, p.symbol)
	}
	qi = int32(len(pr.quotes))
	pr.symIdx[p.symID] = qi + 1
	pr.quotes = append(pr.quotes, symQuote{price: price, ccy: ccy})
	return qi, true, nil
}

// inputs are what p's amounts (held in st, whose rate to the base is ab)
// are computed from at quote qi: the rate from the quote's currency to
// the holding's when they differ and from the holding's to the base.
func (pr *pricer) inputs(ctx context.Context, st *acctState, p *position, qi int32, ab decimal.Decimal, abID bool) (holdingInputs, error) {
	q := &pr.quotes[qi]
	quoteCcy := q.ccy
	if quoteCcy == "" {
		quoteCcy = p.s.currency // a quote without a currency is in the holding's
	}
	var qr decimal.Decimal
	var err error
	if quoteCcy != p.s.currency {
		if qr, _, err = pr.rc.rate(ctx, quoteCcy, p.s.currency); err != nil {
			return holdingInputs{}, err
		}
	}
	ib, ibID := ab, abID
	if p.s.currency != st.acct.Currency {
		if ib, ibID, err = pr.rc.rate(ctx, p.s.currency, pr.base); err != nil {
			return holdingInputs{}, err
		}
	}
	return holdingInputs{qty: p.s.qty, basis: p.s.basis, localBasis: p.s.localBasis, currency: p.s.currency,
		quote: q.price, quoteCcy: quoteCcy, qr: qr, ab: ab, abID: abID, ib: ib, ibID: ibID}, nil
}

// price quotes p (held in st, whose rate to the base is ab) and returns
// the inputs of its amounts, the index of its quote and whether the symbol
// was priced for the first time in this valuation.
func (pr *pricer) price(ctx context.Context, st *acctState, p *position, ab decimal.Decimal, abID bool) (in holdingInputs, qi int32, first bool, err error) {
	if qi, first, err = pr.quote(ctx, p); err != nil {
		return in, qi, first, err
	}
	in, err = pr.inputs(ctx, st, p, qi, ab, abID)
	return in, qi, first, err
}

// holding returns the amounts of p computed from in (acctCcy is the
// account currency). They stay valid until the next call.
func (pr *pricer) holding(p *position, in *holdingInputs, acctCcy string) *holdingCache {
	if !pr.useCache {
		pr.fresh.compute(in, acctCcy)
		return &pr.fresh
	}
	if p.hc == nil {
		p.hc = new(holdingCache)
		p.hc.compute(in, acctCcy)
	} else if !p.hc.in.same(in) {
		p.hc.compute(in, acctCcy) // in place: only this valuation sees it
	}
	return p.hc
}

// valuationBuilder collects the holdings, cash and sums of a Valuation
// account by account.
type valuationBuilder struct {
	l *Ledger
	v *Valuation
	// Sums are collected and added once at the end with decimal.Sum, which
	// adds in place instead of allocating per addition. Consecutive holdings
	// mostly share a class and a currency: the last group of each kind is
	// remembered so that runs of them cost no map lookup.
	groups  [3]map[string]*running
	lastKey [3]string
	last    [3]*running
	// symKeys and symVal are the symbol of each of the pricer's quotes and
	// its base value summed over the accounts that hold it; cash per
	// currency apart.
	symKeys  []string
	symVal   []decimal.Decimal
	cashKeys []string
	cashVal  []decimal.Decimal
	// Per-holding amounts are summed as they come, exactly (see running).
	secs, bases, caps, ccyEff                       running
	cashes, realized, fxEffs, income, costs, inflow []decimal.Decimal
}

// The kinds of groups of an allocation.
const (
	byClass = iota
	byCcy
	byAcct
)

func newValuationBuilder(l *Ledger, base string) *valuationBuilder {
	n := 0
	for _, st := range l.order {
		n += len(st.positions)
	}
	return &valuationBuilder{
		l:      l,
		v:      &Valuation{Base: base, Holdings: make([]Holding, 0, n)},
		groups: [3]map[string]*running{{}, {}, {}},
		// Room for the cash entries too: bySymbol appends them.
		symKeys: make([]string, 0, n+len(l.order)),
		symVal:  make([]decimal.Decimal, 0, n+len(l.order)),
	}
}

// group adds x to the group key of kind g.
func (b *valuationBuilder) group(g int, key string, x exact.Num) {
	if b.last[g] == nil || b.lastKey[g] != key {
		r := b.groups[g][key]
		if r == nil {
			r = new(running)
			b.groups[g][key] = r
		}
		b.lastKey[g], b.last[g] = key, r
	}
	b.last[g].addNum(x)
}

// addAccount values st's holdings and cash and adds its books.
func (b *valuationBuilder) addAccount(ctx context.Context, pr *pricer, st *acctState) error {
	ab, abID, err := pr.accountRate(ctx, st)
	if err != nil {
		return err
	}
	var acctSecs running
	for _, p := range st.bySymbol {
		if p.s.qty.Sign() == 0 {
			continue
		}
		in, qi, first, err := pr.price(ctx, st, p, ab, abID)
		if err != nil {
			return err
		}
		c := pr.holding(p, &in, st.acct.Currency)
		h := b.addHolding(st, p, c)
		acctSecs.addNum(c.bv)
		if first {
			b.symKeys = append(b.symKeys, p.symbol)
			b.symVal = append(b.symVal, h.BaseValue)
		} else {
			b.symVal[qi] = exact.Add(b.symVal[qi], h.BaseValue)
		}
	}
	b.addCash(st, ab, abID, &acctSecs)
	b.addBooks(st, ab, abID)
	return nil
}

// addHolding appends p's holding with amounts c and adds it to the sums.
func (b *valuationBuilder) addHolding(st *acctState, p *position, c *holdingCache) *Holding {
	v := b.v
	v.Holdings = append(v.Holdings, Holding{Position: Position{
		Account: st.acct.ID, AccountCurrency: st.acct.Currency, Symbol: p.symbol, Currency: p.s.currency,
		Quantity: c.quantity, Basis: c.basis, LocalBasis: c.localBasis,
		LastPrice: p.s.lastPrice, LastTime: p.s.lastTime,
	}, Price: c.price, Base: v.Base, Value: c.value, BaseValue: c.baseValue, BaseBasis: c.baseBasis,
		Unrealized: c.unrealized, CapitalGain: c.capitalGain, CurrencyEffect: c.currencyEffect})
	h := &v.Holdings[len(v.Holdings)-1]
	if len(b.l.stocks) > 0 {
		if s, ok := b.l.stocks[p.symbol]; ok {
			h.Name, h.Class = s.Name, s.Class
		}
	}
	if h.Class == "" {
		h.Class = AssetStock
		if st.acct.Kind == KindCrypto {
			h.Class = AssetCrypto
		}
	}
	b.secs.addNum(c.bv)
	b.bases.addNum(c.bb)
	b.caps.addNum(c.cg)
	if h.CurrencyEffect.Sign() != 0 {
		b.ccyEff.addNum(c.ce)
	}
	b.group(byClass, string(h.Class), c.bv)
	b.group(byCcy, h.Currency, c.bv)
	return h
}

// addCash adds st's cash, and the account's group (its holdings summed in
// acctSecs, plus the cash).
func (b *valuationBuilder) addCash(st *acctState, ab decimal.Decimal, abID bool, acctSecs *running) {
	cash := st.s.cash.Dec()
	c := CashHolding{Account: st.acct.ID, Currency: st.acct.Currency, Amount: cash, Base: b.v.Base,
		BaseValue: conv(cash, ab, abID)}
	b.v.Cash = append(b.v.Cash, c)
	b.cashes = append(b.cashes, c.BaseValue)
	if acctSecs.n == 0 {
		acctSecs.add(decimal.Zero) // as summing [no holdings, cash]
	}
	acctSecs.add(c.BaseValue)
	b.groups[byAcct][st.acct.ID] = acctSecs
	if c.BaseValue.Sign() == 0 {
		return
	}
	cs := exact.Of(c.BaseValue)
	b.group(byClass, string(AssetCash), cs)
	b.group(byCcy, c.Currency, cs)
	key := "cash:" + c.Currency
	if i := slices.Index(b.cashKeys, key); i >= 0 {
		b.cashVal[i] = exact.Add(b.cashVal[i], c.BaseValue)
		return
	}
	b.cashKeys = append(b.cashKeys, key)
	b.cashVal = append(b.cashVal, c.BaseValue)
}

// addBooks adds st's realized gains, income, costs and net inflow,
// converted to the base at today's rate.
func (b *valuationBuilder) addBooks(st *acctState, ab decimal.Decimal, abID bool) {
	b.realized = append(b.realized, conv(st.s.gain.Dec(), ab, abID))
	b.fxEffs = append(b.fxEffs, conv(st.s.fxEffect.Dec(), ab, abID))
	b.income = append(b.income, conv(st.s.dividends.Dec().Add(st.s.interest.Dec()), ab, abID))
	b.costs = append(b.costs, conv(st.s.fees.Dec().Add(st.s.taxes.Dec()), ab, abID))
	b.inflow = append(b.inflow, conv(st.s.deposits.Dec().Sub(st.s.withdrawals.Dec()), ab, abID))
}

// finish sets the totals, the weights and the allocations.
func (b *valuationBuilder) finish() *Valuation {
	v := b.v
	v.Securities = b.secs.dec()
	v.CashTotal = sum(b.cashes)
	v.Basis = b.bases.dec()
	v.Realized = sum(b.realized)
	realizedFX := sum(b.fxEffs)
	b.ccyEff.add(realizedFX)
	v.CurrencyEffect = b.ccyEff.dec()
	b.caps.add(exact.Sub(v.Realized, realizedFX))
	v.CapitalGain = b.caps.dec()
	v.Income = sum(b.income)
	v.Costs = sum(b.costs)
	v.NetInflow = sum(b.inflow)
	v.Total = exact.Add(v.Securities, v.CashTotal)
	v.Unrealized = exact.Sub(v.Securities, v.Basis)
	v.TotalGain = exact.Sub(v.Total, v.NetInflow)

	total := v.Total.InexactFloat64()
	weight := func(x decimal.Decimal) float64 {
		if total == 0 {
			return 0
		}
		return x.InexactFloat64() / total
	}
	for i := range v.Holdings {
		v.Holdings[i].Weight = weight(v.Holdings[i].BaseValue)
	}
	for i := range v.Cash {
		v.Cash[i].Weight = weight(v.Cash[i].BaseValue)
	}
	v.ByClass = slicesOf(b.groups[byClass], v.Base, weight)
	v.ByCurrency = slicesOf(b.groups[byCcy], v.Base, weight)
	v.ByAccount = slicesOf(b.groups[byAcct], v.Base, weight)
	v.BySymbol = b.bySymbol(weight)
	return v
}

// bySymbol is the allocation by symbol (cash as "cash:CCY"), largest
// first: small (weight, index) pairs are sorted, then the slices built in
// that order.
func (b *valuationBuilder) bySymbol(weight func(decimal.Decimal) float64) []Slice {
	keys, vals := append(b.symKeys, b.cashKeys...), append(b.symVal, b.cashVal...)
	order := make([]rank.Entry, len(keys))
	for i := range keys {
		order[i] = rank.Entry{W: weight(vals[i]), I: int32(i)}
	}
	rank.Sort(order, keys)
	out := make([]Slice, len(order))
	for j, o := range order {
		out[j] = Slice{Key: keys[o.I], Base: b.v.Base, Value: vals[o.I], Weight: o.W}
	}
	return out
}

// holdingInputs is everything a holding's amounts are computed from.
type holdingInputs struct {
	qty               exact.Num
	basis, localBasis exact.Num
	currency          string
	quote             decimal.Decimal // the price as quoted
	quoteCcy          string
	qr                decimal.Decimal // quote → position currency, when they differ
	ab, ib            decimal.Decimal // account → base, position currency → base
	abID, ibID        bool            // the rate is the identity (same currency)
}

// marketValue is the holding's value in its currency (Holding.Value) and
// in the base (Holding.BaseValue), the same numbers as compute gives them.
func (in *holdingInputs) marketValue() (value, baseValue exact.Num) {
	price := exact.Of(in.quote)
	if in.quoteCcy != in.currency {
		price = price.Mul(exact.Of(in.qr))
	}
	value = in.qty.Mul(price)
	if in.ibID {
		return value, value
	}
	return value, value.Mul(exact.Of(in.ib))
}

// same reports whether a and b are the same inputs: the same numbers with
// the same exponents, so the computed amounts are the same too.
func (a *holdingInputs) same(b *holdingInputs) bool {
	// The price first: it is what changes most often.
	if !sameDecimal(a.quote, b.quote) ||
		a.currency != b.currency || a.quoteCcy != b.quoteCcy || a.abID != b.abID || a.ibID != b.ibID ||
		!a.qty.Same(b.qty) || !a.basis.Same(b.basis) || !a.localBasis.Same(b.localBasis) {
		return false
	}
	if a.quoteCcy != a.currency && !sameDecimal(a.qr, b.qr) {
		return false
	}
	if !a.abID && !sameDecimal(a.ab, b.ab) {
		return false
	}
	return a.ibID || sameDecimal(a.ib, b.ib)
}

// holdingCache is a position's amounts as the last valuation computed them,
// with the inputs they came from. Value reuses it only when the inputs are
// the same (same values and exponents), so a reused holding is exactly what
// computing it again would give; a position changed by Apply, a new price
// or a new rate misses and is computed afresh.
type holdingCache struct {
	in                               holdingInputs
	basis, localBasis                decimal.Decimal // in.basis and in.localBasis
	quantity, price, value           decimal.Decimal
	baseValue, baseBasis, unrealized decimal.Decimal
	capitalGain, currencyEffect      decimal.Decimal
	// baseValue, baseBasis, capitalGain and currencyEffect as Nums, for
	// the valuation's sums
	bv, bb, cg, ce exact.Num
	valid          bool // computed (the zero holdingCache is not)
}

// compute sets c to a holding's amounts computed from in; acctCcy is the
// account currency. Each amount is the decimal expression it is named
// after (value = quantity × price, unrealized = base value − base basis,
// …), value and exponent, computed on Nums and made a decimal once.
func (c *holdingCache) compute(in *holdingInputs, acctCcy string) {
	c.computeBasis(in)
	price := exact.Of(in.quote)
	c.price = in.quote
	if in.quoteCcy != in.currency {
		price = price.Mul(exact.Of(in.qr))
		c.price = price.Dec()
	}
	value := in.qty.Mul(price)
	c.value = value.Dec()
	c.bv, c.baseValue = value, c.value
	if !in.ibID {
		c.bv = value.Mul(exact.Of(in.ib))
		c.baseValue = c.bv.Dec()
	}
	unrealized := c.bv.Sub(c.bb)
	c.unrealized = unrealized.Dec()
	if in.currency == acctCcy && in.localBasis.Equal(in.basis) {
		// Same currency, same basis: all of the gain is price gain.
		c.cg, c.ce = unrealized, exact.Of(decimal.Zero)
		c.capitalGain, c.currencyEffect = c.unrealized, decimal.Zero
		return
	}
	c.cg = value.Sub(in.localBasis)
	if !in.ibID {
		c.cg = c.cg.Mul(exact.Of(in.ib))
	}
	c.ce = unrealized.Sub(c.cg)
	c.capitalGain, c.currencyEffect = c.cg.Dec(), c.ce.Dec()
}

// computeBasis sets the quantity, the bases and the basis in the base
// currency, keeping c's when they depend on the same inputs (the same
// decimals, not made again).
func (c *holdingCache) computeBasis(in *holdingInputs) {
	keepQty := c.valid && c.in.qty.Same(in.qty)
	keepBasis := c.valid && c.in.basis.Same(in.basis)
	keepBase := keepBasis && c.in.abID == in.abID && (in.abID || sameDecimal(c.in.ab, in.ab))
	keepLocal := c.valid && c.in.localBasis.Same(in.localBasis)
	c.in, c.valid = *in, true
	if !keepQty {
		c.quantity = in.qty.Dec()
	}
	if !keepBasis {
		c.basis = in.basis.Dec()
	}
	switch {
	case keepLocal:
	case in.localBasis.Same(in.basis):
		c.localBasis = c.basis
	default:
		c.localBasis = in.localBasis.Dec()
	}
	if keepBase {
		return
	}
	c.bb, c.baseBasis = in.basis, c.basis
	if !in.abID {
		c.bb = in.basis.Mul(exact.Of(in.ab))
		c.baseBasis = c.bb.Dec()
	}
}

// sameDecimal reports whether a and b have the same value and exponent.
func sameDecimal(a, b decimal.Decimal) bool {
	return a.Exponent() == b.Exponent() && a.Cmp(b) == 0
}

// running is an exact running sum: the same value, with the same exponent,
// as adding the decimals in order with Decimal.Add (or decimal.Sum).
type running struct {
	t exact.Num
	n int
}

func (r *running) add(x decimal.Decimal) { r.addNum(exact.Of(x)) }

func (r *running) addNum(x exact.Num) {
	if r.n == 0 {
		r.t = x
	} else {
		r.t = r.t.Add(x)
	}
	r.n++
}

// dec is the sum, zero for none.
func (r *running) dec() decimal.Decimal {
	if r.n == 0 {
		return decimal.Zero
	}
	return r.t.Dec()
}

// sum adds xs (zero for none) with decimal.Sum, which adds in place.
func sum(xs []decimal.Decimal) decimal.Decimal {
	switch len(xs) {
	case 0:
		return decimal.Zero
	case 1:
		return xs[0]
	}
	return decimal.Sum(xs[0], xs[1:]...)
}

// slicesOf turns groups of values into slices, largest first.
func slicesOf(m map[string]*running, base string, weight func(decimal.Decimal) float64) []Slice {
	out := make([]Slice, 0, len(m))
	for k, r := range m {
		x := r.dec()
		out = append(out, Slice{Key: k, Base: base, Value: x, Weight: weight(x)})
	}
	sortSlices(out)
	return out
}

// sortSlices orders an allocation largest first, then by key.
func sortSlices(out []Slice) {
	slices.SortFunc(out, func(a, b Slice) int {
		if c := cmp.Compare(b.Weight, a.Weight); c != 0 {
			return c
		}
		return cmp.Compare(a.Key, b.Key)
	})
}

// Prices is a fixed price table that satisfies PriceSource, handy for tests
// and for valuing at known prices. Keys are symbols.
type Prices map[string]Quote

// Quote is a price and the currency it is quoted in.
type Quote struct {
	Price    decimal.Decimal
	Currency string
}

// Price implements PriceSource.
func (p Prices) Price(_ context.Context, symbol string) (decimal.Decimal, string, error) {
	q, ok := p[symbol]
	if !ok {
		return decimal.Decimal{}, "", fmt.Errorf("%w: %s", ErrNotFound, symbol)
	}
	return q.Price, q.Currency, nil
}

// Rates is a fixed exchange-rate table that satisfies RateSource. Keys are
// "FROM/TO"; the inverse pair is used (as 1/rate) when only it is present.
type Rates map[string]decimal.Decimal

// Rate implements RateSource.
func (r Rates) Rate(_ context.Context, from, to string) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	if x, ok := r[from+"/"+to]; ok {
		return x, nil
	}
	if x, ok := r[to+"/"+from]; ok && x.Sign() != 0 {
		return decimal.NewFromInt(1).DivRound(x, 16), nil
	}
	return decimal.Decimal{}, fmt.Errorf("%w: rate %s/%s", ErrNotFound, from, to)
}

// LastPrices is a PriceSource that prices each symbol at its latest trade
// in the ledger (split-adjusted), for when no market data is at hand.
func (l *Ledger) LastPrices() Prices {
	l.mu.RLock()
	defer l.mu.RUnlock()
	out := make(Prices)
	when := make(map[string]time.Time)
	for _, st := range l.order {
		for _, p := range st.positions {
			if t, ok := when[p.symbol]; !ok || p.s.lastTime.After(t) {
				out[p.symbol] = Quote{Price: p.s.lastPrice, Currency: p.s.currency}
				when[p.symbol] = p.s.lastTime
			}
		}
	}
	return out
}
