package marketdata

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/sync/singleflight"
	"golang.org/x/time/rate"
)

// Supporter is implemented by providers that can tell cheaply, without a
// network call, whether they cover a symbol. The Aggregator asks only
// supporting providers.
type Supporter interface {
	Supports(symbol string) bool
}

// Upstreamer is implemented by providers that can name where their data
// comes from. Sources with the same upstream (two mirrors of one site, one
// client registered under two names) count as one source in the consensus:
// they cannot outvote an independent one. A provider without it is its own
// upstream, named by Name.
type Upstreamer interface {
	Upstream() string
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
	MaxStale         time.Duration // how long past CacheTTL a merged quote or rate is still served, at once, while one background fetch refreshes it; default 1m; negative: a request past CacheTTL waits for the fetch
	CacheSize        int           // most merged quotes (and, apart, rates) kept; default 10000
	MaxAge           time.Duration // quotes older than this (or undated) are stale; default 96h; negative disables
	OutlierThreshold float64       // tolerance within which sources agree (relative); default DefaultTolerance (0.02)

	Limits          map[string]Limit // per provider name
	BreakerFailures int              // consecutive failures that open the circuit; default 3; negative disables
	BreakerCooldown time.Duration    // how long an open circuit skips the provider; default 30s

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

	mu     sync.RWMutex
	quotes map[string]cached[Merged]
	fx     map[string]cached[Merged] // rate consensus by "FROMTO"
	sweep  [2]int                    // len(quotes), len(fx) that trigger the next sweep of expired entries

	sf      singleflight.Group // rate flights
	fmu     sync.Mutex
	flights map[string]*flight // quote fetches in progress, by symbol

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

// cached is a cache entry: fresh until exp, served while a refresh runs
// until keep (quotes; zero: not past exp), with the timings of the fetch
// that made it (quotes).
type cached[T any] struct {
	v     T
	exp   time.Time
	keep  time.Time
	fetch *FetchStats
}

// until is when the entry is of no use any more.
func (c cached[T]) until() time.Time {
	if c.keep.After(c.exp) {
		return c.keep
	}
	return c.exp
}

// provState is the per-provider machinery.
type provState struct {
	name     string
	upstream string
	p        Provider
	batch    BatchProvider
	rp       RateProvider
	hp       HistoryProvider
	sup      Supporter
	limiter  *rate.Limiter
	quota    *quota
	br       breaker
	latency  atomic.Int64 // EWMA of successful call latency, ns
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
	def(&opts.MaxStale, time.Minute)
	def(&opts.MaxAge, 96*time.Hour)
	def(&opts.BreakerCooldown, 30*time.Second)
	if opts.Timeout < 0 || opts.ProviderTimeout < 0 || opts.BreakerCooldown < 0 || opts.Concurrency < 0 || opts.BatchSize < 0 || opts.WatchBuffer < 0 || opts.CacheSize < 0 {
		return nil, errors.New("marketdata: negative option")
	}
	if opts.Concurrency == 0 {
		opts.Concurrency = 16
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 100
	}
	if opts.CacheSize == 0 {
		opts.CacheSize = 10000
	}
	if opts.OutlierThreshold == 0 {
		opts.OutlierThreshold = DefaultTolerance
	}
	if !(opts.OutlierThreshold > 0 && opts.OutlierThreshold < 1) {
		return nil, errors.New("marketdata: outlier threshold (tolerance) must be in (0, 1)")
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
		quotes: map[string]cached[Merged]{}, fx: map[string]cached[Merged]{}, flights: map[string]*flight{}}
	state := func(name string) (*provState, error) {
		if name == "" {
			return nil, errors.New("marketdata: provider with empty name")
		}
		if ps := a.byName[name]; ps != nil {
			return ps, nil
		}
		ps := &provState{name: name, upstream: name, br: breaker{threshold: opts.BreakerFailures, cooldown: opts.BreakerCooldown}}
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
		setUpstream(ps, p)
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
		setUpstream(ps, x)
		out = append(out, ps)
	}
	return out, nil
}

// setUpstream records the upstream a provider names, if it names one.
func setUpstream(ps *provState, p any) {
	if u, ok := p.(Upstreamer); ok && u.Upstream() != "" {
		ps.upstream = u.Upstream()
	}
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
	Elapsed time.Duration   `json:"elapsed"` // this request's own time (short when the cache answered)
	// Fetch are the timings of the upstream fan-outs that produced these
	// quotes (now, or earlier for cached ones): see FetchStats.
	Fetch FetchStats `json:"fetch"`
}

// FetchStats are the Aggregator's own timings of its upstream fan-out, the
// figures that show what asking every provider at once buys: Wall is the
// time from the first call to the last answer, Sequential the sum of every
// call's latency, what asking them one after another would have taken.
// For a Result answered by several fan-outs (cached symbols from earlier
// ones), Wall is the longest, Sources the most providers one asked, and
// Calls and Sequential add up.
type FetchStats struct {
	Sources    int           `json:"sources"`    // providers asked
	Calls      int           `json:"calls"`      // upstream calls made
	Wall       time.Duration `json:"wall"`       // parallel: first call to last answer
	Sequential time.Duration `json:"sequential"` // sum of the calls' latencies
	At         time.Time     `json:"at"`         // when the (latest) fan-out finished
}

// Summary implements portfolio.Reportable: "fetched from 3 sources in
// 131 ms; one after another would take 402 ms".
func (f FetchStats) Summary() string {
	if f.Calls == 0 {
		return fmt.Sprintf("no upstream call answered (%d sources asked)", f.Sources)
	}
	src := "sources"
	if f.Sources == 1 {
		src = "source"
	}
	return fmt.Sprintf("fetched from %d %s in %d ms; one after another would take %d ms",
		f.Sources, src, f.Wall.Round(time.Millisecond).Milliseconds(), f.Sequential.Round(time.Millisecond).Milliseconds())
}

// add merges the stats of another fan-out behind the same Result.
func (f *FetchStats) add(o *FetchStats) {
	if o == nil {
		return
	}
	f.Sources = max(f.Sources, o.Sources)
	f.Calls += o.Calls
	f.Wall = max(f.Wall, o.Wall)
	f.Sequential += o.Sequential
	if o.At.After(f.At) {
		f.At = o.At
	}
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
	// Duplicates are found by scanning what is kept up to 64 symbols (at
	// most 2,016 short comparisons, cheaper than allocating a map on every
	// call), with a map beyond.
	var seen map[string]struct{}
	if len(symbols) > 64 {
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
// A low-confidence consensus is returned with a nil error: check
// Merged.Confidence, or use Price, which refuses it.
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

// cachedQuote is the allocation-free fast path: a fresh cached quote.
func (a *Aggregator) cachedQuote(symbol string) (Merged, bool) {
	m, state, _ := a.lookup(symbol, a.opts.Now())
	return m, state == cacheFresh
}

// Cache states of a symbol.
const (
	cacheMiss  = iota // nothing usable: fetch and wait
	cacheFresh        // younger than CacheTTL
	cacheStale        // older, within MaxStale: serve it and refresh behind
)

// lookup returns symbol's cached consensus, its state at now, and the
// timings of the fetch that made it. The quote carries its age.
func (a *Aggregator) lookup(symbol string, now time.Time) (Merged, int, *FetchStats) {
	if a.opts.CacheTTL < 0 {
		return Merged{}, cacheMiss, nil
	}
	a.mu.RLock()
	c, ok := a.quotes[symbol]
	a.mu.RUnlock()
	state := cacheMiss
	switch {
	case !ok:
	case now.Before(c.exp):
		state = cacheFresh
	case now.Before(c.keep):
		state = cacheStale
	}
	if state == cacheMiss {
		return Merged{}, cacheMiss, nil
	}
	c.v.Cached = true
	c.v.Age = max(0, now.Sub(c.v.Fetched))
	c.v.Revalidating = state == cacheStale
	return c.v, state, c.fetch
}

// Price implements portfolio.PriceSource: the consensus price and currency,
// rounded to SignificantDigits (ToDecimal).
// When the consensus is not trusted (sources disagree without a majority,
// or only stale or undated quotes exist) it fails with a
// *LowConfidenceError wrapping ErrLowConfidence; BestGuess accepts such
// prices.
func (a *Aggregator) Price(ctx context.Context, symbol string) (decimal.Decimal, string, error) {
	return a.price(ctx, symbol, false)
}

func (a *Aggregator) price(ctx context.Context, symbol string, guess bool) (decimal.Decimal, string, error) {
	m, err := a.Quote(ctx, symbol)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	if err := m.trusted(); err != nil && !guess {
		return decimal.Decimal{}, "", err
	}
	d, err := toDecimal(m.Symbol, m.Price, validatorFor(m.Symbol))
	return d, m.Currency, err
}

// BestGuess is a price and rate source over an Aggregator that accepts
// low-confidence answers: for a caller that prefers the best guess to no
// number (a display, never a valuation it cannot check).
type BestGuess struct{ a *Aggregator }

// BestGuess returns a's best-guess view.
func (a *Aggregator) BestGuess() BestGuess { return BestGuess{a} }

// Price is Aggregator.Price without ErrLowConfidence.
func (b BestGuess) Price(ctx context.Context, symbol string) (decimal.Decimal, string, error) {
	return b.a.price(ctx, symbol, true)
}

// Rate is Aggregator.Rate without ErrLowConfidence.
func (b BestGuess) Rate(ctx context.Context, from, to string) (decimal.Decimal, error) {
	return b.a.rate(ctx, from, to, true)
}

// Quotes asks every provider for every symbol at once and merges the
// answers. It returns an error only for bad input or a closed Aggregator;
// provider failures are reported in Result.Errors and symbols nobody priced
// in Result.Missing. A symbol being fetched for a concurrent request is not
// fetched again (whatever the other symbols of either request), and fresh
// cached symbols are not fetched at all.
func (a *Aggregator) Quotes(ctx context.Context, symbols []string) (*Result, error) {
	if a.closed.Load() {
		return nil, ErrClosed
	}
	start := time.Now()
	syms, err := normalize(symbols)
	if err != nil {
		return nil, err
	}
	res := &Result{}
	found := make([]Merged, len(syms)) // by symbol; compacted into res.Quotes
	ok := make([]bool, len(syms))
	var misses, stale []string
	var missIdx []int
	var seen []*FetchStats
	now := a.opts.Now()
	for i, s := range syms {
		m, state, fs := a.lookup(s, now)
		switch state {
		case cacheMiss:
			misses = append(misses, s)
			missIdx = append(missIdx, i)
			continue
		case cacheStale:
			stale = append(stale, s)
		}
		found[i], ok[i] = m, true
		if !slices.Contains(seen, fs) {
			seen = append(seen, fs)
			res.Fetch.add(fs)
		}
	}
	if len(stale) > 0 {
		// Stale while revalidate: the stale quotes answer now, and one
		// background fetch (or the one already running) refreshes them.
		a.join(stale)
	}
	if len(misses) > 0 {
		flights := a.join(misses)
		for _, f := range flights {
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, fmt.Errorf("marketdata: quotes: %w", ctx.Err())
			}
		}
		for j, i := range missIdx {
			for _, f := range flights {
				if m, hit := f.get(misses[j]); hit {
					found[i], ok[i] = m, true
					break
				}
			}
		}
		for _, f := range flights {
			for _, e := range f.out.errors {
				if e.Symbol == "" || slices.Contains(misses, e.Symbol) {
					res.Errors = append(res.Errors, e)
				}
			}
			if fs := f.out.stats; fs != nil && !slices.Contains(seen, fs) {
				seen = append(seen, fs)
				res.Fetch.add(fs)
			}
		}
	}
	n := 0
	for i, s := range syms {
		if ok[i] {
			found[n] = found[i]
			n++
		} else {
			res.Missing = append(res.Missing, s)
		}
	}
	clear(found[n:])
	res.Quotes = found[:n]
	res.Elapsed = time.Since(start)
	return res, nil
}

// flight is one upstream fan-out for a set of symbols; out is valid once
// done is closed.
type flight struct {
	syms []string
	done chan struct{}
	out  *fetched
}

// get returns the merged quote of sym from a finished flight.
func (f *flight) get(sym string) (Merged, bool) {
	for i, s := range f.syms {
		if s == sym && i < len(f.out.ok) && f.out.ok[i] {
			return f.out.merged[i], true
		}
	}
	return Merged{}, false
}

// join returns the flights that will answer syms: the ones already fetching
// some of them, and one new flight for the rest (symbols that came into the
// cache meanwhile are served from it). A flight fills the cache before it
// leaves the table, so a symbol is always either in flight or cached.
func (a *Aggregator) join(syms []string) []*flight {
	a.fmu.Lock()
	defer a.fmu.Unlock()
	var out []*flight
	var mine, names []string
	cached := &fetched{}
	now := a.opts.Now()
	for _, s := range syms {
		if f := a.flights[s]; f != nil {
			if !slices.Contains(out, f) {
				out = append(out, f)
			}
			continue
		}
		if m, state, fs := a.lookup(s, now); state == cacheFresh {
			cached.merged, cached.ok = append(cached.merged, m), append(cached.ok, true)
			cached.stats = fs
			names = append(names, s)
			continue
		}
		mine = append(mine, s)
	}
	if len(cached.ok) > 0 {
		done := make(chan struct{})
		close(done)
		out = append(out, &flight{syms: names, done: done, out: cached})
	}
	if len(mine) == 0 {
		return out
	}
	f := &flight{syms: mine, done: make(chan struct{}), out: &fetched{}}
	out = append(out, f)
	if !a.track() {
		close(f.done)
		return out
	}
	for _, s := range mine {
		a.flights[s] = f
	}
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(a.ctx, a.opts.Timeout)
		defer cancel()
		f.out = a.fetch(ctx, mine) // fills the cache
		a.fmu.Lock()
		for _, s := range mine {
			if a.flights[s] == f {
				delete(a.flights, s)
			}
		}
		a.fmu.Unlock()
		close(f.done)
	}()
	return out
}

// fetched is the shared (read-only) outcome of one upstream fan-out.
type fetched struct {
	merged []Merged // aligned with the fetched symbols
	ok     []bool
	errors []ProviderError
	stats  *FetchStats // nil for answers from the cache
}

// minSweep is the cache size below which expired entries are left to be
// overwritten rather than swept.
const minSweep = 1024

// trim bounds a cache: expired entries are swept once it has doubled since
// the last sweep (amortized O(1) per insert), and when it is over size
// arbitrary entries go until it holds 90 % of size, so a stream of ever-new
// symbols (users typing tickers) can neither grow it past size nor make
// every insert sweep. The caller holds a.mu.
func trim[T any](m map[string]cached[T], now time.Time, size int, sweepAt *int) {
	if len(m) <= max(*sweepAt, minSweep) && len(m) <= size {
		return
	}
	for k, c := range m {
		if !now.Before(c.until()) {
			delete(m, k)
		}
	}
	*sweepAt = 2 * len(m)
	for k := range m {
		if len(m) <= size*9/10 {
			break
		}
		delete(m, k)
	}
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

// consensusOptions are the Aggregator's options for Consensus at now.
func (a *Aggregator) consensusOptions(now time.Time) ConsensusOptions {
	return ConsensusOptions{Now: now, MaxAge: max(a.opts.MaxAge, 0), OutlierThreshold: a.opts.OutlierThreshold}
}

// upstreamOf returns the upstream of the named provider.
func (a *Aggregator) upstreamOf(provider string) string {
	if ps := a.byName[provider]; ps != nil {
		return ps.upstream
	}
	return provider
}

// merge assesses the quotes, converts them to one currency and computes
// the consensus. A currency pair or crypto symbol is priced in its quote
// currency, and a quote in any other currency is dropped (not converted);
// a share is priced in the currency most independent fresh sources quote,
// and the others are converted through a trusted FX consensus.
// dst has room for len(quotes) sources.
func (a *Aggregator) merge(ctx context.Context, symbol string, quotes []Quote, dst []Source, now time.Time) (Merged, error) {
	sym, err := ParseSymbol(symbol)
	if err != nil {
		return Merged{}, err
	}
	o := a.consensusOptions(now)
	valid := validatorOf(sym.Kind)
	win := windowAt(now)
	m := Merged{Symbol: symbol, Sources: dst[:len(quotes)]}
	for i, q := range quotes {
		s := assess(q, valid, o, win)
		s.Upstream = a.upstreamOf(q.Provider)
		if s.Error == "" && !IsCurrency(q.Currency) {
			s.Error, s.Price, s.OrigPrice = fmt.Sprintf("currency %q", q.Currency), 0, 0
		}
		m.Sources[i] = s
	}
	m.Currency = sym.Quote
	if sym.Kind == KindStock {
		m.Currency = majorityCurrency(m.Sources)
	}
	for i := range m.Sources {
		a.convert(ctx, &m.Sources[i], m.Currency, sym.Kind)
	}
	return finishConsensus(m, o)
}

// majorityCurrency returns the currency quoted by most independent usable
// sources (fresh ones if any); a tie goes to the first in provider order.
// A mislabelled currency cannot win by it: converted, its price disagrees
// with the others and the consensus says so.
func majorityCurrency(src []Source) string {
	inTier, _ := pickTier(src)
	if inTier == nil {
		return src[0].OrigCurrency
	}
	cur, mixed := "", false
	for i := range src {
		if s := &src[i]; inTier(s) {
			if cur == "" {
				cur = s.OrigCurrency
			}
			mixed = mixed || s.OrigCurrency != cur
		}
	}
	if !mixed {
		return cur
	}
	// A handful of sources: count by scanning, no maps.
	best := 0
	for i := range src {
		s := &src[i]
		if !inTier(s) || firstOfUpstream(src, i, inTier) != i {
			continue
		}
		n := 0
		for j := range src {
			if t := &src[j]; inTier(t) && t.OrigCurrency == s.OrigCurrency && firstOfUpstream(src, j, inTier) == j {
				n++
			}
		}
		if n > best {
			best, cur = n, s.OrigCurrency
		}
	}
	return cur
}

// firstOfUpstream returns the index of the first counted source with the
// upstream of src[i].
func firstOfUpstream(src []Source, i int, inTier func(*Source) bool) int {
	up := upstreamOf(&src[i])
	for j := range i {
		if inTier(&src[j]) && upstreamOf(&src[j]) == up {
			return j
		}
	}
	return i
}

// convert brings one source into currency target, or sets its Error.
func (a *Aggregator) convert(ctx context.Context, s *Source, target string, kind Kind) {
	s.Currency = target
	if s.Error != "" || s.OrigCurrency == target {
		return
	}
	fail := func(msg string) { s.Error, s.Price = msg, 0 }
	if kind != KindStock {
		fail(fmt.Sprintf("quoted in %s, the symbol is priced in %s", s.OrigCurrency, target))
		return
	}
	r, err := a.FXRate(ctx, s.OrigCurrency, target)
	switch {
	case err != nil:
		fail("no FX rate " + s.OrigCurrency + "→" + target + ": " + err.Error())
	case !r.Confidence.Trusted():
		fail("FX rate " + s.OrigCurrency + "→" + target + " not trusted (low confidence)")
	default:
		p := s.OrigPrice * r.Rate
		if !ValidPrice(p) {
			fail(fmt.Sprintf("converted price %g outside the plausible range", p))
			return
		}
		s.Price, s.Converted = p, true
	}
}
