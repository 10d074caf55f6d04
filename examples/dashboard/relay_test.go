package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestAdminShowsRelayStorage: the admin page reports what the chat relay
// holds undelivered and its limit.
func TestAdminShowsRelayStorage(t *testing.T) {
	e := newTestEnv(t)
	admin := e.user(t, "relay-admin", auth.RoleAdmin)
	status, body, _ := e.get(t, admin, "/admin")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Chat relay storage")
	assert.Regexp(t, `0 undelivered envelopes, 0 of \d+ bytes`, body)
}
