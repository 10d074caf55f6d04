package auth

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

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
	// DefaultReauthWindow is how long after authenticating a session may
	// make sensitive changes without Reauthenticate.
	DefaultReauthWindow = 5 * time.Minute
)

// maxClockSkew is how far in the future a time written by another
// instance may be before it is treated as a clock error.
const maxClockSkew = time.Minute

// Options configure a Service. Only Store is required.
type Options struct {
	// Store persists users, sessions and two-factor state.
	Store Store
	// Clock defaults to the system clock.
	Clock Clock
	// Hasher defaults to an Argon2Hasher with Params and HashConcurrency.
	Hasher Hasher
	// Params are the argon2id parameters when Hasher is nil; the zero
	// value means DefaultParams().
	Params Params
	// HashConcurrency bounds concurrent hashes when Hasher is nil; 0 means
	// runtime.GOMAXPROCS(0).
	HashConcurrency int
	// Policy is the password policy (NIST SP 800-63B defaults).
	Policy Policy
	// Throttle limits failed logins per account and per client, and
	// registrations per client.
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
	// SecretKey is SecretKeySize random bytes the application keeps secret
	// and the same on every instance (a file beside the database, a
	// secrets manager). It signs device tokens and, when set, encrypts
	// TOTP secrets at rest; it also keys the hash that stands for an
	// unknown username in the audit log. Without it device tokens are
	// signed with a key of this Service alone (and unknown-username hashes
	// change on restart), and TOTP secrets are stored in plaintext.
	SecretKey []byte
	// ReauthWindow is how long after a session last authenticated it may
	// make sensitive changes (default 5 minutes); see Reauthenticate.
	ReauthWindow time.Duration
	// ResetSender delivers password reset links; without it
	// RequestPasswordReset returns ErrResetUnavailable.
	ResetSender ResetSender
	// ResetLifetime is how long a reset link works (default 15 minutes).
	ResetLifetime time.Duration
	// Notifier is told of security events (a new login, password and
	// second-factor changes) to pass on to the user; nil for none.
	Notifier Notifier
	// Breached checks new passwords against known breaches, beside the
	// embedded blocklist; nil for none.
	Breached BreachChecker
	// MaxSessions limits each user's concurrent sessions: a login beyond
	// it ends the user's oldest sessions. 0 means no limit.
	MaxSessions int
	// ClientIP extracts the client address from a request. The default is
	// the address the logging middleware determined (logging.ClientIPFrom,
	// which believes X-Forwarded-For only from its TrustedProxies) when the
	// request came through it, else the host part of RemoteAddr, never a
	// forwarding header. Behind a reverse proxy, configure the middleware's
	// TrustedProxies (or set ClientIP), or every user shares the proxy's
	// address for per-client throttling.
	ClientIP func(r *http.Request) string
	// SessionCache, when positive, lets Validate answer from memory for
	// that long after it read a session and its user from the store,
	// instead of reading them on every request (the largest part of a
	// cheap request's cost on SQLite). Timeouts are still checked against
	// the clock on every call, and every write this Service makes to the
	// store (a logout, a revoked session, a new password, role or
	// disabled flag, ...) empties the cache when it returns, so on this
	// Service such a change takes effect at once. What it trades: a change
	// written by another Service on the same store (another instance, the
	// CLI) is seen here up to SessionCache later. 0 (the default) reads
	// the store on every Validate.
	SessionCache time.Duration
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
	keys       keys
	reauth     time.Duration

	resetSender   ResetSender
	resetLifetime time.Duration
	notifier      Notifier
	breached      BreachChecker
	maxSessions   int
	sessions      *sessionCache // nil unless Options.SessionCache
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
		throttle: newLoginThrottle(opts.Throttle, throttleStoreOf(opts)),
		reauth:   opts.ReauthWindow,

		resetSender:   opts.ResetSender,
		resetLifetime: opts.ResetLifetime,
		notifier:      opts.Notifier,
		breached:      opts.Breached,
		maxSessions:   opts.MaxSessions,
	}
	if s.resetLifetime == 0 {
		s.resetLifetime = DefaultResetLifetime
	}
	if s.resetLifetime < 0 || s.maxSessions < 0 || opts.SessionCache < 0 {
		return nil, errors.New("auth: negative ResetLifetime, MaxSessions or SessionCache")
	}
	if opts.SessionCache > 0 {
		s.sessions = newSessionCache(opts.SessionCache)
		s.store = cachingStore{Store: opts.Store, c: s.sessions}
	}
	var err error
	if s.keys, err = deriveKeys(opts.SecretKey); err != nil {
		return nil, err
	}
	if s.reauth == 0 {
		s.reauth = DefaultReauthWindow
	}
	if s.clock == nil {
		s.clock = ClockFunc(time.Now)
	}
	if s.hasher == nil {
		p := opts.Params
		if p == (Params{}) {
			p = DefaultParams()
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
	if s.idle < 0 || s.absolute < 0 || s.reauth < 0 {
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
// ErrUsernameTaken; nothing is stored on error. Attempts are limited per
// client (Throttle.Register); while refused, Register returns a
// *ThrottleError (errors.Is ErrTooManyAttempts) before any other work.
func (s *Service) Register(ctx context.Context, req RegisterRequest) (User, error) {
	if err := s.throttle.registration(ctx, keysOf(ctx, "").client, s.clock.Now()); err != nil {
		if te := (*ThrottleError)(nil); errors.As(err, &te) {
			s.audit(ctx, "register.throttled", slog.String("reason", err.Error()))
		}
		return User{}, fmt.Errorf("auth: register: %w", err)
	}
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
	password, err := s.checkNewPassword(ctx, req.Password, name)
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

// CheckPassword checks password against the service's policy for username
// without storing anything.
func (s *Service) CheckPassword(password, username string) error {
	_, err := s.policy.check(password, username)
	return err
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

// CleanupSessions deletes expired and idle sessions and returns how many;
// it also forgets throttling state that has expired. Call it periodically
// from a goroutine the application owns.
func (s *Service) CleanupSessions(ctx context.Context) (int, error) {
	now := s.clock.Now().UTC()
	n, err := s.store.DeleteExpiredSessions(ctx, now, now.Add(-s.idle))
	if err != nil {
		return n, err
	}
	if _, err := s.throttle.store.DeleteExpiredThrottles(ctx, now); err != nil {
		return n, fmt.Errorf("auth: cleanup throttle state: %w", err)
	}
	return n, nil
}

// throttleStoreOf returns where a Service built with opts keeps its
// throttling state when Throttle.Store is not set: the Store when it is a
// ThrottleStore, else memory of its own.
func throttleStoreOf(opts Options) ThrottleStore {
	if ts, ok := opts.Store.(ThrottleStore); ok {
		return ts
	}
	return newMemThrottle(opts.Throttle.MaxKeys)
}
