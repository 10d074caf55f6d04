package main

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
)

// TestPaperOrdersAcrossInstances: a user's limit orders placed at once on
// two instances of one database (SQLite and PostgreSQL) take exactly
// paperMaxPending places between them, every accepted order is kept and
// seen by both; crossing orders polled by both instances at once fill
// exactly once each. (Each instance saved its own copy of the whole order
// list: they overwrote each other's orders, each capped only its own, and
// both filled the same orders.)
func TestPaperOrdersAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		a, other, _ := twoInstances(t, b)
		u, err := a.app.auth.Register(ctx, auth.RegisterRequest{Username: "trader", Password: testPassword, Role: auth.RoleUser})
		require.NoError(t, err)
		var pss [2]*paperState
		for i, e := range []*testEnv{a, other} {
			pss[i], err = e.app.paperFor(ctx, u)
			require.NoError(t, err)
		}
		var accepted, capped atomic.Int64
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i := range paperMaxPending + 30 {
			wg.Go(func() {
				<-start
				e := []*testEnv{a, other}[i%2]
				_, err := e.app.placePaper(ctx, pss[i%2], paperRequest{Symbol: "MSFT", Qty: "1", Side: "buy", Limit: "1"})
				if err == nil {
					accepted.Add(1)
					return
				}
				assert.Contains(t, err.Error(), "at most 100 limit orders")
				capped.Add(1)
			})
		}
		close(start)
		wg.Wait()
		assert.Equal(t, int64(paperMaxPending), accepted.Load(), "the cap holds across instances")
		assert.Equal(t, int64(30), capped.Load())
		for i, e := range []*testEnv{a, other} {
			e.app.poll(ctx, pss[i])
			assert.Len(t, pss[i].acct.Orders(), paperMaxPending, "instance %d sees every accepted order", i)
		}

		// Make room, then place crossing orders and poll on both at once.
		for _, o := range pss[0].acct.Orders() {
			require.NoError(t, pss[o.ID%2].acct.Cancel(o.ID))
		}
		const crossing = 10
		for i := range crossing {
			_, err := a.app.placePaper(ctx, pss[i%2], paperRequest{Symbol: "AAPL", Qty: "1", Side: "buy", Limit: "100000"})
			require.NoError(t, err)
		}
		// Each instance's app.poll logs its fills in ps.log, as its
		// background poller (which may run meanwhile) does.
		envs := []*testEnv{a, other}
		for range 3 {
			for i := range pss {
				wg.Go(func() { envs[i].app.poll(ctx, pss[i]) })
			}
		}
		wg.Wait()
		fills := map[int]int{}
		for i, e := range envs {
			e.app.mu.Lock()
			for _, ex := range pss[i].log {
				fills[ex.OrderID]++
			}
			e.app.mu.Unlock()
		}
		assert.Len(t, fills, crossing, "every order filled")
		for id, n := range fills {
			assert.Equal(t, 1, n, "order %d filled %d times", id, n)
		}
		txs, err := other.app.paperBookOf(u).Transactions(ctx)
		require.NoError(t, err)
		buys := 0
		for _, tx := range txs {
			if tx.Kind == portfolio.TxBuy {
				buys++
			}
		}
		assert.Equal(t, crossing, buys, "one booked fill per order")
		for i := range pss {
			_, err := pss[i].acct.Poll(ctx)
			require.NoError(t, err)
			assert.Empty(t, pss[i].acct.Orders())
			assert.Equal(t, "10", pss[i].acct.Positions()["AAPL"].String(), "instance %d shows every fill", i)
		}
	})
}

// TestPaperOrderHostileValues: the paper form and the API refuse
// quantities and limit prices no trade has with a sentence, and store
// nothing.
func TestPaperOrderHostileValues(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "hostile", auth.RoleUser)
	for _, tc := range []struct{ qty, limit, want string }{
		{"1e9999", "1", "quantity must be more than 0 and at most"},
		{"1e9999", "", "quantity must be more than 0 and at most"},
		{"0.000000001", "1", "at most 8 decimals"},
		{"1", "1e9999", "limit price must be more than 0"},
		{"1", "1e-9999", "limit price must be more than 0"},
		{"NaN", "1", "positive number"},
		{"Inf", "1", "positive number"},
		{"1", "NaN", "positive number"},
		{"1", "-Inf", "positive number"},
		{"1", "-3", "positive number"},
		{"99999999999", "1", "quantity must be more than 0"},
	} {
		status, _, h := e.post(t, c, "/paper/order", url.Values{"side": {"buy"}, "symbol": {"AAPL"}, "qty": {tc.qty}, "limit": {tc.limit}})
		require.Equal(t, http.StatusSeeOther, status)
		assert.Contains(t, e.flashAt(t, c, h.Get("Location")), tc.want, "qty %s limit %s", tc.qty, tc.limit)

		body := `{"symbol":"AAPL","side":"buy","quantity":"` + tc.qty + `","limit":"` + tc.limit + `"}`
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/api/paper/orders", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, "API qty %s limit %s", tc.qty, tc.limit)
	}
	u := mustUser(t, e, "hostile")
	ps, err := e.app.paperFor(context.Background(), u)
	require.NoError(t, err)
	assert.Empty(t, ps.acct.Orders())
	txs, err := e.app.paperBookOf(u).Transactions(context.Background())
	require.NoError(t, err)
	assert.Len(t, txs, 1, "only the deposit")
}
