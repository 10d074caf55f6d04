package auth

import (
	"context"
	"fmt"
	"log/slog"
)

// ChangePassword sets a new password for the user of token after checking
// the current one (throttled like logins). A user with two-factor
// authentication needs a session that recently authenticated with the
// second factor (ErrReauthRequired otherwise; see Reauthenticate). It
// ends every session of the user in the same write and returns a new
// session for the caller.
func (s *Service) ChangePassword(ctx context.Context, token, current, next string) (LoginResult, error) {
	u, sess, err := s.Validate(ctx, token)
	if err != nil {
		return LoginResult{}, err
	}
	on, err := s.totpOn(ctx, u.ID)
	if err != nil {
		return LoginResult{}, err
	}
	if on {
		if err := s.CheckRecentAuth(ctx, u, sess); err != nil {
			return LoginResult{}, err
		}
	}
	if _, err := s.verifyUser(ctx, u, current, "", "change password", false); err != nil {
		return LoginResult{}, err
	}
	password, err := s.checkNewPassword(ctx, next, u.Username)
	if err != nil {
		return LoginResult{}, err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	now := s.clock.Now()
	u, err = s.store.UpdateUser(ctx, u.ID, UserChange{PasswordHash: &hash, IfPasswordHash: &u.PasswordHash,
		NewCredentials: true, EndSessions: true, UpdatedAt: now.UTC()})
	if err != nil {
		return LoginResult{}, fmt.Errorf("auth: change password: %w", err)
	}
	s.audit(ctx, "password.changed", userAttrs(u)...)
	s.notify(ctx, EventPasswordChanged, u)
	method := AuthPassword
	if on {
		method = sess.AuthMethod
	}
	return s.startSession(ctx, u, sessionStart{authAt: now, method: method, expires: sess.ExpiresAt})
}

// SetPassword sets a user's password without the current one (an admin
// reset or the CLI), checking the policy and ending all their sessions in
// the same write.
func (s *Service) SetPassword(ctx context.Context, userID, password string) error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	password, err = s.checkNewPassword(ctx, password, u.Username)
	if err != nil {
		return err
	}
	hash, err := s.hasher.Hash(ctx, password)
	if err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	ch := UserChange{PasswordHash: &hash, NewCredentials: true, EndSessions: true, UpdatedAt: s.clock.Now().UTC()}
	if _, err := s.store.UpdateUser(ctx, u.ID, ch); err != nil {
		return fmt.Errorf("auth: set password: %w", err)
	}
	s.audit(ctx, "password.reset", userAttrs(u)...)
	s.notify(ctx, EventPasswordChanged, u)
	return nil
}

// SetRole changes a user's role. A change ends the user's sessions, so the
// new privileges come with a new token. Demoting the last enabled admin
// returns ErrLastAdmin.
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
	ch := UserChange{Role: &role, NewCredentials: true, EndSessions: true, KeepAdmin: true, UpdatedAt: s.clock.Now().UTC()}
	u, err := s.store.UpdateUser(ctx, userID, ch)
	if err != nil {
		return User{}, fmt.Errorf("auth: set role: %w", err)
	}
	s.audit(ctx, "user.role_changed", append(userAttrs(u), slog.String("from", string(old.Role)), slog.String("to", string(role)))...)
	return u, nil
}

// Disable stops a user from logging in and ends their sessions. Disabling
// the last enabled admin returns ErrLastAdmin.
func (s *Service) Disable(ctx context.Context, userID string) (User, error) {
	return s.setDisabled(ctx, userID, true)
}

// Enable lets a disabled user log in again. Sessions and logins begun
// before the account was disabled stay invalid.
func (s *Service) Enable(ctx context.Context, userID string) (User, error) {
	return s.setDisabled(ctx, userID, false)
}

func (s *Service) setDisabled(ctx context.Context, userID string, disabled bool) (User, error) {
	ch := UserChange{Disabled: &disabled, NewCredentials: true, EndSessions: disabled, KeepAdmin: disabled, UpdatedAt: s.clock.Now().UTC()}
	u, err := s.store.UpdateUser(ctx, userID, ch)
	if err != nil {
		return User{}, fmt.Errorf("auth: disable: %w", err)
	}
	event := "user.enabled"
	if disabled {
		event = "user.disabled"
	}
	s.audit(ctx, event, userAttrs(u)...)
	return u, nil
}
