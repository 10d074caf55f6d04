package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// currentRender is the portfolio the cache holds for the user called name.
func (e *testEnv) currentRender(t *testing.T, name string) (*renderedPortfolio, auth.User) {
	t.Helper()
	u, err := e.app.authStore.UserByUsername(context.Background(), name)
	require.NoError(t, err)
	e.app.books.mu.Lock()
	ob := e.app.books.owners[u.ID]
	e.app.books.mu.Unlock()
	require.NotNil(t, ob, "no cache entry of %s", name)
	ob.render.mu.Lock()
	defer ob.render.mu.Unlock()
	r := ob.render.cur.Load()
	require.NotNil(t, r, "nothing rendered for %s", name)
	return r, u
}

// TestRenderedPortfolioPageIsTheTemplatesPage: the page served from the
// cached content is, byte for byte, the portfolio template rendered whole
// (layout and content in one execution) over the same view, for every
// chart period and with a flash message, which the layout adds per request.
func TestRenderedPortfolioPageIsTheTemplatesPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "pages", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	e.get(t, c, "/portfolio") // shows the demo's flash message
	for _, period := range append(valuePeriods, "") {
		for range 2 { // rendering, then from the cache
			status, body, h := e.get(t, c, "/portfolio?base=EUR&period="+period)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
			r, u := e.currentRender(t, "pages")
			v := *r.view
			v.Period = pickPeriod(period)
			var want bytes.Buffer
			require.NoError(t, e.app.pages.byName["portfolio"].ExecuteTemplate(&want, "layout",
				view{Title: "Portfolio", Active: "portfolio", User: &u, Data: &v}))
			requireSameText(t, want.String(), body, "period %q", period)
			assert.Contains(t, body, `aria-current="true">`+v.Period+`</a>`)
		}
	}
	// A flash message is the request's own, around the cached content.
	msg := e.importRows(t, c, "date,account,kind,amount,note\n2026-01-05,broker,deposit,1,flash\n")
	require.Contains(t, msg, "Imported 1 new")
	status, body, _ := e.get(t, c, "/portfolio")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Imported 1 new")
	_, body, _ = e.get(t, c, "/portfolio")
	assert.NotContains(t, body, "Imported 1 new", "a flash is shown once")
}

// TestRenderedPortfolioIsTheOwners: two users whose books are at the same
// revision (the same number of writes) but differ are each served their
// own page and JSON, however their requests interleave, and never the
// other's (the cache is per owner, not per revision), compressed or not.
func TestRenderedPortfolioIsTheOwners(t *testing.T) {
	e := newTestEnvWith(t, config{dataDir: t.TempDir(), gzip: true})
	users := map[string]string{"alice": "1000", "bob": "2345"}
	clients := map[string]*http.Client{}
	for name, amount := range users {
		c := e.user(t, name, auth.RoleUser)
		status, _, _ := e.post(t, c, "/portfolio/accounts", url.Values{"id": {"main"}, "name": {"Account of " + name},
			"kind": {"bank"}, "currency": {"USD"}, "cost": {"fifo"}})
		require.Equal(t, http.StatusSeeOther, status)
		e.importRows(t, c, "date,account,kind,amount,note\n2025-01-02,main,deposit,"+amount+",first\n")
		e.get(t, c, "/portfolio") // shows the import's flash message, before the clients race
		clients[name] = c
	}
	ra, _ := e.currentRevision(t, "alice")
	rb, _ := e.currentRevision(t, "bob")
	require.Equal(t, ra, rb, "the test needs both books at one revision")
	var wg sync.WaitGroup
	for i := range 4 {
		accept := []string{"gzip", ""}[i%2]
		for name, amount := range users {
			other := "bob"
			if name == "bob" {
				other = "alice"
			}
			wg.Go(func() {
				for range 10 {
					status, js, h := e.getEncoded(t, clients[name], "/api/portfolio?base=USD", accept)
					require.Equal(t, http.StatusOK, status)
					assert.Equal(t, accept, h.Get("Content-Encoding"))
					var out struct {
						Valuation struct {
							NetInflow decimal.Decimal `json:"net_inflow"`
						} `json:"valuation"`
						Summary []string `json:"summary"`
					}
					require.NoError(t, json.Unmarshal([]byte(js), &out))
					assert.Equal(t, amount, out.Valuation.NetInflow.String(), name)
					lines := fmt.Sprint(out.Summary)
					assert.True(t, strings.Contains(lines, "Account of "+name) && !strings.Contains(lines, "Account of "+other),
						"%s's /api/portfolio: %s", name, lines)
					_, body, h := e.getEncoded(t, clients[name], "/portfolio", accept)
					assert.Equal(t, accept, h.Get("Content-Encoding"))
					assert.True(t, strings.Contains(body, "Account of "+name) && !strings.Contains(body, "Account of "+other),
						"%s's /portfolio names the other's account", name)
				}
			})
		}
	}
	wg.Wait()
}

// currentRevision is the revision of the books of the user called name.
func (e *testEnv) currentRevision(t *testing.T, name string) (uint64, auth.User) {
	t.Helper()
	u, err := e.app.authStore.UserByUsername(context.Background(), name)
	require.NoError(t, err)
	rev, err := e.app.books.revs.Revision(context.Background(), u.ID)
	require.NoError(t, err)
	return rev, u
}

// TestRenderedPortfolioFollowsWritesAndTime: a write is on the next page
// and JSON; unchanged books are served from the cache (the same bytes,
// nothing valued again) until valuationTTL has passed, then valued again.
func TestRenderedPortfolioFollowsWritesAndTime(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "follows", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	now := time.Now()
	var mu sync.Mutex
	e.app.books.now = func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); defer mu.Unlock(); now = now.Add(d) }

	_, body1, _ := e.get(t, c, "/api/portfolio")
	r1, _ := e.currentRender(t, "follows")
	_, body2, _ := e.get(t, c, "/api/portfolio")
	r2, _ := e.currentRender(t, "follows")
	assert.Same(t, r1, r2, "unchanged books within valuationTTL are not valued again")
	assert.Equal(t, body1, body2)
	assert.Equal(t, string(r1.json.plain), body1)

	advance(valuationTTL - time.Millisecond)
	e.get(t, c, "/portfolio")
	r3, _ := e.currentRender(t, "follows")
	assert.Same(t, r1, r3)
	// Past valuationTTL the request is answered from the last valuation
	// at once while one goroutine values the books again, with the page
	// content of the periods asked for rendered ahead.
	advance(time.Millisecond)
	_, page, _ := e.get(t, c, "/portfolio")
	html1, err := r1.pageContent(e.app.pages, pickPeriod(""))
	require.NoError(t, err)
	assert.Contains(t, page, string(html1), "served from the last valuation")
	var r4 *renderedPortfolio
	require.Eventually(t, func() bool {
		r4, _ = e.currentRender(t, "follows")
		return r4 != r1
	}, 10*time.Second, 5*time.Millisecond, "valued again in the background after valuationTTL")
	r4.mu.Lock()
	_, warmed := r4.content[pickPeriod("")]
	r4.mu.Unlock()
	assert.True(t, warmed, "the new valuation's page content is rendered ahead")
	e.app.books.wait()

	// Too stale to serve: valued before the request is answered.
	advance(valuationTTL + staleFor)
	e.get(t, c, "/api/portfolio")
	r4b, _ := e.currentRender(t, "follows")
	assert.NotSame(t, r4, r4b, "too stale: valued again at once")
	r4 = r4b

	// A clock that went back does not keep a valuation for longer.
	advance(-time.Minute)
	e.get(t, c, "/api/portfolio")
	r5, _ := e.currentRender(t, "follows")
	assert.NotSame(t, r4, r5)

	// A write is seen by the very next request, page and JSON.
	before := e.cashOf(t, c, "broker")
	e.importRows(t, c, "date,account,kind,amount,note\n2026-01-05,broker,deposit,12345.67,written now\n")
	_, body, _ := e.get(t, c, "/portfolio")
	assert.True(t, strings.Contains(body, "12,345.67"), "the page shows the new deposit")
	assert.Equal(t, before.Add(decimal.RequireFromString("12345.67")).String(), e.cashOf(t, c, "broker").String())
	r6, _ := e.currentRender(t, "follows")
	assert.NotSame(t, r5, r6)

	// Another base is valued in that base.
	_, js, _ := e.get(t, c, "/api/portfolio?base=NOK")
	assert.True(t, strings.HasPrefix(js, `{"base":"NOK"`), js[:min(len(js), 40)])
}

// cashOf is the cash of the user's account from /api/portfolio.
func (e *testEnv) cashOf(t *testing.T, c *http.Client, account string) decimal.Decimal {
	t.Helper()
	status, body, _ := e.get(t, c, "/api/portfolio")
	require.Equal(t, http.StatusOK, status)
	var out struct {
		Valuation struct {
			Cash []struct {
				Account string          `json:"account"`
				Amount  decimal.Decimal `json:"amount"`
			} `json:"cash"`
		} `json:"valuation"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &out))
	for _, c := range out.Valuation.Cash {
		if c.Account == account {
			return c.Amount
		}
	}
	t.Fatalf("no cash of %s", account)
	return decimal.Decimal{}
}

// requireSameText fails with the first difference of got from want, not
// the whole of two pages.
func requireSameText(t *testing.T, want, got string, msgAndArgs ...any) {
	t.Helper()
	if want == got {
		return
	}
	i := 0
	for i < len(want) && i < len(got) && want[i] == got[i] {
		i++
	}
	from := max(0, i-80)
	t.Fatalf("%s: differ at byte %d of %d/%d:\nwant …%s…\n got …%s…", fmt.Sprintf(msgAndArgs[0].(string), msgAndArgs[1:]...),
		i, len(want), len(got), want[from:min(len(want), i+80)], got[from:min(len(got), i+80)])
}

// TestBooksViewRecentIsNewestFirst: the recent transactions are the
// newest recentShown in the order a stable sort newest-first gives (ties
// in booking order), as sort.SliceStable over the whole list gave them.
func TestBooksViewRecentIsNewestFirst(t *testing.T) {
	accts, err := demoAccounts()
	require.NoError(t, err)
	txs, err := portfolio.ReadCSV(bytes.NewReader(demoCSV))
	require.NoError(t, err)
	l, err := portfolio.NewLedger(accts...)
	require.NoError(t, err)
	require.NoError(t, l.Apply(txs...))
	// Ties: several deposits at one instant, and at the newest one.
	last := txs[len(txs)-1].Time
	for i, at := range []time.Time{last, last, txs[3].Time, last.Add(time.Hour), last.Add(time.Hour)} {
		require.NoError(t, l.Apply(portfolio.Transaction{ID: fmt.Sprintf("tie-%d", i), Time: at, Account: "savings",
			Kind: portfolio.TxDeposit, Amount: decimal.NewFromInt(int64(i + 1)), Currency: "EUR"}))
	}
	for _, n := range []int{0, 3, len(txs)} {
		sub, err := portfolio.NewLedger(accts...)
		require.NoError(t, err)
		require.NoError(t, sub.Apply(l.Transactions()[:n]...))
		want := sub.Transactions()
		sort.SliceStable(want, func(i, j int) bool { return want[i].Time.After(want[j].Time) })
		want = want[:min(len(want), recentShown)]
		got := newBooksView(sub, nil).Recent
		require.Len(t, got, len(want))
		for i := range want {
			assert.Equal(t, want[i].ID, got[i].ID, "position %d of %d", i, n)
		}
	}
	want := l.Transactions()
	sort.SliceStable(want, func(i, j int) bool { return want[i].Time.After(want[j].Time) })
	got := newBooksView(l, nil).Recent
	require.Len(t, got, recentShown)
	for i := range got {
		assert.Equal(t, want[i].ID, got[i].ID, "position %d", i)
	}
}
