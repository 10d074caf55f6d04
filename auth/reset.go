package auth

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"time"
)

// DefaultResetLifetime is how long a password reset link works.
const DefaultResetLifetime = 15 * time.Minute

// ResetSender delivers a password reset link to a user, by email or
// whatever channel the application has (the demo dashboard writes it to
// its log). Build the link from Token and the application's configured
// address (never a request's Host header); it is the only copy, as only
// its SHA-256 is stored. A sender that talks to a mail server should
// queue the message and return, so the response time of
// RequestPasswordReset does not tell whether the account exists.
type ResetSender interface {
	SendPasswordReset(ctx context.Context, m ResetMessage) error
}

// ResetMessage is a password reset to deliver.
type ResetMessage struct {
	User      User      // whose password; send to User.Email
	Token     string    // the secret for the link, 43 characters of base64url
	ExpiresAt time.Time // when the link stops working
}

// RequestPasswordReset sends a password reset link for the account named
// username through Options.ResetSender. It answers nil whether or not the
// account exists, is disabled or has asked too often (at most 3 links,
// then one every 20 minutes), so it reveals nothing; those cases are only
// audited. The link (a 256-bit token, stored as its SHA-256) works once,
// for Options.ResetLifetime, and a newer one replaces it. Without a
// ResetSender it returns ErrResetUnavailable.
func (s *Service) RequestPasswordReset(ctx context.Context, username string) error {
	if s.resetSender == nil {
		return ErrResetUnavailable
	}
	k := keysOf(ctx, username)
	if !k.valid {
		return nil
	}
	now := s.clock.Now()
	if err := s.throttle.spend(ctx, s.throttle.reset, k.account, now); err != nil {
		if te := (*ThrottleError)(nil); !errors.As(err, &te) {
			return fmt.Errorf("auth: password reset: %w", err)
		}
		s.audit(ctx, "password.reset_throttled", slog.String("user", k.logName))
		return nil
	}
	u, err := s.store.UserByUsername(ctx, k.name)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		s.audit(ctx, "password.reset_ignored", slog.String("user", k.logName))
		return nil
	}
	if err != nil {
		return fmt.Errorf("auth: password reset: %w", err)
	}
	raw, err := randomBytes(32)
	if err != nil {
		return err
	}
	r := PasswordReset{TokenHash: hashToken(raw), UserID: u.ID, CreatedAt: now.UTC(), ExpiresAt: now.Add(s.resetLifetime).UTC()}
	if err := s.store.CreatePasswordReset(ctx, r); err != nil {
		return fmt.Errorf("auth: password reset: %w", err)
	}
	m := ResetMessage{User: u, Token: base64.RawURLEncoding.EncodeToString(raw), ExpiresAt: r.ExpiresAt}
	if err := s.resetSender.SendPasswordReset(ctx, m); err != nil {
		s.audit(ctx, "password.reset_send_failed", append(userAttrs(u), slog.String("error", err.Error()))...)
		return nil
	}
	s.audit(ctx, "password.reset_requested", userAttrs(u)...)
	s.notify(ctx, EventResetRequested, u)
	return nil
}

// ResetPassword sets a new password with the token of a reset link. A user
// with two-factor authentication must also give a TOTP or recovery code
// (ErrTOTPRequired without one): a reset never bypasses the second factor.
// An unknown, used or expired token, or one of a disabled account, gives
// ErrInvalidResetToken. A rejected password (ErrWeakPassword) leaves the
// link usable. On success the link and every session of the user end in
// the same store write; the user then logs in.
func (s *Service) ResetPassword(ctx context.Context, token, password, code string) error {
	raw, ok := decodeToken(token)
	if !ok {
		return ErrInvalidResetToken
	}
	th := hashToken(raw)
	now := s.clock.Now()
	_, u, err := s.store.PasswordReset(ctx, th, now)
	if errors.Is(err, ErrNotFound) || (err == nil && u.Disabled) {
		return ErrInvalidResetToken
	}
	if err != nil {
		return fmt.Errorf("auth: reset password: %w", err)
	}
	pw, err := s.checkNewPassword(ctx, password, u.Username)
	if err != nil {
		return err
	}
	if err := s.resetSecondFactor(ctx, u, code, now); err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, pw)
	if err != nil {
		return fmt.Errorf("auth: reset password: %w", err)
	}
	ch := UserChange{PasswordHash: &hash, NewCredentials: true, EndSessions: true, UpdatedAt: now.UTC()}
	u, err = s.store.UsePasswordReset(ctx, th, now, ch)
	if errors.Is(err, ErrNotFound) {
		return ErrInvalidResetToken
	}
	if err != nil {
		return fmt.Errorf("auth: reset password: %w", err)
	}
	s.audit(ctx, "password.reset_completed", userAttrs(u)...)
	s.notify(ctx, EventPasswordReset, u)
	return nil
}

// resetSecondFactor checks the second factor of a reset, throttled like a
// login, if u has two-factor authentication on.
func (s *Service) resetSecondFactor(ctx context.Context, u User, code string, now time.Time) error {
	on, err := s.totpOn(ctx, u.ID)
	if err != nil || !on {
		return err
	}
	k := keysOf(ctx, u.Username)
	att, err := s.throttle.begin(ctx, k.account, k.client, false, now)
	if err != nil {
		return fmt.Errorf("auth: reset password: %w", err)
	}
	defer s.attemptDone(ctx, att)
	_, err = s.loginSecondFactor(ctx, u, code, now)
	if errors.Is(err, ErrInvalidTOTP) {
		s.audit(ctx, "password.reset_failed", append(userAttrs(u), slog.String("reason", "wrong code"))...)
		s.attemptFailed(ctx, att, "")
	}
	return err
}

// DeleteUser deletes a user with every session, two-factor secret,
// recovery code and pending reset of theirs, in one store write. Deleting
// the last enabled admin returns ErrLastAdmin. An application offering
// self-service deletion should require a recent authentication first
// (RequireRecentAuth).
func (s *Service) DeleteUser(ctx context.Context, userID string) error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: delete user: %w", err)
	}
	if err := s.store.DeleteUser(ctx, userID); err != nil {
		return fmt.Errorf("auth: delete user: %w", err)
	}
	s.audit(ctx, "user.deleted", userAttrs(u)...)
	s.notify(ctx, EventUserDeleted, u)
	return nil
}
