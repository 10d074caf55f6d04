package main

import (
	"context"
	"encoding/json"
	"maps"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
)

// TestPersonalPagesNotStored: what a logged-in user is served (the
// portfolio page and JSON cached per owner, the overview, the paper page)
// carries Cache-Control: no-store, so a browser shared by two people
// keeps no copy of the first one's books to show the next after a logout
// (the back button, the history); static files stay cacheable. (No page
// said anything about caching.)
func TestPersonalPagesNotStored(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "private", auth.RoleUser)
	for _, path := range []string{"/", "/portfolio", "/api/portfolio", "/paper", "/transactions", "/account"} {
		status, _, h := e.get(t, c, path)
		assert.Equal(t, http.StatusOK, status, path)
		assert.Contains(t, h.Get("Cache-Control"), "no-store", path)
	}
	for _, path := range []string{"/static/style.css", "/favicon.ico"} {
		status, _, h := e.get(t, c, path)
		assert.Equal(t, http.StatusOK, status, path)
		assert.NotContains(t, h.Get("Cache-Control"), "no-store", path)
	}
	anon := e.client(t)
	_, _, h := e.get(t, anon, "/static/style.css")
	assert.NotContains(t, h.Get("Cache-Control"), "no-store")
}

// TestPaperCancelWhileFilling: cancelling an order another instance is
// filling (its claim is in the stored record) is a 409 through the API
// and says so on the form, and the order stays pending; an id that is no
// number, or no pending order, is a 404. (The API answered 404 "No such
// pending order." to an order being filled, and to a store failure.)
func TestPaperCancelWhileFilling(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.user(t, "canceller", auth.RoleUser)
	u := mustUser(t, e, "canceller")
	ps, err := e.app.paperFor(ctx, u)
	require.NoError(t, err)
	id, err := ps.acct.PlaceLimit("AAPL", papertrade.Buy, decimal.NewFromInt(1), decimal.RequireFromString("0.01"))
	require.NoError(t, err)
	orders, err := e.app.paperOrders(u)
	require.NoError(t, err)
	claim := func(at time.Time) {
		t.Helper()
		require.NoError(t, orders.UpdateState(ctx, "papertrade/orders/"+paperAccountID, func(cur []byte) ([]byte, error) {
			var st map[string]any
			if err := json.Unmarshal(cur, &st); err != nil {
				return nil, err
			}
			o := st["orders"].([]any)[0].(map[string]any)
			o["filling"] = at
			return json.Marshal(st)
		}))
	}
	claim(time.Now()) // another instance is filling it
	del := func(path string) int {
		req, err := http.NewRequest(http.MethodDelete, e.srv.URL+path, nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		require.NoError(t, err)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	path := "/api/paper/orders/" + strconv.Itoa(id)
	assert.Equal(t, http.StatusConflict, del(path))
	status, _, h := e.post(t, c, "/paper/cancel", url.Values{"id": {strconv.Itoa(id)}})
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "being filled")
	_, err = ps.acct.Poll(ctx)
	require.NoError(t, err)
	assert.Len(t, ps.acct.Orders(), 1, "still pending")

	assert.Equal(t, http.StatusNotFound, del("/api/paper/orders/abc"))
	assert.Equal(t, http.StatusNotFound, del("/api/paper/orders/99"))
	status, _, h = e.post(t, c, "/paper/cancel", url.Values{"id": {"abc"}})
	assert.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "No such pending order")

	claim(time.Now().Add(-2 * time.Minute)) // its filler died long ago
	assert.Equal(t, http.StatusNoContent, del(path))
	assert.Equal(t, http.StatusNotFound, del(path))
}

// TestQuoteJSONHostileStrings: the pre-encoded /api/quotes halves stay
// byte for byte json.Marshal when every string a provider or a caller
// controls holds HTML, U+2028/U+2029, control characters, quotes,
// backslashes and invalid UTF-8, and the age is any duration (negative
// after a clock step, tiny, huge).
func TestQuoteJSONHostileStrings(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 17))
	pieces := []string{"<", ">", "&", "\u2028", "\u2029", "\x00", "\x1f", "\"", "\\", "\xff", "\xc3", "é", "💰", "a", " ", "</script>"}
	str := func() string {
		var b strings.Builder
		for range rng.IntN(8) {
			b.WriteString(pieces[rng.IntN(len(pieces))])
		}
		return b.String()
	}
	var enc quoteJSON
	t0 := time.Date(2026, 12, 2, 7, 0, 0, 0, time.UTC)
	for i := range 500 {
		m := marketdata.Merged{Symbol: str(), Price: rng.Float64() * math.Pow(10, float64(rng.IntN(30)-10)), Currency: str(),
			Time: t0.Add(time.Duration(rng.Int64N(1e15))), Confidence: marketdata.Confidence(str()), Reason: str(),
			Agreeing: rng.IntN(5), Independent: rng.IntN(5), SpreadPct: rng.NormFloat64(), Stale: rng.IntN(2) == 0,
			Fetched: t0.Add(time.Duration(i)), Age: time.Duration(rng.Int64() >> rng.IntN(64)), Revalidating: rng.IntN(2) == 0}
		if rng.IntN(2) == 0 {
			m.Age = -m.Age
		}
		for range rng.IntN(3) {
			m.Sources = append(m.Sources, marketdata.Source{Provider: str(), Price: rng.Float64() * 100, Currency: str(),
				Latency: time.Duration(rng.Int64N(1e10)), Used: rng.IntN(2) == 0, Error: str()})
		}
		res := &marketdata.Result{Quotes: []marketdata.Merged{m, m}, Missing: []string{str()},
			Errors: []marketdata.ProviderError{{Provider: str(), Symbol: str(), Message: str()}}}
		want, err := json.Marshal(newAPIQuotes(res))
		require.NoError(t, err)
		for range 2 { // encoded, then from the kept halves
			got, err := enc.body(res)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got), "case %d", i)
		}
	}
}

// TestBookCacheBoundedByWeight: the books' cache drops its least recently
// used owners once what they keep weighs more than maxWeight, not only
// past maxCachedOwners (a thousand owners of 1,000 transactions kept
// 10-24 GB: BenchmarkCachedOwnerMemory), and a write-free owner that
// stays is served from the cache.
func TestBookCacheBoundedByWeight(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.app.books
	t0 := time.Now()
	var tick atomic.Int64
	c.now = func() time.Time { return t0.Add(time.Duration(tick.Add(1)) * time.Second) }
	var users []auth.User
	for i := range 6 {
		u, err := e.app.auth.Register(ctx, auth.RegisterRequest{Username: "weight" + strconv.Itoa(i), Password: testPassword, Role: auth.RoleUser})
		require.NoError(t, err)
		st := e.app.bookOf(u)
		require.NoError(t, st.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
		txs := make([]portfolio.Transaction, 150)
		for j := range txs {
			txs[j] = portfolio.Transaction{ID: "t" + strconv.Itoa(j), Account: "a", Kind: portfolio.TxDeposit,
				Time: t0.AddDate(0, 0, -j-1).UTC(), Amount: decimal.NewFromInt(1), Currency: "USD"}
		}
		_, err = portfolio.BookTransactions(ctx, st, txs)
		require.NoError(t, err)
		users = append(users, u)
	}
	one := int64(150+50) * 2 // an owner's ledger and one series
	c.maxWeight = 3 * one
	for _, u := range users {
		_, err := c.performance(ctx, u.ID, e.app.bookOf(u), "USD")
		require.NoError(t, err)
	}
	c.mu.Lock()
	kept := slices.Sorted(maps.Keys(c.owners))
	weight := c.weightLocked()
	c.mu.Unlock()
	assert.LessOrEqual(t, weight, c.maxWeight+one, "within the budget and the last owner")
	assert.Len(t, kept, 4, "the last owners, the budget's three and the newest")
	assert.Equal(t, slices.Sorted(slices.Values([]string{users[2].ID, users[3].ID, users[4].ID, users[5].ID})), kept, "the least recently used went first")
	loads := c.loads.Load()
	_, err := c.performance(ctx, users[5].ID, e.app.bookOf(users[5]), "USD")
	require.NoError(t, err)
	assert.Equal(t, loads, c.loads.Load(), "a kept owner is served from the cache")
}
