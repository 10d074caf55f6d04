package auth

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// hashToken is the stored form of a session token.
func hashToken(raw []byte) []byte {
	h := sha256.Sum256(raw)
	return h[:]
}

// decodeToken parses a client-supplied token; ok is false if malformed.
func decodeToken(token string) ([]byte, bool) {
	if len(token) != 43 {
		return nil, false
	}
	raw, err := base64.RawURLEncoding.Strict().DecodeString(token)
	if err != nil || len(raw) != 32 {
		return nil, false
	}
	return raw, true
}

// sessionStart says how a new session authenticated and when it expires
// (zero: the absolute timeout from now).
type sessionStart struct {
	authAt  time.Time
	method  AuthMethod
	expires time.Time
}

// startSession makes a new session of u, recording u's credential version.
func (s *Service) startSession(ctx context.Context, u User, st sessionStart) (LoginResult, error) {
	raw, err := randomBytes(32)
	if err != nil {
		return LoginResult{}, err
	}
	id, err := newID()
	if err != nil {
		return LoginResult{}, err
	}
	now := s.clock.Now().UTC()
	c := ClientFrom(ctx)
	ua := c.UserAgent
	if len(ua) > 256 {
		ua = ua[:256]
	}
	expires := st.expires
	if expires.IsZero() {
		expires = now.Add(s.absolute)
	}
	sess := Session{
		ID: id, TokenHash: hashToken(raw), UserID: u.ID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: expires.UTC(),
		IP: c.IP, UserAgent: strings.ToValidUTF8(ua, ""),
		CredentialVersion: u.CredentialVersion, AuthenticatedAt: st.authAt.UTC(), AuthMethod: st.method,
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return LoginResult{}, fmt.Errorf("auth: create session: %w", err)
	}
	s.trimSessions(ctx, u)
	return LoginResult{Token: base64.RawURLEncoding.EncodeToString(raw), Session: sess, User: u}, nil
}

// trimSessions ends u's oldest sessions beyond Options.MaxSessions. The
// new session is the newest (sessions are ordered by creation time, to
// the nanosecond). A failure is audited: the login itself succeeded.
func (s *Service) trimSessions(ctx context.Context, u User) {
	if s.maxSessions == 0 {
		return
	}
	n, err := s.store.TrimSessions(ctx, u.ID, s.maxSessions)
	switch {
	case err != nil:
		s.audit(ctx, "sessions.trim_failed", append(userAttrs(u), slog.String("error", err.Error()))...)
	case n > 0:
		s.audit(ctx, "sessions.trimmed", append(userAttrs(u), slog.Int("ended", n))...)
		s.notify(ctx, EventSessionsTrimmed, u)
	}
}

// replaceSession ends the session of token and starts a new one for u.
// The old token works once: of two concurrent replacements only the one
// that deleted it gets a new session; the other gets ErrUnauthenticated.
func (s *Service) replaceSession(ctx context.Context, token string, u User, st sessionStart) (LoginResult, error) {
	raw, ok := decodeToken(token)
	if !ok {
		return LoginResult{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	err := s.store.DeleteSession(ctx, hashToken(raw))
	if errors.Is(err, ErrNotFound) {
		return LoginResult{}, fmt.Errorf("%w: session already replaced or ended", ErrUnauthenticated)
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: replace session: %w", err)
	}
	return s.startSession(ctx, u, st)
}

// Validate returns the user and session of token, enforcing the idle and
// absolute timeouts, the user's disabled flag and credential version (a
// session made before the user's password, second factor, role or
// disabled flag changed is refused). Every failure wraps
// ErrUnauthenticated except store errors.
func (s *Service) Validate(ctx context.Context, token string) (User, Session, error) {
	raw, ok := decodeToken(token)
	if !ok {
		return User{}, Session{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	th := hashToken(raw)
	now := s.clock.Now()
	sess, u, err := s.sessionByToken(ctx, th, now)
	if errors.Is(err, ErrNotFound) {
		return User{}, Session{}, fmt.Errorf("%w: unknown session", ErrUnauthenticated)
	}
	if err != nil {
		return User{}, Session{}, fmt.Errorf("auth: validate: %w", err)
	}
	if reason := s.sessionInvalid(sess, u, now); reason != "" {
		if err := s.store.DeleteSession(ctx, th); err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, Session{}, fmt.Errorf("auth: delete ended session: %w", err)
		}
		return User{}, Session{}, fmt.Errorf("%w: %s", ErrUnauthenticated, reason)
	}
	if u.Disabled {
		return User{}, Session{}, fmt.Errorf("%w: account disabled", ErrUnauthenticated)
	}
	// A last use in the future (a clock ahead of ours wrote it) is
	// rewritten to now, so the idle timeout runs from our clock.
	if now.Sub(sess.LastSeenAt) >= s.touchEvery || sess.LastSeenAt.After(now.Add(maxClockSkew)) {
		sess.LastSeenAt = now.UTC()
		if err := s.store.TouchSession(ctx, th, sess.LastSeenAt); err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, Session{}, fmt.Errorf("auth: touch session: %w", err)
		}
		if s.sessions != nil {
			s.sessions.touched(th, sess.LastSeenAt)
		}
	}
	return u, sess, nil
}

// sessionByToken is the store's SessionByToken, answered from the session
// cache when there is one (Options.SessionCache).
func (s *Service) sessionByToken(ctx context.Context, th []byte, now time.Time) (Session, User, error) {
	if s.sessions == nil {
		return s.store.SessionByToken(ctx, th)
	}
	sess, u, gen, ok := s.sessions.get(th, now)
	if ok {
		return sess, u, nil
	}
	sess, u, err := s.store.SessionByToken(ctx, th)
	if err == nil {
		s.sessions.put(gen, sess, u, now)
	}
	return sess, u, err
}

// sessionInvalid returns why sess may not be used at now, or "".
//
// Session times are written by whichever instance handled the request, so
// the store trusts the clocks of all instances, but only within
// maxClockSkew: a session created further in the future is refused as a
// clock error, a last use in the future counts as now (and is rewritten),
// and no session lives longer than the absolute timeout after its
// creation, whatever expiry was stored.
func (s *Service) sessionInvalid(sess Session, u User, now time.Time) string {
	lastSeen := earliest(sess.LastSeenAt, now)
	expires := earliest(sess.ExpiresAt, sess.CreatedAt.Add(s.absolute))
	switch {
	case sess.CredentialVersion != u.CredentialVersion:
		return "credentials changed since login"
	case sess.CreatedAt.After(now.Add(maxClockSkew)):
		return "session created in the future (clock skew)"
	case !now.Before(expires) || now.Sub(lastSeen) >= s.idle:
		return "session expired"
	}
	return ""
}

// Logout ends the session of token. An unknown token is not an error.
func (s *Service) Logout(ctx context.Context, token string) error {
	raw, ok := decodeToken(token)
	if !ok {
		return nil
	}
	th := hashToken(raw)
	sess, u, err := s.store.SessionByToken(ctx, th)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: logout: %w", err)
	}
	if err := s.store.DeleteSession(ctx, th); err != nil && !errors.Is(err, ErrNotFound) {
		return fmt.Errorf("auth: logout: %w", err)
	}
	s.audit(ctx, "logout", append(userAttrs(u), slog.String("session", sess.ID))...)
	return nil
}

// LogoutAll ends every session of the user and returns how many ended.
func (s *Service) LogoutAll(ctx context.Context, userID string) (int, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("auth: logout all: %w", err)
	}
	n, err := s.store.DeleteUserSessions(ctx, userID)
	if err != nil {
		return 0, fmt.Errorf("auth: logout all: %w", err)
	}
	s.audit(ctx, "logout.all", append(userAttrs(u), slog.Int("sessions", n))...)
	return n, nil
}

// Rotate replaces the session of token with a new one (new token, same
// user, same absolute expiry and last authentication) — call it after a
// privilege change within a session. The old token rotates once: a second
// Rotate of it gets ErrUnauthenticated.
func (s *Service) Rotate(ctx context.Context, token string) (LoginResult, error) {
	u, sess, err := s.Validate(ctx, token)
	if err != nil {
		return LoginResult{}, err
	}
	return s.replaceSession(ctx, token, u, sessionStart{authAt: sess.AuthenticatedAt, method: sess.AuthMethod, expires: sess.ExpiresAt})
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
