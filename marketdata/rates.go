package marketdata

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/shopspring/decimal"
	"golang.org/x/sync/singleflight"
)

// Rate implements portfolio.RateSource: how many units of to one unit of
// from buys, from the consensus of the rate providers, rounded to
// SignificantDigits (ToDecimal). When that consensus
// is not trusted it fails with a *LowConfidenceError wrapping
// ErrLowConfidence; BestGuess accepts such rates.
func (a *Aggregator) Rate(ctx context.Context, from, to string) (decimal.Decimal, error) {
	return a.rate(ctx, from, to, false)
}

func (a *Aggregator) rate(ctx context.Context, from, to string, guess bool) (decimal.Decimal, error) {
	m, err := a.FXQuote(ctx, from, to)
	if err != nil {
		return decimal.Decimal{}, err
	}
	if err := m.trusted(); err != nil && !guess {
		return decimal.Decimal{}, err
	}
	return toDecimal(m.Symbol, m.Price, ValidRate)
}

// FXRate returns the consensus rate from → to (see FXQuote) as a Rate whose
// Provider names the agreeing providers and whose Confidence says how far
// it can be trusted; a low-confidence rate comes with a nil error.
func (a *Aggregator) FXRate(ctx context.Context, from, to string) (Rate, error) {
	m, err := a.FXQuote(ctx, from, to)
	if err != nil {
		return Rate{}, err
	}
	return rateOf(from, to, m), nil
}

// rateOf turns a pair consensus into a Rate.
func rateOf(from, to string, m Merged) Rate {
	r := Rate{From: from, To: to, Rate: m.Price, Time: m.Time, Confidence: m.Confidence}
	var names []string
	for _, s := range m.Sources {
		if s.Used && !s.Outlier {
			names = append(names, s.Provider)
			r.Latency = max(r.Latency, s.Latency)
		}
	}
	r.Provider = strings.Join(names, "+")
	return r
}

// FXQuote returns the consensus of the rate providers on from → to, as a
// Merged for the pair symbol FROMTO=X, under the same trust model as quotes.
// Every rate provider is asked at once; the answer is settled as soon as a
// strict majority of all the upstreams asked agree (the rest can no longer
// change the verdict), else when every provider answered or the deadline
// passed. Answers are cached as quotes are: fresh for CacheTTL, then for
// MaxStale more served at once while one background fetch refreshes them
// (stale while revalidate: a refresh never holds a request). Identical
// concurrent fetches are shared.
func (a *Aggregator) FXQuote(ctx context.Context, from, to string) (Merged, error) {
	if a.closed.Load() {
		return Merged{}, ErrClosed
	}
	if !IsCurrency(from) || !IsCurrency(to) {
		return Merged{}, fmt.Errorf("%w: currency pair %q/%q", ErrInvalidSymbol, from, to)
	}
	now := a.opts.Now()
	sym := FXSymbol(from, to)
	if from == to {
		return Merged{Symbol: sym, Price: 1, Currency: to, Time: now, Confidence: ConfidenceHigh, Agreeing: 1, Independent: 1,
			Sources: []Source{{Provider: "identity", Price: 1, Currency: to, OrigPrice: 1, OrigCurrency: to, Time: now, Used: true}}}, nil
	}
	key := from + to
	switch m, state := a.cachedRate(key, now); state {
	case cacheFresh:
		return m, nil
	case cacheStale:
		a.rateFlight(from, to) // refreshes behind; its answer is for the next request
		return m, nil
	}
	if len(a.rates) == 0 {
		return Merged{}, fmt.Errorf("%w: no rate providers for %s/%s", ErrNoQuote, from, to)
	}
	select {
	case res := <-a.rateFlight(from, to):
		if res.Err != nil {
			return Merged{}, res.Err
		}
		return res.Val.(Merged), nil
	case <-ctx.Done():
		return Merged{}, fmt.Errorf("marketdata: rate %s/%s: %w", from, to, ctx.Err())
	}
}

// rateFlight starts the fetch of from → to, or joins the one running, and
// returns the channel its answer comes on (buffered: nobody needs to read
// it). The fetch runs under the Aggregator's context, not a request's, and
// fills the cache.
func (a *Aggregator) rateFlight(from, to string) <-chan singleflight.Result {
	key := from + to
	return a.sf.DoChan("fx:"+key, func() (any, error) {
		if !a.track() {
			return Merged{}, ErrClosed
		}
		defer a.wg.Done()
		if m, state := a.cachedRate(key, a.opts.Now()); state == cacheFresh { // filled by a flight that ended after our lookup?
			return m, nil
		}
		ctx, cancel := context.WithTimeout(a.ctx, a.opts.Timeout)
		defer cancel()
		m, err := a.rateConsensus(ctx, from, to)
		if err == nil && a.opts.CacheTTL > 0 {
			now := a.opts.Now()
			m.Fetched = now
			c := cached[Merged]{v: m, exp: now.Add(a.opts.CacheTTL)}
			if a.opts.MaxStale > 0 {
				c.keep = c.exp.Add(a.opts.MaxStale)
			}
			a.mu.Lock()
			a.fx[key] = c
			trim(a.fx, now, a.opts.CacheSize, &a.sweep[1])
			a.mu.Unlock()
		}
		return m, err
	})
}

// cachedRate returns the cached consensus on key and its state at now
// (cacheFresh, cacheStale or cacheMiss, as lookup's); it carries its age.
func (a *Aggregator) cachedRate(key string, now time.Time) (Merged, int) {
	if a.opts.CacheTTL <= 0 {
		return Merged{}, cacheMiss
	}
	a.mu.RLock()
	c, ok := a.fx[key]
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
		return Merged{}, cacheMiss
	}
	c.v.Cached = true
	c.v.Age = max(0, now.Sub(c.v.Fetched))
	c.v.Revalidating = state == cacheStale
	return c.v, state
}

// rateConsensus asks every rate provider for from → to at once and merges
// the answers.
func (a *Aggregator) rateConsensus(ctx context.Context, from, to string) (Merged, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // calls off the providers still running once settled
	pair := from + "/" + to
	type answer struct {
		i   int
		r   Rate
		err error
	}
	ch := make(chan answer, len(a.rates)) // buffered: late answers never block
	var errs []error
	ups := map[string]bool{}
	launched := 0
	for i, ps := range a.rates {
		if ps.br.open(a.opts.Now()) {
			errs = append(errs, &Error{Provider: ps.name, Symbol: pair, Kind: ErrCircuitOpen})
			continue
		}
		if !a.track() {
			errs = append(errs, ErrClosed)
			break
		}
		launched++
		ups[ps.upstream] = true
		go func() {
			defer a.wg.Done()
			var r Rate
			lat, err := a.call(ctx, ps, pair, func(ctx context.Context) error {
				var err error
				r, err = ps.rp.Rate(ctx, from, to)
				return err
			})
			if err == nil && r.From != "" && (r.From != from || r.To != to) {
				err = &Error{Provider: ps.name, Symbol: pair, Kind: ErrBadResponse, Msg: "answered for " + r.From + "/" + r.To}
			}
			r.Latency = lat
			ch <- answer{i, r, err}
		}()
	}
	got := make([]*Rate, len(a.rates))
	answered := 0
wait:
	for pending := launched; pending > 0; pending-- {
		select {
		case ans := <-ch:
			if ans.err != nil {
				errs = append(errs, ans.err)
				continue
			}
			got[ans.i] = &ans.r
			answered++
			if m, err := a.mergeRates(from, to, got); err == nil && m.Confidence.Trusted() && !m.Stale && 2*m.Agreeing > len(ups) {
				return m, nil
			}
		case <-ctx.Done():
			errs = append(errs, ctx.Err())
			break wait
		}
	}
	if answered > 0 {
		m, err := a.mergeRates(from, to, got)
		if err == nil {
			return m, nil
		}
		errs = append(errs, err)
	}
	return Merged{}, errors.Join(append([]error{fmt.Errorf("%w: rate %s", ErrNoQuote, pair)}, errs...)...)
}

// mergeRates computes the consensus of the rates received so far, in
// provider order.
func (a *Aggregator) mergeRates(from, to string, got []*Rate) (Merged, error) {
	m := Merged{Symbol: FXSymbol(from, to), Currency: to}
	o := a.consensusOptions(a.opts.Now())
	win := windowAt(o.Now)
	for i, r := range got {
		if r == nil {
			continue
		}
		ps := a.rates[i]
		s := assess(Quote{Symbol: m.Symbol, Price: r.Rate, Currency: to, Time: r.Time, Provider: ps.name, Latency: r.Latency}, ValidRate, o, win)
		s.Upstream = ps.upstream
		m.Sources = append(m.Sources, s)
	}
	return finishConsensus(m, o)
}
