package storetest

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

// testPasswordResets: one live reset per user, expiry, and single use
// under concurrency, with the change applied in the same write.
func testPasswordResets(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "nina")))
	require.NoError(t, s.CreateSession(ctx, mkSession(t, "s1", "u1", t0)))
	r := func() auth.PasswordReset {
		return auth.PasswordReset{TokenHash: tokenHash(t), UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(15 * time.Minute)}
	}
	require.ErrorIs(t, s.CreatePasswordReset(ctx, auth.PasswordReset{TokenHash: tokenHash(t), UserID: "ghost", ExpiresAt: t0}), auth.ErrNotFound)
	first, second := r(), r()
	require.NoError(t, s.CreatePasswordReset(ctx, first))
	require.NoError(t, s.CreatePasswordReset(ctx, second))
	_, _, err := s.PasswordReset(ctx, first.TokenHash, t0)
	require.ErrorIs(t, err, auth.ErrNotFound, "a newer reset replaces the older")
	got, u, err := s.PasswordReset(ctx, second.TokenHash, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, "u1", got.UserID)
	assert.Equal(t, "nina", u.Username)
	assert.True(t, second.ExpiresAt.Equal(got.ExpiresAt))
	_, _, err = s.PasswordReset(ctx, second.TokenHash, second.ExpiresAt)
	require.ErrorIs(t, err, auth.ErrNotFound, "expired")
	hash := "$argon2id$reset"
	ch := auth.UserChange{PasswordHash: &hash, NewCredentials: true, EndSessions: true}
	_, err = s.UsePasswordReset(ctx, second.TokenHash, second.ExpiresAt.Add(time.Second), ch)
	require.ErrorIs(t, err, auth.ErrNotFound, "an expired reset cannot be used")

	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			_, err := s.UsePasswordReset(ctx, second.TokenHash, t0.Add(time.Minute), ch)
			if err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, auth.ErrNotFound)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load(), "a reset link works once")
	u, err = s.User(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, hash, u.PasswordHash)
	assert.Equal(t, int64(1), u.CredentialVersion)
	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, list)
}

// testDeleteUser: deletion removes the user's sessions and secrets, and
// never the last enabled admin.
func testDeleteUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	admin := mkUser("a1", "olga")
	admin.Role = auth.RoleAdmin
	require.NoError(t, s.CreateUser(ctx, admin))
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "pete")))
	sess := mkSession(t, "s1", "u1", t0)
	require.NoError(t, s.CreateSession(ctx, sess))
	require.NoError(t, s.PutTOTP(ctx, auth.TOTPState{UserID: "u1", Secret: []byte("secret"), Confirmed: true}))
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u1", [][]byte{tokenHash(t)}))
	reset := auth.PasswordReset{TokenHash: tokenHash(t), UserID: "u1", CreatedAt: t0, ExpiresAt: t0.Add(time.Hour)}
	require.NoError(t, s.CreatePasswordReset(ctx, reset))

	require.NoError(t, s.DeleteUser(ctx, "u1"))
	_, err := s.User(ctx, "u1")
	require.ErrorIs(t, err, auth.ErrNotFound)
	_, _, err = s.SessionByToken(ctx, sess.TokenHash)
	require.ErrorIs(t, err, auth.ErrNotFound)
	_, err = s.TOTP(ctx, "u1")
	require.ErrorIs(t, err, auth.ErrNotFound)
	n, err := s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Zero(t, n)
	_, _, err = s.PasswordReset(ctx, reset.TokenHash, t0)
	require.ErrorIs(t, err, auth.ErrNotFound)
	require.ErrorIs(t, s.DeleteUser(ctx, "u1"), auth.ErrNotFound)
	require.NoError(t, s.CreateUser(ctx, mkUser("u9", "pete")), "the name is free again")

	require.ErrorIs(t, s.DeleteUser(ctx, "a1"), auth.ErrLastAdmin)
	_, err = s.User(ctx, "a1")
	require.NoError(t, err, "the refused deletion changed nothing")
}

// testTrimSessions keeps the newest sessions.
func testTrimSessions(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "quinn")))
	require.NoError(t, s.CreateUser(ctx, mkUser("u2", "rosa")))
	for i := range 5 {
		require.NoError(t, s.CreateSession(ctx, mkSession(t, fmt.Sprintf("s%d", i), "u1", t0.Add(time.Duration(i)*time.Minute))))
	}
	require.NoError(t, s.CreateSession(ctx, mkSession(t, "other", "u2", t0)))
	n, err := s.TrimSessions(ctx, "u1", 2)
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "s4", list[0].ID)
	assert.Equal(t, "s3", list[1].ID)
	n, err = s.TrimSessions(ctx, "u1", 2)
	require.NoError(t, err)
	assert.Zero(t, n)
	list, err = s.Sessions(ctx, "u2")
	require.NoError(t, err)
	assert.Len(t, list, 1, "other users untouched")
}

// lastLink is a ResetSender that keeps the last link it was asked to send.
type lastLink struct {
	mu    sync.Mutex
	token string
}

func (l *lastLink) SendPasswordReset(_ context.Context, m auth.ResetMessage) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.token = m.Token
	return nil
}

func (l *lastLink) get() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.token
}

// testResetAfterCredentialChange: a reset link sent before the password
// was changed, or before the account was disabled (and enabled again),
// no longer works: whoever changed the credentials meant to end every
// earlier way in, as with sessions and device tokens.
func testResetAfterCredentialChange(t *testing.T, newStore NewStore) {
	changes := map[string]func(ctx context.Context, svc *auth.Service, u auth.User) error{
		"SetPassword": func(ctx context.Context, svc *auth.Service, u auth.User) error {
			return svc.SetPassword(ctx, u.ID, newPassword)
		},
		"ChangePassword": func(ctx context.Context, svc *auth.Service, u auth.User) error {
			res, err := svc.Login(ctx, auth.Credentials{Username: u.Username, Password: oldPassword})
			if err != nil {
				return err
			}
			_, err = svc.ChangePassword(ctx, res.Token, oldPassword, newPassword)
			return err
		},
		"DisableEnable": func(ctx context.Context, svc *auth.Service, u auth.User) error {
			if _, err := svc.Disable(ctx, u.ID); err != nil {
				return err
			}
			_, err := svc.Enable(ctx, u.ID)
			return err
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			link := &lastLink{}
			svc, err := auth.New(auth.Options{Store: newStore(t), Params: TinyParams(), ResetSender: link})
			require.NoError(t, err)
			u, err := svc.Register(ctx, auth.RegisterRequest{Username: "forgetful", Password: oldPassword})
			require.NoError(t, err)
			require.NoError(t, svc.RequestPasswordReset(ctx, "forgetful"))
			token := link.get()
			require.NotEmpty(t, token)
			require.NoError(t, change(ctx, svc, u))
			err = svc.ResetPassword(ctx, token, "a third passphrase from the old link", "")
			require.ErrorIs(t, err, auth.ErrInvalidResetToken, "a link from before the change still worked")
		})
	}
}
