package auth

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestClientKey(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":            "192.0.2.1",
		"::ffff:192.0.2.1":     "192.0.2.1",
		"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64",
		"2001:db8:1:2::9":      "2001:db8:1:2::/64",
		"fe80::1%eth0":         "fe80::/64",
		"not-an-ip":            "not-an-ip",
	} {
		assert.Equal(t, want, clientKey(in), in)
	}
}

func TestThrottlerBackoff(t *testing.T) {
	th := &throttler{scope: "account", limit: ThrottleLimit{Burst: 2, Every: time.Hour, Lockout: 10 * time.Second, MaxLockout: 35 * time.Second}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var st ThrottleState
	assert.Zero(t, th.fail(&st, now))
	assert.Zero(t, th.fail(&st, now))
	var got []time.Duration
	for range 4 {
		d := th.fail(&st, now)
		got = append(got, d)
		require.ErrorIs(t, th.locked(&st, now), ErrTooManyAttempts)
		now = now.Add(d)
		require.NoError(t, th.locked(&st, now))
	}
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 35 * time.Second, 35 * time.Second}, got)
}

// TestThrottleStateExpires checks that a state is forgettable exactly when
// it equals a fresh key's: bucket refilled, no lockout, no slowing and
// nothing in flight.
func TestThrottleStateExpires(t *testing.T) {
	th := &throttler{scope: "client", limit: ThrottleLimit{Burst: 3, Every: time.Minute, Lockout: time.Hour, MaxLockout: time.Hour}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var st ThrottleState
	require.NoError(t, th.admit(&st, false, now))
	assert.Equal(t, now.Add(inflightLease), st.Expires, "in flight")
	th.release(&st, now)
	assert.True(t, st.Expires.IsZero(), "released before any failure: fresh")
	th.fail(&st, now)
	th.fail(&st, now)
	assert.Equal(t, now.Add(2*time.Minute), st.Expires, "two tokens to refill")
	assert.InDelta(t, 3, th.tokens(&st, st.Expires), 1e-9)
	assert.InDelta(t, 1, th.tokens(&st, now), 1e-9)
	assert.InDelta(t, 1, th.tokens(&st, now.Add(-time.Hour)), 1e-9, "an earlier clock refills nothing")
	th.fail(&st, now)
	d := th.fail(&st, now)
	assert.Equal(t, time.Hour, d)
	assert.Equal(t, now.Add(time.Hour), st.Expires, "the lockout outlasts the refill")
}

func TestMemThrottleBoundedKeys(t *testing.T) {
	th := &throttler{scope: "client", limit: ThrottleLimit{Burst: 1, Every: time.Hour, Lockout: time.Minute, MaxLockout: time.Hour}}
	m := newMemThrottle(50)
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	failTwice := func(key string, at time.Time) {
		require.NoError(t, m.UpdateThrottle(ctx, at, []ThrottleKey{th.key(key)}, func(st []ThrottleState) error {
			th.fail(&st[0], at)
			th.fail(&st[0], at)
			return nil
		}))
	}
	for i := range 500 {
		failTwice(fmt.Sprint("ip", i), now.Add(time.Duration(i)*time.Millisecond))
	}
	assert.LessOrEqual(t, len(m.states), 50)
	lt := &loginThrottle{store: m}
	require.Error(t, lt.check(ctx, th, "ip499", now.Add(time.Second)), "most recent key kept")
}

func TestDisabledThrottle(t *testing.T) {
	lt := newLoginThrottle(Throttle{Disabled: true}, newMemThrottle(0))
	ctx := context.Background()
	now := time.Now()
	for range 100 {
		a, err := lt.begin(ctx, "a", "1.2.3.4", false, now)
		require.NoError(t, err)
		te, err := a.fail(ctx)
		require.NoError(t, err)
		assert.Nil(t, te)
	}
	assert.NoError(t, lt.check(ctx, lt.pair, pairKey("a", "1.2.3.4"), now))
	assert.Empty(t, lt.store.(*memThrottle).states)
}
