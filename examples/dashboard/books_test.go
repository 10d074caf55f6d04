package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// portfolioAPI reads /api/portfolio as the client.
func portfolioAPI(t *testing.T, e *testEnv, c *http.Client) (status int, v struct {
	Valuation *portfolio.Valuation `json:"valuation"`
	Summary   []string             `json:"summary"`
}) {
	t.Helper()
	status, body, _ := e.get(t, c, "/api/portfolio")
	if status == http.StatusOK {
		require.NoError(t, json.Unmarshal([]byte(body), &v), body)
	}
	return status, v
}

// TestPaperNeverCountsInRealBooks: paper trades (100,000 USD of play money
// and a buy) are in the user's paper book; the portfolio page, its JSON,
// the performance figures and the printable report (the PDF's source) show
// the real books only, before and after.
func TestPaperNeverCountsInRealBooks(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "pat", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", url.Values{})
	status, before := portfolioAPI(t, e, c)
	require.Equal(t, http.StatusOK, status)

	status, body, _ := e.get(t, c, "/paper")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "100,000.00 USD")
	_, _, h := e.post(t, c, "/paper/order", url.Values{"side": {"buy"}, "symbol": {"NVDA"}, "qty": {"50"}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Filled")

	status, after := portfolioAPI(t, e, c)
	require.Equal(t, http.StatusOK, status)
	cash := func(v *portfolio.Valuation) map[string]string {
		m := map[string]string{}
		for _, c := range v.Cash {
			m[c.Account+" "+c.Currency] = c.Amount.String()
		}
		return m
	}
	assert.Equal(t, cash(before.Valuation), cash(after.Valuation), "the same cash in the same accounts, no paper account")
	assert.Len(t, after.Valuation.Cash, 3)
	for _, s := range after.Valuation.ByAccount {
		assert.NotEqual(t, paperAccountID, s.Key)
	}
	for _, line := range after.Summary {
		assert.NotContains(t, line, "Paper trading")
	}
	var nvda decimal.Decimal
	for _, h := range after.Valuation.Holdings {
		if h.Symbol == "NVDA" {
			nvda = nvda.Add(h.Quantity)
		}
	}
	assert.Equal(t, "30", nvda.String(), "the demo's 30 NVDA, not the paper 50")
	for _, page := range []string{"/portfolio", "/portfolio/report"} {
		status, body, _ := e.get(t, c, page)
		require.Equal(t, http.StatusOK, status, page)
		assert.NotContains(t, body, "Paper trading (brokerage", page)
		assert.NotContains(t, body, "Paper trading <span", page)
		assert.NotContains(t, body, "100,000", page)
	}
}

// TestTwoUsersSameAccountNames: alice and bob both have "broker" and
// import a transaction with the same id; each page shows its owner's books
// only and no page shows an internal id.
func TestTwoUsersSameAccountNames(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	bob := e.user(t, "bob", auth.RoleUser)
	e.post(t, alice, "/portfolio/demo", url.Values{})
	e.post(t, bob, "/portfolio/accounts", url.Values{"id": {"broker"}, "name": {"Bob's broker"}, "kind": {"brokerage"}, "currency": {"NOK"}})
	ctx := context.Background()
	for _, name := range []string{"alice", "bob"} {
		_, err := e.app.importFor(ctx, mustUser(t, e, name), []portfolio.Transaction{{ID: "same", Account: "broker", Kind: portfolio.TxDeposit,
			Time: mustTime(t, "2026-02-01"), Amount: decimal.NewFromInt(1234)}})
		require.NoError(t, err, name)
	}
	_, body, _ := e.get(t, bob, "/portfolio")
	assert.Contains(t, body, "Bob&#39;s broker")
	for _, theirs := range []string{"AAPL", "Brokerage", "Crypto wallet", "Savings"} {
		assert.NotContains(t, body, theirs)
	}
	_, ab, _ := e.get(t, alice, "/portfolio")
	assert.NotContains(t, ab, "Bob")
	for _, b := range []string{body, ab} {
		assert.NotContains(t, b, "u."+mustUser(t, e, "alice").ID)
		assert.NotContains(t, b, mustUser(t, e, "bob").ID)
	}
}

func mustTime(t *testing.T, day string) time.Time {
	t.Helper()
	tm, err := time.Parse(time.DateOnly, day)
	require.NoError(t, err)
	return tm
}

// TestOpensDashboardV1Database starts the dashboard on a database written
// before books had owners (portfolio/sqlstore/testdata/dashboard-v1.md):
// every user logs in and finds their books, paper account included, and
// no prefix anywhere.
func TestOpensDashboardV1Database(t *testing.T) {
	dir := t.TempDir()
	src, err := os.Open(filepath.Join("..", "..", "portfolio", "sqlstore", "testdata", "dashboard-v1.db"))
	require.NoError(t, err)
	dst, err := os.Create(filepath.Join(dir, dbFile))
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
	src.Close()
	e := newTestEnvIn(t, dir)
	login := func(name string) *http.Client {
		c := e.client(t)
		status, _, h := e.post(t, c, "/login", url.Values{"username": {name}, "password": {testPassword}})
		require.Equal(t, http.StatusSeeOther, status, name)
		require.Equal(t, "/portfolio", h.Get("Location"))
		return c
	}
	for name, want := range map[string][]string{
		"alice": {"Brokerage", "Crypto wallet", "Savings (EUR)", "TSLA"},
		"bob":   {"Bob&#39;s broker", "EQNR.OL", "1,000.50"},
	} {
		c := login(name)
		status, body, _ := e.get(t, c, "/portfolio")
		require.Equal(t, http.StatusOK, status, name)
		for _, w := range want {
			assert.Contains(t, body, w, name)
		}
		assert.NotContains(t, body, "u."+mustUser(t, e, name).ID)
		assert.NotContains(t, body, "Paper trading (brokerage", name)
		status, body, _ = e.get(t, c, "/paper")
		require.Equal(t, http.StatusOK, status)
		assert.NotContains(t, body, "100,000.00 USD", "%s: the paper account resumed, no second deposit", name)
	}
	ps, err := e.app.paperFor(context.Background(), mustUser(t, e, "alice"))
	require.NoError(t, err)
	assert.Equal(t, "98257.48", ps.acct.Cash().String())
	assert.Equal(t, "6", ps.acct.Positions()["AAPL"].String())
}

// TestPaperLimitOrdersCappedAndKept: pending limit orders are capped per
// user (the review placed 50,300) and kept in the paper book, so a
// restart of the dashboard (its in-memory paper accounts dropped) keeps
// them.
func TestPaperLimitOrdersCappedAndKept(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "lim", auth.RoleUser)
	place := func() string {
		_, _, h := e.post(t, c, "/paper/order", url.Values{"side": {"buy"}, "symbol": {"MSFT"}, "qty": {"1"}, "limit": {"1"}})
		return e.flashAt(t, c, h.Get("Location"))
	}
	for i := range paperMaxPending {
		require.Contains(t, place(), "placed", "order %d", i+1)
	}
	assert.Contains(t, place(), "at most 100 limit orders")
	status, body, _ := e.get(t, c, "/paper")
	require.Equal(t, http.StatusOK, status)
	assert.Less(t, len(body), 200_000, "the page stays small")

	// A restart: the dashboard forgets its paper accounts, the database
	// keeps the orders.
	e.app.mu.Lock()
	clear(e.app.paper)
	e.app.mu.Unlock()
	ps, err := e.app.paperFor(context.Background(), mustUser(t, e, "lim"))
	require.NoError(t, err)
	assert.Len(t, ps.acct.Orders(), paperMaxPending)
	_, _, h := e.post(t, c, "/paper/cancel", url.Values{"id": {"7"}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "cancelled")
	e.app.mu.Lock()
	clear(e.app.paper)
	e.app.mu.Unlock()
	ps, err = e.app.paperFor(context.Background(), mustUser(t, e, "lim"))
	require.NoError(t, err)
	assert.Len(t, ps.acct.Orders(), paperMaxPending-1)
	assert.Contains(t, place(), "#101 placed")
}
