package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/examples/internal/chatlink"
	"github.com/finkit/finkit/securechat"
)

// chatWasmBudget is the most the embedded client may weigh, gzip-compressed.
const chatWasmBudget = 1_200_000

// TestChatWasmIsFresh rebuilds the WebAssembly client exactly as `make
// wasm` does and fails when the embedded module differs from what the Go
// sources give today, or when wasm_exec.js is not the toolchain's.
func TestChatWasmIsFresh(t *testing.T) {
	goBin, err := exec.LookPath("go")
	require.NoError(t, err, "the go command is needed to rebuild the chat client")
	out := filepath.Join(t.TempDir(), "chat.wasm")
	cmd := exec.Command(goBin, "build", "-trimpath", "-buildvcs=false", "-ldflags=-s -w", "-o", out, "./chatwasm")
	cmd.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	msg, err := cmd.CombinedOutput()
	require.NoError(t, err, "building the chat client: %s", msg)
	fresh, err := os.ReadFile(out)
	require.NoError(t, err)
	zr, err := gzip.NewReader(bytes.NewReader(chatWasmGz))
	require.NoError(t, err)
	embedded, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.True(t, bytes.Equal(fresh, embedded),
		"static/chat/chat.wasm.gz is stale (embedded %d bytes, the sources build %d): run `make wasm` and commit it", len(embedded), len(fresh))

	goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
	require.NoError(t, err)
	want, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	require.NoError(t, err)
	got, err := staticFS.ReadFile("static/chat/wasm_exec.js")
	require.NoError(t, err)
	require.True(t, bytes.Equal(want, got), "static/chat/wasm_exec.js is not this toolchain's: run `make wasm`")
	t.Logf("chat client: %d bytes raw, %d bytes gzip (budget %d)", len(embedded), len(chatWasmGz), chatWasmBudget)
}

func TestChatWasmServedCompressed(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "wasmfetch", auth.RoleUser)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/chat/client.wasm", nil)
	req.Header.Set("Accept-Encoding", "gzip, br")
	resp, err := http.DefaultTransport.RoundTrip(withCookies(t, c, req))
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.Equal(t, "application/wasm", resp.Header.Get("Content-Type"))
	assert.Equal(t, chatWasmGz, body)

	// Without gzip the module is decompressed on the way out.
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/chat/client.wasm", nil)
	req.Header.Set("Accept-Encoding", "identity")
	resp, err = http.DefaultTransport.RoundTrip(withCookies(t, c, req))
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Equal(t, []byte("\x00asm"), body[:4])

	// The chat page may compile WebAssembly; no other page may.
	_, _, h := e.get(t, c, "/chat")
	assert.Contains(t, h.Get("Content-Security-Policy"), "'wasm-unsafe-eval'")
	_, _, h = e.get(t, c, "/portfolio")
	assert.NotContains(t, h.Get("Content-Security-Policy"), "wasm-unsafe-eval")
}

func withCookies(t *testing.T, c *http.Client, req *http.Request) *http.Request {
	t.Helper()
	for _, ck := range c.Jar.Cookies(req.URL) {
		req.AddCookie(ck)
	}
	return req
}

// putIdentity calls PUT /api/chat/identity as c.
func putIdentity(t *testing.T, e *testEnv, c *http.Client, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/api/chat/identity", strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func linkBody(id *securechat.Identity, host, userID string) string {
	b, _ := json.Marshal(map[string]string{
		"public": base64.StdEncoding.EncodeToString(id.Public().Marshal()),
		"proof":  base64.StdEncoding.EncodeToString(chatlink.Sign(id, host, userID)),
	})
	return string(b)
}

func userID(t *testing.T, e *testEnv, name string) string {
	t.Helper()
	u, err := e.app.auth.UserByUsername(context.Background(), name)
	require.NoError(t, err)
	return u.ID
}

// TestChatDirectoryLinksOnlyProvenKeys is the attacker's test of the link
// API: a key can be linked only by a signature of its own identity, made
// for this dashboard and this account, so Mallory can neither claim Alice's
// key for herself nor link one without holding its private half, and no
// private key is ever asked for.
func TestChatDirectoryLinksOnlyProvenKeys(t *testing.T) {
	e := newTestEnv(t)
	alice := e.user(t, "alice", auth.RoleUser)
	mallory := e.user(t, "mallory", auth.RoleUser)
	host := e.app.cfg.relayHost()
	aliceID, malloryID := userID(t, e, "alice"), userID(t, e, "mallory")
	ak, _ := securechat.GenerateIdentity(nil)
	mk, _ := securechat.GenerateIdentity(nil)

	// Alice's key with Alice's proof, replayed by Mallory: refused.
	status, _ := putIdentity(t, e, mallory, linkBody(ak, host, aliceID))
	assert.Equal(t, http.StatusBadRequest, status)
	// A proof for another dashboard: refused.
	status, _ = putIdentity(t, e, mallory, linkBody(mk, "evil.example", malloryID))
	assert.Equal(t, http.StatusBadRequest, status)
	// Garbage, unknown fields, a broken binding: refused.
	for _, body := range []string{`{`, `{"public":"!!","proof":"AA=="}`, `{"public":"","proof":"","key":"x"}`} {
		status, _ = putIdentity(t, e, mallory, body)
		assert.Equal(t, http.StatusBadRequest, status, body)
	}
	pub := mk.Public().Marshal()
	pub[len(pub)-1] ^= 1
	b, _ := json.Marshal(map[string]string{"public": base64.StdEncoding.EncodeToString(pub), "proof": base64.StdEncoding.EncodeToString(chatlink.Sign(mk, host, malloryID))})
	status, _ = putIdentity(t, e, mallory, string(b))
	assert.Equal(t, http.StatusBadRequest, status)
	// None of that linked anything.
	entries, err := e.app.chatDir.entries(context.Background())
	require.NoError(t, err)
	assert.Empty(t, entries)

	status, body := putIdentity(t, e, alice, linkBody(ak, host, aliceID))
	require.Equal(t, http.StatusOK, status, body)
	status, _ = putIdentity(t, e, mallory, linkBody(mk, host, malloryID))
	require.Equal(t, http.StatusOK, status)
	// A key linked to one account is not linked to a second one, even
	// with a valid proof (only its holder could make it).
	status, _ = putIdentity(t, e, mallory, linkBody(ak, host, malloryID))
	assert.Equal(t, http.StatusConflict, status)

	// Alice sees Mallory (and not herself) in her contacts.
	_, text, _ := e.get(t, alice, "/api/chat/directory")
	var d chatDirectoryJSON
	require.NoError(t, json.Unmarshal([]byte(text), &d))
	assert.Equal(t, string(ak.ID()), d.Me.PeerID)
	require.Len(t, d.Contacts, 1)
	assert.Equal(t, "mallory", d.Contacts[0].Username)
	assert.Equal(t, string(mk.ID()), d.Contacts[0].PeerID)

	// A new key replaces the old one (a new browser, a lost key).
	ak2, _ := securechat.GenerateIdentity(nil)
	status, _ = putIdentity(t, e, alice, linkBody(ak2, host, aliceID))
	require.Equal(t, http.StatusOK, status)
	entries, err = e.app.chatDir.entries(context.Background())
	require.NoError(t, err)
	assert.Equal(t, ak2.ID(), entries[aliceID].Peer)

	// Anonymous callers get nothing.
	status, _, _ = e.get(t, e.client(t), "/api/chat/directory")
	assert.Equal(t, http.StatusUnauthorized, status)
}
