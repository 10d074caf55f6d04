package marketdata_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/portfolio"
)

// Compile-time checks of the contracts other packages rely on.
var (
	_ portfolio.PriceSource = (*marketdata.Aggregator)(nil)
	_ portfolio.RateSource  = (*marketdata.Aggregator)(nil)
	_ portfolio.Reportable  = marketdata.Quote{}
	_ portfolio.Reportable  = marketdata.Rate{}
	_ portfolio.Reportable  = marketdata.Merged{}
	_ portfolio.Reportable  = marketdata.FetchStats{}
	_ portfolio.Reportable  = (*marketdata.Result)(nil)

	_ marketdata.BatchProvider   = (*sim.Provider)(nil)
	_ marketdata.RateProvider    = (*sim.Provider)(nil)
	_ marketdata.HistoryProvider = (*sim.Provider)(nil)
)

var t0 = time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)

func fixedClock() func() time.Time { return func() time.Time { return t0 } }

func newSim(t testing.TB, o sim.Options) *sim.Provider {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedClock()
	}
	p, err := sim.New(o)
	require.NoError(t, err)
	return p
}

func newAgg(t testing.TB, o marketdata.Options) *marketdata.Aggregator {
	t.Helper()
	if o.Now == nil {
		o.Now = fixedClock()
	}
	a, err := marketdata.New(o)
	require.NoError(t, err)
	t.Cleanup(func() { _ = a.Close() })
	return a
}

func TestAggregatorConsensusFromSims(t *testing.T) {
	provs := []marketdata.Provider{
		newSim(t, sim.Options{Name: "a", Seed: 7, Noise: 0.001}),
		newSim(t, sim.Options{Name: "b", Seed: 7, Noise: 0.001}),
		newSim(t, sim.Options{Name: "c", Seed: 7, Noise: 0.001}),
		newSim(t, sim.Options{Name: "bad", Seed: 7, Bias: 0.10}),
	}
	a := newAgg(t, marketdata.Options{Providers: provs})
	res, err := a.Quotes(context.Background(), []string{"aapl", "EQNR.OL", "BTC-USD", "EURUSD=X", "NOPE"})
	require.NoError(t, err)
	assert.Equal(t, []string{"NOPE"}, res.Missing)
	require.Len(t, res.Quotes, 4)
	for _, m := range res.Quotes {
		require.Len(t, m.Sources, 4, m.Symbol)
		assert.Equal(t, 1, m.Outliers, m.Symbol)
		for _, s := range m.Sources {
			assert.Equal(t, s.Provider == "bad", s.Outlier, "%s %s", m.Symbol, s.Provider)
			assert.True(t, s.Used)
		}
		assert.InDelta(t, 10, m.SpreadPct, 1, m.Symbol+": the spread covers the outlier too")
		assert.Equal(t, marketdata.ConfidenceMajority, m.Confidence, m.Symbol)
		assert.Greater(t, m.Price, 0.0)
		assert.False(t, m.Stale)
	}
	eqnr, ok := res.Get("EQNR.OL")
	require.True(t, ok)
	assert.Equal(t, "NOK", eqnr.Currency)
	// "NOPE" is unknown to every provider: one not-found error each.
	n := 0
	for _, e := range res.Errors {
		if e.Symbol == "NOPE" {
			n++
			assert.ErrorIs(t, e.Err, marketdata.ErrNotFound)
		}
	}
	assert.Equal(t, 4, n)

	// Deterministic for a seed: a second aggregator over fresh providers agrees.
	b := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{newSim(t, sim.Options{Name: "a", Seed: 7, Noise: 0.001})}})
	m1, err := b.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	aapl, _ := res.Get("AAPL")
	assert.Equal(t, aapl.Sources[0].Price, m1.Price)
}

func TestAggregatorPartialResultsSlowAndBroken(t *testing.T) {
	fast := newSim(t, sim.Options{Name: "fast", Seed: 1})
	slow := newSim(t, sim.Options{Name: "slow", Seed: 1, Latency: 2 * time.Second})
	broken := newSim(t, sim.Options{Name: "broken", Seed: 1, ErrorRate: 1})
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{fast, slow, broken},
		ProviderTimeout: 100 * time.Millisecond, Timeout: time.Second})
	start := time.Now()
	res, err := a.Quotes(context.Background(), []string{"MSFT", "BTC-USD"})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), time.Second, "slow provider must not block")
	require.Len(t, res.Quotes, 2)
	for _, m := range res.Quotes {
		require.Len(t, m.Sources, 1)
		assert.Equal(t, "fast", m.Sources[0].Provider)
	}
	got := map[string]error{}
	for _, e := range res.Errors {
		got[e.Provider] = e.Err
	}
	assert.ErrorIs(t, got["slow"], marketdata.ErrUnavailable)
	assert.ErrorIs(t, got["slow"], context.DeadlineExceeded)
	assert.ErrorIs(t, got["broken"], marketdata.ErrUnavailable)
	assert.Contains(t, res.Summary(), "2 quotes")
}

func TestAggregatorPriceAndRateContracts(t *testing.T) {
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{newSim(t, sim.Options{Seed: 3})}})
	var ps portfolio.PriceSource = a
	price, cur, err := ps.Price(context.Background(), "SAP.DE")
	require.NoError(t, err)
	assert.Equal(t, "EUR", cur)
	assert.True(t, price.IsPositive())

	var rs portfolio.RateSource = a
	r, err := rs.Rate(context.Background(), "EUR", "NOK")
	require.NoError(t, err)
	f, _ := r.Float64()
	assert.InDelta(t, 11.7, f, 2.5)
	one, err := rs.Rate(context.Background(), "USD", "USD")
	require.NoError(t, err)
	assert.Equal(t, "1", one.String())

	_, _, err = ps.Price(context.Background(), "NOSUCH")
	assert.ErrorIs(t, err, marketdata.ErrNoQuote)
	assert.ErrorIs(t, err, marketdata.ErrNotFound)
	_, _, err = ps.Price(context.Background(), "bad symbol!")
	assert.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
	_, err = rs.Rate(context.Background(), "EURO", "NOK")
	assert.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
	_, err = rs.Rate(context.Background(), "EUR", "XXX")
	assert.ErrorIs(t, err, marketdata.ErrNoQuote)
}

// countingProvider counts upstream calls and can block until released.
type countingProvider struct {
	name    string
	calls   atomic.Int64
	release chan struct{}
	err     error
	price   float64
	cur     string
	at      time.Time
	undated bool          // answer without a market time
	delay   time.Duration // answer after this long (slow but healthy)
}

func (c *countingProvider) Name() string { return c.name }
func (c *countingProvider) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	c.calls.Add(1)
	if err := ctx.Err(); err != nil { // like a real client: no request on a dead context
		return marketdata.Quote{}, err
	}
	if c.delay > 0 {
		select {
		case <-time.After(c.delay):
		case <-ctx.Done():
			return marketdata.Quote{}, ctx.Err()
		}
	}
	if c.release != nil {
		select {
		case <-c.release:
		case <-ctx.Done():
			return marketdata.Quote{}, ctx.Err()
		}
	}
	if c.err != nil {
		return marketdata.Quote{}, c.err
	}
	cur := c.cur
	if cur == "" {
		cur = "USD"
	}
	at := c.at
	if at.IsZero() && !c.undated {
		at = t0
	}
	return marketdata.Quote{Symbol: symbol, Price: c.price, Currency: cur, Time: at, Provider: c.name}, nil
}

func TestAggregatorCacheAndSingleflight(t *testing.T) {
	synctest.Test(t, testAggregatorCacheAndSingleflight)
}

func testAggregatorCacheAndSingleflight(t *testing.T) {
	p := &countingProvider{name: "count", price: 10, release: make(chan struct{})}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: time.Minute})
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			m, err := a.Quote(context.Background(), "AAPL")
			assert.NoError(t, err)
			assert.Equal(t, 10.0, m.Price)
		}()
	}
	synctest.Wait() // all 20 are waiting on the one in-flight call
	close(p.release)
	wg.Wait()
	assert.Equal(t, int64(1), p.calls.Load(), "singleflight: one upstream call")
	m, err := a.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.True(t, m.Cached)
	assert.Equal(t, int64(1), p.calls.Load(), "cache hit")
}

func TestAggregatorCircuitBreaker(t *testing.T) {
	now := t0
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	bad := &countingProvider{name: "bad", err: marketdata.NewError("bad", "", marketdata.ErrUnavailable, "HTTP 503")}
	good := &countingProvider{name: "good", price: 5}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{bad, good}, CacheTTL: -1,
		BreakerFailures: 2, BreakerCooldown: time.Minute, Now: clock})
	ctx := context.Background()
	for range 2 {
		_, err := a.Quote(ctx, "X")
		require.NoError(t, err)
	}
	assert.Equal(t, int64(2), bad.calls.Load())
	res, err := a.Quotes(ctx, []string{"X"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), bad.calls.Load(), "open circuit skips the provider")
	require.NotEmpty(t, res.Errors)
	assert.ErrorIs(t, res.Errors[0].Err, marketdata.ErrCircuitOpen)

	mu.Lock()
	now = now.Add(2 * time.Minute) // cool-down over: one trial
	mu.Unlock()
	bad.err = nil
	bad.price = 5
	m, err := a.Quote(ctx, "X")
	require.NoError(t, err)
	assert.Len(t, m.Sources, 2)
	assert.Equal(t, int64(3), bad.calls.Load())
}

func TestAggregatorRateLimitAndQuota(t *testing.T) {
	p := &countingProvider{name: "capped", price: 1}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1,
		Limits: map[string]marketdata.Limit{"capped": {PerDay: 2}}})
	ctx := context.Background()
	for range 2 {
		_, err := a.Quote(ctx, "X")
		require.NoError(t, err)
	}
	_, err := a.Quote(ctx, "X")
	require.ErrorIs(t, err, marketdata.ErrRateLimited)
	assert.Greater(t, marketdata.RetryAfter(err), time.Duration(0))
	assert.Equal(t, int64(2), p.calls.Load())

	// Token bucket: 1 call per hour, burst 1 — the second call cannot get a
	// token before the provider timeout.
	q := &countingProvider{name: "slowbucket", price: 1}
	b := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{q}, CacheTTL: -1, ProviderTimeout: 50 * time.Millisecond,
		Limits: map[string]marketdata.Limit{"slowbucket": {PerSecond: 1.0 / 3600, Burst: 1}}})
	_, err = b.Quote(ctx, "X")
	require.NoError(t, err)
	_, err = b.Quote(ctx, "X")
	require.ErrorIs(t, err, marketdata.ErrRateLimited)
	assert.Equal(t, int64(1), q.calls.Load())
}

func TestAggregatorCurrencyNormalizationAndStale(t *testing.T) {
	usd1 := &countingProvider{name: "u1", price: 100}
	usd2 := &countingProvider{name: "u2", price: 101}
	eur := &countingProvider{name: "e", price: 92, cur: "EUR"}
	old := &countingProvider{name: "old", price: 50, at: t0.Add(-200 * time.Hour)}
	fx := newSim(t, sim.Options{Name: "fx", Seed: 1})
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{usd1, usd2, eur, old},
		RateProviders: []marketdata.RateProvider{fx}})
	m, err := a.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.Equal(t, "USD", m.Currency)
	require.Len(t, m.Sources, 4)
	e := m.Sources[2]
	assert.True(t, e.Converted)
	assert.Equal(t, "EUR", e.OrigCurrency)
	assert.Equal(t, 92.0, e.OrigPrice)
	assert.InDelta(t, 92*1.035, e.Price, 8)
	assert.True(t, m.Sources[3].Stale)
	assert.False(t, m.Sources[3].Used)
	assert.False(t, m.Stale)
}

func TestAggregatorAllStale(t *testing.T) {
	old := &countingProvider{name: "old", price: 50, at: t0.Add(-200 * time.Hour)}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{old}})
	m, err := a.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.True(t, m.Stale)
	assert.Equal(t, 50.0, m.Price)
	assert.Contains(t, m.Summary(), "stale")
}

// FX is a consensus, not the first answer: a fast liar cannot beat slower
// honest providers, and alone against one honest provider it makes the rate
// untrusted instead of winning.
func TestAggregatorRateConsensus(t *testing.T) {
	liar := newSim(t, sim.Options{Name: "liar", Seed: 2, Bias: 99}) // 100× the rate, instantly
	slow := newSim(t, sim.Options{Name: "slow", Seed: 2, Latency: 100 * time.Millisecond})
	slow2 := newSim(t, sim.Options{Name: "slow2", Seed: 2, Latency: 120 * time.Millisecond})
	honest := newSim(t, sim.Options{Name: "honest", Seed: 2})
	a := newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{liar, slow, slow2}})
	want, err := honest.Rate(context.Background(), "EUR", "USD")
	require.NoError(t, err)
	r, err := a.FXRate(context.Background(), "EUR", "USD")
	require.NoError(t, err)
	assert.InDelta(t, want.Rate, r.Rate, 1e-9)
	assert.Equal(t, "slow+slow2", r.Provider)
	assert.Equal(t, marketdata.ConfidenceMajority, r.Confidence)
	assert.Contains(t, r.Summary(), "1 EUR =")

	two := newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{liar, slow}})
	r, err = two.FXRate(context.Background(), "EUR", "USD")
	require.NoError(t, err)
	assert.Equal(t, marketdata.ConfidenceLow, r.Confidence)
	assert.Contains(t, r.Summary(), "LOW CONFIDENCE")
	_, err = two.Rate(context.Background(), "EUR", "USD")
	require.ErrorIs(t, err, marketdata.ErrLowConfidence)
	var lc *marketdata.LowConfidenceError
	require.ErrorAs(t, err, &lc)
	assert.Len(t, lc.Merged.Sources, 2)
	g, err := two.BestGuess().Rate(context.Background(), "EUR", "USD")
	require.NoError(t, err, "best guess accepts the untrusted rate")
	assert.True(t, g.IsPositive())

	// A failing provider leaves the others to agree.
	broken := newSim(t, sim.Options{Name: "broken", Seed: 2, ErrorRate: 1})
	b := newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{broken, honest}})
	r, err = b.FXRate(context.Background(), "EUR", "NOK")
	require.NoError(t, err)
	assert.Equal(t, "honest", r.Provider)
	assert.Equal(t, marketdata.ConfidenceSingle, r.Confidence)
}

func TestAggregatorWatchDropsOldest(t *testing.T) {
	synctest.Test(t, testAggregatorWatchDropsOldest)
}

// testAggregatorWatchDropsOldest runs in a synctest bubble: the slow
// consumer's pause is fake time, in which the 5 ms rounds pile up exactly.
func testAggregatorWatchDropsOldest(t *testing.T) {
	p := newSim(t, sim.Options{Seed: 4, Now: time.Now})
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1, WatchBuffer: 2})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	ch, err := a.Watch(ctx, []string{"AAPL", "MSFT"}, 5*time.Millisecond)
	require.NoError(t, err)
	time.Sleep(100 * time.Millisecond) // consumer is slow: updates pile up and get dropped
	u := <-ch
	assert.NoError(t, u.Err)
	var last marketdata.Update
	for range 4 {
		last = <-ch
	}
	assert.Positive(t, last.Dropped)
	assert.Greater(t, last.Quote.Price, 0.0)
	require.NoError(t, a.Close()) // Close stops the stream and waits
	for range ch {
	}
	_, err = a.Watch(ctx, []string{"AAPL"}, time.Second)
	assert.ErrorIs(t, err, marketdata.ErrClosed)
	_, err = a.Quotes(ctx, []string{"AAPL"})
	assert.ErrorIs(t, err, marketdata.ErrClosed)
}

func TestAggregatorBadInput(t *testing.T) {
	_, err := marketdata.New(marketdata.Options{})
	require.Error(t, err)
	p := newSim(t, sim.Options{})
	_, err = marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p, p}})
	require.ErrorContains(t, err, "duplicate")
	_, err = marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, Timeout: -1})
	require.Error(t, err)
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}})
	_, err = a.Quotes(context.Background(), nil)
	require.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
	_, err = a.Quotes(context.Background(), []string{"AAPL", "<script>"})
	require.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
	_, err = a.Watch(context.Background(), []string{"AAPL"}, 0)
	require.Error(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	slow := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{newSim(t, sim.Options{Latency: time.Second})}})
	_, err = slow.Quotes(ctx, []string{"AAPL"})
	require.True(t, errors.Is(err, context.Canceled))
}

func TestAggregatorHistoryFallback(t *testing.T) {
	broken := newSim(t, sim.Options{Name: "broken", Seed: 5, ErrorRate: 1})
	good := newSim(t, sim.Options{Name: "good", Seed: 5})
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{broken, good}})
	end := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	h, err := a.History(context.Background(), "aapl", marketdata.HistoryRequest{Start: end.AddDate(0, -1, 0), End: end})
	require.NoError(t, err)
	assert.Equal(t, "good", h.Provider)
	assert.NotEmpty(t, h.Bars)
	s, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{})
	require.NoError(t, err)
	assert.Equal(t, len(h.Bars), s.Bars)

	_, err = a.History(context.Background(), "NOSUCH", marketdata.HistoryRequest{})
	require.ErrorIs(t, err, marketdata.ErrNoQuote)
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	_, err = a.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: end, End: end.AddDate(0, 0, -1)})
	require.Error(t, err)
	_, err = a.History(context.Background(), "a b", marketdata.HistoryRequest{})
	require.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
}

// stubbornProvider ignores cancellation: it answers only when released.
type stubbornProvider struct {
	release chan struct{}
	calls   atomic.Int64
}

func (s *stubbornProvider) Name() string { return "stubborn" }
func (s *stubbornProvider) Quote(_ context.Context, symbol string) (marketdata.Quote, error) {
	s.calls.Add(1)
	<-s.release
	return marketdata.Quote{Symbol: symbol, Price: 1, Currency: "USD", Time: t0}, nil
}

// A slow but healthy provider (so its circuit stays closed), listed first
// and asked for many symbols one by one, must not take the fan-out slots
// the other provider needs: the fast provider still prices every symbol.
func TestAggregatorSlowProviderDoesNotStarveOthers(t *testing.T) {
	slow := &countingProvider{name: "slow", price: 10, delay: 120 * time.Millisecond}
	fast := &countingProvider{name: "fast", price: 10}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{slow, fast}, CacheTTL: -1,
		Concurrency: 2, ProviderTimeout: 150 * time.Millisecond, Timeout: 600 * time.Millisecond})
	syms := make([]string, 24)
	for i := range syms {
		syms[i] = fmt.Sprintf("S%02d", i)
	}
	res, err := a.Quotes(context.Background(), syms)
	require.NoError(t, err)
	assert.Empty(t, res.Missing, "a slow provider blocked the fast one")
	assert.Len(t, res.Quotes, len(syms))
}

// A provider that ignores its context cannot hold the answer past the
// overall deadline; Close still waits for its goroutine.
func TestAggregatorReturnsAtDeadlineDespiteStubbornProvider(t *testing.T) {
	stub := &stubbornProvider{release: make(chan struct{})}
	fast := &countingProvider{name: "fast", price: 10}
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{stub, fast}, CacheTTL: -1,
		ProviderTimeout: 50 * time.Millisecond, Timeout: 150 * time.Millisecond, Now: fixedClock()})
	require.NoError(t, err)
	start := time.Now()
	res, err := a.Quotes(context.Background(), []string{"AAPL", "MSFT"})
	require.NoError(t, err)
	assert.Less(t, time.Since(start), 2*time.Second)
	assert.Len(t, res.Quotes, 2)
	closed := make(chan struct{})
	go func() { _ = a.Close(); close(closed) }()
	select {
	case <-closed:
		t.Fatal("Close returned while a provider call was still running")
	case <-time.After(50 * time.Millisecond):
	}
	close(stub.release)
	<-closed
}

// A caller that gives up (its context canceled) while an upstream fetch is
// in flight gets its context error, but does not poison the shared fetch:
// the other callers of the same singleflight get the quote, and it is
// cached.
func TestAggregatorCanceledCallerDoesNotPoisonOthers(t *testing.T) {
	p := &countingProvider{name: "count", price: 10, release: make(chan struct{})}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: time.Minute})
	impatient, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := a.Quote(impatient, "AAPL")
		errc <- err
	}()
	require.Eventually(t, func() bool { return p.calls.Load() == 1 }, 5*time.Second, time.Millisecond)
	got := make(chan marketdata.Merged, 1)
	go func() {
		m, err := a.Quote(context.Background(), "AAPL")
		assert.NoError(t, err)
		got <- m
	}()
	cancel()
	require.ErrorIs(t, <-errc, context.Canceled)
	close(p.release)
	assert.Equal(t, 10.0, (<-got).Price)
	m, err := a.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.True(t, m.Cached)
	assert.Equal(t, int64(1), p.calls.Load())
}

// Canceling a Watch closes its channel and its goroutines end, even when
// the consumer never reads.
func TestAggregatorWatchCancelLeavesNoGoroutines(t *testing.T) {
	settle := func() int {
		n := runtime.NumGoroutine()
		for range 50 {
			time.Sleep(5 * time.Millisecond)
			m := runtime.NumGoroutine()
			if m == n {
				break
			}
			n = m
		}
		return n
	}
	p := newSim(t, sim.Options{Seed: 4, Now: time.Now})
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1, WatchBuffer: 1})
	base := settle()
	ctx, cancel := context.WithCancel(context.Background())
	ch, err := a.Watch(ctx, []string{"AAPL", "MSFT", "EQNR.OL"}, time.Millisecond)
	require.NoError(t, err)
	time.Sleep(30 * time.Millisecond) // rounds pile up; nobody reads
	cancel()
	for range ch { // closed promptly
	}
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after the Watch ended, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// A provider call canceled because the others already settled the rate
// says nothing about that provider's health: it must not trip its circuit
// breaker.
func TestAggregatorSettledRateLosersDoNotTripBreaker(t *testing.T) {
	slow := newSim(t, sim.Options{Name: "slow", Seed: 2, Latency: 150 * time.Millisecond})
	fast := newSim(t, sim.Options{Name: "fast", Seed: 2})
	fast2 := newSim(t, sim.Options{Name: "fast2", Seed: 2})
	a := newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{slow, fast, fast2}, CacheTTL: -1, BreakerFailures: 2})
	for range 4 {
		r, err := a.FXRate(context.Background(), "EUR", "USD")
		require.NoError(t, err)
		require.Equal(t, "fast+fast2", r.Provider)
	}
	fast.SetOutage(true)
	fast2.SetOutage(true)
	r, err := a.FXRate(context.Background(), "EUR", "USD")
	require.NoError(t, err, "the slow provider's circuit was opened by canceled calls")
	assert.Equal(t, "slow", r.Provider)
}
