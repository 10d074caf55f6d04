package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
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

// liveHistory is the simulator's history with its last bar still trading,
// as a provider reports it during market hours.
type liveHistory struct{ marketdata.HistoryProvider }

func (l liveHistory) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	h, err := l.HistoryProvider.History(ctx, symbol, req)
	h.Live = true
	return h, err
}

// The backtest converts the history through papertrade.FromHistory: a bar
// still trading is not a bar to trade on (the field-by-field copy kept it).
func TestBacktestDropsLiveBar(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "ines", auth.RoleUser)
	q := url.Values{"run": {"1"}, "symbol": {"SPY"}, "strategy": {"buyhold"}, "cash": {"10000"}, "commission": {"0"}}
	status, body, _ := e.get(t, c, "/backtest?"+q.Encode())
	require.Equal(t, http.StatusOK, status)
	all := regexp.MustCompile(`(\d+) bars ·`).FindStringSubmatch(body)
	require.Len(t, all, 2, "bar count on the page")

	e.app.history0 = liveHistory{e.app.history0} // between requests: nothing reads it concurrently
	status, body, _ = e.get(t, c, "/backtest?"+q.Encode())
	require.Equal(t, http.StatusOK, status)
	live := regexp.MustCompile(`(\d+) bars ·`).FindStringSubmatch(body)
	require.Len(t, live, 2)
	n, _ := strconv.Atoi(all[1])
	assert.Equal(t, strconv.Itoa(n-1), live[1], "the still-trading bar is not backtested")
}

// The backtest form is built from papertrade.Strategies: a bool parameter
// is a checkbox, and ticking it reaches the strategy.
func TestBacktestFormFromLibrary(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "joan", auth.RoleUser)
	status, body, _ := e.get(t, c, "/backtest")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `type="checkbox" name="smacross.long-only" value="true"`)
	assert.Contains(t, body, `name="smacross.fast" value="10" size="6" inputmode="numeric"`)
	q := url.Values{"run": {"1"}, "symbol": {"SPY"}, "strategy": {"smacross"}, "smacross.fast": {"10"}, "smacross.slow": {"30"},
		"smacross.long-only": {"true"}, "cash": {"10000"}, "commission": {"0"}}
	status, body, _ = e.get(t, c, "/backtest?"+q.Encode())
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "SMACross(10,30,long only)")
	assert.Contains(t, body, `name="smacross.long-only" value="true" checked`)
}

// /api/quotes speaks the API's types: prices as decimal strings with a
// currency, durations in milliseconds named _ms, and the concurrency line
// from the Aggregator's own timings; the quotes page shows the same line.
// (It gave "elapsed" as a bare integer of nanoseconds and prices as long
// floats.)
func TestQuotesConcurrencyLine(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "kate", auth.RoleUser)
	status, body, _ := e.get(t, c, "/api/quotes?symbols=AAPL,BTC-USD")
	require.Equal(t, http.StatusOK, status)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &raw))
	assert.NotContains(t, raw, "elapsed", "durations carry their unit")
	var res struct {
		Quotes []struct {
			Price    string  `json:"price"`
			Currency string  `json:"currency"`
			AgeMS    float64 `json:"age_ms"`
			Sources  []struct {
				Price     string   `json:"price"`
				LatencyMS *float64 `json:"latency_ms"`
			} `json:"sources"`
		} `json:"quotes"`
		Fetch struct {
			Sources      int      `json:"sources"`
			Calls        int      `json:"calls"`
			WallMS       *float64 `json:"wall_ms"`
			SequentialMS *float64 `json:"sequential_ms"`
		} `json:"fetch"`
		Concurrency string   `json:"concurrency"`
		ElapsedMS   *float64 `json:"elapsed_ms"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	require.Len(t, res.Quotes, 2)
	for _, q := range res.Quotes {
		p, err := decimal.NewFromString(q.Price)
		require.NoError(t, err, "price %q is a decimal string", q.Price)
		assert.True(t, p.IsPositive())
		assert.LessOrEqual(t, len(strings.TrimLeft(strings.Replace(p.String(), ".", "", 1), "0")), marketdata.SignificantDigits)
		assert.Equal(t, "USD", q.Currency)
		for _, s := range q.Sources {
			_, err := decimal.NewFromString(s.Price)
			require.NoError(t, err)
			require.NotNil(t, s.LatencyMS)
		}
	}
	require.NotNil(t, res.Fetch.WallMS)
	require.NotNil(t, res.Fetch.SequentialMS)
	require.NotNil(t, res.ElapsedMS)
	assert.Equal(t, 3, res.Fetch.Sources, "sim, sim-eu and sim-slow")
	assert.Positive(t, *res.Fetch.WallMS)
	assert.Positive(t, *res.Fetch.SequentialMS) // exact figures: marketdata's TestFetchStatsFromTheAggregatorsTimings
	line := regexp.MustCompile(`^fetched from 3 sources in (\d+) ms; one after another would take (\d+) ms$`)
	require.Regexp(t, line, res.Concurrency)

	status, page, _ := e.get(t, c, "/quotes?symbols=AAPL,BTC-USD")
	require.Equal(t, http.StatusOK, status)
	assert.Regexp(t, `<p class="concurrency"[^>]*>fetched from 3 sources in \d+ ms; one after another would take \d+ ms`, page)
}
