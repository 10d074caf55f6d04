package auth_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestMessageIsAPlainSentence: what WriteError tells a client is a
// sentence without the package's "auth: " chain, and an internal error
// says nothing of its cause.
func TestMessageIsAPlainSentence(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{auth.ErrUnauthenticated, "Sign in first."},
		{fmt.Errorf("validate: %w", auth.ErrUnauthenticated), "Sign in first."},
		{auth.ErrInvalidCredentials, "Wrong username or password."},
		{auth.ErrTooManyAttempts, "Too many failed attempts. Try again later."},
		{auth.ErrForbidden, "You are not allowed to do this."},
		{fmt.Errorf("%w: %w", auth.ErrWeakPassword, auth.ErrPasswordCommon), "Password rejected by policy: password is too common."},
		{auth.ErrInvalidUsername, "Invalid username."},
		{errors.New("sql: database is locked at /srv/finkit.db"), "Internal error."},
	} {
		assert.Equal(t, tc.want, auth.Message(tc.err), "%v", tc.err)
	}
	for _, err := range []error{
		auth.ErrInvalidCredentials, auth.ErrTooManyAttempts, auth.ErrAccountDisabled, auth.ErrUnauthenticated,
		auth.ErrForbidden, auth.ErrNotFound, auth.ErrUsernameTaken, auth.ErrInvalidUsername, auth.ErrInvalidEmail,
		auth.ErrInvalidRole, auth.ErrWeakPassword, auth.ErrTOTPRequired, auth.ErrInvalidTOTP, auth.ErrInvalidResetToken,
		auth.ErrResetUnavailable, auth.ErrLastAdmin, auth.ErrConflict, auth.ErrReauthRequired,
	} {
		m := auth.Message(err)
		assert.NotContains(t, m, "auth:", "%v", err)
		assert.True(t, strings.HasSuffix(m, "."), "%q ends a sentence", m)
		assert.Equal(t, strings.ToUpper(m[:1]), m[:1], "%q starts a sentence", m)
	}

	rec := httptest.NewRecorder()
	auth.WriteError(rec, fmt.Errorf("session lookup: %w", auth.ErrUnauthenticated))
	require.Equal(t, http.StatusUnauthorized, rec.Code)
	var body struct{ Error, Message string }
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
	assert.Equal(t, "unauthenticated", body.Error)
	assert.Equal(t, "Sign in first.", body.Message)
}
