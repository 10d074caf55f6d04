package marketdata

import (
	"context"
	"errors"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// fetch fans out to all providers for syms, merges the answers and caches
// the merged quotes: plan the calls, run them within the deadline, merge
// what arrived.
func (a *Aggregator) fetch(ctx context.Context, syms []string) *fetched {
	fo := newFanOut(syms, len(a.provs))
	jobs := a.planJobs(fo)
	start := time.Now()
	a.runJobs(ctx, fo, jobs)
	stats := fo.seal(len(jobs), time.Since(start), a.opts.Now())
	out := a.mergeAnswers(ctx, fo)
	out.stats = stats
	a.cacheMerged(out)
	return out
}

type slot struct {
	q  Quote
	ok bool
}

// fanOut collects one fetch's answers: a slot per provider and symbol, and
// the providers' errors. mu guards them while the calls run; once sealed
// (all calls returned, or the overall deadline passed) late answers are
// discarded, so fetch never waits for a provider that ignores its context.
type fanOut struct {
	syms    []string
	covered []bool // some provider supports the symbol

	mu     sync.Mutex
	sealed bool
	slots  []slot // provider pi, symbol si at pi*len(syms)+si
	errs   []ProviderError
	calls  int           // upstream calls that ran
	spent  time.Duration // their latencies, summed
}

// called records the latency of one upstream call that ran.
func (f *fanOut) called(lat time.Duration) {
	f.mu.Lock()
	if !f.sealed {
		f.calls++
		f.spent += lat
	}
	f.mu.Unlock()
}

func newFanOut(syms []string, providers int) *fanOut {
	return &fanOut{syms: syms, covered: make([]bool, len(syms)), slots: make([]slot, providers*len(syms))}
}

// fail records a provider's failure (an unsupported symbol is not one).
func (f *fanOut) fail(prov, sym string, err error) {
	if errors.Is(err, ErrUnsupported) {
		return
	}
	f.mu.Lock()
	if !f.sealed {
		f.errs = append(f.errs, ProviderError{Provider: prov, Symbol: sym, Err: err, Message: err.Error()})
	}
	f.mu.Unlock()
}

// put records provider ps's quote for the symbol at slot i.
func (f *fanOut) put(i int, ps *provState, q Quote) {
	q.Provider = ps.name // the Aggregator knows who answered
	f.mu.Lock()
	if !f.sealed {
		f.slots[i] = slot{q: q, ok: true}
	}
	f.mu.Unlock()
}

// seal ends the fan-out: later answers are dropped, and symbols no
// provider covers get an error of their own. It returns the fan-out's
// timings: sources providers asked, wall from the first call to now.
func (f *fanOut) seal(sources int, wall time.Duration, at time.Time) *FetchStats {
	f.mu.Lock()
	f.sealed = true
	stats := &FetchStats{Sources: sources, Calls: f.calls, Wall: wall, Sequential: f.spent, At: at}
	f.mu.Unlock()
	for si, ok := range f.covered {
		if !ok {
			err := &Error{Provider: "aggregator", Symbol: f.syms[si], Kind: ErrUnsupported, Msg: "no configured provider covers this symbol"}
			f.errs = append(f.errs, ProviderError{Provider: "aggregator", Symbol: f.syms[si], Err: err, Message: err.Error()})
		}
	}
	return stats
}

// providerJob is one provider's part of a fetch: the indexes of the
// symbols it supports; its answers go to slots base+si.
type providerJob struct {
	ps   *provState
	base int
	idx  []int
}

// planJobs decides which provider is asked for which symbols: those it
// supports, unless its circuit is open (an error of its own, no call).
func (a *Aggregator) planJobs(fo *fanOut) []providerJob {
	n := len(fo.syms)
	var jobs []providerJob
	for pi, ps := range a.provs {
		var idx []int
		for si, s := range fo.syms {
			if ps.sup == nil || ps.sup.Supports(s) {
				idx = append(idx, si)
				fo.covered[si] = true
			}
		}
		if len(idx) == 0 {
			continue
		}
		if ps.br.open(a.opts.Now()) {
			fo.fail(ps.name, "", &Error{Provider: ps.name, Kind: ErrCircuitOpen, Msg: "skipped during cool-down"})
			continue
		}
		jobs = append(jobs, providerJob{ps: ps, base: pi * n, idx: idx})
	}
	return jobs
}

// callSlots is the fairness of a fan-out: every call holds one of Concurrency
// global slots, and one provider may hold at most Concurrency minus one
// slot per other provider in this fan-out, so a provider that hangs until
// its timeout can never starve the others (with Concurrency 1 the calls
// simply run one after another).
type callSlots struct {
	a      *Aggregator
	ctx    context.Context
	global chan struct{}
	share  int // calls one provider may have in flight
}

// run executes one upstream call in a global slot and records its
// latency in fo.
func (s *callSlots) run(fo *fanOut, ps *provState, sym string, f func(context.Context) error) (time.Duration, error) {
	select {
	case s.global <- struct{}{}:
	case <-s.ctx.Done():
		return 0, &Error{Provider: ps.name, Symbol: sym, Kind: ErrUnavailable, Msg: "not started before the deadline", Err: s.ctx.Err()}
	}
	defer func() { <-s.global }()
	lat, err := s.a.call(s.ctx, ps, sym, f)
	if lat > 0 {
		fo.called(lat)
	}
	return lat, err
}

// runJobs runs every provider's calls at once and returns when they are
// all done or ctx ends, whichever comes first. Stragglers that ignore
// ctx stay owned by the Aggregator (Close waits for them).
func (a *Aggregator) runJobs(ctx context.Context, fo *fanOut, jobs []providerJob) {
	sl := &callSlots{a: a, ctx: ctx, global: make(chan struct{}, a.opts.Concurrency), share: max(1, a.opts.Concurrency-(len(jobs)-1))}
	var g errgroup.Group // one task per provider; each bounds its own calls
	for _, jb := range jobs {
		g.Go(func() error {
			sl.ask(fo, jb)
			return nil
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
		// Some provider ignores cancellation: answer with what arrived.
		a.wg.Add(1) // fetch itself is tracked, so the counter is above zero
		go func() {
			defer a.wg.Done()
			<-done
		}()
	}
}

// ask makes one provider's calls, at most share at a time: batches of
// BatchSize symbols for a BatchProvider, one call per symbol otherwise.
func (s *callSlots) ask(fo *fanOut, jb providerJob) {
	var pg errgroup.Group
	pg.SetLimit(s.share)
	if jb.ps.batch != nil {
		size := s.a.opts.BatchSize
		for lo := 0; lo < len(jb.idx); lo += size {
			chunk := jb.idx[lo:min(lo+size, len(jb.idx))]
			pg.Go(func() error { s.askBatch(fo, jb, chunk); return nil })
		}
	} else {
		for _, si := range jb.idx {
			pg.Go(func() error { s.askOne(fo, jb, si); return nil })
		}
	}
	_ = pg.Wait()
}

// askBatch asks jb's provider for the symbols at chunk in one call; a
// symbol missing from its answer is an error of that symbol.
func (s *callSlots) askBatch(fo *fanOut, jb providerJob, chunk []int) {
	ps := jb.ps
	names := make([]string, len(chunk))
	for i, si := range chunk {
		names[i] = fo.syms[si]
	}
	var got map[string]Quote
	lat, err := s.run(fo, ps, "", func(ctx context.Context) error {
		var err error
		got, err = ps.batch.Quotes(ctx, names)
		return err
	})
	if err != nil {
		fo.fail(ps.name, "", err)
		return
	}
	for _, si := range chunk {
		sym := fo.syms[si]
		q, ok := got[sym]
		if !ok {
			fo.fail(ps.name, sym, &Error{Provider: ps.name, Symbol: sym, Kind: ErrNotFound, Msg: "missing from batch answer"})
			continue
		}
		q.Latency = lat
		fo.put(jb.base+si, ps, q)
	}
}

// askOne asks jb's provider for the symbol at si.
func (s *callSlots) askOne(fo *fanOut, jb providerJob, si int) {
	ps, sym := jb.ps, fo.syms[si]
	var q Quote
	lat, err := s.run(fo, ps, sym, func(ctx context.Context) error {
		var err error
		q, err = ps.p.Quote(ctx, sym)
		return err
	})
	if err != nil {
		fo.fail(ps.name, sym, err)
		return
	}
	q.Latency = lat
	fo.put(jb.base+si, ps, q)
}

// mergeAnswers merges each symbol's quotes (in provider order) into a
// consensus; a symbol nobody answered is left out, one whose answers
// cannot be merged gets a merge error.
func (a *Aggregator) mergeAnswers(ctx context.Context, fo *fanOut) *fetched {
	n := len(fo.syms)
	out := &fetched{merged: make([]Merged, n), ok: make([]bool, n), errors: fo.errs}
	now := a.opts.Now()
	quotes := make([]Quote, 0, len(a.provs))
	// One backing array for every symbol's sources: one allocation, not n.
	sources := make([]Source, 0, n*len(a.provs))
	for si, s := range fo.syms {
		quotes = quotes[:0]
		for pi := range a.provs {
			if sl := &fo.slots[pi*n+si]; sl.ok {
				quotes = append(quotes, sl.q)
			}
		}
		if len(quotes) == 0 {
			continue
		}
		start := len(sources)
		end := start + len(quotes)
		sources = sources[:end]
		m, err := a.merge(ctx, s, quotes, sources[start:end:end], now)
		if err != nil {
			out.errors = append(out.errors, ProviderError{Provider: "merge", Symbol: s, Err: err, Message: err.Error()})
			continue
		}
		m.Fetched = now
		out.merged[si], out.ok[si] = m, true
	}
	return out
}

// cacheMerged keeps a fetch's merged quotes: fresh for CacheTTL, then
// served while a refresh runs for MaxStale more.
func (a *Aggregator) cacheMerged(out *fetched) {
	if a.opts.CacheTTL <= 0 {
		return
	}
	now := a.opts.Now()
	c := cached[Merged]{exp: now.Add(a.opts.CacheTTL), fetch: out.stats}
	if a.opts.MaxStale > 0 {
		c.keep = c.exp.Add(a.opts.MaxStale)
	}
	a.mu.Lock()
	for si, m := range out.merged {
		if out.ok[si] {
			c.v = m
			a.quotes[m.Symbol] = c
		}
	}
	trim(a.quotes, now, a.opts.CacheSize, &a.sweep[0])
	a.mu.Unlock()
}
