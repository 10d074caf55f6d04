package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/papertrade"
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
