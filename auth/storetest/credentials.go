package storetest

import (
	"context"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testUpdateUserConditional: a compare-and-swap on the password hash, the
// credential version and ending sessions, all in UpdateUser's one write.
func testUpdateUserConditional(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := mkUser("u1", "kara")
	require.NoError(t, s.CreateUser(ctx, u))
	require.NoError(t, s.CreateSession(ctx, mkSession(t, "s1", "u1", t0)))

	stale, next := "$argon2id$stale", "$argon2id$next"
	_, err := s.UpdateUser(ctx, "u1", auth.UserChange{PasswordHash: &next, IfPasswordHash: &stale, NewCredentials: true, EndSessions: true})
	require.ErrorIs(t, err, auth.ErrConflict, "hash changed since it was read")
	got, err := s.User(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, u.PasswordHash, got.PasswordHash, "a refused swap changes nothing")
	assert.Equal(t, int64(0), got.CredentialVersion)
	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	assert.Len(t, list, 1, "a refused swap ends no session")

	got, err = s.UpdateUser(ctx, "u1", auth.UserChange{PasswordHash: &next, IfPasswordHash: &u.PasswordHash, NewCredentials: true, EndSessions: true})
	require.NoError(t, err)
	assert.Equal(t, next, got.PasswordHash)
	assert.Equal(t, int64(1), got.CredentialVersion)
	list, err = s.Sessions(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, list, "sessions ended in the same write")

	got, err = s.UpdateUser(ctx, "u1", auth.UserChange{NewCredentials: true})
	require.NoError(t, err)
	assert.Equal(t, int64(2), got.CredentialVersion)
	reread, err := s.User(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, int64(2), reread.CredentialVersion)
	_, err = s.UpdateUser(ctx, "ghost", auth.UserChange{IfPasswordHash: &next})
	require.ErrorIs(t, err, auth.ErrNotFound)
}

// testSessionAuthFields: the credential version and the last
// authentication of a session survive the store.
func testSessionAuthFields(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "lina")))
	ss := mkSession(t, "s1", "u1", t0)
	ss.CredentialVersion, ss.AuthenticatedAt, ss.AuthMethod = 7, t0.Add(-time.Minute), auth.AuthPasswordTOTP
	require.NoError(t, s.CreateSession(ctx, ss))
	got, _, err := s.SessionByToken(ctx, ss.TokenHash)
	require.NoError(t, err)
	assert.Equal(t, int64(7), got.CredentialVersion)
	assert.True(t, ss.AuthenticatedAt.Equal(got.AuthenticatedAt))
	assert.Equal(t, auth.AuthPasswordTOTP, got.AuthMethod)
	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, int64(7), list[0].CredentialVersion)
	assert.Equal(t, auth.AuthPasswordTOTP, list[0].AuthMethod)
	assert.True(t, ss.AuthenticatedAt.Equal(list[0].AuthenticatedAt))
}

// testConfirmAndRemoveTOTP: confirming is one conditional write (secret,
// codes, credential version, sessions); so is removing.
func testConfirmAndRemoveTOTP(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "mona")))
	codes := [][]byte{tokenHash(t), tokenHash(t)}
	_, err := s.ConfirmTOTP(ctx, "u1", []byte("secret"), 5, codes, t0)
	require.ErrorIs(t, err, auth.ErrNotFound, "nothing enrolled")

	pending := []byte("12345678901234567890")
	require.NoError(t, s.PutTOTP(ctx, auth.TOTPState{UserID: "u1", Secret: pending, UpdatedAt: t0}))
	require.NoError(t, s.CreateSession(ctx, mkSession(t, "s1", "u1", t0)))
	_, err = s.ConfirmTOTP(ctx, "u1", []byte("another pending secret"), 5, codes, t0)
	require.ErrorIs(t, err, auth.ErrConflict, "the pending secret was replaced meanwhile")
	st, err := s.TOTP(ctx, "u1")
	require.NoError(t, err)
	assert.False(t, st.Confirmed)
	n, err := s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Zero(t, n)

	u, err := s.ConfirmTOTP(ctx, "u1", pending, 5, codes, t0.Add(time.Minute))
	require.NoError(t, err)
	assert.Equal(t, int64(1), u.CredentialVersion)
	st, err = s.TOTP(ctx, "u1")
	require.NoError(t, err)
	assert.True(t, st.Confirmed)
	assert.Equal(t, int64(5), st.LastStep)
	n, err = s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.ConfirmTOTP(ctx, "u1", pending, 6, codes, t0)
	require.ErrorIs(t, err, auth.ErrConflict, "already confirmed")

	require.NoError(t, s.CreateSession(ctx, mkSession(t, "s2", "u1", t0)))
	u, err = s.RemoveTOTP(ctx, "u1", t0)
	require.NoError(t, err)
	assert.Equal(t, int64(2), u.CredentialVersion)
	_, err = s.TOTP(ctx, "u1")
	require.ErrorIs(t, err, auth.ErrNotFound)
	n, err = s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Zero(t, n)
	list, err = s.Sessions(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, list)
	_, err = s.RemoveTOTP(ctx, "ghost", t0)
	require.ErrorIs(t, err, auth.ErrNotFound)
}
