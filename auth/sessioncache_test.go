package auth_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
)

const cachePassword = "a passphrase long enough for the cache"

// cachedService is a Service with a session cache of ttl over store, and a
// logged-in user.
func cachedService(t *testing.T, store auth.Store, clock auth.Clock, ttl time.Duration) (*auth.Service, auth.LoginResult) {
	t.Helper()
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: store, Params: storetest.TinyParams(), Clock: clock, SessionCache: ttl})
	require.NoError(t, err)
	_, err = svc.Register(ctx, auth.RegisterRequest{Username: "cached", Password: cachePassword})
	require.NoError(t, err)
	res, err := svc.Login(ctx, auth.Credentials{Username: "cached", Password: cachePassword})
	require.NoError(t, err)
	return svc, res
}

// TestSessionCacheOneRead: with a session cache, repeated Validates read
// the store once per SessionCache, and are read again after it.
func TestSessionCacheOneRead(t *testing.T) {
	ctx := context.Background()
	store := &readCounter{Store: auth.NewMemoryStore()}
	clock := newClock()
	svc, res := cachedService(t, store, clock, time.Second)
	store.reads.Store(0)
	for range 5 {
		_, _, err := svc.Validate(ctx, res.Token)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(1), store.reads.Load())
	clock.Advance(time.Second)
	_, _, err := svc.Validate(ctx, res.Token)
	require.NoError(t, err)
	assert.Equal(t, int64(2), store.reads.Load(), "read again after SessionCache")
}

// TestSessionCacheEndsAtOnce: every way this Service ends a session or
// changes what it allows is seen by the very next Validate, although the
// session was cached a moment before; and timeouts are checked against
// the clock, not the time the session was cached.
func TestSessionCacheEndsAtOnce(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		end  func(svc *auth.Service, res auth.LoginResult) error
	}{
		{"logout", func(svc *auth.Service, res auth.LoginResult) error { return svc.Logout(ctx, res.Token) }},
		{"logout all", func(svc *auth.Service, res auth.LoginResult) error {
			_, err := svc.LogoutAll(ctx, res.User.ID)
			return err
		}},
		{"revoke", func(svc *auth.Service, res auth.LoginResult) error {
			return svc.RevokeSession(ctx, res.User.ID, res.Session.ID)
		}},
		{"disable", func(svc *auth.Service, res auth.LoginResult) error {
			_, err := svc.Disable(ctx, res.User.ID)
			return err
		}},
		{"role", func(svc *auth.Service, res auth.LoginResult) error {
			_, err := svc.SetRole(ctx, res.User.ID, auth.RoleAdmin)
			return err
		}},
		{"password set", func(svc *auth.Service, res auth.LoginResult) error {
			return svc.SetPassword(ctx, res.User.ID, "another passphrase that is long")
		}},
		{"rotate", func(svc *auth.Service, res auth.LoginResult) error {
			_, err := svc.Rotate(ctx, res.Token)
			return err
		}},
		{"delete user", func(svc *auth.Service, res auth.LoginResult) error { return svc.DeleteUser(ctx, res.User.ID) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc, res := cachedService(t, auth.NewMemoryStore(), newClock(), time.Hour)
			_, _, err := svc.Validate(ctx, res.Token)
			require.NoError(t, err) // now cached
			require.NoError(t, tc.end(svc, res))
			_, _, err = svc.Validate(ctx, res.Token)
			assert.ErrorIs(t, err, auth.ErrUnauthenticated)
		})
	}
	t.Run("idle timeout", func(t *testing.T) {
		clock := newClock()
		svc, res := cachedService(t, auth.NewMemoryStore(), clock, 10*auth.DefaultIdleTimeout)
		_, _, err := svc.Validate(ctx, res.Token)
		require.NoError(t, err)
		clock.Advance(auth.DefaultIdleTimeout)
		_, _, err = svc.Validate(ctx, res.Token)
		assert.ErrorIs(t, err, auth.ErrUnauthenticated)
	})
}

// TestSessionCacheOtherWriter is the trade, measured: a session ended by
// another Service on the same store (another instance, the CLI) still
// passes here until this Service's SessionCache has passed since it read
// the session, and not after.
func TestSessionCacheOtherWriter(t *testing.T) {
	ctx := context.Background()
	store := auth.NewMemoryStore()
	clock := newClock()
	svc, res := cachedService(t, store, clock, time.Second)
	other, err := auth.New(auth.Options{Store: store, Params: storetest.TinyParams(), Clock: clock})
	require.NoError(t, err)
	_, _, err = svc.Validate(ctx, res.Token)
	require.NoError(t, err)
	require.NoError(t, other.Logout(ctx, res.Token))
	clock.Advance(time.Second - time.Nanosecond)
	_, _, err = svc.Validate(ctx, res.Token)
	assert.NoError(t, err, "within SessionCache of its read the other's logout is not seen here")
	clock.Advance(time.Nanosecond)
	_, _, err = svc.Validate(ctx, res.Token)
	assert.ErrorIs(t, err, auth.ErrUnauthenticated)
	// A clock that went back does not make an entry live longer.
	store2 := auth.NewMemoryStore()
	svc2, res2 := cachedService(t, store2, clock, time.Second)
	other2, err := auth.New(auth.Options{Store: store2, Params: storetest.TinyParams(), Clock: clock})
	require.NoError(t, err)
	_, _, err = svc2.Validate(ctx, res2.Token)
	require.NoError(t, err)
	_, err = other2.LogoutAll(ctx, res2.User.ID)
	require.NoError(t, err)
	clock.Advance(-time.Minute)
	_, _, err = svc2.Validate(ctx, res2.Token)
	assert.ErrorIs(t, err, auth.ErrUnauthenticated, "read again: the clock is before the cached read")
}

// pausingStore holds SessionByToken after its read until released, the
// way a slow database lets a write land between a read and its use.
type pausingStore struct {
	auth.Store
	mu     sync.Mutex
	pause  bool
	read   chan struct{}
	resume chan struct{}
}

func (p *pausingStore) SessionByToken(ctx context.Context, th []byte) (auth.Session, auth.User, error) {
	sess, u, err := p.Store.SessionByToken(ctx, th)
	p.mu.Lock()
	pause := p.pause
	p.pause = false
	p.mu.Unlock()
	if pause {
		p.read <- struct{}{}
		<-p.resume
	}
	return sess, u, err
}

// TestSessionCacheReadRacingLogout: a Validate that read the session just
// before a logout and returns after it does not put the ended session back
// into the cache: the next Validate fails.
func TestSessionCacheReadRacingLogout(t *testing.T) {
	ctx := context.Background()
	store := &pausingStore{Store: auth.NewMemoryStore(), read: make(chan struct{}), resume: make(chan struct{})}
	svc, res := cachedService(t, store, newClock(), time.Hour)
	store.mu.Lock()
	store.pause = true
	store.mu.Unlock()
	done := make(chan error, 1)
	go func() {
		_, _, err := svc.Validate(ctx, res.Token)
		done <- err
	}()
	<-store.read // it has read the live session
	require.NoError(t, svc.Logout(ctx, res.Token))
	close(store.resume)
	require.NoError(t, <-done, "it began before the logout")
	_, _, err := svc.Validate(ctx, res.Token)
	assert.ErrorIs(t, err, auth.ErrUnauthenticated, "the racing read was not kept")
}

// TestSessionCacheNegative: SessionCache < 0 is refused.
func TestSessionCacheNegative(t *testing.T) {
	_, err := auth.New(auth.Options{Store: auth.NewMemoryStore(), SessionCache: -time.Second})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, auth.ErrUnauthenticated))
}
