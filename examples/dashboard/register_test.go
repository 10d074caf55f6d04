package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRegisterThrottled checks that one client cannot create accounts
// without limit through the register form: the library's per-client
// limit answers 429 with Retry-After, and the refused account is not
// created.
func TestRegisterThrottled(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(t)
	register := func(name string) (int, string, http.Header) {
		return e.post(t, c, "/register", url.Values{"username": {name}, "password": {testPassword}, "confirm": {testPassword}})
	}
	var status int
	var body string
	var h http.Header
	n := 0
	for ; n < 20; n++ {
		status, body, h = register(fmt.Sprintf("flood-%d", n))
		if status == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusSeeOther, status, body)
	}
	require.Equal(t, http.StatusTooManyRequests, status, "throttled after %d", n)
	assert.Less(t, n, 20)
	assert.Contains(t, body, "Too many accounts")
	assert.NotEmpty(t, h.Get("Retry-After"))
	_, err := e.app.authStore.UserByUsername(context.Background(), fmt.Sprintf("flood-%d", n))
	assert.ErrorIs(t, err, auth.ErrNotFound, "refused account not created")
}
