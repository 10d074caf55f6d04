package logging

import (
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestAccessLogIsBounded: a huge path, user agent, query or header value
// cannot make a huge log line; what is cut is marked.
func TestAccessLogIsBounded(t *testing.T) {
	srv, logs, _ := newMiddlewareServer(t, Middleware{LogQuery: true, LogHeaders: []string{"X-Note"}, SkipPaths: nil},
		http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	// Control characters are escaped by the JSON encoder (6 bytes each),
	// which is how a 500 KB request becomes a 1.8 MB line.
	long := strings.Repeat("%01é", 20_000)
	hdr := http.Header{}
	hdr.Set("User-Agent", strings.Repeat(`A"`, 50_000))
	hdr.Set("X-Note", strings.Repeat("n", 100_000))
	resp, _ := get(t, srv, "/"+long+"?q="+long, hdr)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	lines := logs.waitAccess(t, 1)
	raw := logs.String()
	assert.Less(t, len(raw), 32<<10, "the access line is bounded")
	for _, f := range []string{"path", "user_agent", "query"} {
		v, _ := lines[0][f].(string)
		assert.Contains(t, v, "bytes truncated]", f)
	}
	h, _ := lines[0]["headers"].(map[string]any)
	assert.Contains(t, h["X-Note"], "bytes truncated]")
}

// TestTruncateKeepsUTF8: a cut never splits a character.
func TestTruncateKeepsUTF8(t *testing.T) {
	s := strings.Repeat("é", 10)
	for n := range 21 {
		got := truncate(s, n)
		assert.True(t, strings.ToValidUTF8(got, "?") == got, "n=%d: %q", n, got)
	}
	assert.Equal(t, "abc", truncate("abc", 3))
	assert.Equal(t, "ab…[1 bytes truncated]", truncate("abc", 2))
}

// TestMiddlewareRedactsParamsAndConfiguredKeys: query parameters and
// headers named key, code, X-Amz-Signature or X-Amz-Credential are
// redacted, and so are the app's own keys (Middleware.RedactKeys).
func TestMiddlewareRedactsParamsAndConfiguredKeys(t *testing.T) {
	srv, logs, _ := newMiddlewareServer(t, Middleware{
		LogQuery: true, LogHeaders: []string{"X-Amz-Signature", "X-Account-Number"},
		RedactKeys: []string{"account_number"},
	}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	hdr := http.Header{}
	hdr.Set("X-Amz-Signature", secretValue)
	hdr.Set("X-Account-Number", secretValue)
	get(t, srv, "/cb?code="+secretValue+"&key="+secretValue+"&X-Amz-Signature="+secretValue+"&X-Amz-Credential="+secretValue+
		"&account_number="+secretValue+"&state=ok", hdr)
	lines := logs.waitAccess(t, 1)
	assert.NotContains(t, logs.String(), secretValue)
	assert.Contains(t, lines[0]["query"], "state=ok")
}

// TestRequestIDOnlyFromTrustedProxies: a client cannot choose the request
// id that ends up in audit records; a trusted proxy can.
func TestRequestIDOnlyFromTrustedProxies(t *testing.T) {
	var seen string
	next := http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = RequestIDFrom(r.Context()) })
	for _, tt := range []struct {
		name    string
		proxies []netip.Prefix
		keep    bool
	}{
		{"untrusted peer", nil, false},
		{"other network trusted", []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}, false},
		{"trusted proxy", []netip.Prefix{netip.MustParsePrefix("203.0.113.0/24")}, true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			h := Middleware{TrustedProxies: tt.proxies, Logger: slog.New(slog.DiscardHandler)}.Wrap(next)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = "203.0.113.9:4000"
			r.Header.Set(RequestIDHeader, "chosen-by-client")
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			assert.Equal(t, tt.keep, seen == "chosen-by-client", seen)
			assert.Equal(t, seen, w.Header().Get(RequestIDHeader))
		})
	}
}

// TestRealIPOnlyWhenTrusted: behind a trusted proxy that sets no
// X-Forwarded-For, the client's own X-Real-IP is not believed unless the
// app says its proxy sets that header (TrustRealIP).
func TestRealIPOnlyWhenTrusted(t *testing.T) {
	proxies := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}
	for _, tt := range []struct {
		trustRealIP bool
		want        string
	}{{false, "10.0.0.1"}, {true, "198.51.100.2"}} {
		m := Middleware{TrustedProxies: proxies, TrustRealIP: tt.trustRealIP, Logger: slog.New(slog.DiscardHandler)}.Wrap(nil).(*middleware)
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = "10.0.0.1:80"
		r.Header.Set("X-Real-IP", "198.51.100.2")
		assert.Equal(t, tt.want, m.clientIP(r), "TrustRealIP=%v", tt.trustRealIP)
	}
	// An untrusted peer's X-Real-IP is never read, whatever TrustRealIP says.
	m := Middleware{TrustedProxies: proxies, TrustRealIP: true}.Wrap(nil).(*middleware)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "203.0.113.5:1"
	r.Header.Set("X-Real-IP", "198.51.100.2")
	assert.Equal(t, "203.0.113.5", m.clientIP(r))
}
