package marketdata_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

func TestStreamHandler(t *testing.T) {
	p := newSim(t, sim.Options{Seed: 2, Now: time.Now})
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1})
	require.NoError(t, err)
	srv := httptest.NewServer(a.StreamHandler(10*time.Millisecond, 3))
	defer srv.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?symbols=AAPL,EURNOK=X", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	seen := map[string]int{}
	for sc.Scan() {
		line := sc.Text()
		data, ok := strings.CutPrefix(line, "data: ")
		if !ok {
			continue
		}
		var u struct {
			Symbol string
			Quote  struct{ Price float64 }
		}
		require.NoError(t, json.Unmarshal([]byte(data), &u))
		assert.Positive(t, u.Quote.Price)
		seen[u.Symbol]++
		if len(seen) == 2 && seen["AAPL"] >= 2 { // two rounds
			break
		}
	}
	assert.Equal(t, 2, len(seen))
	cancel()
	require.NoError(t, a.Close()) // returns: the handler's Watch ended with the request

	for _, q := range []string{"", "?symbols=", "?symbols=A,B,C,D", "?symbols=bad!"} {
		resp, err := http.Get(srv.URL + q)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, q)
	}
	resp, err = http.Get(srv.URL + "?symbols=AAPL")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode, "closed aggregator")
	resp, err = http.Post(srv.URL+"?symbols=AAPL", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

// Low 10: a source stamped past year 9999 does not silence the stream: its
// quote is flagged and the updates still reach the client.
func TestStreamHandlerSurvivesYear12000(t *testing.T) {
	p := &countingProvider{name: "far", price: 10, at: time.Date(12000, 1, 1, 0, 0, 0, 0, time.UTC)}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1})
	srv := httptest.NewServer(a.StreamHandler(10*time.Millisecond, 3))
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?symbols=AAPL", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	events := 0
	for events < 2 && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			events++
			assert.Contains(t, data, "AAPL")
		}
	}
	assert.Equal(t, 2, events, "updates reached the client")
}

// stuckWriter is an SSE client that stops reading: a Write blocks until the
// write deadline (or 5s without one).
type stuckWriter struct {
	h        http.Header
	mu       sync.Mutex
	deadline time.Time
}

func (w *stuckWriter) Header() http.Header { return w.h }
func (w *stuckWriter) WriteHeader(int)     {}
func (w *stuckWriter) Flush()              {}
func (w *stuckWriter) SetWriteDeadline(t time.Time) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.deadline = t
	return nil
}
func (w *stuckWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	d := w.deadline
	w.mu.Unlock()
	wait := 5 * time.Second
	if !d.IsZero() {
		wait = time.Until(d)
	}
	time.Sleep(wait)
	return 0, os.ErrDeadlineExceeded
}

// Low 10: a client that stops reading meets a write deadline.
func TestStreamHandlerWriteDeadline(t *testing.T) {
	p := &countingProvider{name: "p", price: 10}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1})
	w := &stuckWriter{h: http.Header{}}
	req := httptest.NewRequest(http.MethodGet, "/?symbols=AAPL", nil)
	start := time.Now()
	a.StreamHandler(10*time.Millisecond, 3).ServeHTTP(w, req)
	w.mu.Lock()
	d := w.deadline
	w.mu.Unlock()
	require.False(t, d.IsZero(), "no write deadline set")
	assert.Less(t, time.Since(start), 3*time.Second)
}
