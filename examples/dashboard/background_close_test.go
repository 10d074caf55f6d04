package main

import (
	"context"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestCloseEndsBackgroundRevaluations: the cache's background work (a
// series valued again over fresh prices, a page valued again while the
// old one is served) ends when the app closes, instead of running on for
// up to refreshTimeout (30 s) against a provider that does not answer,
// which Close waited for; no goroutine is left.
func TestCloseEndsBackgroundRevaluations(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "closing", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	ctx := context.Background()
	u, err := e.app.authStore.UserByUsername(ctx, "closing")
	require.NoError(t, err)
	st := e.app.bookOf(u)
	e.app.books.wait()

	books := newBookCache(e.app.books.revs, e.app.books.history)
	_, err = books.performance(ctx, u.ID, st, "USD")
	require.NoError(t, err)
	build := func(ctx context.Context) (*renderedPortfolio, error) {
		return &renderedPortfolio{}, nil
	}
	_, err = books.rendered(ctx, u.ID, st, "USD", build)
	require.NoError(t, err)

	// A provider that never answers, prices past their time, a page past
	// its valuation: both revaluations start behind the requests.
	books.history = heldHistory{inner: books.history, release: make(chan struct{})}
	books.now = func() time.Time { return time.Now().Add(todayTTL + valuationTTL) }
	held := func(ctx context.Context) (*renderedPortfolio, error) {
		<-ctx.Done()
		return nil, ctx.Err()
	}
	_, err = books.performance(ctx, u.ID, st, "USD")
	require.NoError(t, err)
	books.now = func() time.Time { return time.Now().Add(valuationTTL + time.Millisecond) }
	_, err = books.rendered(ctx, u.ID, st, "USD", held)
	require.NoError(t, err)

	closed := make(chan struct{})
	go func() {
		books.close()
		close(closed)
	}()
	select {
	case <-closed:
	case <-time.After(refreshTimeout / 3):
		t.Fatal("close waited for the background revaluations to time out")
	}
	// None of the cache's goroutines is left (counted by their stacks:
	// the app's others come and go).
	assert.Eventually(t, func() bool {
		buf := make([]byte, 1<<20)
		stacks := string(buf[:runtime.Stack(buf, true)])
		return !strings.Contains(stacks, "revalueSeries") && !strings.Contains(stacks, "(*bookCache).refresh")
	}, 5*time.Second, 10*time.Millisecond, "a background revaluation is still running")
}
