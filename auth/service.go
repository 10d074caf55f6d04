package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/finkit/finkit/logging"
)

// Clock tells the time; inject one in tests.
type Clock interface{ Now() time.Time }

// ClockFunc adapts a function to Clock.
type ClockFunc func() time.Time

// Now returns f().
func (f ClockFunc) Now() time.Time { return f() }

// Session timeout defaults.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 24 * time.Hour
)

// Options configure a Service. Only Store is required.
type Options struct {
	// Store persists users, sessions and two-factor state.
	Store Store
	// Clock defaults to the system clock.
	Clock Clock
	// Hasher defaults to an Argon2Hasher with Params and HashConcurrency.
	Hasher Hasher
	// Params are the argon2id parameters when Hasher is nil; the zero
	// value means DefaultParams.
	Params Params
	// HashConcurrency bounds concurrent hashes when Hasher is nil; 0 means
	// runtime.GOMAXPROCS(0).
	HashConcurrency int
	// Policy is the password policy (NIST SP 800-63B defaults).
	Policy Policy
	// Throttle limits failed logins per account and per client.
	Throttle Throttle
	// IdleTimeout (default 30 min) and AbsoluteTimeout (default 24 h)
	// end sessions.
	IdleTimeout     time.Duration
	AbsoluteTimeout time.Duration // see IdleTimeout
	// Logger receives audit events through logging.Audit; nil disables
	// auditing.
	Logger *slog.Logger
	// Issuer names the app in authenticator apps (default "finkit").
	Issuer string
	// Cookie configures the session cookie.
	Cookie CookieConfig
	// ClientIP extracts the client address from a request. The default is
	// the address the logging middleware determined (logging.ClientIPFrom,
	// which believes X-Forwarded-For only from its TrustedProxies) when the
	// request came through it, else the host part of RemoteAddr, never a
	// forwarding header. Behind a reverse proxy, configure the middleware's
	// TrustedProxies (or set ClientIP), or every user shares the proxy's
	// address for per-client throttling.
	ClientIP func(r *http.Request) string
}

// Service is registration, login, sessions, roles and two-factor
// authentication over a Store. It is safe for concurrent use and starts no
// goroutines.
type Service struct {
	store      Store
	clock      Clock
	hasher     Hasher
	policy     *passwordPolicy
	throttle   *loginThrottle
	idle       time.Duration
	absolute   time.Duration
	touchEvery time.Duration
	log        *slog.Logger
	issuer     string
	cookie     CookieConfig
	clientIP   func(r *http.Request) string
	dummyHash  string
}

// New returns a Service.
func New(opts Options) (*Service, error) {
	if opts.Store == nil {
		return nil, errors.New("auth: Options.Store is required")
	}
	s := &Service{
		store:    opts.Store,
		clock:    opts.Clock,
		hasher:   opts.Hasher,
		idle:     opts.IdleTimeout,
		absolute: opts.AbsoluteTimeout,
		log:      opts.Logger,
		issuer:   opts.Issuer,
		cookie:   opts.Cookie.withDefaults(),
		clientIP: opts.ClientIP,
		throttle: newLoginThrottle(opts.Throttle),
	}
	if s.clock == nil {
		s.clock = ClockFunc(time.Now)
	}
	if s.hasher == nil {
		p := opts.Params
		if p == (Params{}) {
			p = DefaultParams
		}
		h, err := NewArgon2Hasher(p, opts.HashConcurrency)
		if err != nil {
			return nil, err
		}
		s.hasher = h
	}
	if s.idle == 0 {
		s.idle = DefaultIdleTimeout
	}
	if s.absolute == 0 {
		s.absolute = DefaultAbsoluteTimeout
	}
	if s.idle < 0 || s.absolute < 0 {
		return nil, errors.New("auth: negative session timeout")
	}
	s.touchEvery = min(time.Minute, s.idle/10)
	if s.issuer == "" {
		s.issuer = "finkit"
	}
	if s.clientIP == nil {
		s.clientIP = remoteIP
	}
	pp, err := opts.Policy.build()
	if err != nil {
		return nil, err
	}
	s.policy = pp
	if s.dummyHash, err = dummyHash(s.hasher); err != nil {
		return nil, err
	}
	return s, nil
}

// dummyHash returns a hash that no password matches, verified for unknown
// users so they cost the same work as a wrong password. For an
// Argon2Hasher it is random bytes in PHC form (no hashing needed); other
// hashers hash a random password once.
func dummyHash(h Hasher) (string, error) {
	if a, ok := h.(*Argon2Hasher); ok {
		salt, err := randomBytes(int(a.params.SaltLen))
		if err != nil {
			return "", err
		}
		key, err := randomBytes(int(a.params.KeyLen))
		if err != nil {
			return "", err
		}
		return EncodePHC(a.params, salt, key), nil
	}
	pw, err := randomToken(24)
	if err != nil {
		return "", err
	}
	d, err := h.Hash(context.Background(), pw)
	if err != nil {
		return "", fmt.Errorf("auth: dummy hash: %w", err)
	}
	return d, nil
}

// Client describes who is making a request, for throttling and audit.
type Client struct {
	IP        string // client address; the per-client throttling key
	UserAgent string // recorded on new sessions
	RequestID string // added to audit records
}

type ctxKey int

const (
	clientCtxKey ctxKey = iota
	userCtxKey
	sessionCtxKey
)

// WithClient returns ctx carrying c. Authenticate does this for HTTP
// requests; other callers (a CLI, tests) may set it themselves.
func WithClient(ctx context.Context, c Client) context.Context {
	return context.WithValue(ctx, clientCtxKey, c)
}

// ClientFrom returns the Client in ctx, or the zero Client.
func ClientFrom(ctx context.Context) Client {
	c, _ := ctx.Value(clientCtxKey).(Client)
	return c
}

// audit sends a security event to the audit log with the client and the
// acting user from ctx. Never pass passwords, tokens or codes.
func (s *Service) audit(ctx context.Context, event string, attrs ...slog.Attr) {
	if s.log == nil {
		return
	}
	c := ClientFrom(ctx)
	all := make([]slog.Attr, 0, len(attrs)+4)
	all = append(all, attrs...)
	if c.IP != "" {
		all = append(all, slog.String("ip", c.IP))
	}
	if c.RequestID != "" {
		all = append(all, slog.String("request_id", c.RequestID))
	}
	if actor, ok := UserFrom(ctx); ok {
		all = append(all, slog.String("actor", actor.Username))
	}
	logging.Audit(ctx, s.log, event, all...)
}

func userAttrs(u User) []slog.Attr {
	return []slog.Attr{slog.String("user", u.Username), slog.String("user_id", u.ID)}
}

func randomBytes(n int) ([]byte, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("auth: random: %w", err)
	}
	return b, nil
}

func randomToken(n int) (string, error) {
	b, err := randomBytes(n)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func newID() (string, error) {
	b, err := randomBytes(16)
	if err != nil {
		return "", err
	}
	return hex.EncodeToString(b), nil
}

// RegisterRequest is the input of Register.
type RegisterRequest struct {
	Username string // 3-32 of [a-z0-9._-], any case
	Email    string // optional; validated and normalized
	Password string // checked against the Policy
	// Role defaults to RoleUser.
	Role Role
}

// Register validates and creates a user. Errors wrap ErrInvalidUsername,
// ErrInvalidEmail, ErrInvalidRole, ErrWeakPassword (with the rule) or
// ErrUsernameTaken; nothing is stored on error.
func (s *Service) Register(ctx context.Context, req RegisterRequest) (User, error) {
	name, err := NormalizeUsername(req.Username)
	if err != nil {
		return User{}, err
	}
	email, err := NormalizeEmail(req.Email)
	if err != nil {
		return User{}, err
	}
	role := req.Role
	if role == "" {
		role = RoleUser
	}
	if !role.Valid() {
		return User{}, fmt.Errorf("%w: %q", ErrInvalidRole, role)
	}
	password, err := s.policy.check(req.Password, name)
	if err != nil {
		return User{}, err
	}
	if _, err := s.store.UserByUsername(ctx, name); err == nil {
		return User{}, fmt.Errorf("register %q: %w", name, ErrUsernameTaken)
	} else if !errors.Is(err, ErrNotFound) {
		return User{}, fmt.Errorf("auth: register: %w", err)
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return User{}, fmt.Errorf("auth: register: %w", err)
	}
	id, err := newID()
	if err != nil {
		return User{}, err
	}
	now := s.clock.Now().UTC()
	u := User{ID: id, Username: name, Email: email, Role: role, CreatedAt: now, UpdatedAt: now, PasswordHash: hash}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errors.Is(err, ErrUsernameTaken) {
			return User{}, err
		}
		return User{}, fmt.Errorf("auth: register: %w", err)
	}
	s.audit(ctx, "user.registered", append(userAttrs(u), slog.String("role", string(role)))...)
	return u, nil
}

// Credentials are what a user logs in with. Code is a TOTP code or a
// recovery code, needed only when two-factor authentication is on.
type Credentials struct {
	Username string // any case
	Password string // as typed; NFKC-normalized before verifying
	Code     string // TOTP or recovery code, when two-factor is on
}

// LoginResult is a new session. Token is the secret the client presents
// (cookie or bearer); it is not stored anywhere.
type LoginResult struct {
	Token   string  `json:"token,omitempty"` // the secret to present; shown once
	Session Session `json:"session"`         // the new session
	User    User    `json:"user"`            // the logged-in user
}

// Login checks credentials and starts a new session with a fresh token.
// An unknown user and a wrong password both return ErrInvalidCredentials
// after one password verification each. Failed attempts are throttled per
// account and per client IP (from ClientFrom(ctx)); while throttled, Login
// returns a *ThrottleError (errors.Is ErrTooManyAttempts) without hashing.
func (s *Service) Login(ctx context.Context, cr Credentials) (LoginResult, error) {
	client := ClientFrom(ctx)
	ckey := ""
	if client.IP != "" {
		ckey = clientKey(client.IP)
	}
	name, nameErr := NormalizeUsername(cr.Username)
	akey := name
	if nameErr != nil {
		akey = strings.ToLower(cr.Username)
		if len(akey) > 64 {
			akey = akey[:64]
		}
	}
	// A malformed username is not logged: people sometimes type their
	// password into the username field.
	logName := name
	if nameErr != nil {
		logName = "(invalid username)"
	}
	now := s.clock.Now()
	att, err := s.throttle.begin(akey, ckey, now)
	if err != nil {
		s.audit(ctx, "login.throttled", slog.String("user", logName), slog.String("reason", err.Error()))
		return LoginResult{}, fmt.Errorf("auth: login: %w", err)
	}
	defer att.done()
	fail := func(u *User, reason string) (LoginResult, error) {
		att.done()
		attrs := []slog.Attr{slog.String("user", logName), slog.String("reason", reason)}
		if u != nil {
			attrs = append(attrs, slog.String("user_id", u.ID))
		}
		s.audit(ctx, "login.failure", attrs...)
		if te := s.throttle.fail(akey, ckey, now); te != nil {
			s.audit(ctx, "login.lockout", slog.String("user", logName), slog.String("scope", te.Scope),
				slog.Duration("retry_after", te.RetryAfter))
		}
		if reason == "totp" {
			return LoginResult{}, ErrInvalidTOTP
		}
		return LoginResult{}, ErrInvalidCredentials
	}
	// Oversized or non-UTF-8 passwords are refused before any hashing, for
	// known and unknown users alike.
	if len(cr.Password) > MaxPasswordBytes || !utf8.ValidString(cr.Password) {
		return fail(nil, "password too long or not UTF-8")
	}
	password := NormalizePassword(cr.Password)
	var u User
	found := false
	if nameErr == nil {
		var err error
		u, err = s.store.UserByUsername(ctx, name)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			return LoginResult{}, fmt.Errorf("auth: login: %w", err)
		}
	}
	if !found {
		// Same work as a wrong password, so timing does not reveal accounts.
		if _, err := s.hasher.Verify(ctx, password, s.dummyHash); err != nil {
			return LoginResult{}, fmt.Errorf("auth: login: %w", err)
		}
		return fail(nil, "unknown user")
	}
	ok, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		s.audit(ctx, "login.error", append(userAttrs(u), slog.String("error", err.Error()))...)
		return LoginResult{}, fmt.Errorf("auth: login %q: %w", u.Username, err)
	}
	if !ok {
		return fail(&u, "wrong password")
	}
	if u.Disabled {
		s.audit(ctx, "login.denied", append(userAttrs(u), slog.String("reason", "disabled"))...)
		return LoginResult{}, fmt.Errorf("login %q: %w", u.Username, ErrAccountDisabled)
	}
	st, err := s.store.TOTP(ctx, u.ID)
	switch {
	case err == nil && st.Confirmed:
		if strings.TrimSpace(cr.Code) == "" {
			return LoginResult{}, ErrTOTPRequired
		}
		if err := s.checkSecondFactor(ctx, u, st, cr.Code, now); err != nil {
			if errors.Is(err, ErrInvalidTOTP) {
				return fail(&u, "totp")
			}
			return LoginResult{}, err
		}
	case err != nil && !errors.Is(err, ErrNotFound):
		return LoginResult{}, fmt.Errorf("auth: login: %w", err)
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		s.rehash(ctx, u, password)
	}
	att.done()
	s.throttle.succeed(akey)
	res, err := s.startSession(ctx, u)
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, "login.success", append(userAttrs(u), slog.String("session", res.Session.ID))...)
	return res, nil
}

// rehash replaces u's hash with one under the current parameters; a
// failure is logged, not fatal, since the login itself succeeded.
func (s *Service) rehash(ctx context.Context, u User, password string) {
	h, err := s.hasher.Hash(ctx, password)
	if err == nil {
		_, err = s.store.UpdateUser(ctx, u.ID, UserChange{PasswordHash: &h, UpdatedAt: s.clock.Now().UTC()})
	}
	if err != nil {
		s.audit(ctx, "password.rehash_failed", append(userAttrs(u), slog.String("error", err.Error()))...)
		return
	}
	s.audit(ctx, "password.rehashed", userAttrs(u)...)
}

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

func (s *Service) startSession(ctx context.Context, u User) (LoginResult, error) {
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
	sess := Session{
		ID: id, TokenHash: hashToken(raw), UserID: u.ID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.absolute),
		IP: c.IP, UserAgent: strings.ToValidUTF8(ua, ""),
	}
	if err := s.store.CreateSession(ctx, sess); err != nil {
		return LoginResult{}, fmt.Errorf("auth: create session: %w", err)
	}
	return LoginResult{Token: base64.RawURLEncoding.EncodeToString(raw), Session: sess, User: u}, nil
}

// Validate returns the user and session of token, enforcing the idle and
// absolute timeouts and the user's disabled flag. Every failure wraps
// ErrUnauthenticated except store errors.
func (s *Service) Validate(ctx context.Context, token string) (User, Session, error) {
	raw, ok := decodeToken(token)
	if !ok {
		return User{}, Session{}, fmt.Errorf("%w: malformed token", ErrUnauthenticated)
	}
	th := hashToken(raw)
	sess, u, err := s.store.SessionByToken(ctx, th)
	if errors.Is(err, ErrNotFound) {
		return User{}, Session{}, fmt.Errorf("%w: unknown session", ErrUnauthenticated)
	}
	if err != nil {
		return User{}, Session{}, fmt.Errorf("auth: validate: %w", err)
	}
	now := s.clock.Now()
	if !now.Before(sess.ExpiresAt) || now.Sub(sess.LastSeenAt) >= s.idle {
		if err := s.store.DeleteSession(ctx, th); err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, Session{}, fmt.Errorf("auth: delete expired session: %w", err)
		}
		return User{}, Session{}, fmt.Errorf("%w: session expired", ErrUnauthenticated)
	}
	if u.Disabled {
		return User{}, Session{}, fmt.Errorf("%w: account disabled", ErrUnauthenticated)
	}
	if now.Sub(sess.LastSeenAt) >= s.touchEvery {
		sess.LastSeenAt = now.UTC()
		if err := s.store.TouchSession(ctx, th, sess.LastSeenAt); err != nil && !errors.Is(err, ErrNotFound) {
			return User{}, Session{}, fmt.Errorf("auth: touch session: %w", err)
		}
	}
	return u, sess, nil
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
// user) — call it after a privilege change within a session.
func (s *Service) Rotate(ctx context.Context, token string) (LoginResult, error) {
	u, _, err := s.Validate(ctx, token)
	if err != nil {
		return LoginResult{}, err
	}
	raw, _ := decodeToken(token)
	if err := s.store.DeleteSession(ctx, hashToken(raw)); err != nil && !errors.Is(err, ErrNotFound) {
		return LoginResult{}, fmt.Errorf("auth: rotate: %w", err)
	}
	return s.startSession(ctx, u)
}

// ChangePassword sets a new password for the user of token after checking
// the current one (throttled like logins), ends every session of the user
// and returns a new session for the caller.
func (s *Service) ChangePassword(ctx context.Context, token, current, next string) (LoginResult, error) {
	u, _, err := s.Validate(ctx, token)
	if err != nil {
		return LoginResult{}, err
	}
	now := s.clock.Now()
	ckey := ""
	if ip := ClientFrom(ctx).IP; ip != "" {
		ckey = clientKey(ip)
	}
	att, err := s.throttle.begin(u.Username, ckey, now)
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	defer att.done()
	if len(current) > MaxPasswordBytes || !utf8.ValidString(current) {
		current = ""
	}
	ok, err := s.hasher.Verify(ctx, NormalizePassword(current), u.PasswordHash)
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	if !ok {
		s.audit(ctx, "password.change_failed", append(userAttrs(u), slog.String("reason", "wrong current password"))...)
		att.done()
		s.throttle.fail(u.Username, ckey, now)
		return LoginResult{}, fmt.Errorf("change password: %w", ErrInvalidCredentials)
	}
	password, err := s.policy.check(next, u.Username)
	if err != nil {
		return LoginResult{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	if u, err = s.store.UpdateUser(ctx, u.ID, UserChange{PasswordHash: &hash, UpdatedAt: now.UTC()}); err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	n, err := s.store.DeleteUserSessions(ctx, u.ID)
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	s.audit(ctx, "password.changed", append(userAttrs(u), slog.Int("sessions_ended", n))...)
	return s.startSession(ctx, u)
}

// SetPassword sets a user's password without the current one (an admin
// reset or the CLI), checking the policy and ending all their sessions.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	password, err = s.policy.check(password, u.Username)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	if _, err := s.store.UpdateUser(ctx, u.ID, UserChange{PasswordHash: &hash, UpdatedAt: s.clock.Now().UTC()}); err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	if _, err := s.store.DeleteUserSessions(ctx, u.ID); err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	s.audit(ctx, "password.reset", userAttrs(u)...)
	return nil
}

// CheckPassword checks password against the service's policy for username
// without storing anything.
func (s *Service) CheckPassword(password, username string) error {
	_, err := s.policy.check(password, username)
	return err
}

// SetRole changes a user's role. A change ends the user's sessions, so the
// new privileges come with a new token.
func (s *Service) SetRole(ctx context.Context, userID string, role Role) (User, error) {
	if !role.Valid() {
		return User{}, fmt.Errorf("%w: %q", ErrInvalidRole, role)
	}
	old, err := s.store.User(ctx, userID)
	if err != nil {
		return User{}, fmt.Errorf("auth: set role: %w", err)
	}
	if old.Role == role {
		return old, nil
	}
	u, err := s.store.UpdateUser(ctx, userID, UserChange{Role: &role, UpdatedAt: s.clock.Now().UTC()})
	if err != nil {
		return User{}, fmt.Errorf("auth: set role: %w", err)
	}
	if _, err := s.store.DeleteUserSessions(ctx, userID); err != nil {
		return User{}, fmt.Errorf("auth: set role: %w", err)
	}
	s.audit(ctx, "user.role_changed", append(userAttrs(u), slog.String("from", string(old.Role)), slog.String("to", string(role)))...)
	return u, nil
}

// Disable stops a user from logging in and ends their sessions.
func (s *Service) Disable(ctx context.Context, userID string) (User, error) {
	return s.setDisabled(ctx, userID, true)
}

// Enable lets a disabled user log in again.
func (s *Service) Enable(ctx context.Context, userID string) (User, error) {
	return s.setDisabled(ctx, userID, false)
}

func (s *Service) setDisabled(ctx context.Context, userID string, disabled bool) (User, error) {
	u, err := s.store.UpdateUser(ctx, userID, UserChange{Disabled: &disabled, UpdatedAt: s.clock.Now().UTC()})
	if err != nil {
		return User{}, fmt.Errorf("auth: disable: %w", err)
	}
	event := "user.enabled"
	if disabled {
		event = "user.disabled"
		if _, err := s.store.DeleteUserSessions(ctx, userID); err != nil {
			return User{}, fmt.Errorf("auth: disable: %w", err)
		}
	}
	s.audit(ctx, event, userAttrs(u)...)
	return u, nil
}

// User returns the user with id.
func (s *Service) User(ctx context.Context, id string) (User, error) { return s.store.User(ctx, id) }

// UserByUsername returns the user with username (any case).
func (s *Service) UserByUsername(ctx context.Context, username string) (User, error) {
	name, err := NormalizeUsername(username)
	if err != nil {
		return User{}, err
	}
	return s.store.UserByUsername(ctx, name)
}

// Users lists all users ordered by username.
func (s *Service) Users(ctx context.Context) ([]User, error) { return s.store.Users(ctx) }

// Sessions lists a user's sessions, newest first.
func (s *Service) Sessions(ctx context.Context, userID string) ([]Session, error) {
	return s.store.Sessions(ctx, userID)
}

// RevokeSession ends the user's session with the given session ID.
func (s *Service) RevokeSession(ctx context.Context, userID, sessionID string) error {
	if err := s.store.DeleteSessionByID(ctx, userID, sessionID); err != nil {
		return fmt.Errorf("auth: revoke session: %w", err)
	}
	s.audit(ctx, "session.revoked", slog.String("user_id", userID), slog.String("session", sessionID))
	return nil
}

// CleanupSessions deletes expired and idle sessions and returns how many.
// Call it periodically from a goroutine the application owns.
func (s *Service) CleanupSessions(ctx context.Context) (int, error) {
	now := s.clock.Now().UTC()
	return s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.idle))
}
