package main

import (
	"errors"
	"html/template"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
)

// The account settings page: change the password, turn two-factor
// authentication on (QR code, then a code to confirm, then recovery codes
// shown once) and off, new recovery codes, and the list of sessions with a
// way to end each. Every change goes through auth.Service, which asks for
// a recent proof of identity: the forms ask for the password (and a code
// when two-factor is on) and re-authenticate first.

type accountView struct {
	Username      string
	TOTPOn        bool
	RecoveryLeft  int
	Sessions      []sessionRow
	Enroll        *totpEnrollView // a pending secret to scan, shown once
	RecoveryCodes []string        // fresh recovery codes, shown once
}

type totpEnrollView struct {
	QR     template.HTML
	Secret string
}

type sessionRow struct {
	ID        string
	Created   time.Time
	LastSeen  time.Time
	IP        string
	Device    string
	Method    auth.AuthMethod
	IsCurrent bool
}

func (a *app) accountView(c *gin.Context) (*accountView, error) {
	ctx := c.Request.Context()
	u := currentUser(c)
	cur, _ := auth.SessionFrom(ctx)
	v := &accountView{Username: u.Username}
	var err error
	if v.TOTPOn, v.RecoveryLeft, err = a.auth.TOTPEnabled(ctx, u.ID); err != nil {
		return nil, err
	}
	ss, err := a.auth.Sessions(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		v.Sessions = append(v.Sessions, sessionRow{ID: s.ID, Created: s.CreatedAt, LastSeen: s.LastSeenAt, IP: s.IP,
			Device: deviceName(s.UserAgent), Method: s.AuthMethod, IsCurrent: s.ID == cur.ID})
	}
	return v, nil
}

// deviceName shortens a User-Agent to the browser and system a person
// recognises.
func deviceName(ua string) string {
	if ua == "" {
		return "unknown device"
	}
	browser := "a browser"
	for _, b := range []struct{ key, name string }{{"Edg/", "Edge"}, {"Firefox/", "Firefox"}, {"HeadlessChrome/", "Headless Chromium"},
		{"Chrome/", "Chrome"}, {"Safari/", "Safari"}, {"curl/", "curl"}, {"Go-http-client", "a Go program"}} {
		if strings.Contains(ua, b.key) {
			browser = b.name
			break
		}
	}
	for _, o := range []string{"Android", "iPhone", "iPad", "Windows", "Mac OS X", "Linux"} {
		if strings.Contains(ua, o) {
			return browser + " on " + strings.TrimSuffix(o, " OS X")
		}
	}
	return browser
}

func (a *app) renderAccount(c *gin.Context, status int, errMsg string, edit func(*accountView)) {
	v, err := a.accountView(c)
	if err != nil {
		a.fail(c, err)
		return
	}
	if edit != nil {
		edit(v)
	}
	a.render(c, status, "account", view{Title: "Account settings", Active: "account", Error: errMsg, Data: v})
}

func (a *app) accountPage(c *gin.Context) { a.renderAccount(c, http.StatusOK, "", nil) }

// accountError is the sentence shown for an error of an account change;
// ok is false for errors that are the server's, not the user's.
func accountError(err error) (msg string, ok bool) {
	switch {
	case errors.Is(err, auth.ErrTooManyAttempts):
		return "Too many failed attempts. Wait a little and try again.", true
	case errors.Is(err, auth.ErrInvalidCredentials):
		return "The password is wrong.", true
	case errors.Is(err, auth.ErrTOTPRequired), errors.Is(err, auth.ErrInvalidTOTP), errors.Is(err, auth.ErrCodeReused):
		return "Enter a current code from your authenticator app (or a recovery code).", true
	case errors.Is(err, auth.ErrReauthRequired):
		return "Confirm it is you: enter your password (and a code, if two-factor is on) again.", true
	case errors.Is(err, auth.ErrTOTPAlreadyEnabled):
		return "Two-factor authentication is already on.", true
	case errors.Is(err, auth.ErrTOTPNotEnrolled):
		return "Start again: scan a new QR code, then enter its code.", true
	case errors.Is(err, auth.ErrWeakPassword):
		return registerError(err), true
	case errors.Is(err, auth.ErrNotFound):
		return "That session has already ended.", true
	}
	return "", false
}

// accountFailed shows err on the settings page as a sentence, or fails.
func (a *app) accountFailed(c *gin.Context, err error) {
	msg, ok := accountError(err)
	if !ok {
		a.fail(c, err)
		return
	}
	a.log.InfoContext(c.Request.Context(), "account change refused", "error", err)
	status := http.StatusBadRequest
	if d, ok := auth.RetryAfter(err); ok {
		c.Header("Retry-After", retryAfterHeader(d))
		status = http.StatusTooManyRequests
	}
	a.renderAccount(c, status, msg, nil)
}

// reauth proves the user is present with the form's password and code and
// sets the new session cookie; it returns the new session's token.
func (a *app) reauth(c *gin.Context) (string, error) {
	res, err := a.auth.Reauthenticate(c.Request.Context(), a.auth.TokenFromRequest(c.Request),
		c.PostForm("current"), strings.TrimSpace(c.PostForm("code")))
	if err != nil {
		return "", err
	}
	a.auth.SetSessionCookie(c.Writer, res)
	return res.Token, nil
}

// accountPassword changes the password; every other session ends.
func (a *app) accountPassword(c *gin.Context) {
	next := c.PostForm("password")
	if next != c.PostForm("confirm") {
		a.renderAccount(c, http.StatusBadRequest, "The two new passwords differ.", nil)
		return
	}
	token, err := a.reauth(c)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	res, err := a.auth.ChangePassword(c.Request.Context(), token, c.PostForm("current"), next)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	a.auth.SetSessionCookie(c.Writer, res)
	flashRedirect(c, "/account", "Your password is changed. Every other session has ended.")
}

// accountTOTPEnroll shows a new secret as a QR code to scan.
func (a *app) accountTOTPEnroll(c *gin.Context) {
	token, err := a.reauth(c)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	en, err := a.auth.EnrollTOTP(c.Request.Context(), token)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	qr, err := qrSVG(en.URI, "QR code of the two-factor secret")
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderAccount(c, http.StatusOK, "", func(v *accountView) {
		v.Enroll = &totpEnrollView{QR: qr, Secret: groupSecret(en.Secret)}
	})
}

// groupSecret writes a base32 secret in groups of four for typing.
func groupSecret(s string) string {
	var b strings.Builder
	for i, r := range s {
		if i > 0 && i%4 == 0 {
			b.WriteByte(' ')
		}
		b.WriteRune(r)
	}
	return b.String()
}

// accountTOTPConfirm turns two-factor on with a code from the new secret
// and shows the recovery codes once.
func (a *app) accountTOTPConfirm(c *gin.Context) {
	conf, err := a.auth.ConfirmTOTP(c.Request.Context(), a.auth.TokenFromRequest(c.Request), strings.TrimSpace(c.PostForm("code")))
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	a.auth.SetSessionCookie(c.Writer, conf.Login)
	a.renderAccount(c, http.StatusOK, "", func(v *accountView) { v.RecoveryCodes = conf.RecoveryCodes })
}

// accountTOTPDisable turns two-factor off.
func (a *app) accountTOTPDisable(c *gin.Context) {
	token, err := a.reauth(c)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	res, err := a.auth.DisableTOTP(c.Request.Context(), token)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	a.auth.SetSessionCookie(c.Writer, res)
	flashRedirect(c, "/account", "Two-factor authentication is off. Every other session has ended.")
}

// accountRecoveryCodes replaces the recovery codes and shows the new ones.
func (a *app) accountRecoveryCodes(c *gin.Context) {
	token, err := a.reauth(c)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	codes, err := a.auth.RegenerateRecoveryCodes(c.Request.Context(), token)
	if err != nil {
		a.accountFailed(c, err)
		return
	}
	a.renderAccount(c, http.StatusOK, "", func(v *accountView) { v.RecoveryCodes = codes })
}

// accountRevokeSession ends one of the user's other sessions.
func (a *app) accountRevokeSession(c *gin.Context) {
	ctx := c.Request.Context()
	id := c.PostForm("id")
	if cur, _ := auth.SessionFrom(ctx); cur.ID == id {
		flashFail(c, "/account", "That is this session: use Log out to end it.")
		return
	}
	if err := a.auth.RevokeSession(ctx, currentUser(c).ID, id); err != nil {
		if msg, ok := accountError(err); ok {
			flashFail(c, "/account", msg)
			return
		}
		a.fail(c, err)
		return
	}
	flashRedirect(c, "/account", "The session has ended.")
}

// retryAfterHeader is a Retry-After value in whole seconds, rounded up.
func retryAfterHeader(d time.Duration) string { return strconv.Itoa(int(math.Ceil(d.Seconds()))) }
