package auth

import (
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
	th := newThrottler("account", ThrottleLimit{Burst: 2, Every: time.Hour, Lockout: 10 * time.Second, MaxLockout: 35 * time.Second}, 100)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	assert.Zero(t, th.fail("k", now))
	assert.Zero(t, th.fail("k", now))
	var got []time.Duration
	for range 4 {
		d := th.fail("k", now)
		got = append(got, d)
		err := th.check("k", now)
		require.ErrorIs(t, err, ErrTooManyAttempts)
		now = now.Add(d)
		require.NoError(t, th.check("k", now))
	}
	assert.Equal(t, []time.Duration{10 * time.Second, 20 * time.Second, 35 * time.Second, 35 * time.Second}, got)
	th.reset("k")
	assert.Zero(t, th.fail("k", now))
}

func TestThrottlerBoundedKeys(t *testing.T) {
	th := newThrottler("client", ThrottleLimit{Burst: 1, Every: time.Hour, Lockout: time.Minute, MaxLockout: time.Hour}, 50)
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range 500 {
		th.fail(fmt.Sprint("ip", i), now.Add(time.Duration(i)*time.Millisecond))
		th.fail(fmt.Sprint("ip", i), now.Add(time.Duration(i)*time.Millisecond))
	}
	assert.LessOrEqual(t, len(th.entries), 50)
	require.Error(t, th.check("ip499", now.Add(time.Second)), "most recent key kept")
}

func TestDisabledThrottle(t *testing.T) {
	lt := newLoginThrottle(Throttle{Disabled: true})
	now := time.Now()
	for range 100 {
		assert.Nil(t, lt.fail("a", "1.2.3.4", now))
	}
	assert.NoError(t, lt.check("a", "1.2.3.4", now))
}
