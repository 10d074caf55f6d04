package auth_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRegisterThrottledPerClient checks that one client cannot create
// accounts (each costing a password hash) without limit, that a refused
// attempt hashes and stores nothing, that other clients are unaffected,
// that an IPv6 client is keyed by its /64 and that the budget refills.
func TestRegisterThrottledPerClient(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	from := func(ip string) context.Context { return auth.WithClient(ctx, auth.Client{IP: ip}) }
	reg := func(ctx context.Context, name string) error {
		_, err := f.svc.Register(ctx, auth.RegisterRequest{Username: name, Password: goodPassword})
		return err
	}
	a := from("203.0.113.7")
	for i := range 5 {
		require.NoError(t, reg(a, fmt.Sprintf("user-a%d", i)))
	}
	hashes := f.hasher.hashes.Load()
	err := reg(a, "user-a-extra")
	require.ErrorIs(t, err, auth.ErrTooManyAttempts)
	d, ok := auth.RetryAfter(err)
	assert.True(t, ok && d > 0, "retry after %v", d)
	assert.Equal(t, hashes, f.hasher.hashes.Load(), "refused before hashing")
	_, err = f.store.UserByUsername(ctx, "user-a-extra")
	require.ErrorIs(t, err, auth.ErrNotFound, "nothing stored")
	// Invalid attempts count too, and stay refused while locked out.
	require.ErrorIs(t, reg(a, "x"), auth.ErrTooManyAttempts)
	require.NoError(t, reg(from("198.51.100.9"), "user-b"), "another client")
	// One IPv6 /64 is one client.
	for i := range 5 {
		require.NoError(t, reg(from(fmt.Sprintf("2001:db8:1:2::%x", i+1)), fmt.Sprintf("user-v%d", i)))
	}
	require.ErrorIs(t, reg(from("2001:db8:1:2::ff"), "user-v-extra"), auth.ErrTooManyAttempts)
	// Without a client (an admin's CLI) registration is not limited.
	require.NoError(t, reg(ctx, "user-cli"))
	f.clock.Advance(d + 10*time.Minute)
	require.NoError(t, reg(a, "user-a-later"), "refilled after the lockout")
	assert.Contains(t, f.logs.String(), `"event":"register.throttled"`)
}

// TestRegisterThrottleConcurrent checks that concurrent registrations
// from one client cannot all pass the budget check together.
func TestRegisterThrottleConcurrent(t *testing.T) {
	f := newFixture(t)
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.8"})
	var ok atomic.Int64
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := f.svc.Register(ctx, auth.RegisterRequest{Username: fmt.Sprintf("racer-%d", i), Password: goodPassword}); err == nil {
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int64(5), ok.Load())
}
