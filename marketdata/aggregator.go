package marketdata

import (
	"context"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/sync/errgroup"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Supporter is implemented by providers that can tell cheaply, without a
// network call, whether they cover a symbol. The Aggregator asks only
// supporting providers.
type Supporter interface {
	Supports(symbol string) bool
}

// Options configure an Aggregator. Zero fields take the defaults shown.
type Options struct {
	// Providers answer quotes; at least one is required (or RateProviders).
	Providers []Provider
	// RateProviders answer FX rates, in order of preference. Nil means every
	// Provider that also implements RateProvider.
	RateProviders []RateProvider
	// HistoryProviders answer bar series, in order of preference. Nil means
	// every Provider that also implements HistoryProvider.
	HistoryProviders []HistoryProvider

	Timeout         time.Duration // overall deadline of one request; default 5s
	ProviderTimeout time.Duration // deadline of one upstream call; default 3s
	Concurrency     int           // upstream calls in flight; default 16; 1 = sequential; one provider never takes the slots the others need
	BatchSize       int           // symbols per batch call; default 100

	CacheTTL         time.Duration // how long merged quotes and rates are reused; default 15s; negative disables
	MaxAge           time.Duration // quotes older than this are stale; default 96h; negative disables
	OutlierThreshold float64       // relative deviation that flags an outlier; default 0.02; negative disables

	Limits          map[string]Limit // per provider name
	BreakerFailures int              // consecutive failures that open the circuit; default 3; negative disables
	BreakerCooldown time.Duration    // how long an open circuit skips the provider; default 30s

	// HedgeAfter is how long Rate waits for a provider before also asking the
	// next one. Zero means 1.5× the provider's observed mean latency
	// (at least 20ms, 250ms before the first answer); negative disables
	// hedging (the next provider is asked only after a failure).
	HedgeAfter time.Duration

	WatchBuffer int              // capacity of Watch channels; default 64
	Now         func() time.Time // clock for staleness, cache and quotas; default time.Now
}

// Aggregator asks many providers at once and merges their answers. It is
// safe for concurrent use. Close stops its Watch goroutines and waits for
// them.
type Aggregator struct {
	opts   Options
	provs  []*provState
	rates  []*provState
	hists  []*provState
	byName map[string]*provState

	mu      sync.RWMutex
	quotes  map[string]cached[Merged]
	fx      map[string]cached[Rate]
	sweepAt int // len(quotes) that triggers the next sweep of expired entries

	sf singleflight.Group

	ctx    context.Context // cancelled by Close
	cancel context.CancelFunc
	life   sync.Mutex // orders wg.Add against Close
	wg     sync.WaitGroup
	closed atomic.Bool
}

// track registers one goroutine of the Aggregator; false after Close.
func (a *Aggregator) track() bool {
	a.life.Lock()
	defer a.life.Unlock()
	if a.closed.Load() {
		return false
	}
	a.wg.Add(1)
	return true
}

type cached[T any] struct {
	v   T
	exp time.Time
}

// provState is the per-provider machinery.
type provState struct {
	name    string
	p       Provider
	batch   BatchProvider
	rp      RateProvider
	hp      HistoryProvider
	sup     Supporter
	limiter *rate.Limiter
	quota   *quota
	br      breaker
	latency atomic.Int64 // EWMA of successful call latency, ns
}

func (ps *provState) observe(d time.Duration) {
	old := ps.latency.Load()
	if old == 0 {
		ps.latency.Store(int64(d))
		return
	}
	ps.latency.Store(old + (int64(d)-old)/5)
}

// New returns an Aggregator.
func New(opts Options) (*Aggregator, error) {
	if len(opts.Providers) == 0 && len(opts.RateProviders) == 0 {
		return nil, errors.New("marketdata: no providers")
	}
	def := func(d *time.Duration, v time.Duration) {
		if *d == 0 {
			*d = v
		}
	}
	def(&opts.Timeout, 5*time.Second)
	def(&opts.ProviderTimeout, 3*time.Second)
	def(&opts.CacheTTL, 15*time.Second)
	def(&opts.MaxAge, 96*time.Hour)
	def(&opts.BreakerCooldown, 30*time.Second)
	if opts.Timeout < 0 || opts.ProviderTimeout < 0 || opts.BreakerCooldown < 0 || opts.Concurrency < 0 || opts.BatchSize < 0 || opts.WatchBuffer < 0 {
		return nil, errors.New("marketdata: negative option")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 16
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 100
	}
	if opts.OutlierThreshold == 0 {
		opts.OutlierThreshold = 0.02
	}
	if math.IsNaN(opts.OutlierThreshold) {
		return nil, errors.New("marketdata: outlier threshold is NaN")
	}
	if opts.BreakerFailures == 0 {
		opts.BreakerFailures = 3
	}
	if opts.WatchBuffer == 0 {
		opts.WatchBuffer = 64
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	a := &Aggregator{opts: opts, byName: map[string]*provState{},
		quotes: map[string]cached[Merged]{}, fx: map[string]cached[Rate]{}}
	state := func(name string) (*provState, error) {
		if name == "" {
			return nil, errors.New("marketdata: provider with empty name")
		}
		if ps := a.byName[name]; ps != nil {
			return ps, nil
		}
		ps := &provState{name: name, br: breaker{threshold: opts.BreakerFailures, cooldown: opts.BreakerCooldown}}
		if l, ok := opts.Limits[name]; ok {
			if l.PerSecond < 0 || l.Burst < 0 || l.PerDay < 0 {
				return nil, fmt.Errorf("marketdata: negative limit for %s", name)
			}
			if l.PerSecond > 0 {
				ps.limiter = rate.NewLimiter(rate.Limit(l.PerSecond), max(l.Burst, 1))
			}
			if l.PerDay > 0 {
				ps.quota = &quota{limit: l.PerDay}
			}
		}
		a.byName[name] = ps
		return ps, nil
	}
	for _, p := range opts.Providers {
		if p == nil {
			return nil, errors.New("marketdata: nil provider")
		}
		ps, err := state(p.Name())
		if err != nil {
			return nil, err
		}
		if ps.p != nil {
			return nil, fmt.Errorf("marketdata: duplicate provider %q", p.Name())
		}
		ps.p = p
		ps.batch, _ = p.(BatchProvider)
		ps.sup, _ = p.(Supporter)
		a.provs = append(a.provs, ps)
	}
	var err error
	if a.rates, err = register(opts.RateProviders, opts.Providers, "rate", state, func(ps *provState, rp RateProvider) { ps.rp = rp }); err != nil {
		return nil, err
	}
	if a.hists, err = register(opts.HistoryProviders, opts.Providers, "history", state, func(ps *provState, hp HistoryProvider) { ps.hp = hp }); err != nil {
		return nil, err
	}
	a.ctx, a.cancel = context.WithCancel(context.Background())
	return a, nil
}

// register attaches each of list to the provider state of its name through
// set; a nil list means every quote provider that also implements P.
func register[P interface{ Name() string }](list []P, provs []Provider, kind string, state func(string) (*provState, error), set func(*provState, P)) ([]*provState, error) {
	if list == nil {
		for _, p := range provs {
			if x, ok := p.(P); ok {
				list = append(list, x)
			}
		}
	}
	out := make([]*provState, 0, len(list))
	for _, x := range list {
		if any(x) == nil {
			return nil, fmt.Errorf("marketdata: nil %s provider", kind)
		}
		ps, err := state(x.Name())
		if err != nil {
			return nil, err
		}
		set(ps, x)
		out = append(out, ps)
	}
	return out, nil
}

// Close stops all Watch streams and waits for the Aggregator's goroutines.
// Later calls fail with ErrClosed.
func (a *Aggregator) Close() error {
	a.life.Lock()
	a.closed.Store(true)
	a.life.Unlock()
	a.cancel()
	a.wg.Wait()
	return nil
}

// ProviderError is one failure of one provider during a request.
type ProviderError struct {
	Provider string `json:"provider"`
	Symbol   string `json:"symbol,omitempty"` // empty when the whole call failed
	Err      error  `json:"-"`
	Message  string `json:"error"`
}

// Result is the answer to a multi-symbol request: whatever arrived in time.
type Result struct {
	Quotes  []Merged        `json:"quotes"`  // in request order, symbols with a price only
	Missing []string        `json:"missing"` // symbols nobody priced
	Errors  []ProviderError `json:"errors"`  // per-provider failures
	Elapsed time.Duration   `json:"elapsed"`
}

// Get returns the merged quote of symbol.
func (r *Result) Get(symbol string) (Merged, bool) {
	symbol = strings.ToUpper(strings.TrimSpace(symbol))
	for _, m := range r.Quotes {
		if m.Symbol == symbol {
			return m, true
		}
	}
	return Merged{}, false
}

// Summary implements portfolio.Reportable.
func (r *Result) Summary() string {
	return fmt.Sprintf("%d quotes, %d missing, %d provider errors in %s", len(r.Quotes), len(r.Missing), len(r.Errors), r.Elapsed.Round(time.Millisecond))
}

// normalize upper-cases, validates and de-duplicates symbols.
func normalize(symbols []string) ([]string, error) {
	if len(symbols) == 0 {
		return nil, fmt.Errorf("%w: no symbols", ErrInvalidSymbol)
	}
	out := make([]string, 0, len(symbols))
	var seen map[string]struct{}
	if len(symbols) > 8 {
		seen = make(map[string]struct{}, len(symbols))
	}
	for _, s := range symbols {
		sym, err := ParseSymbol(s)
		if err != nil {
			return nil, err
		}
		if seen != nil {
			if _, dup := seen[sym.Raw]; dup {
				continue
			}
			seen[sym.Raw] = struct{}{}
		} else if slices.Contains(out, sym.Raw) {
			continue
		}
		out = append(out, sym.Raw)
	}
	return out, nil
}

// Quote returns the merged quote of one symbol, from the cache when fresh.
func (a *Aggregator) Quote(ctx context.Context, symbol string) (Merged, error) {
	if m, ok := a.cachedQuote(symbol); ok {
		return m, nil
	}
	res, err := a.Quotes(ctx, []string{symbol})
	if err != nil {
		return Merged{}, err
	}
	if len(res.Quotes) == 1 {
		return res.Quotes[0], nil
	}
	errs := make([]error, 0, len(res.Errors)+1)
	errs = append(errs, fmt.Errorf("%w for %s", ErrNoQuote, strings.ToUpper(symbol)))
	for _, e := range res.Errors {
		errs = append(errs, e.Err)
	}
	return Merged{}, errors.Join(errs...)
}

// cachedQuote is the allocation-free fast path.
func (a *Aggregator) cachedQuote(symbol string) (Merged, bool) {
	if a.opts.CacheTTL < 0 {
		return Merged{}, false
	}
	a.mu.RLock()
	c, ok := a.quotes[symbol]
	a.mu.RUnlock()
	if !ok || !a.opts.Now().Before(c.exp) {
		return Merged{}, false
	}
	c.v.Cached = true
	return c.v, true
}

// Price implements portfolio.PriceSource: the consensus price and currency.
func (a *Aggregator) Price(ctx context.Context, symbol string) (decimal.Decimal, string, error) {
	m, err := a.Quote(ctx, symbol)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	return decimal.NewFromFloat(m.Price), m.Currency, nil
}

// Quotes asks every provider for every symbol at once and merges the
// answers. It returns an error only for bad input or a closed Aggregator;
// provider failures are reported in Result.Errors and symbols nobody priced
// in Result.Missing. Identical concurrent requests share one upstream fetch,
// and fresh cached symbols are not fetched again.
func (a *Aggregator) Quotes(ctx context.Context, symbols []string) (*Result, error) {
	if a.closed.Load() {
		return nil, ErrClosed
	}
	start := time.Now()
	syms, err := normalize(symbols)
	if err != nil {
		return nil, err
	}
	res := &Result{Quotes: make([]Merged, 0, len(syms))}
	found := make([]Merged, len(syms))
	ok := make([]bool, len(syms))
	var misses []string
	var missIdx []int
	for i, s := range syms {
		if m, hit := a.cachedQuote(s); hit {
			found[i], ok[i] = m, true
		} else {
			misses = append(misses, s)
			missIdx = append(missIdx, i)
		}
	}
	if len(misses) > 0 {
		key := strings.Join(misses, ",")
		ch := a.sf.DoChan(key, func() (any, error) {
			if !a.track() {
				return &fetched{}, nil
			}
			defer a.wg.Done()
			// A flight for the same symbols may have filled the cache
			// between our cache lookup and joining this one.
			if f, ok := a.allCached(misses); ok {
				return f, nil
			}
			ctx, cancel := context.WithTimeout(a.ctx, a.opts.Timeout)
			defer cancel()
			return a.fetch(ctx, misses), nil
		})
		select {
		case r := <-ch:
			f := r.Val.(*fetched)
			for j, i := range missIdx {
				if j < len(f.ok) && f.ok[j] {
					found[i], ok[i] = f.merged[j], true
				}
			}
			res.Errors = append(res.Errors, f.errors...)
		case <-ctx.Done():
			return nil, fmt.Errorf("marketdata: quotes: %w", ctx.Err())
		}
	}
	for i, s := range syms {
		if ok[i] {
			res.Quotes = append(res.Quotes, found[i])
		} else {
			res.Missing = append(res.Missing, s)
		}
	}
	res.Elapsed = time.Since(start)
	return res, nil
}

// allCached returns the cached quotes of syms when every one is fresh.
func (a *Aggregator) allCached(syms []string) (*fetched, bool) {
	f := &fetched{merged: make([]Merged, len(syms)), ok: make([]bool, len(syms))}
	for i, s := range syms {
		m, hit := a.cachedQuote(s)
		if !hit {
			return nil, false
		}
		f.merged[i], f.ok[i] = m, true
	}
	return f, true
}

// fetched is the shared (read-only) outcome of one upstream fan-out.
type fetched struct {
	merged []Merged // aligned with the fetched symbols
	ok     []bool
	errors []ProviderError
}

type slot struct {
	q  Quote
	ok bool
}

// fetch fans out to all providers for syms and merges the answers.
func (a *Aggregator) fetch(ctx context.Context, syms []string) *fetched {
	n := len(syms)
	slots := make([]slot, len(a.provs)*n)
	// mu guards slots and perrs while the calls run; once sealed (the
	// overall deadline passed) late answers are discarded, so fetch never
	// waits for a provider that ignores its context.
	var mu sync.Mutex
	sealed := false
	var perrs []ProviderError
	addErr := func(prov, sym string, err error) {
		if errors.Is(err, ErrUnsupported) {
			return
		}
		mu.Lock()
		if !sealed {
			perrs = append(perrs, ProviderError{Provider: prov, Symbol: sym, Err: err, Message: err.Error()})
		}
		mu.Unlock()
	}
	put := func(i int, q Quote) {
		mu.Lock()
		if !sealed {
			slots[i] = slot{q: q, ok: true}
		}
		mu.Unlock()
	}
	// Fairness: every call holds one of Concurrency global slots, and one
	// provider may hold at most Concurrency minus one slot per other
	// provider in this fan-out, so a provider that hangs until its timeout
	// can never starve the others (with Concurrency 1 the calls simply run
	// one after another).
	type job struct {
		ps   *provState
		base int
		idx  []int
	}
	var jobs []job
	covered := make([]bool, n)
	for pi, ps := range a.provs {
		var idx []int
		for si, s := range syms {
			if ps.sup == nil || ps.sup.Supports(s) {
				idx = append(idx, si)
				covered[si] = true
			}
		}
		if len(idx) == 0 {
			continue
		}
		if ps.br.open(a.opts.Now()) {
			addErr(ps.name, "", &Error{Provider: ps.name, Kind: ErrCircuitOpen, Msg: "skipped during cool-down"})
			continue
		}
		jobs = append(jobs, job{ps: ps, base: pi * n, idx: idx})
	}
	global := make(chan struct{}, a.opts.Concurrency)
	share := max(1, a.opts.Concurrency-(len(jobs)-1))
	// run executes one upstream call in a global slot.
	run := func(ps *provState, sym string, f func(context.Context) error) (time.Duration, error) {
		select {
		case global <- struct{}{}:
		case <-ctx.Done():
			return 0, &Error{Provider: ps.name, Symbol: sym, Kind: ErrUnavailable, Msg: "not started before the deadline", Err: ctx.Err()}
		}
		defer func() { <-global }()
		return a.call(ctx, ps, sym, f)
	}
	var g errgroup.Group // one task per provider; each bounds its own calls
	for _, jb := range jobs {
		ps, base, idx := jb.ps, jb.base, jb.idx
		g.Go(func() error {
			var pg errgroup.Group
			pg.SetLimit(share)
			if ps.batch != nil {
				for lo := 0; lo < len(idx); lo += a.opts.BatchSize {
					chunk := idx[lo:min(lo+a.opts.BatchSize, len(idx))]
					pg.Go(func() error {
						names := make([]string, len(chunk))
						for i, si := range chunk {
							names[i] = syms[si]
						}
						var got map[string]Quote
						lat, err := run(ps, "", func(ctx context.Context) error {
							var err error
							got, err = ps.batch.Quotes(ctx, names)
							return err
						})
						if err != nil {
							addErr(ps.name, "", err)
							return nil
						}
						for _, si := range chunk {
							q, ok := got[syms[si]]
							if !ok {
								addErr(ps.name, syms[si], &Error{Provider: ps.name, Symbol: syms[si], Kind: ErrNotFound, Msg: "missing from batch answer"})
								continue
							}
							q.Latency = lat
							if q.Provider == "" {
								q.Provider = ps.name
							}
							put(base+si, q)
						}
						return nil
					})
				}
				return pg.Wait()
			}
			for _, si := range idx {
				pg.Go(func() error {
					var q Quote
					lat, err := run(ps, syms[si], func(ctx context.Context) error {
						var err error
						q, err = ps.p.Quote(ctx, syms[si])
						return err
					})
					if err != nil {
						addErr(ps.name, syms[si], err)
						return nil
					}
					q.Latency = lat
					if q.Provider == "" {
						q.Provider = ps.name
					}
					put(base+si, q)
					return nil
				})
			}
			return pg.Wait()
		})
	}
	done := make(chan struct{})
	go func() {
		_ = g.Wait() // tasks never fail the group: partial results
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// Some provider ignores cancellation: answer with what arrived. The
		// stragglers stay owned by the Aggregator (Close waits for them).
		a.wg.Add(1) // fetch itself is tracked, so the counter is above zero
		go func() {
			defer a.wg.Done()
			<-done
		}()
	}
	mu.Lock()
	sealed = true
	mu.Unlock()
	for si, ok := range covered {
		if !ok {
			err := &Error{Provider: "aggregator", Symbol: syms[si], Kind: ErrUnsupported, Msg: "no configured provider covers this symbol"}
			perrs = append(perrs, ProviderError{Provider: "aggregator", Symbol: syms[si], Err: err, Message: err.Error()})
		}
	}
	out := &fetched{merged: make([]Merged, n), ok: make([]bool, n), errors: perrs}
	now := a.opts.Now()
	quotes := make([]Quote, 0, len(a.provs))
	// One backing array for every symbol's sources: one allocation, not n.
	sources := make([]Source, 0, n*len(a.provs))
	var exp time.Time
	if a.opts.CacheTTL > 0 {
		exp = now.Add(a.opts.CacheTTL)
	}
	for si, s := range syms {
		quotes = quotes[:0]
		for pi := range a.provs {
			if sl := &slots[pi*n+si]; sl.ok {
				quotes = append(quotes, sl.q)
			}
		}
		if len(quotes) == 0 {
			continue
		}
		start := len(sources)
		sources = sources[:start+len(quotes)]
		m, err := a.merge(ctx, s, quotes, sources[start:start+len(quotes):start+len(quotes)], now)
		if err != nil {
			out.errors = append(out.errors, ProviderError{Provider: "merge", Symbol: s, Err: err, Message: err.Error()})
			continue
		}
		out.merged[si], out.ok[si] = m, true
	}
	if a.opts.CacheTTL > 0 {
		a.mu.Lock()
		for si, m := range out.merged {
			if out.ok[si] {
				a.quotes[m.Symbol] = cached[Merged]{v: m, exp: exp}
			}
		}
		a.sweepQuotes(now)
		a.mu.Unlock()
	}
	return out
}

// minSweep is the cache size below which expired quotes are left to be
// overwritten rather than swept.
const minSweep = 1024

// sweepQuotes drops expired quotes once the cache has doubled since the
// last sweep, so a stream of ever-new symbols (users typing tickers) cannot
// grow it without bound; amortized O(1) per insert. a.mu must be held.
func (a *Aggregator) sweepQuotes(now time.Time) {
	if len(a.quotes) <= max(a.sweepAt, minSweep) {
		return
	}
	for k, c := range a.quotes {
		if !now.Before(c.exp) {
			delete(a.quotes, k)
		}
	}
	a.sweepAt = 2 * len(a.quotes)
}

// call runs one upstream call for ps with the circuit breaker, the rate
// limiter, the daily quota and the per-provider timeout, and returns its
// latency.
func (a *Aggregator) call(parent context.Context, ps *provState, symbol string, f func(context.Context) error) (time.Duration, error) {
	ok, trial := ps.br.allow(a.opts.Now())
	if !ok {
		return 0, &Error{Provider: ps.name, Symbol: symbol, Kind: ErrCircuitOpen, Msg: "skipped during cool-down"}
	}
	ctx, cancel := context.WithTimeout(parent, a.opts.ProviderTimeout)
	defer cancel()
	if ps.limiter != nil {
		if err := ps.limiter.Wait(ctx); err != nil {
			err = &Error{Provider: ps.name, Symbol: symbol, Kind: ErrRateLimited, Msg: "local rate limit", Err: err}
			ps.br.release(trial) // our own limit says nothing about the provider's health
			return 0, err
		}
	}
	if ok, reset := ps.quota.take(a.opts.Now()); !ok {
		ps.br.release(trial)
		return 0, &Error{Provider: ps.name, Symbol: symbol, Kind: ErrRateLimited, Msg: "daily quota used up", RetryAfter: reset}
	}
	start := time.Now()
	err := f(ctx)
	lat := time.Since(start)
	if err != nil && !isProviderError(err) {
		err = &Error{Provider: ps.name, Symbol: symbol, Kind: ErrUnavailable, Err: err}
	}
	if err != nil && errors.Is(parent.Err(), context.Canceled) {
		// Called off from above (a hedge won, the Aggregator closed): no
		// verdict on the provider's health.
		ps.br.release(trial)
		return lat, err
	}
	ps.br.record(err, a.opts.Now(), trial)
	if err == nil {
		ps.observe(lat)
	}
	return lat, err
}

func isProviderError(err error) bool {
	var e *Error
	return errors.As(err, &e)
}

// merge converts the quotes to the most common currency and computes the
// consensus.
// dst has room for len(quotes) sources.
func (a *Aggregator) merge(ctx context.Context, symbol string, quotes []Quote, dst []Source, now time.Time) (Merged, error) {
	target := quotes[0].Currency
	mixed := false
	for _, q := range quotes[1:] {
		if q.Currency != target {
			mixed = true
			break
		}
	}
	if mixed {
		counts := map[string]int{}
		best := 0
		for _, q := range quotes {
			counts[q.Currency]++
			if c := counts[q.Currency]; c > best {
				best, target = c, q.Currency
			}
		}
	}
	m := Merged{Symbol: symbol, Currency: target, Sources: dst[:len(quotes)]}
	for i, q := range quotes {
		s := Source{Provider: q.Provider, Price: q.Price, Currency: target, OrigPrice: q.Price,
			OrigCurrency: q.Currency, Time: q.Time, Latency: q.Latency}
		if !(q.Price > 0) || math.IsInf(q.Price, 0) {
			s.Error = "no positive price"
		}
		if a.opts.MaxAge > 0 && !q.Time.IsZero() && now.Sub(q.Time) > a.opts.MaxAge {
			s.Stale = true
		}
		if q.Currency != target && s.Error == "" {
			r, err := a.FXRate(ctx, q.Currency, target)
			if err != nil {
				s.Error = "no FX rate " + q.Currency + "→" + target + ": " + err.Error()
			} else {
				s.Price = q.Price * r.Rate
				s.Converted = true
			}
		}
		m.Sources[i] = s
	}
	thr := a.opts.OutlierThreshold
	if thr < 0 {
		thr = 0
	}
	return finishConsensus(m, ConsensusOptions{Now: now, MaxAge: a.opts.MaxAge, OutlierThreshold: thr})
}
