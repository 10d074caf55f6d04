package main

import (
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestChatWorkerScriptHeaders: the Web Worker's script governs itself by
// the CSP sent with it, so /chat/worker.js carries the chat page's policy
// (our scripts and the WebAssembly compile only, no eval, no inline, no
// other connection than the origin), is served as JavaScript that the
// browser may not sniff into anything else, and is not cached stale.
// The script loads nothing from elsewhere and evaluates no strings.
func TestChatWorkerScriptHeaders(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "worker", auth.RoleUser)
	status, body, h := e.get(t, c, "/chat/worker.js")
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, "text/javascript; charset=utf-8", h.Get("Content-Type"))
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "no-cache", h.Get("Cache-Control"))
	csp := map[string]string{}
	for _, d := range strings.Split(h.Get("Content-Security-Policy"), ";") {
		name, val, _ := strings.Cut(strings.TrimSpace(d), " ")
		csp[name] = val
	}
	assert.Equal(t, "'self' 'wasm-unsafe-eval'", csp["script-src"])
	assert.Equal(t, "'self'", csp["default-src"])
	assert.Equal(t, "'self'", csp["connect-src"])
	_, page, ph := e.get(t, c, "/chat")
	assert.Equal(t, ph.Get("Content-Security-Policy"), h.Get("Content-Security-Policy"), "the worker runs under the page's policy")
	assert.Contains(t, page, "/static/chat/chat.js")
	for _, bad := range []string{"eval(", "Function(", "http:", "https:", "//cdn", "importScripts('http"} {
		assert.NotContains(t, body, bad)
	}
	assert.Contains(t, body, "importScripts('/static/chat/wasm_exec.js')")
	assert.Contains(t, body, "fetch('/chat/client.wasm'")
}
