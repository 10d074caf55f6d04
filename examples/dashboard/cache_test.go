package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/upload"
)

// netInflow reads the user's deposits − withdrawals from /api/portfolio.
func (e *testEnv) netInflow(t *testing.T, c *http.Client) (decimal.Decimal, []string) {
	t.Helper()
	status, body, _ := e.get(t, c, "/api/portfolio?base=USD")
	require.Equal(t, http.StatusOK, status, body)
	var out struct {
		Valuation struct {
			NetInflow decimal.Decimal `json:"net_inflow"`
		} `json:"valuation"`
		Summary []string `json:"summary"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	return out.Valuation.NetInflow, out.Summary
}

// TestPortfolioCacheFollowsEveryWrite: the per-owner cache serves repeated
// reads without reloading the books, and every way the dashboard writes to
// them (the CSV form, a new account, an admin's upload, many imports racing
// many reads) is seen by the next read.
func TestPortfolioCacheFollowsEveryWrite(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "cached", auth.RoleAdmin)
	status, _, _ := e.post(t, c, "/portfolio/accounts", url.Values{"id": {"main"}, "kind": {"brokerage"}, "currency": {"USD"}, "cost": {"fifo"}})
	require.Equal(t, http.StatusSeeOther, status)
	msg := e.importRows(t, c, "date,account,kind,amount,note\n2025-01-02,main,deposit,1000,first\n")
	require.Contains(t, msg, "Imported 1 new")

	in, _ := e.netInflow(t, c)
	assert.Equal(t, "1000", in.String())
	loads := e.app.books.loads.Load()
	for range 5 {
		in, _ = e.netInflow(t, c)
		assert.Equal(t, "1000", in.String())
	}
	assert.Equal(t, loads, e.app.books.loads.Load(), "unchanged books are not loaded again")

	// The CSV form.
	e.importRows(t, c, "date,account,kind,amount,note\n2025-02-03,main,withdrawal,250.5,second\n")
	in, _ = e.netInflow(t, c)
	assert.Equal(t, "749.5", in.String())
	// A new account.
	e.post(t, c, "/portfolio/accounts", url.Values{"id": {"second"}, "name": {"Second one"}, "kind": {"bank"}, "currency": {"USD"}})
	_, summary := e.netInflow(t, c)
	assert.Contains(t, fmt.Sprint(summary), "Second one")
	// An admin's upload, booked by the upload pipeline.
	u := e.uploadAndWait(t, c, "more.csv", []byte("date,account,kind,amount,note\n2025-03-03,second,deposit,50.25,upload\n"), nil)
	require.Equal(t, upload.StateDone, u.State, u.Message)
	in, _ = e.netInflow(t, c)
	assert.Equal(t, "799.75", in.String())

	// Imports racing reads: the read after them sees all of them.
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			e.importRows(t, c, fmt.Sprintf("date,account,kind,amount,note\n2025-04-%02d,main,deposit,1,race %d\n", i+1, i))
		})
		wg.Go(func() { e.netInflow(t, c) })
	}
	wg.Wait()
	in, _ = e.netInflow(t, c)
	assert.Equal(t, "807.75", in.String())
}

// TestCachedPerformanceEqualsFresh: the cached series' figures equal a
// fresh Ledger.Performance over the same books, also after a back-dated
// transaction lands before everything the series had computed.
func TestCachedPerformanceEqualsFresh(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "perf", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	ctx := context.Background()
	au, err := e.app.authStore.UserByUsername(ctx, "perf")
	require.NoError(t, err)
	st := e.app.bookOf(au)
	check := func() {
		t.Helper()
		got, err := e.app.books.performance(ctx, au.ID, st, "EUR")
		require.NoError(t, err)
		l, err := portfolio.LoadLedger(ctx, st)
		require.NoError(t, err)
		// Today's bar is still trading: compare over the prices the
		// series has (the cache refreshes them every todayTTL).
		e.app.books.mu.Lock()
		hist := e.app.books.owners[au.ID].series["EUR"].hist
		e.app.books.mu.Unlock()
		want, err := l.Performance(ctx, portfolio.PerformanceOptions{Base: "EUR", History: hist, To: time.Now().UTC()})
		require.NoError(t, err)
		assert.Equal(t, want.TWR, got.TWR)
		assert.Equal(t, want.XIRR, got.XIRR)
		assert.Equal(t, want.EndValue, got.EndValue)
		assert.Equal(t, want.From, got.From)
		assert.Equal(t, len(want.Points), len(got.Points))
	}
	check()
	check() // from the cache
	e.importRows(t, c, "date,account,kind,symbol,quantity,price,amount,note\n2026-03-02,broker,buy,AAPL,1,230,,later\n")
	check()
	e.importRows(t, c, "date,account,kind,amount,note\n2024-06-03,broker,deposit,500,before everything\n")
	check()
	// Past todayTTL the series takes today's prices again (valued in the
	// background).
	e.app.books.now = func() time.Time { return time.Now().Add(todayTTL) }
	revalued(t, e, au.ID, "EUR")
	check()
}
