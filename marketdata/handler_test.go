package marketdata_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
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
