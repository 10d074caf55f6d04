package auth_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// lockoutSim replays a day of an attacker guessing the victim's password
// from one address every 10 seconds (under the attacker's own client
// limit) and coming back as soon as a lockout ends, while the victim logs
// in every 10 minutes from another address. login is how the victim logs in; it returns the error.
func lockoutSim(t *testing.T, f *fixture, login func(ctx context.Context) error) (ok, refused int, longestWait time.Duration, guesses int) {
	t.Helper()
	attacker := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.66"})
	victim := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.7"})
	const step = 5 * time.Second
	nextGuess, nextLogin := time.Duration(0), 7*time.Second
	for elapsed := time.Duration(0); elapsed < 24*time.Hour; elapsed += step {
		if elapsed >= nextGuess {
			_, err := f.svc.Login(attacker, auth.Credentials{Username: "victim", Password: "attacker guess"})
			require.Error(t, err)
			if !errors.Is(err, auth.ErrTooManyAttempts) {
				guesses++
			}
			nextGuess = elapsed + 10*time.Second
			if d, throttled := auth.RetryAfter(err); throttled {
				nextGuess = elapsed + d // back as soon as the lockout ends
			}
		}
		if elapsed >= nextLogin {
			err := login(victim)
			if d, throttled := auth.RetryAfter(err); throttled {
				// The real user waits as told and tries once more.
				refused++
				longestWait = max(longestWait, d)
				f.clock.Advance(d)
				elapsed += d
				err = login(victim)
			}
			if err == nil {
				ok++
			}
			nextLogin = elapsed + 10*time.Minute
		}
		f.clock.Advance(step)
	}
	return ok, refused, longestWait, guesses
}

// TestLockoutAbuse: an attacker's failures must not deny the real user,
// who at worst waits a short while once.
func TestLockoutAbuse(t *testing.T) {
	f := newFixture(t)
	f.register(t, "victim", "")
	ok, refused, wait, guesses := lockoutSim(t, f, func(ctx context.Context) error {
		_, err := f.svc.Login(ctx, auth.Credentials{Username: "victim", Password: goodPassword})
		if err != nil && !errors.Is(err, auth.ErrTooManyAttempts) {
			t.Fatalf("victim: %v", err)
		}
		return err
	})
	t.Logf("attacker: %d guesses; victim logins: %d ok, %d refused first, longest wait %s", guesses, ok, refused, wait)
	assert.Equal(t, 144, ok, "every login of the real user gets through")
	assert.LessOrEqual(t, wait, time.Minute, "the real user is slowed, not locked out")
}

// TestLockoutAbuseDistributed: an attacker guessing from a new address
// every 10 seconds spends the account's global limit; the account is then
// slowed, and the real user logging in with the device token of an earlier
// login is never refused.
func TestLockoutAbuseDistributed(t *testing.T) {
	f := newFixture(t)
	f.register(t, "victim", "")
	device := f.login(t, "victim").DeviceToken
	require.NotEmpty(t, device)
	attackerIP := 0
	guesses, admitted, slowed := 0, 0, 0
	ok := 0
	victim := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.7"})
	for elapsed := time.Duration(0); elapsed < 24*time.Hour; elapsed += 10 * time.Second {
		attackerIP++
		ctx := auth.WithClient(context.Background(), auth.Client{IP: fmt.Sprintf("10.%d.%d.%d", attackerIP>>16&255, attackerIP>>8&255, attackerIP&255)})
		_, err := f.svc.Login(ctx, auth.Credentials{Username: "victim", Password: "attacker guess"})
		guesses++
		switch {
		case errors.Is(err, auth.ErrInvalidCredentials):
			admitted++
		case errors.Is(err, auth.ErrTooManyAttempts):
			slowed++
			d, _ := auth.RetryAfter(err)
			assert.LessOrEqual(t, d, 30*time.Second, "slowed, not locked")
		default:
			t.Fatalf("attacker: %v", err)
		}
		if elapsed%(10*time.Minute) == 0 {
			res, err := f.svc.Login(victim, auth.Credentials{Username: "victim", Password: goodPassword, DeviceToken: device})
			require.NoError(t, err, "at %s", elapsed)
			device = res.DeviceToken
			ok++
		}
		f.clock.Advance(10 * time.Second)
	}
	t.Logf("attacker: %d attempts, %d verified, %d slowed; victim with device token: %d of 144 in", guesses, admitted, slowed, ok)
	assert.Equal(t, 144, ok)
	assert.Less(t, admitted, 100+24*120+24*120+10, "the global limit and the slow lane bound the guesses")
}

// TestDisabledAccountCounts: the right password of a disabled account is
// a failed attempt like a wrong one, so it cannot be tried without limit.
func TestDisabledAccountCounts(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 3, Every: time.Hour, Lockout: time.Minute}
	})
	u := f.register(t, "parked", "")
	_, err := f.svc.Disable(context.Background(), u.ID)
	require.NoError(t, err)
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "192.0.2.80"})
	var last error
	for range 5 {
		_, last = f.svc.Login(ctx, auth.Credentials{Username: "parked", Password: goodPassword})
	}
	require.ErrorIs(t, last, auth.ErrTooManyAttempts)
}

// TestLockoutAbuseDistributedSecondFactor: while a distributed attack
// slows the account, a user with two-factor authentication on a new
// device (no device token) gets in with a valid code, at once; codes tried
// to get past the slowing are themselves limited.
func TestLockoutAbuseDistributedSecondFactor(t *testing.T) {
	f := newFixture(t)
	f.register(t, "victim", "")
	gen, _, _ := f.enableTOTP(t, context.Background(), "victim")
	victim := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.7"})
	ok := 0
	for i := range 8640 {
		ip := fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)
		ctx := auth.WithClient(context.Background(), auth.Client{IP: ip})
		_, err := f.svc.Login(ctx, auth.Credentials{Username: "victim", Password: "attacker guess", Code: "123456"})
		require.Error(t, err)
		if i%60 == 0 && i > 0 {
			code, _ := gen.Code(f.clock.Now())
			_, err := f.svc.Login(victim, auth.Credentials{Username: "victim", Password: goodPassword, Code: code})
			require.NoError(t, err, "attempt %d", i)
			ok++
		}
		f.clock.Advance(10 * time.Second)
	}
	assert.Equal(t, 143, ok)

	// Without the code (and without a device token) the user is slowed.
	_, err := f.svc.Login(victim, auth.Credentials{Username: "victim", Password: goodPassword})
	var te *auth.ThrottleError
	if errors.As(err, &te) {
		assert.Equal(t, "global", te.Scope)
		assert.LessOrEqual(t, te.RetryAfter, 30*time.Second)
	}
}
