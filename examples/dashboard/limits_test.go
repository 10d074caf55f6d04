package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/upload"
)

// openStream opens a live quote stream and returns the response (its body
// open while the stream lasts).
func (e *testEnv) openStream(t *testing.T, ctx context.Context, c *http.Client) *http.Response {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/quotes/stream?symbols=AAPL", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	require.NoError(t, err)
	t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// TestQuoteStreamsCappedPerUser (issue 13 item 6): one user tries to open
// every live quote stream the server has. Only maxStreamsPerUser open; the
// rest get 429 with Retry-After, and another user still gets a stream. One
// user used to hold all 32 and everyone else got 503.
func TestQuoteStreamsCappedPerUser(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	bob := e.user(t, "bob", auth.RoleUser)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	codes := map[int]int{}
	var open []*http.Response
	for range maxStreams {
		resp := e.openStream(t, ctx, alice)
		codes[resp.StatusCode]++
		switch resp.StatusCode {
		case http.StatusOK:
			open = append(open, resp)
		case http.StatusTooManyRequests:
			assert.Equal(t, "5", resp.Header.Get("Retry-After"))
			body, _ := io.ReadAll(resp.Body)
			assert.Contains(t, string(body), "live quote streams open")
		}
	}
	assert.Equal(t, map[int]int{http.StatusOK: maxStreamsPerUser, http.StatusTooManyRequests: maxStreams - maxStreamsPerUser}, codes)

	resp := e.openStream(t, ctx, bob)
	assert.Equal(t, http.StatusOK, resp.StatusCode, "another user is not locked out")
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	// Closing one of alice's streams gives her slot back.
	require.NotEmpty(t, open)
	open[0].Body.Close()
	require.Eventually(t, func() bool {
		r := e.openStream(t, ctx, alice)
		if r.StatusCode == http.StatusOK {
			return true
		}
		r.Body.Close()
		return false
	}, 5*time.Second, 20*time.Millisecond)
}

// TestHeavyRequestsPerUser (issue 13 item 10): one user sends several
// Monte Carlo backtests at once. One runs at a time per user; the others
// are refused at once with 429 and Retry-After (they used to queue for the
// server's two slots, taking both from everyone else); another user's
// backtest runs meanwhile.
func TestHeavyRequestsPerUser(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	bob := e.user(t, "bob", auth.RoleUser)
	const path = "/backtest?run=1&symbol=SPY&strategy=smacross&mc=on"

	var mu sync.Mutex
	codes := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			<-start
			resp, err := alice.Get(e.srv.URL + path)
			if !assert.NoError(t, err) {
				return
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusTooManyRequests {
				assert.Equal(t, "5", resp.Header.Get("Retry-After"))
				assert.Contains(t, string(body), "already have a backtest")
			}
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	status, page, _ := e.get(t, bob, path)
	assert.Equal(t, http.StatusOK, status, "another user's backtest runs")
	pageHas(t, page, "Monte Carlo")
	wg.Wait()
	assert.NotZero(t, codes[http.StatusOK], "%v", codes)
	assert.NotZero(t, codes[http.StatusTooManyRequests], "%v", codes)
	assert.Equal(t, 6, codes[http.StatusOK]+codes[http.StatusTooManyRequests], "%v", codes)

	// Once alice's run is over she can run the next one.
	status, _, _ = e.get(t, alice, path)
	assert.Equal(t, http.StatusOK, status)
}

// pricesCSV is n daily bars.
func pricesCSV(n int) []byte {
	var b strings.Builder
	b.WriteString("Date,Open,High,Low,Close,Volume\n")
	day := time.Date(1960, 1, 4, 0, 0, 0, 0, time.UTC)
	for i := range n {
		p := 100 + 10*float64(i%40)/40
		fmt.Fprintf(&b, "%s,%.2f,%.2f,%.2f,%.2f,%d\n", day.AddDate(0, 0, i).Format("2006-01-02"), p, p+1, p-1, p+0.5, 1000+i)
	}
	return []byte(b.String())
}

// TestBacktestWorkBounded (issue 13 item 10): a backtest over an uploaded
// price history is refused with 422 and a message when it has more bars
// than a backtest runs over, and a Monte Carlo run when its paths together
// would simulate too many bars; the same history without Monte Carlo runs.
func TestBacktestWorkBounded(t *testing.T) {
	e := newTestEnv(t)
	admin := e.user(t, "admin", auth.RoleAdmin)
	long := e.uploadAndWait(t, admin, "long.csv", pricesCSV(maxBacktestBars+1), nil)
	require.Equal(t, upload.StateDone, long.State, long.Message)
	mcBars := maxSimulatedBars/mcPaths + 1
	mid := e.uploadAndWait(t, admin, "mid.csv", pricesCSV(mcBars), nil)
	require.Equal(t, upload.StateDone, mid.State, mid.Message)

	status, page, _ := e.get(t, admin, "/backtest?run=1&strategy=smacross&symbol=upload:"+long.ID)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	pageHas(t, page, fmt.Sprintf("a backtest runs over at most %d", maxBacktestBars))

	status, page, _ = e.get(t, admin, "/backtest?run=1&strategy=smacross&mc=on&symbol=upload:"+mid.ID)
	assert.Equal(t, http.StatusUnprocessableEntity, status)
	pageHas(t, page, "without Monte Carlo")

	status, page, _ = e.get(t, admin, "/backtest?run=1&strategy=smacross&symbol=upload:"+mid.ID)
	assert.Equal(t, http.StatusOK, status)
	pageHas(t, page, fmt.Sprintf("%d bars", mcBars))
}

func TestPerUserReleases(t *testing.T) {
	p := newPerUser(2)
	r1, ok := p.acquire("u")
	require.True(t, ok)
	r2, ok := p.acquire("u")
	require.True(t, ok)
	_, ok = p.acquire("u")
	assert.False(t, ok)
	_, ok = p.acquire("v")
	assert.True(t, ok, "another user has their own count")
	r1()
	r1() // a second release changes nothing
	r3, ok := p.acquire("u")
	require.True(t, ok)
	_, ok = p.acquire("u")
	assert.False(t, ok)
	r2()
	r3()
	p.mu.Lock()
	_, held := p.n["u"]
	p.mu.Unlock()
	assert.False(t, held, "a user holding nothing takes no memory")
}

// pageHas checks that an HTML page contains text, without printing the
// whole page when it does not.
func pageHas(t *testing.T, page, text string) {
	t.Helper()
	if !strings.Contains(page, text) {
		t.Errorf("the page (%d bytes) does not contain %q", len(page), text)
	}
}

// TestQuoteStreamsCappedPerUserRacing (review of issue 13 item 6): one
// user opens many streams at the same instant, as the page and the API
// would from many tabs; still at most maxStreamsPerUser open, the rest are
// 429, and none is a server error.
func TestQuoteStreamsCappedPerUserRacing(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 16
	var mu sync.Mutex
	codes := map[int]int{}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			<-start
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/quotes/stream?symbols=AAPL", nil)
			if !assert.NoError(t, err) {
				return
			}
			resp, err := alice.Do(req)
			if !assert.NoError(t, err) {
				return
			}
			t.Cleanup(func() { resp.Body.Close() })
			mu.Lock()
			codes[resp.StatusCode]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, map[int]int{http.StatusOK: maxStreamsPerUser, http.StatusTooManyRequests: n - maxStreamsPerUser}, codes)
}
