package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/examples/internal/appdb"
)

// authKeyFile is the file beside the database holding auth's secret key
// (auth.Options.SecretKey): it encrypts TOTP secrets at rest and signs
// device tokens. Back it up with the database; without it, two-factor
// users cannot log in.
const authKeyFile = "auth.key"

// loadAuthKey reads the key from dir, creating it (mode 0600) on first
// start.
func loadAuthKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, authKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, auth.SecretKeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("auth key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadAuthKey(dir) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("auth key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("auth key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("auth key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	if len(key) != auth.SecretKeySize {
		return nil, fmt.Errorf("auth key %s: want %d bytes, got %d", path, auth.SecretKeySize, len(key))
	}
	return key, nil
}

// consoleResetSender is the demo's auth.ResetSender: it has no mail
// server, so it prints the reset link on the console (out, the terminal
// running the dashboard, not the log, which redacts tokens) for whoever
// runs the dashboard to pass on. A real deployment emails it.
type consoleResetSender struct {
	mu   sync.Mutex
	out  io.Writer
	log  *slog.Logger
	base string // scheme://host the link points at, from the configuration
}

func (s *consoleResetSender) SendPasswordReset(ctx context.Context, m auth.ResetMessage) error {
	link := s.base + "/reset?token=" + url.QueryEscape(m.Token)
	s.mu.Lock()
	_, err := fmt.Fprintf(s.out, "\n[demo mode] password reset link for %s (works once, until %s):\n  %s\n\n",
		m.User.Username, m.ExpiresAt.Format(time.RFC3339), link)
	s.mu.Unlock()
	if err != nil {
		return fmt.Errorf("print reset link: %w", err)
	}
	s.log.WarnContext(ctx, "password reset link printed on the console (demo mode: no email is sent)", slog.String("user", m.User.Username))
	return nil
}

// setOutput redirects the printed links (tests).
func (s *consoleResetSender) setOutput(w io.Writer) {
	s.mu.Lock()
	s.out = w
	s.mu.Unlock()
}

// resetBase is where reset links point: the configured public host (never
// a request's Host header, which an attacker could set to his own).
func (c config) resetBase() string {
	scheme := "http"
	if c.secureCookies {
		scheme = "https"
	}
	host := c.relayHost()
	if host == "" {
		_, port, _ := net.SplitHostPort(c.addr)
		host = net.JoinHostPort("localhost", port)
	}
	return scheme + "://" + host
}

type resetForm struct {
	Username string
	Token    string
}

func (a *app) forgotPage(c *gin.Context) {
	a.render(c, http.StatusOK, "forgot", view{Title: "Forgot password", Active: "login", Data: resetForm{}})
}

// forgotSubmit answers the same whether or not the account exists.
func (a *app) forgotSubmit(c *gin.Context) {
	if err := a.auth.RequestPasswordReset(c.Request.Context(), c.PostForm("username")); err != nil {
		a.fail(c, err)
		return
	}
	flashRedirect(c, "/login", "If that account exists, a reset link is on its way. It works once, for 15 minutes.")
}

func (a *app) resetPage(c *gin.Context) {
	a.render(c, http.StatusOK, "reset", view{Title: "Choose a new password", Active: "login", Data: resetForm{Token: c.Query("token")}})
}

func (a *app) resetSubmit(c *gin.Context) {
	form := resetForm{Token: c.PostForm("token")}
	password := c.PostForm("password")
	fail := func(msg string) {
		a.render(c, http.StatusBadRequest, "reset", view{Title: "Choose a new password", Active: "login", Error: msg, Data: form})
	}
	if password != c.PostForm("confirm") {
		fail("The two passwords differ.")
		return
	}
	err := a.auth.ResetPassword(c.Request.Context(), form.Token, password, c.PostForm("code"))
	switch {
	case err == nil:
		flashRedirect(c, "/login", "Your password is changed. Log in with it.")
	case errors.Is(err, auth.ErrInvalidResetToken):
		fail("This reset link is invalid, used or expired. Ask for a new one.")
	case errors.Is(err, auth.ErrTOTPRequired), errors.Is(err, auth.ErrInvalidTOTP):
		fail("Enter a current code from your authenticator app (or a recovery code).")
	case errors.Is(err, auth.ErrTooManyAttempts):
		fail("Too many wrong codes. Wait a little and try again.")
	case errors.Is(err, auth.ErrWeakPassword):
		fail(registerError(err))
	default:
		a.fail(c, err)
	}
}

// logFirstStart tells whoever started the dashboard when it has no users
// yet, and how to make the first administrator.
func (a *app) logFirstStart(ctx context.Context, url string) {
	users, err := a.auth.Users(ctx)
	if err != nil || len(users) > 0 {
		return
	}
	cmd := "go run ./examples/finkit user add --admin NAME"
	switch {
	case appdb.IsURL(a.cfg.db): // never log a database URL (it may hold a password)
		cmd = "go run ./examples/finkit user add --db URL --admin NAME"
	case a.cfg.db != "":
		cmd = "go run ./examples/finkit user add --db " + a.cfg.db + " --admin NAME"
	case filepath.Clean(a.cfg.dataDir) != "data":
		cmd = "go run ./examples/finkit user add --db " + filepath.Join(a.cfg.dataDir, dbFile) + " --admin NAME"
	}
	a.log.WarnContext(ctx, "no users yet: create the first administrator from a terminal in the project directory (the password is asked for), or register at "+url+"/register",
		slog.String("command", cmd))
}
