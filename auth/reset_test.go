package auth_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// outbox is a ResetSender and Notifier that keeps what it was given.
type outbox struct {
	mu     sync.Mutex
	resets []auth.ResetMessage
	events []string
}

func (o *outbox) SendPasswordReset(_ context.Context, m auth.ResetMessage) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.resets = append(o.resets, m)
	return nil
}

func (o *outbox) Notify(_ context.Context, n auth.Notification) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.events = append(o.events, n.Event+":"+n.User.Username)
	return nil
}

func (o *outbox) last(t *testing.T) auth.ResetMessage {
	t.Helper()
	o.mu.Lock()
	defer o.mu.Unlock()
	require.NotEmpty(t, o.resets)
	return o.resets[len(o.resets)-1]
}

func withOutbox(o *outbox) func(*auth.Options) {
	return func(opts *auth.Options) { opts.ResetSender, opts.Notifier = o, o }
}

func TestPasswordReset(t *testing.T) {
	o := &outbox{}
	f := newFixture(t, withOutbox(o))
	u := f.register(t, "forgetful", "")
	ctx := context.Background()
	live := f.login(t, "forgetful")

	require.NoError(t, f.svc.RequestPasswordReset(ctx, "nobody-here"), "no enumeration")
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "bad name!"), "no enumeration")
	assert.Empty(t, o.resets)
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "Forgetful"))
	m := o.last(t)
	assert.Equal(t, u.ID, m.User.ID)
	assert.Len(t, m.Token, 43)
	assert.Equal(t, f.clock.Now().Add(auth.DefaultResetLifetime), m.ExpiresAt)
	assert.NotContains(t, f.logs.String(), m.Token, "the token is never logged")

	const next = "a fresh passphrase after forgetting"
	require.ErrorIs(t, f.svc.ResetPassword(ctx, m.Token, "short", ""), auth.ErrWeakPassword)
	require.ErrorIs(t, f.svc.ResetPassword(ctx, "x"+m.Token[1:], next, ""), auth.ErrInvalidResetToken)
	require.NoError(t, f.svc.ResetPassword(ctx, m.Token, next, ""), "a rejected password leaves the link usable")
	require.ErrorIs(t, f.svc.ResetPassword(ctx, m.Token, next+" again", ""), auth.ErrInvalidResetToken, "single use")
	_, _, err := f.svc.Validate(ctx, live.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "a reset ends every session")
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "forgetful", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "forgetful", Password: next})
	require.NoError(t, err)

	// Short-lived: the link dies after its lifetime.
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "forgetful"))
	m = o.last(t)
	f.clock.Advance(auth.DefaultResetLifetime)
	require.ErrorIs(t, f.svc.ResetPassword(ctx, m.Token, "yet another passphrase here", ""), auth.ErrInvalidResetToken)

	// Flooding a user's inbox is bounded, silently.
	f.clock.Advance(24 * time.Hour)
	before := len(o.resets)
	for range 10 {
		require.NoError(t, f.svc.RequestPasswordReset(ctx, "forgetful"))
	}
	assert.Equal(t, 3, len(o.resets)-before)
	assert.Contains(t, o.events, auth.EventPasswordReset+":forgetful")

	// Disabled accounts get no link.
	f.clock.Advance(24 * time.Hour)
	_, err = f.svc.Disable(ctx, u.ID)
	require.NoError(t, err)
	before = len(o.resets)
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "forgetful"))
	assert.Equal(t, before, len(o.resets))
}

// TestPasswordResetKeepsSecondFactor: a reset link alone does not get
// past two-factor authentication (ASVS 6.4.3).
func TestPasswordResetKeepsSecondFactor(t *testing.T) {
	o := &outbox{}
	f := newFixture(t, withOutbox(o))
	f.register(t, "guarded", "")
	ctx := context.Background()
	gen, recovery, _ := f.enableTOTP(t, ctx, "guarded")
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "guarded"))
	m := o.last(t)
	const next = "protected by a second factor still"
	require.ErrorIs(t, f.svc.ResetPassword(ctx, m.Token, next, ""), auth.ErrTOTPRequired)
	require.ErrorIs(t, f.svc.ResetPassword(ctx, m.Token, next, "000000"), auth.ErrInvalidTOTP)
	f.clock.Advance(30 * time.Second)
	code, _ := gen.Code(f.clock.Now())
	require.NoError(t, f.svc.ResetPassword(ctx, m.Token, next, code))
	_, err := f.svc.Login(ctx, auth.Credentials{Username: "guarded", Password: next, Code: recovery[0]})
	require.NoError(t, err, "two-factor stays on after the reset")
}

func TestPasswordResetUnavailable(t *testing.T) {
	f := newFixture(t)
	require.ErrorIs(t, f.svc.RequestPasswordReset(context.Background(), "anyone"), auth.ErrResetUnavailable)
}

// breachList is a BreachChecker over a fixed list.
type breachList map[string]bool

func (b breachList) Breached(_ context.Context, pw string) (bool, error) {
	if pw == "the checker is down right now" {
		return false, errors.New("breach service unavailable")
	}
	return b[pw], nil
}

func TestBreachedPasswordHook(t *testing.T) {
	leaked := "a leaked passphrase from a dump"
	f := newFixture(t, func(o *auth.Options) { o.Breached = breachList{leaked: true} })
	ctx := context.Background()
	_, err := f.svc.Register(ctx, auth.RegisterRequest{Username: "leaky", Password: leaked})
	require.ErrorIs(t, err, auth.ErrPasswordBreached)
	require.ErrorIs(t, err, auth.ErrWeakPassword)
	_, err = f.svc.Register(ctx, auth.RegisterRequest{Username: "leaky", Password: "the checker is down right now"})
	require.Error(t, err, "a failing checker refuses (fail closed)")
	require.NotErrorIs(t, err, auth.ErrWeakPassword)
	u := f.register(t, "leaky", "")
	res := f.login(t, "leaky")
	_, err = f.svc.ChangePassword(ctx, res.Token, goodPassword, leaked)
	require.ErrorIs(t, err, auth.ErrPasswordBreached)
	require.ErrorIs(t, f.svc.SetPassword(ctx, u.ID, leaked), auth.ErrPasswordBreached)
}

func TestSecurityNotifications(t *testing.T) {
	o := &outbox{}
	f := newFixture(t, withOutbox(o))
	f.register(t, "watched", "")
	ctx := context.Background()
	res := f.login(t, "watched")
	res, err := f.svc.ChangePassword(ctx, res.Token, goodPassword, "the changed passphrase here")
	require.NoError(t, err)
	_, err = f.svc.ChangePassword(ctx, res.Token, "the changed passphrase here", goodPassword)
	require.NoError(t, err)
	f.enableTOTP(t, ctx, "watched")
	assert.Equal(t, []string{"login:watched", "password.changed:watched", "password.changed:watched", "login:watched", "totp.enabled:watched"}, o.events)
}

func TestDeleteUser(t *testing.T) {
	o := &outbox{}
	f := newFixture(t, withOutbox(o))
	root := f.register(t, "root", auth.RoleAdmin)
	u := f.register(t, "leaving", "")
	ctx := context.Background()
	res := f.login(t, "leaving")
	require.NoError(t, f.svc.RequestPasswordReset(ctx, "leaving"))
	m := o.last(t)
	require.NoError(t, f.svc.DeleteUser(ctx, u.ID))
	_, _, err := f.svc.Validate(ctx, res.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
	require.ErrorIs(t, f.svc.ResetPassword(ctx, m.Token, "a passphrase for a ghost", ""), auth.ErrInvalidResetToken)
	_, err = f.svc.Login(ctx, auth.Credentials{Username: "leaving", Password: goodPassword})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	require.ErrorIs(t, f.svc.DeleteUser(ctx, root.ID), auth.ErrLastAdmin)
	assert.Contains(t, o.events, "user.deleted:leaving")
}

func TestMaxSessions(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) { o.MaxSessions = 2 })
	f.register(t, "limited", "")
	ctx := context.Background()
	var tokens []string
	for range 4 {
		tokens = append(tokens, f.login(t, "limited").Token)
		f.clock.Advance(time.Second)
	}
	for i, tok := range tokens {
		_, _, err := f.svc.Validate(ctx, tok)
		if i < 2 {
			require.ErrorIs(t, err, auth.ErrUnauthenticated, "session %d: the oldest end", i)
		} else {
			require.NoError(t, err, "session %d", i)
		}
	}
	assert.True(t, strings.Contains(f.logs.String(), `"event":"sessions.trimmed"`))
}
