package main

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

// heldHistory answers like inner once release is closed; until then
// every call waits (or ends with its context).
type heldHistory struct {
	inner   marketdata.HistoryProvider
	release chan struct{}
}

func (h heldHistory) Name() string { return h.inner.Name() }

func (h heldHistory) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	select {
	case <-h.release:
	case <-ctx.Done():
		return marketdata.History{}, ctx.Err()
	}
	return h.inner.History(ctx, symbol, req)
}

// TestSeriesRevaluedBehindRequests: past todayTTL a request gets the
// performance of the series it has at once, while one background
// goroutine values the books over fresh prices (held here until
// released: a request that waited for it would time out); a write booked
// meanwhile is in the fresh series when it takes the old one's place,
// and its figures are a fresh Ledger.Performance over the stored books
// and the fresh prices.
func TestSeriesRevaluedBehindRequests(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "later", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	ctx := context.Background()
	u, err := e.app.authStore.UserByUsername(ctx, "later")
	require.NoError(t, err)
	st := e.app.bookOf(u)
	before, err := e.app.books.performance(ctx, u.ID, st, "USD")
	require.NoError(t, err)
	e.app.books.wait() // nothing of the app's in the background now
	held := heldHistory{inner: e.app.books.history, release: make(chan struct{})}
	e.app.books.history = held
	e.app.books.now = func() time.Time { return time.Now().Add(todayTTL) }

	quick, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	stale, err := e.app.books.performance(quick, u.ID, st, "USD")
	require.NoError(t, err, "the request did not wait for the revaluation")
	assert.Equal(t, before.EndValue, stale.EndValue, "the series it had")

	// A deposit booked while the fresh series is being valued.
	e.importRows(t, c, "date,account,kind,amount,note\n2026-03-02,broker,deposit,250,during the revaluation\n")
	close(held.release)
	e.app.books.wait()

	got, err := e.app.books.performance(ctx, u.ID, st, "USD")
	require.NoError(t, err)
	l, err := portfolio.LoadLedger(ctx, st)
	require.NoError(t, err)
	e.app.books.mu.Lock()
	ob := e.app.books.owners[u.ID]
	e.app.books.mu.Unlock()
	ob.mu.Lock()
	hist := ob.series["USD"].hist
	ob.mu.Unlock()
	want, err := l.Performance(ctx, portfolio.PerformanceOptions{Base: "USD", History: hist, To: time.Now().UTC()})
	require.NoError(t, err)
	assert.Equal(t, want.NetFlows, got.NetFlows)
	assert.InDelta(t, before.NetFlows+250, got.NetFlows, 1e-6, "the deposit booked meanwhile is in")
	assert.Equal(t, want.TWR, got.TWR)
	assert.Equal(t, want.XIRR, got.XIRR)
	assert.Equal(t, want.EndValue, got.EndValue)
	assert.Equal(t, len(want.Points), len(got.Points))
}
