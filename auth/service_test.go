package auth_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/bcrypt"
)

func TestRegisterValidation(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	f.register(t, "taken", "")
	tests := []struct {
		name string
		req  auth.RegisterRequest
		want error
	}{
		{"short username", auth.RegisterRequest{Username: "ab", Password: goodPassword}, auth.ErrInvalidUsername},
		{"bad char", auth.RegisterRequest{Username: "al ice", Password: goodPassword}, auth.ErrInvalidUsername},
		{"bad email", auth.RegisterRequest{Username: "alice", Email: "not-an-email", Password: goodPassword}, auth.ErrInvalidEmail},
		{"bad role", auth.RegisterRequest{Username: "alice", Password: goodPassword, Role: "root"}, auth.ErrInvalidRole},
		{"short password", auth.RegisterRequest{Username: "alice", Password: "short one"}, auth.ErrPasswordTooShort},
		{"common password", auth.RegisterRequest{Username: "alice", Password: "password"}, auth.ErrWeakPassword},
		{"contains username", auth.RegisterRequest{Username: "alice", Password: "my name is ALICE and I like it"}, auth.ErrPasswordContainsUsername},
		{"taken, other case", auth.RegisterRequest{Username: "TAKEN", Password: goodPassword}, auth.ErrUsernameTaken},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := f.hasher.hashes.Load()
			_, err := f.svc.Register(ctx, tt.req)
			require.ErrorIs(t, err, tt.want)
			assert.Equal(t, before, f.hasher.hashes.Load(), "rejected input is not hashed")
		})
	}
	users, err := f.svc.Users(ctx)
	require.NoError(t, err)
	assert.Len(t, users, 1, "nothing stored on error")
}

func TestRegisterAndLogin(t *testing.T) {
	f := newFixture(t)
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.7", RequestID: "req-1"})
	u, err := f.svc.Register(ctx, auth.RegisterRequest{Username: "Alice", Email: " alice@EXAMPLE.org ", Password: goodPassword})
	require.NoError(t, err)
	assert.Equal(t, "alice", u.Username)
	assert.Equal(t, "alice@example.org", u.Email)
	assert.Equal(t, auth.RoleUser, u.Role)
	assert.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$v=19$m=64,t=1,p=1$"))

	js, err := json.Marshal(u)
	require.NoError(t, err)
	assert.NotContains(t, string(js), "argon2", "hash never serialized")

	res, err := f.svc.Login(ctx, auth.Credentials{Username: "ALICE", Password: goodPassword})
	require.NoError(t, err)
	assert.Len(t, res.Token, 43)
	assert.Equal(t, u.ID, res.User.ID)
	assert.Equal(t, "198.51.100.7", res.Session.IP)

	logs := f.logs.String()
	assert.Contains(t, logs, `"event":"login.success"`)
	assert.Contains(t, logs, `"event":"user.registered"`)
	assert.Contains(t, logs, `"request_id":"req-1"`)
	assert.Contains(t, logs, `"ip":"198.51.100.7"`)
	assert.Contains(t, logs, `"audit":true`)
	assert.NotContains(t, logs, goodPassword)
	assert.NotContains(t, logs, res.Token)
}

func TestLoginNFKC(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	// Full-width letters normalize (NFKC) to ASCII, so either spelling works.
	_, err := f.svc.Register(ctx, auth.RegisterRequest{Username: "wide", Password: "ｆｕｌｌｗｉｄｔｈ ｐａｓｓｐｈｒａｓｅ"})
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "wide", Password: "fullwidth passphrase"})
	require.NoError(t, err)
}

// TestEnumeration checks that an unknown user costs the same hashing work
// as a wrong password and gets the same error.
func TestEnumeration(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) { o.Throttle.Disabled = true })
	f.register(t, "known", "")
	ctx := context.Background()
	cases := []auth.Credentials{
		{Username: "known", Password: "wrong password entirely"},
		{Username: "unknown", Password: "wrong password entirely"},
		{Username: "x", Password: "invalid username format"},
	}
	for _, cr := range cases {
		before := f.hasher.verifies.Load()
		hashesBefore := f.hasher.hashes.Load()
		_, err := f.svc.Login(ctx, cr)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, cr.Username)
		assert.Equal(t, err.Error(), auth.ErrInvalidCredentials.Error(), "identical message")
		assert.Equal(t, int64(1), f.hasher.verifies.Load()-before, "one verification for %q", cr.Username)
		assert.Equal(t, int64(0), f.hasher.hashes.Load()-hashesBefore)
	}
}

func TestRehashOnParameterChange(t *testing.T) {
	store := auth.NewMemoryStore()
	old, err := auth.NewArgon2Hasher(auth.Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	require.NoError(t, err)
	svcOld, err := auth.New(auth.Options{Store: store, Hasher: old})
	require.NoError(t, err)
	ctx := context.Background()
	u, err := svcOld.Register(ctx, auth.RegisterRequest{Username: "rehash", Password: goodPassword})
	require.NoError(t, err)
	assert.Contains(t, u.PasswordHash, "m=32,")

	svcNew, err := auth.New(auth.Options{Store: store, Params: storetest.TinyParams()})
	require.NoError(t, err)
	_, err = svcNew.Login(ctx, auth.Credentials{Username: "rehash", Password: goodPassword})
	require.NoError(t, err)
	u, err = store.User(ctx, u.ID)
	require.NoError(t, err)
	assert.Contains(t, u.PasswordHash, "m=64,", "rehashed with the new parameters")
	_, err = svcNew.Login(ctx, auth.Credentials{Username: "rehash", Password: goodPassword})
	require.NoError(t, err)
}

func TestBcryptUpgrade(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	legacy, err := bcrypt.GenerateFromPassword([]byte(goodPassword), bcrypt.MinCost)
	require.NoError(t, err)
	now := f.clock.Now()
	require.NoError(t, f.store.CreateUser(ctx, auth.User{ID: "legacy1", Username: "legacy", Role: auth.RoleUser,
		CreatedAt: now, UpdatedAt: now, PasswordHash: string(legacy)}))

	_, err = f.svc.Login(ctx, auth.Credentials{Username: "legacy", Password: "not the password"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	u, _ := f.store.User(ctx, "legacy1")
	assert.Equal(t, string(legacy), u.PasswordHash, "no upgrade on failure")

	_, err = f.svc.Login(ctx, auth.Credentials{Username: "legacy", Password: goodPassword})
	require.NoError(t, err)
	u, _ = f.store.User(ctx, "legacy1")
	assert.True(t, strings.HasPrefix(u.PasswordHash, "$argon2id$"), "upgraded to argon2id: %s", u.PasswordHash)
	assert.Contains(t, f.logs.String(), "password.rehashed")
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "legacy", Password: goodPassword})
	require.NoError(t, err)
}

func TestMalformedStoredHash(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	now := f.clock.Now()
	require.NoError(t, f.store.CreateUser(ctx, auth.User{ID: "bad1", Username: "broken", Role: auth.RoleUser,
		CreatedAt: now, UpdatedAt: now, PasswordHash: "$argon2id$v=19$m=oops"}))
	_, err := f.svc.Login(ctx, auth.Credentials{Username: "broken", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrMalformedHash)
}

func TestSessionExpiry(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.IdleTimeout = 30 * time.Minute
		o.AbsoluteTimeout = 2 * time.Hour
	})
	f.register(t, "sleepy", "")
	ctx := context.Background()

	t.Run("idle", func(t *testing.T) {
		res := f.login(t, "sleepy")
		f.clock.Advance(29 * time.Minute)
		_, _, err := f.svc.Validate(ctx, res.Token)
		require.NoError(t, err, "activity within the idle window")
		f.clock.Advance(29 * time.Minute)
		_, _, err = f.svc.Validate(ctx, res.Token)
		require.NoError(t, err, "the previous validation refreshed last-seen")
		f.clock.Advance(31 * time.Minute)
		_, _, err = f.svc.Validate(ctx, res.Token)
		require.ErrorIs(t, err, auth.ErrUnauthenticated)
	})
	t.Run("absolute", func(t *testing.T) {
		res := f.login(t, "sleepy")
		for range 7 { // stay active for 1 h 45 min in 15 min steps
			f.clock.Advance(15 * time.Minute)
			_, _, err := f.svc.Validate(ctx, res.Token)
			require.NoError(t, err)
		}
		f.clock.Advance(15 * time.Minute)
		_, _, err := f.svc.Validate(ctx, res.Token)
		require.ErrorIs(t, err, auth.ErrUnauthenticated)
		assert.Contains(t, err.Error(), "expired")
	})
	t.Run("cleanup", func(t *testing.T) {
		u, err := f.svc.UserByUsername(ctx, "sleepy")
		require.NoError(t, err)
		f.login(t, "sleepy")
		f.login(t, "sleepy")
		f.clock.Advance(3 * time.Hour)
		n, err := f.svc.CleanupSessions(ctx)
		require.NoError(t, err)
		assert.GreaterOrEqual(t, n, 2)
		list, err := f.svc.Sessions(ctx, u.ID)
		require.NoError(t, err)
		assert.Empty(t, list)
	})
}

func TestMalformedTokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tok := range []string{"", "short", strings.Repeat("A", 43), strings.Repeat("!", 43), strings.Repeat("A", 44)} {
		_, _, err := f.svc.Validate(ctx, tok)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "%q", tok)
	}
	require.NoError(t, f.svc.Logout(ctx, "garbage"))
}

// TestNoFixation checks every login yields a new token and earlier tokens
// of other sessions are independent.
func TestNoFixation(t *testing.T) {
	f := newFixture(t)
	f.register(t, "fixme", "")
	ctx := context.Background()
	a := f.login(t, "fixme")
	b := f.login(t, "fixme")
	assert.NotEqual(t, a.Token, b.Token)
	assert.NotEqual(t, a.Session.ID, b.Session.ID)

	r, err := f.svc.Rotate(ctx, a.Token)
	require.NoError(t, err)
	assert.NotEqual(t, a.Token, r.Token)
	_, _, err = f.svc.Validate(ctx, a.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "old token dead after rotation")
	_, _, err = f.svc.Validate(ctx, r.Token)
	require.NoError(t, err)
	// The stored form is the SHA-256, not the token.
	sessions, err := f.svc.Sessions(ctx, a.User.ID)
	require.NoError(t, err)
	for _, s := range sessions {
		assert.NotContains(t, string(s.TokenHash), r.Token)
		assert.Len(t, s.TokenHash, 32)
	}
}

func TestLogoutAllAndRevoke(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "multi", "")
	ctx := context.Background()
	a, b, c := f.login(t, "multi"), f.login(t, "multi"), f.login(t, "multi")
	list, err := f.svc.Sessions(ctx, u.ID)
	require.NoError(t, err)
	require.Len(t, list, 3)

	require.NoError(t, f.svc.RevokeSession(ctx, u.ID, b.Session.ID))
	_, _, err = f.svc.Validate(ctx, b.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	require.ErrorIs(t, f.svc.RevokeSession(ctx, u.ID, b.Session.ID), auth.ErrNotFound)

	n, err := f.svc.LogoutAll(ctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	for _, r := range []auth.LoginResult{a, c} {
		_, _, err = f.svc.Validate(ctx, r.Token)
		require.ErrorIs(t, err, auth.ErrUnauthenticated)
	}
}

func TestChangePassword(t *testing.T) {
	f := newFixture(t)
	f.register(t, "changer", "")
	ctx := context.Background()
	a, other := f.login(t, "changer"), f.login(t, "changer")
	const next = "an entirely new passphrase"

	_, err := f.svc.ChangePassword(ctx, a.Token, "wrong current password", next)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = f.svc.ChangePassword(ctx, a.Token, goodPassword, "tooshort")
	require.ErrorIs(t, err, auth.ErrPasswordTooShort)

	res, err := f.svc.ChangePassword(ctx, a.Token, goodPassword, next)
	require.NoError(t, err)
	assert.NotEqual(t, a.Token, res.Token)
	for _, old := range []string{a.Token, other.Token} {
		_, _, err = f.svc.Validate(ctx, old)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "every earlier session ended")
	}
	_, _, err = f.svc.Validate(ctx, res.Token)
	require.NoError(t, err)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "changer", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "changer", Password: next})
	require.NoError(t, err)
	assert.Contains(t, f.logs.String(), "password.changed")
	assert.NotContains(t, f.logs.String(), next)
}

func TestSetRoleEndsSessions(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "promote", "")
	ctx := context.Background()
	res := f.login(t, "promote")
	_, err := f.svc.SetRole(ctx, u.ID, "superuser")
	require.ErrorIs(t, err, auth.ErrInvalidRole)
	got, err := f.svc.SetRole(ctx, u.ID, auth.RoleAdmin)
	require.NoError(t, err)
	assert.Equal(t, auth.RoleAdmin, got.Role)
	_, _, err = f.svc.Validate(ctx, res.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "privilege change needs a new token")
	res = f.login(t, "promote")
	assert.Equal(t, auth.RoleAdmin, res.User.Role)
	assert.Contains(t, f.logs.String(), `"event":"user.role_changed"`)
	_, err = f.svc.SetRole(ctx, "missing", auth.RoleAdmin)
	require.ErrorIs(t, err, auth.ErrNotFound)
}

func TestDisabledUser(t *testing.T) {
	f := newFixture(t)
	u := f.register(t, "gone", "")
	ctx := context.Background()
	res := f.login(t, "gone")
	_, err := f.svc.Disable(ctx, u.ID)
	require.NoError(t, err)
	_, _, err = f.svc.Validate(ctx, res.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "gone", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "the disabled state is not revealed unless asked for")
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "gone", Password: goodPassword, ShowDisabled: true})
	require.ErrorIs(t, err, auth.ErrAccountDisabled)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "gone", Password: "a wrong password here", ShowDisabled: true})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "wrong password does not reveal the disabled state")

	// A session created behind the service's back still stops working.
	now := f.clock.Now()
	_, err = f.svc.Enable(ctx, u.ID)
	require.NoError(t, err)
	res = f.login(t, "gone")
	yes := true
	_, err = f.store.UpdateUser(ctx, u.ID, auth.UserChange{Disabled: &yes, UpdatedAt: now})
	require.NoError(t, err)
	_, _, err = f.svc.Validate(ctx, res.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

func TestThrottling(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 3, Every: time.Minute, Lockout: 30 * time.Second, MaxLockout: 4 * time.Minute}
		o.Throttle.Client = auth.ThrottleLimit{Burst: 10, Every: 10 * time.Second}
	})
	f.register(t, "target", "")
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.9"})
	bad := auth.Credentials{Username: "target", Password: "not the right one"}
	for range 3 {
		_, err := f.svc.Login(ctx, bad)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	_, err := f.svc.Login(ctx, bad) // 4th failure: lockout starts
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)

	verifies := f.hasher.verifies.Load()
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "target", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrTooManyAttempts, "even the right password waits")
	d, ok := auth.RetryAfter(err)
	require.True(t, ok)
	assert.Equal(t, 30*time.Second, d)
	assert.Equal(t, verifies, f.hasher.verifies.Load(), "throttled attempts do no hashing")
	assert.Contains(t, f.logs.String(), `"event":"login.lockout"`)

	// Growing back-off: the next failure after the lockout doubles it.
	f.clock.Advance(31 * time.Second)
	_, err = f.svc.Login(ctx, bad)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = f.svc.Login(ctx, bad)
	d, ok = auth.RetryAfter(err)
	require.True(t, ok, "%v", err)
	assert.Equal(t, time.Minute, d)

	// Other accounts from another client are unaffected.
	f.register(t, "bystander", "")
	other := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.1"})
	_, err = f.svc.Login(other, auth.Credentials{Username: "bystander", Password: goodPassword})
	require.NoError(t, err)

	// After the lockout, the right password works and resets the account.
	f.clock.Advance(2 * time.Minute)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "target", Password: goodPassword})
	require.NoError(t, err)
}

func TestThrottlingPerClient(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 100, Every: time.Second}
		o.Throttle.Client = auth.ThrottleLimit{Burst: 4, Every: time.Minute, Lockout: time.Minute}
	})
	// Password spraying: many accounts from one IPv6 /64.
	ctx := context.Background()
	for i := range 5 {
		c := auth.WithClient(ctx, auth.Client{IP: "2001:db8:1:2::" + string(rune('a'+i))})
		_, err := f.svc.Login(c, auth.Credentials{Username: "user" + string(rune('a'+i)), Password: "guess guess guess"})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	c := auth.WithClient(ctx, auth.Client{IP: "2001:db8:1:2::ffff"})
	_, err := f.svc.Login(c, auth.Credentials{Username: "fresh", Password: "guess guess guess"})
	require.ErrorIs(t, err, auth.ErrTooManyAttempts)
	var te *auth.ThrottleError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "client", te.Scope)
	c = auth.WithClient(ctx, auth.Client{IP: "2001:db8:1:3::1"})
	_, err = f.svc.Login(c, auth.Credentials{Username: "fresh", Password: "guess guess guess"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "another /64 is not throttled")
}

func TestHashingBoundAndContext(t *testing.T) {
	h, err := auth.NewArgon2Hasher(auth.Params{Memory: 4096, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 1)
	require.NoError(t, err)
	assert.Equal(t, 1, h.Concurrency())
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	// A cancelled context never starts a hash, whether or not a slot is
	// free: callers whose request is gone do not add to a flood.
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for range 20 {
		wg.Go(func() {
			_, err := h.Hash(ctx, "pw")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.ErrorIs(t, err, context.Canceled)
	}
	def, err := auth.NewArgon2Hasher(auth.DefaultParams(), 0)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, def.Concurrency(), 1)
	_, err = auth.NewArgon2Hasher(auth.DefaultParams(), -1)
	require.Error(t, err)
}

func TestNewValidatesOptions(t *testing.T) {
	_, err := auth.New(auth.Options{})
	require.Error(t, err)
	store := auth.NewMemoryStore()
	for _, o := range []auth.Options{
		{Store: store, Params: storetest.TinyParams(), Policy: auth.Policy{MinLength: 6}},
		{Store: store, Params: storetest.TinyParams(), Policy: auth.Policy{MaxLength: 32}},
		{Store: store, Params: storetest.TinyParams(), Policy: auth.Policy{MinLength: 100, MaxLength: 80}},
		{Store: store, Params: auth.Params{Memory: 1, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}},
		{Store: store, Params: storetest.TinyParams(), IdleTimeout: -time.Second},
	} {
		_, err := auth.New(o)
		require.Error(t, err, "%+v", o)
	}
}

func TestErrorsAreDistinct(t *testing.T) {
	err := &auth.ThrottleError{RetryAfter: 1500 * time.Millisecond, Scope: "account"}
	assert.True(t, errors.Is(err, auth.ErrTooManyAttempts))
	assert.False(t, errors.Is(err, auth.ErrInvalidCredentials))
	assert.Contains(t, err.Error(), "retry after 2s")
}

func TestAuditOmitsMalformedUsername(t *testing.T) {
	f := newFixture(t)
	_, err := f.svc.Login(context.Background(), auth.Credentials{Username: "my secret passphrase", Password: "x"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	logs := f.logs.String()
	assert.Contains(t, logs, `"event":"login.failure"`)
	assert.Contains(t, logs, "(invalid username)")
	assert.NotContains(t, logs, "my secret passphrase")
}

// TestAuditHashesUnknownUsername checks that a well-formed but unknown
// username (often a password typed into the wrong field) is logged as a
// keyed hash: the same name gives the same hash, so attempts correlate,
// and another secret key gives another hash.
func TestAuditHashesUnknownUsername(t *testing.T) {
	secret := func(b byte) func(*auth.Options) {
		return func(o *auth.Options) { o.SecretKey = bytes.Repeat([]byte{b}, auth.SecretKeySize) }
	}
	hashOf := func(logs string) string {
		m := regexp.MustCompile(`"user":"(unknown:[0-9a-f]{16})"`).FindStringSubmatch(logs)
		require.NotNil(t, m, "hashed user in %s", logs)
		return m[1]
	}
	const typed = "zebra-quartz-lantern-97531"
	ctx := context.Background()
	f := newFixture(t, secret(1))
	for range 2 {
		_, err := f.svc.Login(ctx, auth.Credentials{Username: typed, Password: "x"})
		require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	}
	logs := f.logs.String()
	assert.Contains(t, logs, `"event":"login.failure"`)
	assert.NotContains(t, logs, typed)
	h := hashOf(logs)
	assert.Equal(t, 2, strings.Count(logs, h), "same name, same hash")
	again := newFixture(t, secret(1))
	_, _ = again.svc.Login(ctx, auth.Credentials{Username: typed, Password: "x"})
	assert.Equal(t, h, hashOf(again.logs.String()), "stable under the same key")
	other := newFixture(t, secret(2))
	_, _ = other.svc.Login(ctx, auth.Credentials{Username: typed, Password: "x"})
	assert.NotEqual(t, h, hashOf(other.logs.String()), "keyed")
	// A known user is still named.
	f.register(t, "alice", auth.RoleUser)
	_, err := f.svc.Login(ctx, auth.Credentials{Username: "alice", Password: "wrong password here"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	assert.Contains(t, f.logs.String(), `"user":"alice"`)
}

// gateHasher blocks every Verify until release is closed, counting the
// calls that got as far as hashing.
type gateHasher struct {
	auth.Hasher
	entered atomic.Int64
	release chan struct{}
}

func (h *gateHasher) Verify(ctx context.Context, pw, enc string) (bool, error) {
	h.entered.Add(1)
	<-h.release
	return h.Hasher.Verify(ctx, pw, enc)
}

// TestThrottlingConcurrentGuesses checks that a burst of simultaneous
// wrong guesses cannot all slip past the throttle before the first failure
// is recorded: at most the account's burst is verified at once.
func TestThrottlingConcurrentGuesses(t *testing.T) {
	for _, scope := range []string{"account", "client"} {
		t.Run(scope, func(t *testing.T) {
			base, err := auth.NewArgon2Hasher(storetest.TinyParams(), 0)
			require.NoError(t, err)
			gh := &gateHasher{Hasher: base, release: make(chan struct{})}
			f := newFixture(t, func(o *auth.Options) {
				o.Hasher = gh
				o.Throttle.Global = auth.ThrottleLimit{Burst: 3, Every: time.Minute}
				o.Throttle.Client = auth.ThrottleLimit{Burst: 3, Every: time.Minute}
				if scope == "account" {
					o.Throttle.Client = auth.ThrottleLimit{Burst: 1000, Every: time.Millisecond}
				} else {
					o.Throttle.Global = auth.ThrottleLimit{Burst: 1000, Every: time.Millisecond}
				}
			})
			f.register(t, "victim", "")
			const n = 20
			var throttled atomic.Int64
			var wg sync.WaitGroup
			for i := range n {
				wg.Go(func() {
					ip, user := fmt.Sprintf("198.51.100.%d", i), "victim"
					if scope == "client" {
						ip, user = "203.0.113.7", fmt.Sprintf("nobody%02d", i)
					}
					ctx := auth.WithClient(context.Background(), auth.Client{IP: ip})
					_, err := f.svc.Login(ctx, auth.Credentials{Username: user, Password: "a wrong guess " + ip})
					if errors.Is(err, auth.ErrTooManyAttempts) {
						d, ok := auth.RetryAfter(err)
						assert.True(t, ok)
						assert.Positive(t, d)
						throttled.Add(1)
						return
					}
					assert.ErrorIs(t, err, auth.ErrInvalidCredentials)
				})
			}
			require.Eventually(t, func() bool { return throttled.Load()+gh.entered.Load() == n },
				5*time.Second, time.Millisecond, "every attempt is either throttled or hashing")
			slowLane := int64(0)
			if scope == "account" {
				slowLane = 1 // the global limit slows: one more attempt per SlowEvery
			}
			assert.LessOrEqual(t, gh.entered.Load(), 3+slowLane, "no more guesses in flight than the burst allows")
			close(gh.release)
			wg.Wait()
			if scope == "account" {
				// Afterwards the account is slowed for every client.
				ctx := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.99"})
				_, err = f.svc.Login(ctx, auth.Credentials{Username: "victim", Password: "one more wrong guess"})
				var te *auth.ThrottleError
				require.ErrorAs(t, err, &te)
				assert.Equal(t, "global", te.Scope)
				return
			}

			// Afterwards the bucket is empty: the next failure locks the key.
			ctx := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.7"})
			cr := auth.Credentials{Username: "victim", Password: "one more wrong guess"}
			_, err = f.svc.Login(ctx, cr)
			require.ErrorIs(t, err, auth.ErrInvalidCredentials)
			_, err = f.svc.Login(ctx, cr)
			require.ErrorIs(t, err, auth.ErrTooManyAttempts)
		})
	}
}
