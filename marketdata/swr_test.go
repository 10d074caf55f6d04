package marketdata_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/frankfurter"
	"github.com/finkit/finkit/marketdata/stooq"
	"github.com/finkit/finkit/marketdata/yahoo"
)

// recordedYahoo is the body of the recorded Yahoo chart answer for AAPL
// (244.87 USD at 2025-02-19 21:00 UTC).
func recordedYahoo(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "yahoo-chart-AAPL-daily.fixture.json"))
	require.NoError(t, err)
	var rec struct {
		Response struct {
			BodyJSON json.RawMessage `json:"bodyJson"`
		} `json:"response"`
	}
	require.NoError(t, json.Unmarshal(raw, &rec))
	return rec.Response.BodyJSON
}

// recordedStooq is the recorded Stooq quote CSV for AAPL.US.
func recordedStooq(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "stooq-quote-aapl.us.csv"))
	require.NoError(t, err)
	return raw
}

// handlerTransport serves a client's requests with an http.Handler in
// memory (httptest's recorder), so that a test in a synctest bubble runs
// the real provider clients over HTTP without sockets.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	if err := r.Context().Err(); err != nil {
		return nil, err
	}
	resp := rec.Result()
	resp.Request = r
	return resp, nil
}

// upstream replays a recorded body; while hold is set, each request waits
// until release is closed (or its context ends).
type upstream struct {
	body    []byte
	delay   time.Duration
	calls   atomic.Int32
	hold    atomic.Bool
	release chan struct{}
}

func (u *upstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	if u.hold.Load() {
		select {
		case <-u.release:
		case <-r.Context().Done():
			return
		}
	}
	if u.delay > 0 {
		select {
		case <-time.After(u.delay):
		case <-r.Context().Done():
			return
		}
	}
	_, _ = w.Write(u.body)
}

func (u *upstream) client() *http.Client { return &http.Client{Transport: handlerTransport{u}} }

// bubbleClock is a clock at the recordings' time that moves with the
// synctest bubble's fake time.
func bubbleClock() func() time.Time {
	base, start := time.Date(2025, 2, 20, 9, 0, 0, 0, time.UTC), time.Now()
	return func() time.Time { return base.Add(time.Since(start)) }
}

// TestQuotesStaleWhileRevalidate: past CacheTTL a quote is served at once,
// with its age, while one background fetch refreshes it; the refresh
// lands for the next request; past MaxStale a request waits again. The
// Stooq client is the real one, replaying its recorded answer. In the
// bubble a request that waited for the held upstream would deadlock the
// test instead of passing.
func TestQuotesStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &upstream{body: recordedStooq(t), release: make(chan struct{})}
		sq, err := stooq.New(stooq.Options{BaseURL: "http://stooq.test", HTTPClient: up.client()})
		require.NoError(t, err)
		a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{sq}, CacheTTL: time.Second, MaxStale: time.Minute,
			MaxAge: -1, Now: bubbleClock()})
		require.NoError(t, err)
		defer a.Close()
		ctx := context.Background()
		quote := func() marketdata.Merged {
			t.Helper()
			res, err := a.Quotes(ctx, []string{"AAPL"})
			require.NoError(t, err)
			require.Len(t, res.Quotes, 1, "errors: %v", res.Errors)
			return res.Quotes[0]
		}

		m := quote() // cold: the request waits for the first fetch
		assert.Equal(t, 300.63, m.Price)
		assert.False(t, m.Cached || m.Revalidating)
		assert.Zero(t, m.Age)
		fetched := m.Fetched
		assert.Equal(t, int32(1), up.calls.Load())

		time.Sleep(500 * time.Millisecond)
		m = quote()
		assert.True(t, m.Cached)
		assert.False(t, m.Revalidating, "fresh within CacheTTL")
		assert.Equal(t, 500*time.Millisecond, m.Age)
		assert.Equal(t, int32(1), up.calls.Load(), "no upstream call within CacheTTL")

		// Past CacheTTL, with the upstream slow to answer: the stale quote
		// answers at once and a refresh starts behind it.
		up.hold.Store(true)
		time.Sleep(time.Second)
		before := time.Now()
		m = quote()
		assert.Equal(t, before, time.Now(), "the request did not wait")
		assert.True(t, m.Revalidating)
		assert.Equal(t, 1500*time.Millisecond, m.Age, "the consensus records its age")
		assert.Equal(t, fetched, m.Fetched)
		synctest.Wait()
		assert.Equal(t, int32(2), up.calls.Load(), "one background refresh, held upstream")

		m = quote() // while the refresh runs: stale again, no second refresh
		assert.True(t, m.Revalidating)
		synctest.Wait()
		assert.Equal(t, int32(2), up.calls.Load())

		close(up.release) // the upstream answers; the refresh lands
		synctest.Wait()
		m = quote()
		assert.False(t, m.Revalidating)
		assert.Zero(t, m.Age)
		assert.True(t, m.Fetched.After(fetched))
		assert.Equal(t, int32(2), up.calls.Load())

		// Past MaxStale nothing is served stale: the request waits.
		up.hold.Store(false)
		time.Sleep(2 * time.Minute)
		m = quote()
		assert.False(t, m.Cached || m.Revalidating)
		assert.Equal(t, int32(3), up.calls.Load())
	})
}

// TestQuotesNeverWaitForARefresh runs the same over real sockets: with the
// upstream server holding every request, a request for a stale quote
// returns while the refresh is still waiting on the server.
func TestQuotesNeverWaitForARefresh(t *testing.T) {
	body := recordedYahoo(t)
	entered := make(chan struct{}, 4)
	release := make(chan struct{})
	var hold atomic.Bool
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if hold.Load() {
			entered <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	defer close(release)
	y, err := yahoo.New(yahoo.Options{BaseURL: srv.URL, NoCrumb: true})
	require.NoError(t, err)
	var offset atomic.Int64
	base := time.Date(2025, 2, 20, 9, 0, 0, 0, time.UTC)
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{y}, CacheTTL: time.Second, MaxAge: -1,
		Now: func() time.Time { return base.Add(time.Duration(offset.Load())) }})
	ctx := context.Background()
	_, err = a.Quotes(ctx, []string{"AAPL"})
	require.NoError(t, err)

	hold.Store(true)
	offset.Store(int64(5 * time.Second))
	res, err := a.Quotes(ctx, []string{"AAPL"})
	require.NoError(t, err)
	require.Len(t, res.Quotes, 1)
	assert.True(t, res.Quotes[0].Revalidating)
	assert.Equal(t, 5*time.Second, res.Quotes[0].Age)
	<-entered // the refresh reached the server, which still holds it
	m, err := a.Quote(ctx, "AAPL")
	require.NoError(t, err)
	assert.True(t, m.Revalidating, "still served stale while the server holds the refresh")
}

// TestFetchStatsFromTheAggregatorsTimings: the fan-out's wall time and the
// sum of its calls' latencies, from two real clients (two Stooq mirrors)
// replaying the recorded answer 250 ms and 100 ms late (fake time: exact
// figures).
func TestFetchStatsFromTheAggregatorsTimings(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		slow := &upstream{body: recordedStooq(t), delay: 250 * time.Millisecond}
		fast := &upstream{body: recordedStooq(t), delay: 100 * time.Millisecond}
		a1, err := stooq.New(stooq.Options{Name: "stooq-a", BaseURL: "http://stooq-a.test", HTTPClient: slow.client()})
		require.NoError(t, err)
		a2, err := stooq.New(stooq.Options{Name: "stooq-b", BaseURL: "http://stooq-b.test", HTTPClient: fast.client()})
		require.NoError(t, err)
		a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{a1, a2}, CacheTTL: time.Minute, MaxAge: -1, Now: bubbleClock()})
		require.NoError(t, err)
		defer a.Close()
		res, err := a.Quotes(context.Background(), []string{"AAPL"})
		require.NoError(t, err)
		require.Len(t, res.Quotes, 1, "errors: %v", res.Errors)
		assert.Len(t, res.Quotes[0].Sources, 2)
		f := res.Fetch
		assert.Equal(t, 2, f.Sources)
		assert.Equal(t, 2, f.Calls)
		assert.Equal(t, 250*time.Millisecond, f.Wall, "in parallel: the slowest call")
		assert.Equal(t, 350*time.Millisecond, f.Sequential, "one after another: the sum")
		assert.Equal(t, 250*time.Millisecond, res.Elapsed)
		assert.Equal(t, "fetched from 2 sources in 250 ms; one after another would take 350 ms", f.Summary())

		// From the cache: the same figures, the fetch that made the quote.
		time.Sleep(time.Second)
		res, err = a.Quotes(context.Background(), []string{"AAPL"})
		require.NoError(t, err)
		assert.Equal(t, f, res.Fetch)
		assert.Zero(t, res.Elapsed)
		assert.True(t, strings.HasPrefix(res.Quotes[0].Symbol, "AAPL"))
	})
}

// recordedFrankfurterGBP is the recorded Frankfurter answer of
// /v1/latest?symbols=CHF,GBP (EUR/GBP 0.83465 on 2024-11-25).
func recordedFrankfurterGBP(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("frankfurter", "testdata", "frankfurter-v1-docs-examples.txt"))
	require.NoError(t, err)
	for line := range strings.Lines(string(raw)) {
		if _, body, ok := strings.Cut(line, "/v1/latest?symbols=CHF,GBP */ "); ok {
			return []byte(strings.TrimSpace(body))
		}
	}
	t.Fatal("no recorded /latest?symbols=CHF,GBP answer")
	return nil
}

// TestRatesStaleWhileRevalidate: rates are cached as quotes are. Past
// CacheTTL a rate is served at once, with its age, while one background
// fetch refreshes it; past MaxStale a request waits again. Before, every
// request past CacheTTL waited for the rate providers: the dashboard's
// first portfolio request after a write took 70-100 ms instead of 10-20
// about once a second (the simulated providers' latency). The Frankfurter
// client is the real one, replaying its recorded answer; in the bubble a
// request that waited for the held upstream would deadlock the test.
func TestRatesStaleWhileRevalidate(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &upstream{body: recordedFrankfurterGBP(t), release: make(chan struct{})}
		fr, err := frankfurter.New(frankfurter.Options{BaseURL: "http://frankfurter.test", HTTPClient: up.client()})
		require.NoError(t, err)
		a, err := marketdata.New(marketdata.Options{RateProviders: []marketdata.RateProvider{fr}, CacheTTL: time.Second,
			MaxStale: time.Minute, MaxAge: -1, Now: bubbleClock()})
		require.NoError(t, err)
		defer a.Close()
		ctx := context.Background()
		rate := func() marketdata.Merged {
			t.Helper()
			m, err := a.FXQuote(ctx, "EUR", "GBP")
			require.NoError(t, err)
			return m
		}

		m := rate() // cold: the request waits for the first fetch
		assert.Equal(t, 0.83465, m.Price)
		assert.False(t, m.Cached || m.Revalidating)
		fetched := m.Fetched
		assert.False(t, fetched.IsZero(), "the consensus records when it was fetched")
		assert.Equal(t, int32(1), up.calls.Load())

		time.Sleep(500 * time.Millisecond)
		m = rate()
		assert.True(t, m.Cached)
		assert.False(t, m.Revalidating, "fresh within CacheTTL")
		assert.Equal(t, 500*time.Millisecond, m.Age)
		assert.Equal(t, int32(1), up.calls.Load(), "no upstream call within CacheTTL")

		// Past CacheTTL, with the upstream slow to answer: the stale rate
		// answers at once and a refresh starts behind it.
		up.hold.Store(true)
		time.Sleep(time.Second)
		before := time.Now()
		m = rate()
		assert.Equal(t, before, time.Now(), "the request did not wait")
		assert.True(t, m.Revalidating)
		assert.Equal(t, 1500*time.Millisecond, m.Age, "the consensus records its age")
		d, err := a.Rate(ctx, "EUR", "GBP") // portfolio.RateSource: the same, at once
		require.NoError(t, err)
		assert.Equal(t, "0.83465", d.String())
		assert.Equal(t, before, time.Now())
		synctest.Wait()
		assert.Equal(t, int32(2), up.calls.Load(), "one background refresh, held upstream")

		close(up.release) // the upstream answers; the refresh lands
		synctest.Wait()
		m = rate()
		assert.False(t, m.Revalidating)
		assert.Zero(t, m.Age)
		assert.True(t, m.Fetched.After(fetched))
		assert.Equal(t, int32(2), up.calls.Load())

		// Past MaxStale nothing is served stale: the request waits.
		up.hold.Store(false)
		time.Sleep(2 * time.Minute)
		m = rate()
		assert.False(t, m.Cached || m.Revalidating)
		assert.Equal(t, int32(3), up.calls.Load())
	})
}
