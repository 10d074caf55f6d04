package auth_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestSessionCacheLogoutUnderRacingValidates: many goroutines validate a
// cached session in a loop while it is logged out; every Validate that
// starts after Logout returned fails, whatever the interleaving (a racing
// read must never put the ended session back). Repeated for several
// sessions, with the cache's TTL far longer than the test.
func TestSessionCacheLogoutUnderRacingValidates(t *testing.T) {
	ctx := context.Background()
	svc, _ := cachedService(t, auth.NewMemoryStore(), newClock(), time.Hour)
	for round := range 20 {
		res, err := svc.Login(ctx, auth.Credentials{Username: "cached", Password: cachePassword})
		require.NoError(t, err)
		var loggedOut atomic.Bool
		var late atomic.Int64
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 16 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					after := loggedOut.Load()
					_, _, err := svc.Validate(ctx, res.Token)
					if after && err == nil {
						late.Add(1)
					}
				}
			})
		}
		time.Sleep(time.Millisecond)
		require.NoError(t, svc.Logout(ctx, res.Token))
		loggedOut.Store(true)
		time.Sleep(2 * time.Millisecond)
		close(stop)
		wg.Wait()
		assert.Zero(t, late.Load(), "round %d: Validates after the logout accepted the session", round)
		_, _, err = svc.Validate(ctx, res.Token)
		assert.ErrorIs(t, err, auth.ErrUnauthenticated)
	}
}
