package auth_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// enableTOTP logs name in, turns TOTP on and returns the generator, the
// recovery codes and the session ConfirmTOTP returned.
func (f *fixture) enableTOTP(t *testing.T, ctx context.Context, name string) (auth.TOTP, []string, auth.LoginResult) {
	t.Helper()
	res, err := f.svc.Login(ctx, auth.Credentials{Username: name, Password: goodPassword})
	require.NoError(t, err)
	enr, err := f.svc.EnrollTOTP(ctx, res.Token)
	require.NoError(t, err)
	secret, err := decodeB32(enr.Secret)
	require.NoError(t, err)
	gen := auth.TOTP{Secret: secret}
	code, err := gen.Code(f.clock.Now())
	require.NoError(t, err)
	conf, err := f.svc.ConfirmTOTP(ctx, res.Token, code)
	require.NoError(t, err)
	return gen, conf.RecoveryCodes, conf.Login
}

func TestTOTPFlow(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "twofa", "")
	ctx := context.Background()
	first := f.login(t, "twofa")

	_, err := f.svc.ConfirmTOTP(ctx, first.Token, "123456")
	require.ErrorIs(t, err, auth.ErrTOTPNotEnrolled)

	enr, err := f.svc.EnrollTOTP(ctx, first.Token)
	require.NoError(t, err)
	assert.Contains(t, enr.URI, "otpauth://totp/finkit:twofa?")
	secret, err := decodeB32(enr.Secret)
	require.NoError(t, err)
	gen := auth.TOTP{Secret: secret}

	// Pending enrolment does not yet require a code.
	other := f.login(t, "twofa")

	_, err = f.svc.ConfirmTOTP(ctx, first.Token, "000000x")
	require.ErrorIs(t, err, auth.ErrInvalidTOTP)
	code, err := gen.Code(f.clock.Now())
	require.NoError(t, err)
	conf, err := f.svc.ConfirmTOTP(ctx, first.Token, code)
	require.NoError(t, err)
	recovery := conf.RecoveryCodes
	require.Len(t, recovery, auth.RecoveryCodeCount)
	for _, tok := range []string{first.Token, other.Token} {
		_, _, err = f.svc.Validate(ctx, tok)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "turning TOTP on ends the sessions made without it")
	}
	_, sess, err := f.svc.Validate(ctx, conf.Login.Token)
	require.NoError(t, err, "the caller keeps a new session")
	assert.Equal(t, auth.AuthPasswordTOTP, sess.AuthMethod)
	_, err = f.svc.EnrollTOTP(ctx, conf.Login.Token)
	require.ErrorIs(t, err, auth.ErrTOTPAlreadyEnabled)

	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrTOTPRequired)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: code})
	require.ErrorIs(t, err, auth.ErrInvalidTOTP, "the confirmation code cannot be replayed")

	f.clock.Advance(30 * time.Second)
	code, _ = gen.Code(f.clock.Now())
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: code})
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: code})
	require.ErrorIs(t, err, auth.ErrInvalidTOTP, "replay within the same step")

	// One step of skew is accepted: the code for the next step, now.
	next, _ := gen.CodeAt(gen.Step(f.clock.Now()) + 1)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: next})
	require.NoError(t, err)
	// After using step+1, the code for step (older) is refused.
	f.clock.Advance(30 * time.Second)
	prev, _ := gen.CodeAt(gen.Step(f.clock.Now()) - 1)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: prev})
	require.ErrorIs(t, err, auth.ErrInvalidTOTP)

	// Recovery codes: single use, any case, with or without the dashes.
	rc := strings.ToUpper(strings.ReplaceAll(recovery[0], "-", ""))
	viaRecovery, err := f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: rc})
	require.NoError(t, err)
	assert.Equal(t, auth.AuthPasswordRecovery, viaRecovery.Session.AuthMethod)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: recovery[0]})
	require.ErrorIs(t, err, auth.ErrInvalidTOTP)
	enabled, left, err := f.svc.TOTPEnabled(ctx, u.ID)
	require.NoError(t, err)
	assert.True(t, enabled)
	assert.Equal(t, auth.RecoveryCodeCount-1, left)

	fresh, err := f.svc.RegenerateRecoveryCodes(ctx, viaRecovery.Token)
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: recovery[1]})
	require.ErrorIs(t, err, auth.ErrInvalidTOTP, "old codes replaced")
	viaFresh, err := f.svc.Login(ctx, auth.Credentials{Username: "twofa", Password: goodPassword, Code: fresh[0]})
	require.NoError(t, err)

	off, err := f.svc.DisableTOTP(ctx, viaFresh.Token)
	require.NoError(t, err)
	_, _, err = f.svc.Validate(ctx, viaFresh.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "turning TOTP off ends the sessions")
	_, _, err = f.svc.Validate(ctx, off.Token)
	require.NoError(t, err)
	f.login(t, "twofa")
	logs := f.logs.String()
	assert.Contains(t, logs, "totp.enabled")
	assert.Contains(t, logs, "totp.replay")
	assert.NotContains(t, logs, enr.Secret)
	assert.NotContains(t, logs, recovery[0])
}

// TestRecoveryCodeStrength: recovery codes carry at least 112 random bits
// (ASVS 6.5.2 for secrets kept under a fast hash) and look random.
func TestRecoveryCodeStrength(t *testing.T) {
	f := newFixture(t)
	f.register(t, "codes", "")
	_, codes, _ := f.enableTOTP(t, context.Background(), "codes")
	seen := map[string]bool{}
	for _, c := range codes {
		symbols := strings.ReplaceAll(c, "-", "")
		assert.GreaterOrEqual(t, 5*len(symbols), 112, "%q: 5 bits per symbol", c)
		assert.False(t, seen[symbols])
		seen[symbols] = true
	}
}

func TestTOTPConcurrentReplay(t *testing.T) {
	f := newFixture(t)
	f.register(t, "racy2fa", "")
	ctx := context.Background()
	gen, _, _ := f.enableTOTP(t, ctx, "racy2fa")
	f.clock.Advance(30 * time.Second)
	code, _ := gen.Code(f.clock.Now())
	var wg sync.WaitGroup
	results := make([]error, 4)
	for i := range results {
		wg.Go(func() {
			_, results[i] = f.svc.Login(ctx, auth.Credentials{Username: "racy2fa", Password: goodPassword, Code: code})
		})
	}
	wg.Wait()
	ok := 0
	for _, err := range results {
		if err == nil {
			ok++
		} else {
			require.ErrorIs(t, err, auth.ErrInvalidTOTP)
		}
	}
	assert.Equal(t, 1, ok, "a code logs in once")
}

// TestStolenSessionCannotChangeMFA: a session that authenticated long ago
// (a stolen cookie) can neither bind the attacker's authenticator, nor
// take the recovery codes, nor turn two-factor off, nor change the
// password, until the user re-authenticates — with the second factor when
// one is on.
func TestStolenSessionCannotChangeMFA(t *testing.T) {
	f := newFixture(t)
	f.register(t, "stolen", "")
	ctx := context.Background()
	old := f.login(t, "stolen")
	f.clock.Advance(auth.DefaultReauthWindow + time.Second)
	_, _, err := f.svc.Validate(ctx, old.Token) // still a live session
	require.NoError(t, err)
	_, err = f.svc.EnrollTOTP(ctx, old.Token)
	require.ErrorIs(t, err, auth.ErrReauthRequired)
	_, err = f.svc.ConfirmTOTP(ctx, old.Token, "123456")
	require.ErrorIs(t, err, auth.ErrReauthRequired)

	_, err = f.svc.Reauthenticate(ctx, old.Token, "not the password", "")
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	re, err := f.svc.Reauthenticate(ctx, old.Token, goodPassword, "")
	require.NoError(t, err)
	_, _, err = f.svc.Validate(ctx, old.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "re-authentication replaces the token")
	assert.Equal(t, old.Session.ExpiresAt, re.Session.ExpiresAt, "and keeps the absolute expiry")
	_, err = f.svc.EnrollTOTP(ctx, re.Token)
	require.NoError(t, err)

	// With TOTP on, a password-only session, however fresh, cannot touch it.
	gen, _, conf := f.enableTOTP(t, ctx, "stolen")
	f.clock.Advance(auth.DefaultReauthWindow + time.Second)
	fresh, err := f.svc.Reauthenticate(ctx, conf.Token, goodPassword, "")
	require.ErrorIs(t, err, auth.ErrTOTPRequired, "re-authentication needs the second factor too")
	assert.Empty(t, fresh.Token)
	_, err = f.svc.RegenerateRecoveryCodes(ctx, conf.Token)
	require.ErrorIs(t, err, auth.ErrReauthRequired)
	_, err = f.svc.DisableTOTP(ctx, conf.Token)
	require.ErrorIs(t, err, auth.ErrReauthRequired)
	_, err = f.svc.ChangePassword(ctx, conf.Token, goodPassword, "a brand new passphrase here")
	require.ErrorIs(t, err, auth.ErrReauthRequired)

	f.clock.Advance(30 * time.Second)
	code, _ := gen.Code(f.clock.Now())
	mfa, err := f.svc.Reauthenticate(ctx, conf.Token, goodPassword, code)
	require.NoError(t, err)
	assert.Equal(t, auth.AuthPasswordTOTP, mfa.Session.AuthMethod)
	_, err = f.svc.RegenerateRecoveryCodes(ctx, mfa.Token)
	require.NoError(t, err)
	res, err := f.svc.ChangePassword(ctx, mfa.Token, goodPassword, "a brand new passphrase here")
	require.NoError(t, err)
	_, err = f.svc.DisableTOTP(ctx, res.Token)
	require.NoError(t, err)
}

// TestReauthenticateThrottled: re-authentication cannot be used as an
// unthrottled password oracle by someone holding a stolen session.
func TestReauthenticateThrottled(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 3, Every: time.Hour, Lockout: time.Minute}
	})
	f.register(t, "oracle", "")
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "192.0.2.44"})
	res, err := f.svc.Login(ctx, auth.Credentials{Username: "oracle", Password: goodPassword})
	require.NoError(t, err)
	for i := range 4 {
		_, err := f.svc.Reauthenticate(ctx, res.Token, fmt.Sprintf("guess number %d", i), "")
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	verifies := f.hasher.verifies.Load()
	_, err = f.svc.Reauthenticate(ctx, res.Token, goodPassword, "")
	require.ErrorIs(t, err, auth.ErrTooManyAttempts, "even the right password waits")
	assert.Equal(t, verifies, f.hasher.verifies.Load(), "no hashing while throttled")
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "oracle", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrTooManyAttempts, "the account's login from this client is throttled too")
	assert.Contains(t, f.logs.String(), `"event":"reauthenticate.failed"`)

	f.clock.Advance(2 * time.Minute)
	_, err = f.svc.Reauthenticate(ctx, res.Token, goodPassword, "")
	require.NoError(t, err)
}

// TestTOTPSecretEncryptedAtRest: with Options.SecretKey, the store never
// holds the TOTP secret in plaintext, two-factor login works, and another
// key cannot use the stored secret.
func TestTOTPSecretEncryptedAtRest(t *testing.T) {
	key := bytes.Repeat([]byte{7}, auth.SecretKeySize)
	f := newFixture(t, func(o *auth.Options) { o.SecretKey = key })
	u := f.register(t, "sealed", "")
	ctx := context.Background()
	gen, _, _ := f.enableTOTP(t, ctx, "sealed")
	st, err := f.store.TOTP(ctx, u.ID)
	require.NoError(t, err)
	assert.False(t, bytes.Contains(st.Secret, gen.Secret), "secret stored in plaintext")
	assert.Greater(t, len(st.Secret), len(gen.Secret))

	f.clock.Advance(30 * time.Second)
	code, _ := gen.Code(f.clock.Now())
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "sealed", Password: goodPassword, Code: code})
	require.NoError(t, err)

	for name, other := range map[string][]byte{"other key": bytes.Repeat([]byte{8}, auth.SecretKeySize), "no key": nil} {
		svc, err := auth.New(auth.Options{Store: f.store, Clock: f.clock, Hasher: f.hasher, SecretKey: other})
		require.NoError(t, err)
		f.clock.Advance(30 * time.Second)
		code, _ := gen.Code(f.clock.Now())
		_, err = svc.Login(ctx, auth.Credentials{Username: "sealed", Password: goodPassword, Code: code})
		require.Error(t, err, name)
		assert.NotErrorIs(t, err, auth.ErrInvalidTOTP, "%s: a configuration error, not a wrong code", name)
	}
	_, err = auth.New(auth.Options{Store: f.store, SecretKey: []byte("short")})
	require.Error(t, err)
}

// TestTOTPPlaintextSecretStillWorks: a secret stored before a key was
// configured keeps working once one is.
func TestTOTPPlaintextSecretStillWorks(t *testing.T) {
	f := newFixture(t)
	f.register(t, "legacy2fa", "")
	ctx := context.Background()
	gen, _, _ := f.enableTOTP(t, ctx, "legacy2fa")
	svc, err := auth.New(auth.Options{Store: f.store, Clock: f.clock, Hasher: f.hasher, SecretKey: bytes.Repeat([]byte{9}, auth.SecretKeySize)})
	require.NoError(t, err)
	f.clock.Advance(30 * time.Second)
	code, _ := gen.Code(f.clock.Now())
	_, err = svc.Login(ctx, auth.Credentials{Username: "legacy2fa", Password: goodPassword, Code: code})
	require.NoError(t, err)
}

// TestReauthenticateSlowedAcrossClients: a stolen session is no way around
// the per-account global limit. Guessing the password through
// Reauthenticate from ever new addresses is slowed like guessing it at
// the login form, while the real user can still log in from a trusted
// device.
func TestReauthenticateSlowedAcrossClients(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 3, Every: time.Hour, Lockout: time.Hour}
		o.Throttle.Global = auth.ThrottleLimit{Burst: 6, Every: time.Hour}
		o.Throttle.SlowEvery = time.Hour
	})
	f.register(t, "stolen", "")
	from := func(i int) context.Context {
		return auth.WithClient(context.Background(), auth.Client{IP: fmt.Sprintf("198.51.100.%d", i)})
	}
	owner, err := f.svc.Login(from(250), auth.Credentials{Username: "stolen", Password: goodPassword})
	require.NoError(t, err)
	res, err := f.svc.Login(from(251), auth.Credentials{Username: "stolen", Password: goodPassword})
	require.NoError(t, err)
	token := res.Token // the attacker's copy of a session
	before := f.hasher.verifies.Load()
	for ip := range 40 {
		_, err := f.svc.Reauthenticate(from(ip), token, fmt.Sprintf("guess %d", ip), "")
		require.Error(t, err)
		require.False(t, errors.Is(err, auth.ErrUnauthenticated), "the session stays usable: %v", err)
	}
	guesses := f.hasher.verifies.Load() - before
	assert.LessOrEqual(t, guesses, int64(6+1), "guesses verified through a stolen session from 40 addresses")
	_, err = f.svc.Login(from(250), auth.Credentials{Username: "stolen", Password: goodPassword, DeviceToken: owner.DeviceToken})
	require.NoError(t, err, "the owner's trusted device is not slowed")
}
