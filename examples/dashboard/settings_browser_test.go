package main

import (
	"encoding/base32"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestRegisterAndTwoFactorInChromium: a new user registers through the
// form, turns two-factor on from the account page by scanning (here:
// reading) the QR code's key, logs out and logs in again with a code.
func TestRegisterAndTwoFactorInChromium(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e, 2*time.Minute)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))

	b.open(t, "/register")
	b.do(t, "register",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "grace"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.SendKeys(chromedp.CSS(`input[name="confirm"]`), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/register"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	welcome, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(".flash.ok")))
	require.NoError(t, err)
	require.Contains(t, welcome, "Welcome, grace!")

	b.open(t, "/account")
	b.do(t, "enrol",
		chromedp.SendKeys(chromedp.CSS(`form[action="/account/totp/enroll"] input[name="current"]`), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp/enroll"] button`)),
		chromedp.WaitVisible(chromedp.CSS("svg.qr")),
	)
	if keepShots() {
		t.Logf("enrolment: %s", b.screenshot(t, "two-factor-enrol"))
	}
	key, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#totp-secret")))
	require.NoError(t, err)
	secret, err := base32.StdEncoding.WithPadding(base32.NoPadding).DecodeString(strings.ReplaceAll(key, " ", ""))
	require.NoError(t, err)
	g := auth.TOTP{Secret: secret}
	b.do(t, "confirm",
		chromedp.SendKeys(chromedp.CSS(`form[action="/account/totp/confirm"] input[name="code"]`), code(t, g, 0)),
		chromedp.Click(chromedp.CSS(`form[action="/account/totp/confirm"] button`)),
		chromedp.WaitVisible(chromedp.CSS("#recovery-codes")),
	)
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#recovery-codes li').length`))
	require.NoError(t, err)
	require.Equal(t, auth.RecoveryCodeCount, n)

	// Log out through the menu, then in with the password and a code.
	b.do(t, "logout",
		chromedp.Click(chromedp.CSS(".nav-toggle")),
		chromedp.Click(chromedp.CSS(`form[action="/logout"] button`)),
		chromedp.WaitVisible(chromedp.CSS(`form[action="/login"]`)),
	)
	b.do(t, "login without a code",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "grace"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.error")),
	)
	msg, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(".flash.error")))
	require.NoError(t, err)
	require.Contains(t, msg, "Enter the code")
	b.do(t, "login with a code",
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.SendKeys(chromedp.CSS(`input[name="code"]`), code(t, g, 1)),
		chromedp.Click(chromedp.CSS(`form[action="/login"] button`)),
		chromedp.WaitReady(chromedp.CSS(`a.user[href="/account"]`)),
	)
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, "/portfolio"), loc)
}
