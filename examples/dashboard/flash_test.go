package main

import (
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

var flashRE = regexp.MustCompile(`<div class="flash (ok|error)" role="(?:status|alert)"><span class="flash-icon" aria-hidden="true">[^<]*</span><span>(.*?)</span></div>`)

// flashAt opens the page a redirect pointed at with the client (whose jar
// holds the flash cookie) and returns the text of its message banner.
func (e *testEnv) flashAt(t *testing.T, c *http.Client, location string) string {
	t.Helper()
	kind, text := e.flashKindAt(t, c, location)
	_ = kind
	return text
}

func (e *testEnv) flashKindAt(t *testing.T, c *http.Client, location string) (kind, text string) {
	t.Helper()
	_, body, _ := e.get(t, c, location)
	m := flashRE.FindStringSubmatch(body)
	if m == nil {
		return "", ""
	}
	return m[1], html.UnescapeString(m[2])
}

// flashOfResponse returns the text of the flash message a response set,
// without opening the page it redirects to.
func (e *testEnv) flashOfResponse(resp *http.Response) string {
	for _, ck := range resp.Cookies() {
		if ck.Name == flashCookie {
			if fl, ok := e.app.flash.decode(ck.Value); ok {
				return fl.Text
			}
		}
	}
	return ""
}

// The attack: a link that writes its own text into the banner.
func TestFlashFromQueryIsNotShown(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "mallory-target", auth.RoleUser)
	const evil = "Your session expired. Re-enter your bank password at evil.example"
	for _, p := range []string{"/portfolio?flash=" + url.QueryEscape(evil), "/login?flash=" + url.QueryEscape(evil), "/?flash=x&error=" + url.QueryEscape(evil)} {
		_, body, _ := e.get(t, c, p)
		assert.NotContains(t, body, "evil.example", p)
		assert.NotRegexp(t, `class="flash`, body, p)
	}
}

func TestFlashCookieIsSignedAndShownOnce(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "flo", auth.RoleUser)
	status, _, h := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/portfolio", h.Get("Location"), "the message is not in the URL")
	kind, text := e.flashKindAt(t, c, "/portfolio")
	assert.Equal(t, "ok", kind)
	assert.Contains(t, text, "Loaded the demo portfolio")
	kind, _ = e.flashKindAt(t, c, "/portfolio")
	assert.Empty(t, kind, "a message shows once")

	// An error is styled as one.
	status, _, h = e.post(t, c, "/portfolio/accounts", url.Values{"id": {"x y"}})
	require.Equal(t, http.StatusSeeOther, status)
	kind, text = e.flashKindAt(t, c, h.Get("Location"))
	assert.Equal(t, "error", kind)
	assert.Contains(t, text, "Account ids are")

	// A cookie the server did not sign, a tampered one and an expired one
	// show nothing.
	f := e.app.flash
	good := f.encode(flashOK, "genuine")
	payload, mac, _ := strings.Cut(good, ".")
	forged := newFlasher([]byte("another key of thirty-two bytes!"), false).encode(flashOK, "Re-enter your password at evil.example")
	old := &flasher{key: f.key, now: func() time.Time { return time.Now().Add(-time.Hour) }}
	u, _ := url.Parse(e.srv.URL)
	for name, v := range map[string]string{
		"forged":   forged,
		"tampered": payload[:len(payload)-2] + "AA." + mac,
		"no mac":   payload,
		"expired":  old.encode(flashOK, "stale"),
		"garbage":  "%%%.%%%",
	} {
		c.Jar.SetCookies(u, []*http.Cookie{{Name: flashCookie, Value: v, Path: "/"}})
		kind, text := e.flashKindAt(t, c, "/portfolio")
		assert.Empty(t, kind, "%s: %s", name, text)
	}
	c.Jar.SetCookies(u, []*http.Cookie{{Name: flashCookie, Value: good, Path: "/"}})
	_, text = e.flashKindAt(t, c, "/portfolio")
	assert.Equal(t, "genuine", text)
}

func TestErrorPagesAndJSON(t *testing.T) {
	e := newTestEnv(t)
	user := e.user(t, "plain-user", auth.RoleUser)
	anon := e.client(t)

	// A normal user at /admin gets a page, not raw JSON.
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/admin", nil)
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := user.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Contains(t, resp.Header.Get("Content-Type"), "text/html")
	_, body, _ := e.get(t, user, "/admin/uploads")
	assert.Contains(t, body, "for administrators")
	assert.Contains(t, body, `href="/portfolio"`, "the page has the app's navigation")

	// An anonymous browser is sent to log in; a script gets 401 JSON.
	req, _ = http.NewRequest(http.MethodGet, e.srv.URL+"/admin", nil)
	req.Header.Set("Accept", "text/html")
	resp, err = anon.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Location"), "/login?next=%2Fadmin"), resp.Header.Get("Location"))
	status, body, _ := e.get(t, anon, "/admin")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, body, `"error"`)

	// Unknown paths: a page for browsers, JSON under /api/.
	status, body, h := e.get(t, user, "/nope")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, h.Get("Content-Type"), "text/html")
	assert.Contains(t, body, "Page not found")
	status, body, h = e.get(t, user, "/api/nope")
	assert.Equal(t, http.StatusNotFound, status)
	assert.Contains(t, h.Get("Content-Type"), "application/json")
	assert.JSONEq(t, `{"error":"not_found","message":"There is no page at /api/nope."}`, stripRequestID(body))

	// The favicon is served (no 404 and WARN on every page).
	status, body, h = e.get(t, anon, "/favicon.ico")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "image/x-icon", h.Get("Content-Type"))
	assert.Equal(t, "\x00\x00\x01\x00\x01\x00", body[:6])
	assert.Equal(t, "\x89PNG", body[22:26])
	assert.NotContains(t, e.logs.String(), `"path":"/favicon.ico","status":404`)
}

// stripRequestID removes the request_id member of a JSON error.
func stripRequestID(body string) string {
	return regexp.MustCompile(`,"request_id":"[^"]*"`).ReplaceAllString(body, "")
}

// A failure shows a plain sentence and the request id; the error chain is
// in the log under the same id.
func TestFailureShowsRequestIDNotTheChain(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "sad-path", auth.RoleUser)
	_, body, _ := e.get(t, c, "/stats?symbol=NOPE")
	assert.Contains(t, body, "No price history for NOPE")
	assert.NotContains(t, body, "not found: unknown symbol")
	assert.NotContains(t, body, "sim-history")
}
