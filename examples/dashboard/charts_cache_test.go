package main

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestCachedValueChartEqualsFresh: the portfolio page's value chart, drawn
// once per change of the books or prices and reused while they stay the
// same, is the chart freshly drawn from the current performance, for
// every period, after a later and a back-dated transaction and after the
// prices are refreshed.
func TestCachedValueChartEqualsFresh(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "charts", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	ctx := context.Background()
	au, err := e.app.authStore.UserByUsername(ctx, "charts")
	require.NoError(t, err)
	st := e.app.bookOf(au)

	// check asks for the page twice per period: both show the fresh
	// chart, and only the first may draw it. It returns the Max chart.
	check := func(base string) string {
		t.Helper()
		var last string
		for _, period := range valuePeriods {
			path := "/portfolio?base=" + base + "&period=" + period
			status, first, _ := e.get(t, c, path)
			require.Equal(t, http.StatusOK, status)
			memo := e.app.books.charts(au.ID, base)
			require.NotNil(t, memo)
			drawn := memo.drawn.Load()
			status, again, _ := e.get(t, c, path)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, drawn, memo.drawn.Load(), "unchanged books draw no chart again (%s)", period)

			perf, err := e.app.books.performance(ctx, au.ID, st, base)
			require.NoError(t, err)
			fresh := string(valueChart(perf, period))
			assert.Contains(t, first, fresh, period)
			assert.Contains(t, again, fresh, period)
			last = fresh
		}
		return last
	}
	before := check("USD")
	assert.NotEqual(t, before, check("EUR"), "each base has its own charts")

	e.importRows(t, c, "date,account,kind,symbol,quantity,price,amount,note\n2026-03-02,broker,buy,AAPL,1,230,,later\n")
	later := check("USD")
	assert.NotEqual(t, before, later, "a new transaction changes the chart")

	e.importRows(t, c, "date,account,kind,amount,note\n2024-06-03,broker,deposit,500,before everything\n")
	assert.NotEqual(t, later, check("USD"), "a back-dated transaction changes the chart")

	// Pages read while a write lands: afterwards the chart is the fresh one.
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for _, period := range valuePeriods {
				resp, err := c.Get(e.srv.URL + "/portfolio?period=" + period)
				if assert.NoError(t, err) {
					resp.Body.Close()
				}
			}
		})
	}
	e.importRows(t, c, "date,account,kind,amount,note\n2025-07-01,broker,deposit,100,while reading\n")
	wg.Wait()
	check("USD")

	// Past todayTTL the series is valued again with fresh prices, in the
	// background; then the pages draw from the fresh one.
	e.app.books.now = func() time.Time { return time.Now().Add(todayTTL) }
	revalued(t, e, au.ID, "USD")
	check("USD")
}

// revalued asks for owner's performance in base once the clock is past
// todayTTL, waits for the background revaluation it starts, and checks
// that the series has fresh prices.
func revalued(t *testing.T, e *testEnv, owner, base string) {
	t.Helper()
	e.app.books.mu.Lock()
	ob := e.app.books.owners[owner]
	e.app.books.mu.Unlock()
	ob.mu.Lock()
	old := ob.series[base]
	ob.mu.Unlock()
	_, err := e.app.books.performance(context.Background(), owner, e.app.book(owner), base)
	require.NoError(t, err)
	e.app.books.wait()
	ob.mu.Lock()
	defer ob.mu.Unlock()
	assert.NotSame(t, old, ob.series[base], "a fresh series")
	assert.NotSame(t, old.hist, ob.series[base].hist, "over fresh prices")
}
