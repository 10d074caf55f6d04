package main

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gin-gonic/gin"
)

// Flash messages ("Imported 3 transactions.", "Order rejected: …") are set
// by the server only: a handler that redirects puts the message in a
// short-lived cookie signed with HMAC-SHA256, and the next page shows it
// once and clears it. Nothing in a URL reaches the banner, so a link cannot
// write into it.

const (
	flashCookie = "finkit_flash"
	flashTTL    = 2 * time.Minute
	maxFlash    = 600 // bytes of text kept; longer messages are cut
)

// flashKind tells a success from an error; the two look different.
type flashKind string

const (
	flashOK    flashKind = "ok"
	flashError flashKind = "error"
)

// flash is a message shown once on the next page.
type flash struct {
	Kind    flashKind `json:"k"`
	Text    string    `json:"t"`
	Expires int64     `json:"e"` // Unix seconds
}

// flasher signs and checks flash cookies.
type flasher struct {
	key    []byte
	secure bool // Secure cookie attribute (HTTPS)
	now    func() time.Time
}

// flashKeyLabel separates the flash key from other uses of the app key.
const flashKeyLabel = "finkit dashboard flash cookie v1"

// newFlasher derives the signing key from the app's secret key, so every
// instance sharing the data directory accepts the others' messages.
func newFlasher(secret []byte, secure bool) *flasher {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(flashKeyLabel))
	return &flasher{key: m.Sum(nil), secure: secure, now: time.Now}
}

func (f *flasher) sign(payload []byte) []byte {
	m := hmac.New(sha256.New, f.key)
	m.Write(payload)
	return m.Sum(nil)
}

// encode returns the cookie value of msg.
func (f *flasher) encode(kind flashKind, text string) string {
	if len(text) > maxFlash {
		cut := maxFlash
		for cut > 0 && !utf8.RuneStart(text[cut]) {
			cut--
		}
		text = text[:cut] + "…"
	}
	payload, _ := json.Marshal(flash{Kind: kind, Text: text, Expires: f.now().Add(flashTTL).Unix()})
	enc := base64.RawURLEncoding
	return enc.EncodeToString(payload) + "." + enc.EncodeToString(f.sign(payload))
}

// decode checks a cookie value's signature and age.
func (f *flasher) decode(value string) (flash, bool) {
	p, s, ok := strings.Cut(value, ".")
	if !ok {
		return flash{}, false
	}
	enc := base64.RawURLEncoding
	payload, err1 := enc.DecodeString(p)
	mac, err2 := enc.DecodeString(s)
	if err1 != nil || err2 != nil || !hmac.Equal(mac, f.sign(payload)) {
		return flash{}, false
	}
	var fl flash
	if json.Unmarshal(payload, &fl) != nil || f.now().Unix() > fl.Expires || (fl.Kind != flashOK && fl.Kind != flashError) {
		return flash{}, false
	}
	return fl, true
}

func (f *flasher) set(c *gin.Context, kind flashKind, text string) {
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: f.encode(kind, text), Path: "/",
		MaxAge: int(flashTTL / time.Second), HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode})
}

// take returns the request's flash message, if it carries a valid one,
// and clears the cookie so it shows once.
func (f *flasher) take(c *gin.Context) (flash, bool) {
	ck, err := c.Request.Cookie(flashCookie)
	if err != nil {
		return flash{}, false
	}
	http.SetCookie(c.Writer, &http.Cookie{Name: flashCookie, Value: "", Path: "/", MaxAge: -1,
		HttpOnly: true, Secure: f.secure, SameSite: http.SameSiteLaxMode})
	return f.decode(ck.Value)
}

// flasherKey is where the flasher sits in a request's Gin context, so
// handlers redirect with a message without holding the app.
const flasherKey = "finkit.flasher"

func (a *app) withFlasher(c *gin.Context) {
	c.Set(flasherKey, a.flash)
	c.Next()
}

func redirectFlash(c *gin.Context, to string, kind flashKind, msg string) {
	if f, ok := c.Value(flasherKey).(*flasher); ok && f != nil {
		f.set(c, kind, msg)
	}
	c.Redirect(http.StatusSeeOther, to)
}

// flashRedirect redirects to to (a path of ours) and shows msg there once
// as a success.
func flashRedirect(c *gin.Context, to, msg string) { redirectFlash(c, to, flashOK, msg) }

// flashFail redirects to to and shows msg there once as an error.
func flashFail(c *gin.Context, to, msg string) { redirectFlash(c, to, flashError, msg) }
