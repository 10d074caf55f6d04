package main

import (
	"bufio"
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// Two sources 50 % apart: the quotes page and its live stream mark the
// price as low confidence instead of showing a bare number.
func TestQuotesShowLowConfidence(t *testing.T) {
	e := newTestEnv(t)
	var provs []marketdata.Provider
	for _, o := range []sim.Options{{Name: "honest", Seed: 7}, {Name: "liar", Seed: 7, Bias: 0.5}} {
		p, err := sim.New(o)
		require.NoError(t, err)
		provs = append(provs, p)
	}
	agg, err := marketdata.New(marketdata.Options{Providers: provs, CacheTTL: -1})
	require.NoError(t, err)
	require.NoError(t, e.app.agg.Close())
	e.app.agg = agg // before any request: nothing reads it concurrently yet

	c := e.user(t, "grace", auth.RoleUser)
	status, body, _ := e.get(t, c, "/quotes?symbols=AAPL")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<span class="badge off" title="2 independent sources disagree`)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/quotes/stream?symbols=AAPL", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			assert.Contains(t, data, `"confidence":"low"`)
			assert.Contains(t, data, `"trusted":false`)
			break
		}
	}
}
