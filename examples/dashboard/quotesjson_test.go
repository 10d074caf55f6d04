package main

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

// TestQuoteJSONIsMarshal: the /api/quotes body made from encoded halves is
// byte for byte json.Marshal of newAPIQuotes, for real consensuses of the
// app's sources (fresh, then cached with their age) and for hand-made
// ones with every optional field, odd numbers and failures; a consensus
// merged again is encoded again, not served from the old bytes.
func TestQuoteJSONIsMarshal(t *testing.T) {
	e := newTestEnv(t)
	var enc quoteJSON
	check := func(res *marketdata.Result) {
		t.Helper()
		want, err := json.Marshal(newAPIQuotes(res))
		require.NoError(t, err)
		got, err := enc.body(res)
		require.NoError(t, err)
		require.Equal(t, string(want), string(got))
	}
	ctx := context.Background()
	for range 3 {
		res, err := e.app.agg.Quotes(ctx, append(defaultSymbols, "NOPE1"))
		require.NoError(t, err)
		require.NotEmpty(t, res.Quotes)
		check(res)
		check(res) // from the encoded halves
	}

	t0 := time.Date(2026, 3, 4, 5, 6, 7, 891011121, time.UTC)
	m := marketdata.Merged{Symbol: "AAPL", Price: 231.123456789, Currency: "USD", Time: t0, Confidence: marketdata.ConfidenceLow,
		Reason: `sources disagree: "<a&b>"`, Agreeing: 1, Independent: 3, Spread: 12.5, SpreadPct: 5.4321, Stale: true, Outliers: 2,
		Fetched: t0.Add(time.Second), Age: 1234567891 * time.Nanosecond, Revalidating: true, Cached: true,
		Sources: []marketdata.Source{
			{Provider: "sim", Price: 231.1, Currency: "USD", Latency: 4567 * time.Microsecond, Used: true},
			{Provider: "sim-eu", Price: 250, Currency: "USD", Latency: time.Millisecond, Outlier: true},
			{Provider: "sim-slow", Currency: "USD", Error: "no FX rate \u2028 for NOK", Latency: 3 * time.Second},
		}}
	res := &marketdata.Result{Quotes: []marketdata.Merged{m}, Missing: []string{"X/Y"}, Elapsed: 17 * time.Microsecond,
		Errors: []marketdata.ProviderError{{Provider: "sim-slow", Symbol: "AAPL", Err: errors.New("x"), Message: "timeout <3s>"}},
		Fetch:  marketdata.FetchStats{Sources: 3, Calls: 3, Wall: 70 * time.Millisecond, Sequential: 99 * time.Millisecond, At: t0}}
	check(res)
	for _, age := range []time.Duration{0, time.Nanosecond, 400 * time.Nanosecond, 600 * time.Nanosecond, 90 * 24 * time.Hour, math.MaxInt64} {
		m.Age = age
		m.Revalidating = !m.Revalidating
		res.Quotes = []marketdata.Merged{m, m}
		check(res)
	}
	// The next consensus of the symbol is encoded anew.
	m.Fetched, m.Price, m.Reason = m.Fetched.Add(time.Second), 232, ""
	res.Quotes = []marketdata.Merged{m}
	check(res)
	assert.Empty(t, (&marketdata.Result{}).Quotes)
	check(&marketdata.Result{})
}
