package auth_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/logging"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newServer wires the service the way the package doc recommends.
func newServer(t *testing.T, f *fixture) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	mux.Handle("POST /login", f.svc.LoginHandler())
	mux.Handle("POST /logout", f.svc.LogoutHandler())
	mux.HandleFunc("GET /public", func(w http.ResponseWriter, r *http.Request) {
		if u, ok := auth.UserFrom(r.Context()); ok {
			io.WriteString(w, "hello "+u.Username)
			return
		}
		io.WriteString(w, "hello anonymous")
	})
	mux.Handle("GET /me", auth.RequireUser(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, _ := auth.UserFrom(r.Context())
		io.WriteString(w, u.Username)
	})))
	mux.Handle("/admin", auth.RequireRole(auth.RoleAdmin)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "admin area")
	})))
	mux.Handle("GET /settings", f.svc.RequireRecentAuth(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "settings")
	})))
	csrf := http.NewCrossOriginProtection()
	srv := httptest.NewServer(csrf.Handler(f.svc.Authenticate(mux)))
	t.Cleanup(srv.Close)
	return srv
}

func do(t *testing.T, req *http.Request) (*http.Response, string) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestAccessMatrix(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	f.register(t, "plain", "")
	f.register(t, "boss", auth.RoleAdmin)
	userTok, adminTok := f.login(t, "plain").Token, f.login(t, "boss").Token

	tests := []struct {
		name, path, token string
		cookie            bool
		status            int
		body              string
	}{
		{"anonymous public", "/public", "", false, 200, "hello anonymous"},
		{"anonymous me", "/me", "", false, 401, "unauthenticated"},
		{"anonymous admin", "/admin", "", false, 401, "unauthenticated"},
		{"user public", "/public", userTok, false, 200, "hello plain"},
		{"user me", "/me", userTok, false, 200, "plain"},
		{"user admin", "/admin", userTok, false, 403, "forbidden"},
		{"admin me", "/me", adminTok, false, 200, "boss"},
		{"admin admin", "/admin", adminTok, false, 200, "admin area"},
		{"admin by cookie", "/admin", adminTok, true, 200, "admin area"},
		{"user by cookie", "/admin", userTok, true, 403, "forbidden"},
		{"bogus token", "/me", "bogus", false, 401, "unauthenticated"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+tt.path, nil)
			if tt.token != "" {
				if tt.cookie {
					req.AddCookie(&http.Cookie{Name: f.svc.CookieName(), Value: tt.token})
				} else {
					req.Header.Set("Authorization", "Bearer "+tt.token)
				}
			}
			resp, body := do(t, req)
			assert.Equal(t, tt.status, resp.StatusCode)
			assert.Contains(t, body, tt.body)
			if resp.StatusCode == 401 {
				assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

func TestLoginHandlerForm(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	f.register(t, "webby", "")
	form := url.Values{"username": {"webby"}, "password": {goodPassword}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-ID", "abc-123")
	resp, body := do(t, req)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.NotContains(t, body, `"token"`, "browser logins get a cookie, not a token in the body")

	cookies := resp.Cookies()
	require.Len(t, cookies, 2, "session and device cookies")
	c, dev := cookies[0], cookies[1]
	assert.Equal(t, "__Host-finkit_session", c.Name)
	assert.Equal(t, "__Host-finkit_session_device", dev.Name)
	assert.True(t, dev.HttpOnly)
	assert.True(t, dev.Secure)
	assert.Equal(t, int(auth.DeviceTokenLifetime/time.Second), dev.MaxAge)
	assert.NotContains(t, body, dev.Value, "the device token is only in its cookie")
	assert.True(t, c.HttpOnly)
	assert.True(t, c.Secure)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.Equal(t, "/", c.Path)
	assert.Empty(t, c.Domain)
	assert.Len(t, c.Value, 43)
	raw := resp.Header.Get("Set-Cookie")
	assert.Contains(t, raw, "HttpOnly")
	assert.Contains(t, raw, "Secure")
	assert.Contains(t, raw, "SameSite=Lax")
	assert.Contains(t, f.logs.String(), `"request_id":"abc-123"`)

	// The cookie authenticates; logout clears it and ends the session.
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
	req.AddCookie(c)
	resp, body = do(t, req)
	assert.Equal(t, 200, resp.StatusCode)
	assert.Equal(t, "webby", body)

	req, _ = http.NewRequest(http.MethodPost, srv.URL+"/logout", nil)
	req.AddCookie(c)
	resp, _ = do(t, req)
	assert.Equal(t, http.StatusNoContent, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Set-Cookie"), "Max-Age=0")
	assert.NotContains(t, resp.Header.Get("Set-Cookie"), dev.Name, "logout keeps the device cookie")
	req, _ = http.NewRequest(http.MethodGet, srv.URL+"/me", nil)
	req.AddCookie(c)
	resp, _ = do(t, req)
	assert.Equal(t, 401, resp.StatusCode)
}

// TestLoginHandlerEndsPreviousSession: logging in again over a live
// session ends it (ASVS 7.2.4).
func TestLoginHandlerEndsPreviousSession(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	f.register(t, "again", "")
	first := f.login(t, "again")
	form := url.Values{"username": {"again"}, "password": {goodPassword}}
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.AddCookie(&http.Cookie{Name: f.svc.CookieName(), Value: first.Token})
	resp, body := do(t, req)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	_, _, err := f.svc.Validate(context.Background(), first.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated, "the session the browser held before is ended")
}

func TestLoginHandlerJSONAndErrors(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 2, Every: time.Hour, Lockout: 90 * time.Second}
	})
	srv := newServer(t, f)
	f.register(t, "apiuser", "")
	post := func(body string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		return do(t, req)
	}
	resp, body := post(`{"username":"apiuser","password":"` + goodPassword + `"}`)
	require.Equal(t, 200, resp.StatusCode, body)
	var res auth.LoginResult
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	assert.Len(t, res.Token, 43, "API clients get a bearer token")
	assert.Empty(t, resp.Cookies())
	assert.Equal(t, "apiuser", res.User.Username)
	assert.NotContains(t, body, "argon2")

	resp, body = post(`{"username":`)
	assert.Equal(t, 400, resp.StatusCode, body)

	for range 2 {
		resp, body = post(`{"username":"apiuser","password":"wrong wrong wrong"}`)
		assert.Equal(t, 401, resp.StatusCode)
		assert.Contains(t, body, "invalid_credentials")
	}
	resp, _ = post(`{"username":"apiuser","password":"wrong wrong wrong"}`)
	assert.Equal(t, 401, resp.StatusCode, "the failure that starts the lockout")
	resp, body = post(`{"username":"apiuser","password":"` + goodPassword + `"}`)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode, body)
	assert.Equal(t, "90", resp.Header.Get("Retry-After"))
	assert.Contains(t, body, "too_many_attempts")

	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/login", nil)
	resp, _ = do(t, req)
	assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}

func TestCrossOriginLoginRejected(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	f.register(t, "victim", "")
	form := url.Values{"username": {"victim"}, "password": {goodPassword}}
	for _, tc := range []struct {
		name   string
		header map[string]string
		status int
	}{
		{"cross-site fetch", map[string]string{"Sec-Fetch-Site": "cross-site"}, http.StatusForbidden},
		{"foreign origin", map[string]string{"Origin": "https://evil.example"}, http.StatusForbidden},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin"}, http.StatusOK},
		{"non-browser client", nil, http.StatusOK},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			resp, _ := do(t, req)
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
}

func TestInsecureLocalhostCookie(t *testing.T) {
	f := newFixture(t, func(o *auth.Options) { o.Cookie = auth.CookieConfig{InsecureLocalhost: true, Name: "dash"} })
	f.register(t, "local", "")
	res := f.login(t, "local")
	c := f.svc.SessionCookie(res)
	assert.Equal(t, "dash", c.Name)
	assert.False(t, c.Secure)
	assert.True(t, c.HttpOnly)
	assert.Equal(t, http.SameSiteLaxMode, c.SameSite)
	assert.True(t, res.Session.ExpiresAt.Equal(c.Expires))
}

func TestStatusOf(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
	}{
		{auth.ErrInvalidCredentials, 401}, {auth.ErrUnauthenticated, 401}, {auth.ErrTOTPRequired, 401},
		{auth.ErrForbidden, 403}, {auth.ErrAccountDisabled, 403}, {auth.ErrUsernameTaken, 409},
		{auth.ErrPasswordTooShort, 500}, {auth.ErrWeakPassword, 400}, {auth.ErrInvalidUsername, 400},
		{&auth.ThrottleError{RetryAfter: time.Second}, 429}, {auth.ErrNotFound, 404}, {context.Canceled, 500},
	} {
		got, _ := auth.StatusOf(tc.err)
		assert.Equal(t, tc.status, got, "%v", tc.err)
	}
	rec := httptest.NewRecorder()
	auth.WriteError(rec, context.DeadlineExceeded)
	assert.Equal(t, 500, rec.Code)
	assert.NotContains(t, rec.Body.String(), "deadline", "internal errors are not described")
	rec = httptest.NewRecorder()
	auth.WriteError(rec, &auth.ThrottleError{RetryAfter: 1200 * time.Millisecond})
	assert.Equal(t, "2", rec.Header().Get("Retry-After"))
}

// TestAuditRequestIDMatchesAccessLog checks that audit records carry the
// request id the logging middleware settled on, not a client header it
// rejected, and that without the middleware only sane ids are taken.
func TestAuditRequestIDMatchesAccessLog(t *testing.T) {
	f := newFixture(t)
	f.register(t, "rid", "")
	mw := logging.Middleware{Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewServer(mw.Wrap(f.svc.LoginHandler()))
	t.Cleanup(srv.Close)
	bare := httptest.NewServer(f.svc.LoginHandler())
	t.Cleanup(bare.Close)

	login := func(base, rid string) *http.Response {
		form := url.Values{"username": {"rid"}, "password": {goodPassword}}
		req, _ := http.NewRequest(http.MethodPost, base+"/login", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Request-ID", rid)
		resp, _ := do(t, req)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		return resp
	}
	lastAuditID := func() any {
		lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &rec))
		require.Equal(t, "login.success", rec["event"])
		return rec["request_id"]
	}

	tooLong := strings.Repeat("a", 100) // sane characters, but over 64
	resp := login(srv.URL, tooLong)
	assigned := resp.Header.Get("X-Request-ID")
	require.NotEqual(t, tooLong, assigned, "the middleware replaced the client's id")
	assert.Equal(t, assigned, lastAuditID(), "the audit record uses the middleware's id")

	// Whatever id the middleware settles on (it believes a client's id only
	// from its trusted proxies), the audit record carries the same.
	resp = login(srv.URL, "client-id.42")
	assert.Equal(t, resp.Header.Get("X-Request-ID"), lastAuditID())

	login(bare.URL, `x"},{"admin":true`)
	assert.Nil(t, lastAuditID(), "an insane client id is not logged")
	login(bare.URL, "ok-id_1")
	assert.Equal(t, "ok-id_1", lastAuditID())
}

// TestClientIPFromLoggingMiddleware checks that, behind the logging
// middleware, throttling and audit use the address it determined: the
// forwarded client when the peer is a trusted proxy, and the peer itself
// when an untrusted client sends a spoofed X-Forwarded-For.
func TestClientIPFromLoggingMiddleware(t *testing.T) {
	f := newFixture(t)
	f.register(t, "proxied", "")
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	for _, tc := range []struct {
		name    string
		proxies []netip.Prefix
		want    string
	}{
		{"trusted proxy", loopback, "198.51.100.23"},
		{"untrusted peer spoofing", nil, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mw := logging.Middleware{Logger: slog.New(slog.DiscardHandler), TrustedProxies: tc.proxies}
			srv := httptest.NewServer(mw.Wrap(f.svc.LoginHandler()))
			t.Cleanup(srv.Close)
			form := url.Values{"username": {"proxied"}, "password": {goodPassword}}
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/login", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Forwarded-For", "198.51.100.23")
			resp, _ := do(t, req)
			require.Equal(t, http.StatusOK, resp.StatusCode)
			lines := strings.Split(strings.TrimSpace(f.logs.String()), "\n")
			var rec map[string]any
			require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &rec))
			assert.Equal(t, tc.want, rec["ip"])
		})
	}
}

// TestRequireRecentAuth: account settings need a recent authentication.
func TestRequireRecentAuth(t *testing.T) {
	f := newFixture(t)
	srv := newServer(t, f)
	f.register(t, "settler", "")
	res := f.login(t, "settler")
	get := func(token string) (*http.Response, string) {
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/settings", nil)
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return do(t, req)
	}
	resp, _ := get("")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, body := get(res.Token)
	assert.Equal(t, http.StatusOK, resp.StatusCode, body)
	f.clock.Advance(auth.DefaultReauthWindow + time.Second)
	resp, body = get(res.Token)
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, body, `"reauth_required"`)
	again, err := f.svc.Reauthenticate(context.Background(), res.Token, goodPassword, "")
	require.NoError(t, err)
	resp, _ = get(again.Token)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
}
