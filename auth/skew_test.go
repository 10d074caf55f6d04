package auth_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/require"
)

// plantSession stores a session as an instance with a skewed clock would
// have written it, and returns its token.
func plantSession(t *testing.T, f *fixture, u auth.User, created, lastSeen, expires time.Time) string {
	t.Helper()
	raw := make([]byte, 32)
	raw[0] = byte(created.Unix()) ^ byte(lastSeen.Unix()>>3) ^ byte(expires.Unix()>>5)
	raw[1] = 0x5a
	h := sha256.Sum256(raw)
	require.NoError(t, f.store.CreateSession(context.Background(), auth.Session{
		ID: "planted" + base64.RawURLEncoding.EncodeToString(raw[:2]), TokenHash: h[:], UserID: u.ID,
		CreatedAt: created, LastSeenAt: lastSeen, ExpiresAt: expires,
		CredentialVersion: u.CredentialVersion, AuthenticatedAt: created,
	}))
	return base64.RawURLEncoding.EncodeToString(raw)
}

// TestClockSkew: an instance whose clock runs ahead must not make sessions
// last longer on the others.
func TestClockSkew(t *testing.T) {
	ctx := context.Background()
	t.Run("LastSeenInFuture", func(t *testing.T) {
		f := newFixture(t)
		u := f.register(t, "skewed", "")
		now := f.clock.Now()
		tok := plantSession(t, f, u, now, now.Add(time.Hour), now.Add(24*time.Hour))
		_, _, err := f.svc.Validate(ctx, tok)
		require.NoError(t, err)
		f.clock.Advance(auth.DefaultIdleTimeout + time.Minute)
		_, _, err = f.svc.Validate(ctx, tok)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "a last use written by a fast clock still idles out")
	})
	t.Run("CreatedInFuture", func(t *testing.T) {
		f := newFixture(t)
		u := f.register(t, "skewed", "")
		now := f.clock.Now()
		ahead := now.Add(time.Hour)
		tok := plantSession(t, f, u, ahead, ahead, ahead.Add(24*time.Hour))
		_, _, err := f.svc.Validate(ctx, tok)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "a session from an hour in the future is a clock error")
	})
	t.Run("LifetimeLongerThanAbsolute", func(t *testing.T) {
		f := newFixture(t)
		u := f.register(t, "skewed", "")
		now := f.clock.Now()
		tok := plantSession(t, f, u, now, now, now.Add(72*time.Hour))
		for elapsed := time.Duration(0); elapsed < auth.DefaultAbsoluteTimeout; elapsed += 20 * time.Minute {
			_, _, err := f.svc.Validate(ctx, tok)
			require.NoError(t, err)
			f.clock.Advance(20 * time.Minute)
		}
		_, _, err := f.svc.Validate(ctx, tok)
		require.ErrorIs(t, err, auth.ErrUnauthenticated, "no session outlives the absolute timeout after its creation")
	})
}
