package main

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// netWorthOf is the net worth the home page shows.
func netWorthOf(t *testing.T, body string) string {
	t.Helper()
	m := regexp.MustCompile(`id="net-worth">([^<]+)<`).FindStringSubmatch(body)
	require.NotNil(t, m, "no net worth on the page")
	return m[1]
}

// TestOverviewFromCacheIsTheTemplatesPage: the home page served from the
// cached content is, byte for byte, the overview template rendered whole
// (layout and content in one execution) over a fresh overview of the same
// valuation, with a flash message around it; it is rendered once per
// valuation; empty books still get their welcome by name.
func TestOverviewFromCacheIsTheTemplatesPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "homepage", auth.RoleUser)
	_, body, _ := e.get(t, c, "/")
	assert.Contains(t, body, "Welcome, homepage", "empty books")
	e.post(t, c, "/portfolio/demo", nil)
	e.get(t, c, "/portfolio") // shows the demo's flash message
	for _, base := range []string{"", "EUR"} {
		for i := range 2 { // rendering, then from the cache
			status, body, h := e.get(t, c, "/?base="+base)
			require.Equal(t, http.StatusOK, status)
			assert.Equal(t, "text/html; charset=utf-8", h.Get("Content-Type"))
			r, u := e.currentRender(t, "homepage")
			if i == 1 {
				require.NotNil(t, r.overview, "served from the cached content")
			}
			var want bytes.Buffer
			require.NoError(t, e.app.pages.byName["overview"].ExecuteTemplate(&want, "layout",
				view{Title: "Overview", Active: "home", User: &u, Data: e.app.overviewOf(context.Background(), r.view)}))
			requireSameText(t, want.String(), body, "base %q", base)
			assert.Contains(t, body, "Top movers today")
		}
	}
	msg := e.importRows(t, c, "date,account,kind,amount,note\n2026-01-05,broker,deposit,1,flash\n")
	require.Contains(t, msg, "Imported 1 new")
	_, body, _ = e.get(t, c, "/")
	assert.Contains(t, body, "Imported 1 new", "the request's flash around the cached content")
	_, body, _ = e.get(t, c, "/")
	assert.NotContains(t, body, "Imported 1 new")
}

// TestOverviewIsTheOwners: two users whose books are at the same revision
// but differ each get their own home page however their requests
// interleave, compressed or not, and a write shows on the next one.
func TestOverviewIsTheOwners(t *testing.T) {
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
	want := map[string]string{}
	for name, c := range clients {
		_, body, _ := e.get(t, c, "/")
		want[name] = netWorthOf(t, body)
	}
	require.NotEqual(t, want["alice"], want["bob"])
	var wg sync.WaitGroup
	for i := range 4 {
		accept := []string{"gzip", ""}[i%2]
		for name := range users {
			wg.Go(func() {
				for range 10 {
					_, body, h := e.getEncoded(t, clients[name], "/", accept)
					assert.Equal(t, accept, h.Get("Content-Encoding"))
					assert.Equal(t, want[name], netWorthOf(t, body), name)
					other := map[string]string{"alice": "bob", "bob": "alice"}[name]
					assert.False(t, strings.Contains(body, "Account of "+other), "%s's home page names %s's account", name, other)
				}
			})
		}
	}
	wg.Wait()
	e.importRows(t, clients["alice"], "date,account,kind,amount,note\n2025-01-03,main,deposit,11111,second\n")
	_, body, _ := e.get(t, clients["alice"], "/")
	assert.NotEqual(t, want["alice"], netWorthOf(t, body), "the write is on the next home page")
}

// TestOverviewCancelledKeepsNothing: a request whose context has ended
// while the home page's content is made keeps nothing, so the next one
// renders it (with its movers).
func TestOverviewCancelledKeepsNothing(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "leaver", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	e.get(t, c, "/api/portfolio")
	r, _ := e.currentRender(t, "leaver")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := r.overviewContent(ctx, e.app)
	require.ErrorIs(t, err, context.Canceled)
	assert.Nil(t, r.overview)
	content, err := r.overviewContent(context.Background(), e.app)
	require.NoError(t, err)
	assert.Contains(t, string(content), `<td class="mono strong"`, "with its movers")
	assert.Same(t, &content[0], &r.overview[0])
}
