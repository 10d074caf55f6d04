package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode/utf8"
)

// Credentials are what a user logs in with. Code is a TOTP code or a
// recovery code, needed only when two-factor authentication is on.
type Credentials struct {
	Username string // any case
	Password string // as typed; NFKC-normalized before verifying
	Code     string // TOTP or recovery code, when two-factor is on
	// DeviceToken is the LoginResult.DeviceToken of an earlier successful
	// login from this device (the device cookie). It marks the attempt as
	// coming from a device the account has used, which the global
	// per-account throttle does not slow while the account is attacked.
	DeviceToken string
	// PreviousToken is the session token the client already holds, if
	// any; a successful login ends that session.
	PreviousToken string
	// ShowDisabled asks Login to answer ErrAccountDisabled when the
	// password was right but the account is disabled. Otherwise a disabled
	// account answers ErrInvalidCredentials, as for a wrong password.
	ShowDisabled bool
}

// LoginResult is a new session. Token is the secret the client presents
// (cookie or bearer); it is not stored anywhere.
type LoginResult struct {
	Token   string  `json:"token,omitempty"` // the secret to present; shown once
	Session Session `json:"session"`         // the new session
	User    User    `json:"user"`            // the logged-in user
	// DeviceToken marks this device as one the account logged in from,
	// for Credentials.DeviceToken next time (valid DeviceTokenLifetime,
	// until the user's credentials change). Login sets it; SetSessionCookie
	// stores it in a separate long-lived cookie that logout keeps.
	DeviceToken string `json:"device_token,omitempty"`
}

// loginKeys are the throttling keys of a login attempt and the name to
// log. A malformed username is not logged: people sometimes type their
// password into the username field.
type loginKeys struct {
	name    string // canonical username; "" if malformed
	valid   bool   // the username is well formed
	account string // account throttling key
	client  string // client throttling key
	logName string
}

func keysOf(ctx context.Context, username string) loginKeys {
	var k loginKeys
	if ip := ClientFrom(ctx).IP; ip != "" {
		k.client = clientKey(ip)
	}
	name, err := NormalizeUsername(username)
	k.valid = err == nil
	k.name, k.account, k.logName = name, name, name
	if !k.valid {
		k.account = strings.ToLower(username)
		if len(k.account) > 64 {
			k.account = k.account[:64]
		}
		k.logName = "(invalid username)"
	}
	return k
}

// Login checks credentials and starts a new session with a fresh token.
// An unknown user and a wrong password both return ErrInvalidCredentials
// after one password verification each. Failed attempts are throttled per
// account and client, per client, and per account over all clients (see
// Throttle); while throttled, Login returns a *ThrottleError (errors.Is
// ErrTooManyAttempts) without hashing.
func (s *Service) Login(ctx context.Context, cr Credentials) (LoginResult, error) {
	k := keysOf(ctx, cr.Username)
	akey, ckey, logName := k.account, k.client, k.logName
	now := s.clock.Now()
	// The user is looked up before throttling so that a device token can
	// be checked against it.
	var u User
	found := false
	if k.valid {
		var err error
		u, err = s.store.UserByUsername(ctx, k.name)
		switch {
		case err == nil:
			found = true
		case !errors.Is(err, ErrNotFound):
			return LoginResult{}, fmt.Errorf("auth: login: %w", err)
		default:
			logName = s.keys.nameHash(k.name)
		}
	}
	trusted := found && s.trustedDevice(cr.DeviceToken, u, now)
	att, err := s.throttle.begin(ctx, akey, ckey, trusted, now)
	var preverified AuthMethod // second factor checked before the password
	if slowed(err) && found && cr.Code != "" && s.codeUnslows(ctx, u, pairKey(akey, ckey), cr.Code, now) {
		preverified = AuthPasswordTOTP
		att, err = s.throttle.begin(ctx, akey, ckey, true, now)
	}
	if te := (*ThrottleError)(nil); errors.As(err, &te) {
		s.audit(ctx, "login.throttled", slog.String("user", logName), slog.String("reason", err.Error()))
	}
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: login: %w", err)
	}
	defer s.attemptDone(ctx, att)
	fail := func(u *User, reason string) error {
		attrs := []slog.Attr{slog.String("user", logName), slog.String("reason", reason)}
		if u != nil {
			attrs = append(attrs, slog.String("user_id", u.ID))
		}
		s.audit(ctx, "login.failure", attrs...)
		s.attemptFailed(ctx, att, logName)
		if reason == "totp" {
			return ErrInvalidTOTP
		}
		return ErrInvalidCredentials
	}
	// Oversized or non-UTF-8 passwords are refused before any hashing, for
	// known and unknown users alike.
	if len(cr.Password) > MaxPasswordBytes || !utf8.ValidString(cr.Password) {
		return LoginResult{}, fail(nil, "password too long or not UTF-8")
	}
	password := NormalizePassword(cr.Password)
	if !found {
		// Same work as a wrong password, so timing does not reveal accounts.
		if _, err := s.hasher.Verify(ctx, password, s.dummyHash); err != nil {
			return LoginResult{}, fmt.Errorf("auth: login: %w", err)
		}
		return LoginResult{}, fail(nil, "unknown user")
	}
	ok, err := s.hasher.Verify(ctx, password, u.PasswordHash)
	if err != nil {
		s.audit(ctx, "login.error", append(userAttrs(u), slog.String("error", err.Error()))...)
		return LoginResult{}, fmt.Errorf("auth: login %q: %w", u.Username, err)
	}
	if !ok {
		return LoginResult{}, fail(&u, "wrong password")
	}
	if u.Disabled {
		err := fail(&u, "disabled")
		if cr.ShowDisabled {
			err = fmt.Errorf("login %q: %w", u.Username, ErrAccountDisabled)
		}
		return LoginResult{}, err
	}
	method, err := preverified, error(nil)
	if method == "" {
		method, err = s.loginSecondFactor(ctx, u, cr.Code, now)
	}
	if errors.Is(err, ErrInvalidTOTP) {
		return LoginResult{}, fail(&u, "totp")
	}
	if err != nil {
		return LoginResult{}, err
	}
	if s.hasher.NeedsRehash(u.PasswordHash) {
		s.rehash(ctx, u, password)
	}
	if err := att.succeed(ctx); err != nil {
		s.audit(ctx, "throttle.error", slog.String("error", err.Error()))
	}
	res, err := s.startSession(ctx, u, sessionStart{authAt: now, method: method})
	if err != nil {
		return LoginResult{}, err
	}
	s.endPrevious(ctx, cr.PreviousToken)
	res.DeviceToken = s.newDeviceToken(u, now)
	s.audit(ctx, "login.success", append(userAttrs(u), slog.String("session", res.Session.ID))...)
	s.notify(ctx, EventLogin, u)
	return res, nil
}

// loginSecondFactor checks the second factor of u, if u has one, and
// returns how the login authenticated. Without a code it returns
// ErrTOTPRequired; a wrong one wraps ErrInvalidTOTP.
func (s *Service) loginSecondFactor(ctx context.Context, u User, code string, now time.Time) (AuthMethod, error) {
	st, err := s.store.TOTP(ctx, u.ID)
	switch {
	case errors.Is(err, ErrNotFound) || (err == nil && !st.Confirmed):
		return AuthPassword, nil
	case err != nil:
		return "", fmt.Errorf("auth: login: %w", err)
	}
	if strings.TrimSpace(code) == "" {
		return "", ErrTOTPRequired
	}
	if st, err = s.openTOTP(st); err != nil {
		return "", err
	}
	return s.checkSecondFactor(ctx, u, st, code, now)
}

// codeUnslows reports whether code is a valid, unused TOTP code of u,
// which lets a login past the global limit while it slows the account
// (the code is used up; recovery codes do not count here). Codes tried
// this way are throttled per key (account and client), and a wrong one
// counts.
func (s *Service) codeUnslows(ctx context.Context, u User, key, code string, now time.Time) bool {
	if s.throttle.disabled || s.throttle.check(ctx, s.throttle.factor, key, now) != nil {
		return false
	}
	st, err := s.store.TOTP(ctx, u.ID)
	if err != nil || !st.Confirmed {
		return false
	}
	if st, err = s.openTOTP(st); err != nil {
		return false
	}
	step, ok := TOTP{Secret: st.Secret}.Match(strings.TrimSpace(code), now)
	if ok && s.store.AdvanceTOTPStep(ctx, u.ID, step) == nil {
		return true
	}
	if err := s.throttle.failOnce(ctx, s.throttle.factor, key, now); err != nil {
		s.audit(ctx, "throttle.error", slog.String("error", err.Error()))
	}
	s.audit(ctx, "login.slowed_code_refused", userAttrs(u)...)
	return false
}

// attemptFailed records a failed attempt with the throttle and audits
// the lockout it started (logName names the account; "" audits none). A
// failure to record is audited: the attempt has failed either way.
func (s *Service) attemptFailed(ctx context.Context, att *attempt, logName string) {
	te, err := att.fail(ctx)
	if err != nil {
		s.audit(ctx, "throttle.error", slog.String("error", err.Error()))
	}
	if te != nil && logName != "" {
		s.audit(ctx, "login.lockout", slog.String("user", logName), slog.String("scope", te.Scope),
			slog.Duration("retry_after", te.RetryAfter))
	}
}

// attemptDone releases an attempt whose outcome was not recorded (an
// error before it was decided).
func (s *Service) attemptDone(ctx context.Context, att *attempt) {
	if err := att.done(ctx); err != nil {
		s.audit(ctx, "throttle.error", slog.String("error", err.Error()))
	}
}

// endPrevious ends the session a client held before logging in again. A
// failure is logged: the new session is already made.
func (s *Service) endPrevious(ctx context.Context, token string) {
	raw, ok := decodeToken(token)
	if !ok {
		return
	}
	if err := s.store.DeleteSession(ctx, hashToken(raw)); err != nil && !errors.Is(err, ErrNotFound) {
		s.audit(ctx, "login.previous_session_kept", slog.String("error", err.Error()))
	}
}

// rehash replaces u's hash with one under the current parameters, only if
// the stored hash is still the one just verified: a password changed
// meanwhile is never overwritten with the old password's new hash. A
// failure is logged, not fatal, since the login itself succeeded.
func (s *Service) rehash(ctx context.Context, u User, password string) {
	h, err := s.hasher.Hash(ctx, password)
	if err == nil {
		_, err = s.store.UpdateUser(ctx, u.ID, UserChange{PasswordHash: &h, IfPasswordHash: &u.PasswordHash, UpdatedAt: s.clock.Now().UTC()})
	}
	if err != nil {
		s.audit(ctx, "password.rehash_failed", append(userAttrs(u), slog.String("error", err.Error()))...)
		return
	}
	s.audit(ctx, "password.rehashed", userAttrs(u)...)
}

// verifyUser checks that the user of an authenticated session is present:
// the password and, with secondFactor and two-factor authentication on, a
// code. It is
// throttled like a login without a trusted device: a session may be a
// stolen one, and guesses through it from many addresses are slowed by the
// global per-account limit as they would be at the login form (the real
// user, slowed too while the account is attacked, can log in again from a
// trusted device instead). It returns how the user authenticated.
func (s *Service) verifyUser(ctx context.Context, u User, password, code, op string, secondFactor bool) (AuthMethod, error) {
	now := s.clock.Now()
	k := keysOf(ctx, u.Username)
	akey, ckey := k.account, k.client
	att, err := s.throttle.begin(ctx, akey, ckey, false, now)
	if err != nil {
		return "", fmt.Errorf("auth: %s: %w", op, err)
	}
	defer s.attemptDone(ctx, att)
	wrong := func(reason string, sentinel error) (AuthMethod, error) {
		s.audit(ctx, strings.ReplaceAll(op, " ", "_")+".failed", append(userAttrs(u), slog.String("reason", reason))...)
		s.attemptFailed(ctx, att, k.logName)
		return "", fmt.Errorf("%s: %w", op, sentinel)
	}
	pw, err := normalize(password)
	if err != nil {
		return wrong("wrong password", ErrInvalidCredentials)
	}
	ok, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return "", fmt.Errorf("auth: %s: %w", op, err)
	}
	if !ok {
		return wrong("wrong password", ErrInvalidCredentials)
	}
	method := AuthPassword
	if secondFactor {
		method, err = s.loginSecondFactor(ctx, u, code, now)
	}
	if errors.Is(err, ErrInvalidTOTP) {
		return wrong("wrong code", ErrInvalidTOTP)
	}
	if err != nil {
		return "", err
	}
	if err := att.succeed(ctx); err != nil {
		s.audit(ctx, "throttle.error", slog.String("error", err.Error()))
	}
	return method, nil
}

// Reauthenticate proves again that the user of token is present — the
// password, and a TOTP or recovery code when two-factor authentication is
// on (ErrTOTPRequired without one) — and replaces the session with a new
// one (new token, the same absolute expiry) that records the time and
// method. Sensitive operations (ChangePassword, the TOTP changes, and what
// an application guards with RequireRecentAuth) need a session that
// authenticated within Options.ReauthWindow and, for a user with two-factor
// authentication, with the second factor; otherwise they return
// ErrReauthRequired. Wrong passwords and codes are throttled.
func (s *Service) Reauthenticate(ctx context.Context, token, password, code string) (LoginResult, error) {
	u, sess, err := s.Validate(ctx, token)
	if err != nil {
		return LoginResult{}, err
	}
	method, err := s.verifyUser(ctx, u, password, code, "reauthenticate", true)
	if err != nil {
		return LoginResult{}, err
	}
	res, err := s.replaceSession(ctx, token, u, sessionStart{authAt: s.clock.Now(), method: method, expires: sess.ExpiresAt})
	if err != nil {
		return LoginResult{}, err
	}
	s.audit(ctx, "session.reauthenticated", append(userAttrs(u), slog.String("session", res.Session.ID), slog.String("method", string(method)))...)
	return res, nil
}

// CheckRecentAuth returns ErrReauthRequired unless sess authenticated
// within the ReauthWindow and, if u has two-factor authentication on, with
// the second factor. Sensitive operations of the Service call it; call it
// (or use RequireRecentAuth) before an application's own.
func (s *Service) CheckRecentAuth(ctx context.Context, u User, sess Session) error {
	now := s.clock.Now()
	at := sess.AuthenticatedAt
	if at.IsZero() || now.Sub(at) > s.reauth || at.After(now.Add(maxClockSkew)) {
		return fmt.Errorf("%w: last authenticated too long ago", ErrReauthRequired)
	}
	on, err := s.totpOn(ctx, u.ID)
	if err != nil {
		return err
	}
	if on && !sess.AuthMethod.MultiFactor() {
		return fmt.Errorf("%w: with the second factor", ErrReauthRequired)
	}
	return nil
}

// recentSession validates token and checks that it authenticated recently
// (CheckRecentAuth).
func (s *Service) recentSession(ctx context.Context, token string) (User, Session, error) {
	u, sess, err := s.Validate(ctx, token)
	if err != nil {
		return User{}, Session{}, err
	}
	if err := s.CheckRecentAuth(ctx, u, sess); err != nil {
		return User{}, Session{}, err
	}
	return u, sess, nil
}

// totpOn reports whether the user has confirmed two-factor authentication.
func (s *Service) totpOn(ctx context.Context, userID string) (bool, error) {
	st, err := s.store.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("auth: totp status: %w", err)
	}
	return st.Confirmed, nil
}
