package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

func TestAuthKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadAuthKey(dir)
	require.NoError(t, err)
	require.Len(t, k1, 32)
	fi, err := os.Stat(filepath.Join(dir, authKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	k2, err := loadAuthKey(dir)
	require.NoError(t, err)
	assert.Equal(t, k1, k2, "the key survives restarts")
	require.NoError(t, os.WriteFile(filepath.Join(dir, authKeyFile), []byte("short"), 0o600))
	_, err = loadAuthKey(dir)
	require.Error(t, err)
}

// TestPasswordResetFlow: the forgot page answers alike for any name, the
// demo logs the link (built from the configuration, never the request's
// Host header), and the link sets a new password once.
func TestPasswordResetFlow(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.app.auth.Register(context.Background(), auth.RegisterRequest{Username: "rita", Password: testPassword})
	require.NoError(t, err)
	var console syncBuffer
	e.app.resets.setOutput(&console)
	c := e.client(t)
	status, body, _ := e.get(t, c, "/forgot")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Send a reset link")

	statusNobody, _, hNobody := e.post(t, c, "/forgot", url.Values{"username": {"nobody"}})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/forgot", strings.NewReader(url.Values{"username": {"rita"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Host = "evil.example"
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, statusNobody, resp.StatusCode, "same answer for unknown users")
	assert.Equal(t, hNobody.Get("Location"), resp.Header.Get("Location"))

	m := regexp.MustCompile(`(?m)^  (http\S+)$`).FindStringSubmatch(console.String())
	require.NotNil(t, m, "the demo prints the reset link: %q", console.String())
	link, err := url.Parse(m[1])
	require.NoError(t, err)
	assert.NotEqual(t, "evil.example", link.Hostname(), "the link never follows the request's Host header")
	token := link.Query().Get("token")
	require.Len(t, token, 43)
	assert.NotContains(t, e.logs.String(), token, "the token stays out of the log")

	status, body, _ = e.get(t, c, "/reset?token="+url.QueryEscape(token))
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, token)
	const next = "a brand new dashboard passphrase"
	status, body, _ = e.post(t, c, "/reset", url.Values{"token": {token}, "password": {next}, "confirm": {next + "x"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "differ")
	status, _, h := e.post(t, c, "/reset", url.Values{"token": {token}, "password": {next}, "confirm": {next}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, h.Get("Location"), "/login")
	status, body, _ = e.post(t, c, "/reset", url.Values{"token": {token}, "password": {next}, "confirm": {next}})
	assert.Equal(t, http.StatusBadRequest, status, "the link works once")
	assert.Contains(t, body, "invalid, used or expired")

	status, _, h = e.post(t, c, "/login", url.Values{"username": {"rita"}, "password": {next}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/portfolio", h.Get("Location"))
}
