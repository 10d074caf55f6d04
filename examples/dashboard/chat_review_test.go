package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/securechat"
)

// TestChatIdentityPutRefusesCrossOrigin: another site cannot make a
// logged-in browser link a key (its own) to the victim's account, even
// with a valid proof for that account.
func TestChatIdentityPutRefusesCrossOrigin(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	aliceID := userID(t, e, "alice")
	evil, _ := securechat.GenerateIdentity(nil)
	body := linkBody(evil, e.app.cfg.relayHost(), aliceID)
	for _, h := range []map[string]string{
		{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"},
		{"Origin": "http://evil.example"},
	} {
		req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/api/chat/identity", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		for k, v := range h {
			req.Header.Set(k, v)
		}
		resp, err := alice.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, h)
	}
	entries, err := e.app.chatDir.entries(context.Background())
	require.NoError(t, err)
	assert.Empty(t, entries)
}

// TestChatDirectoryHidesDisabledAndPrivate: a disabled account's key is
// not offered as a contact, its key stays taken (nobody can re-link it),
// and a directory entry carries public fields only.
func TestChatDirectoryHidesDisabledAndPrivate(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	bob := e.user(t, "bob", auth.RoleUser)
	carol := e.user(t, "carol", auth.RoleUser)
	mallory := e.user(t, "mallory", auth.RoleUser)
	host := e.app.cfg.relayHost()
	bk, _ := securechat.GenerateIdentity(nil)
	ck, _ := securechat.GenerateIdentity(nil)
	status, _ := putIdentity(t, e, bob, linkBody(bk, host, userID(t, e, "bob")))
	require.Equal(t, http.StatusOK, status)
	status, _ = putIdentity(t, e, carol, linkBody(ck, host, userID(t, e, "carol")))
	require.Equal(t, http.StatusOK, status)

	_, err := e.app.auth.Disable(context.Background(), userID(t, e, "bob"))
	require.NoError(t, err)

	_, text, _ := e.get(t, alice, "/api/chat/directory")
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(text), &raw))
	var contacts []map[string]any
	require.NoError(t, json.Unmarshal(raw["contacts"], &contacts))
	require.Len(t, contacts, 1, text)
	assert.Equal(t, "carol", contacts[0]["username"])
	keys := make([]string, 0, len(contacts[0]))
	for k := range contacts[0] {
		keys = append(keys, k)
	}
	assert.ElementsMatch(t, []string{"user_id", "username", "peer_id", "public", "updated"}, keys)
	assert.NotContains(t, text, string(bk.ID()))

	// Bob's key, disabled or not, is still his: a valid proof of it for
	// Mallory's account (as its thief could make) is refused.
	status, _ = putIdentity(t, e, mallory, linkBody(bk, host, userID(t, e, "mallory")))
	assert.Equal(t, http.StatusConflict, status)
}

// TestChatPageCSPScripts: the chat page may compile WebAssembly but runs no
// inline script and no eval.
func TestChatPageCSPScripts(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "csp", auth.RoleUser)
	status, body, h := e.get(t, c, "/chat")
	require.Equal(t, http.StatusOK, status)
	var script string
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		if d = strings.TrimSpace(d); strings.HasPrefix(d, "script-src ") {
			script = d
		}
	}
	assert.Equal(t, "script-src 'self' 'wasm-unsafe-eval'", script)
	assert.NotContains(t, body, "<script>")
	assert.NotContains(t, strings.ToLower(body), " on"+"click=")
}

// TestChatIdentityPutRefusesTrailingData: a body with anything after its
// one JSON object is bad input, refused, and links nothing.
func TestChatIdentityPutRefusesTrailingData(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	ak, _ := securechat.GenerateIdentity(nil)
	good := linkBody(ak, e.app.cfg.relayHost(), userID(t, e, "alice"))
	for _, body := range []string{good + `{"public":"x"}`, good + `garbage`, good + `]`} {
		status, _ := putIdentity(t, e, alice, body)
		assert.Equal(t, http.StatusBadRequest, status, body)
	}
	entries, err := e.app.chatDir.entries(context.Background())
	require.NoError(t, err)
	assert.Empty(t, entries)
	status, _ := putIdentity(t, e, alice, good+"\n")
	assert.Equal(t, http.StatusOK, status)
}

func TestAcceptsGzip(t *testing.T) {
	for h, want := range map[string]bool{
		"gzip": true, "GZIP": true, "br, gzip": true, "gzip;q=0.5": true, "gzip; q=1": true, "gzip;q=0.001": true,
		"": false, "identity": false, "br": false, "gzip;q=0": false, "gzip;q=0.0": false, "gzip; q=0.000": false,
		"gzip;Q=0": false, "gzipx": false,
		"x-gzip": true, "*": true, "*;q=0.1": true, "br, *": true, "*;q=0": false, "gzip;q=0, *": false,
		"identity, *;q=0": false, "gzip;level=1;q=0": false, "gzip;q=0;level=1": false, "gzip;level=1": true,
		"gzip;q=abc": false, "gzip;q=2": false, "gzip;q=-1": false, "gzip;q=NaN": false, "gzip;q=": false,
		", gzip ,": true, " GZip ; q = 0.5 ": true,
	} {
		assert.Equal(t, want, acceptsGzip(h), h)
	}
}
