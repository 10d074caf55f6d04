package main

import (
	"encoding/base32"
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

var (
	secretRE   = regexp.MustCompile(`id="totp-secret">([A-Z2-7 ]+)<`)
	recoveryRE = regexp.MustCompile(`<ol class="codes mono" id="recovery-codes">(.*?)</ol>`)
	liRE       = regexp.MustCompile(`<li>([^<]+)</li>`)
)

// totpFromPage reads the secret an enrolment page shows.
func totpFromPage(t *testing.T, body string) auth.TOTP {
	t.Helper()
	m := secretRE.FindStringSubmatch(body)
	require.NotNil(t, m, "no secret on the page")
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(m[1], " ", ""))
	require.NoError(t, err)
	return auth.TOTP{Secret: secret}
}

// code returns the TOTP code of the step after now+offset steps.
func code(t *testing.T, g auth.TOTP, steps int) string {
	t.Helper()
	c, err := g.CodeAt(g.Step(time.Now()) + int64(steps))
	require.NoError(t, err)
	return c
}

func recoveryCodesOf(body string) []string {
	m := recoveryRE.FindStringSubmatch(body)
	if m == nil {
		return nil
	}
	var out []string
	for _, li := range liRE.FindAllStringSubmatch(m[1], -1) {
		out = append(out, html.UnescapeString(li[1]))
	}
	return out
}

func (e *testEnv) loginAs(t *testing.T, name, password, code string) (*http.Client, int, string) {
	t.Helper()
	c := e.client(t)
	status, body, _ := e.post(t, c, "/login", url.Values{"username": {name}, "password": {password}, "code": {code}})
	return c, status, body
}

func TestAccountTwoFactorOnLoginAndOff(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "tess", auth.RoleUser)
	status, body, _ := e.get(t, c, "/account")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Set up two-factor authentication")

	// A wrong password starts nothing.
	status, body, _ = e.post(t, c, "/account/totp/enroll", url.Values{"current": {"not my password at all"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "The password is wrong.")
	assert.NotContains(t, body, "totp-secret")

	status, body, _ = e.post(t, c, "/account/totp/enroll", url.Values{"current": {testPassword}})
	require.Equal(t, http.StatusOK, status)
	assert.Regexp(t, `<svg class="qr" [^>]*viewBox="0 0 \d+ \d+"`, body, "a server-side SVG QR code")
	g := totpFromPage(t, body)

	// A wrong code leaves two-factor off.
	status, body, _ = e.post(t, c, "/account/totp/confirm", url.Values{"code": {"000000"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "Enter a current code")
	u := mustUser(t, e, "tess")
	on, _, err := e.app.auth.TOTPEnabled(t.Context(), u.ID)
	require.NoError(t, err)
	require.False(t, on)

	status, body, _ = e.post(t, c, "/account/totp/confirm", url.Values{"code": {code(t, g, 0)}})
	require.Equal(t, http.StatusOK, status)
	codes := recoveryCodesOf(body)
	require.Len(t, codes, auth.RecoveryCodeCount, body)
	assert.Contains(t, body, "10 recovery codes left")
	_, body, _ = e.get(t, c, "/account")
	assert.Empty(t, recoveryCodesOf(body), "recovery codes are shown once")

	// Logging in now needs a code; a recovery code works once.
	_, status, body = e.loginAs(t, "tess", testPassword, "")
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, body, "Enter the code from your authenticator app.")
	_, status, _ = e.loginAs(t, "tess", testPassword, code(t, g, 1))
	assert.Equal(t, http.StatusSeeOther, status)
	_, status, _ = e.loginAs(t, "tess", testPassword, codes[0])
	assert.Equal(t, http.StatusSeeOther, status)
	_, status, _ = e.loginAs(t, "tess", testPassword, codes[0])
	assert.NotEqual(t, http.StatusSeeOther, status, "a recovery code is used once")

	// Turning it off needs the password and a code.
	status, body, _ = e.post(t, c, "/account/totp/disable", url.Values{"current": {testPassword}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "Enter a current code")
	status, _, h := e.post(t, c, "/account/totp/disable", url.Values{"current": {testPassword}, "code": {codes[1]}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Two-factor authentication is off.")
	_, status, _ = e.loginAs(t, "tess", testPassword, "")
	assert.Equal(t, http.StatusSeeOther, status)
}

func TestAccountPasswordChangeEndsOtherSessions(t *testing.T) {
	e := newTestEnv(t)
	c1 := e.user(t, "paula", auth.RoleUser)
	c2, status, _ := e.loginAs(t, "paula", testPassword, "")
	require.Equal(t, http.StatusSeeOther, status)

	for _, tc := range []struct{ current, next, confirm, want string }{
		{testPassword, "password password password", "password password password", "repeats one character or word"},
		{testPassword, "a fine new passphrase", "a different one", "differ"},
		{"wrong current password", "a fine new passphrase", "a fine new passphrase", "The password is wrong."},
	} {
		status, body, _ := e.post(t, c1, "/account/password", url.Values{"current": {tc.current}, "password": {tc.next}, "confirm": {tc.confirm}})
		assert.Equal(t, http.StatusBadRequest, status, tc.next)
		assert.Contains(t, body, tc.want)
	}
	status, _, _ = e.get(t, c2, "/portfolio")
	require.Equal(t, http.StatusOK, status, "a refused change ends no session")

	const next = "lighthouse keeper sandwich"
	status, _, h := e.post(t, c1, "/account/password", url.Values{"current": {testPassword}, "password": {next}, "confirm": {next}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c1, h.Get("Location")), "Every other session has ended.")
	status, _, _ = e.get(t, c1, "/portfolio")
	assert.Equal(t, http.StatusOK, status, "the changing session goes on")
	status, _, _ = e.get(t, c2, "/portfolio")
	assert.Equal(t, http.StatusSeeOther, status, "the other session ended")
	_, status, _ = e.loginAs(t, "paula", testPassword, "")
	assert.Equal(t, http.StatusUnauthorized, status)
	_, status, _ = e.loginAs(t, "paula", next, "")
	assert.Equal(t, http.StatusSeeOther, status)
}

var sessionIDRE = regexp.MustCompile(`name="id" value="([^"]+)"`)

func TestAccountRevokeSession(t *testing.T) {
	e := newTestEnv(t)
	c1 := e.user(t, "rita", auth.RoleUser)
	c2, _, _ := e.loginAs(t, "rita", testPassword, "")
	victim := e.user(t, "victor", auth.RoleUser)

	_, body, _ := e.get(t, c1, "/account")
	ids := sessionIDRE.FindAllStringSubmatch(body, -1)
	require.Len(t, ids, 1, "one other session to end (not this one)")
	assert.Contains(t, body, "this one")

	// Another user's session id ends nothing.
	vu := mustUser(t, e, "victor")
	vs, err := e.app.auth.Sessions(t.Context(), vu.ID)
	require.NoError(t, err)
	require.Len(t, vs, 1)
	status, _, h := e.post(t, c1, "/account/sessions/revoke", url.Values{"id": {vs[0].ID}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c1, h.Get("Location")), "already ended")
	status, _, _ = e.get(t, victim, "/portfolio")
	assert.Equal(t, http.StatusOK, status)

	status, _, h = e.post(t, c1, "/account/sessions/revoke", url.Values{"id": {ids[0][1]}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c1, h.Get("Location")), "The session has ended.")
	status, _, _ = e.get(t, c2, "/portfolio")
	assert.Equal(t, http.StatusSeeOther, status)
	status, _, _ = e.get(t, c1, "/portfolio")
	assert.Equal(t, http.StatusOK, status)
}

func TestQRCode(t *testing.T) {
	bits, err := qrBitmap("otpauth://totp/finkit:alice?secret=JBSWY3DPEHPK3PXP&issuer=finkit")
	require.NoError(t, err)
	n := len(bits)
	require.GreaterOrEqual(t, n, 21)
	require.Zero(t, (n-17)%4, "a QR code is 17+4v modules wide")
	// The three finder patterns: a dark 7×7 ring around a 3×3 dark centre.
	for _, corner := range [][2]int{{0, 0}, {0, n - 7}, {n - 7, 0}} {
		for y := range 7 {
			for x := range 7 {
				ring := x == 0 || y == 0 || x == 6 || y == 6
				centre := x >= 2 && x <= 4 && y >= 2 && y <= 4
				assert.Equal(t, ring || centre, bits[corner[0]+y][corner[1]+x], "finder at %v (%d,%d)", corner, x, y)
			}
		}
	}
	svg, err := qrSVG("otpauth://totp/x", `a "label" <b>`)
	require.NoError(t, err)
	assert.Contains(t, string(svg), `aria-label="a &#34;label&#34; &lt;b&gt;"`)
	other, err := qrSVG("otpauth://totp/y", "l")
	require.NoError(t, err)
	assert.NotEqual(t, svg, other)
}
