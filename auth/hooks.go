package auth

import (
	"context"
	"fmt"
	"log/slog"
	"time"
)

// Notifier is told of security events on an account, to pass on to its
// owner (an email: "a new login to your account", "your password was
// changed"), so a user notices what they did not do. Notify runs after
// the change is stored, on the request's goroutine; an error is audited
// and does not undo the change. Implementations that send slowly should
// queue.
type Notifier interface {
	Notify(ctx context.Context, n Notification) error
}

// The events a Notifier is told of.
const (
	EventLogin             = "login"                      // a successful login (new session)
	EventPasswordChanged   = "password.changed"           // ChangePassword or SetPassword
	EventPasswordReset     = "password.reset"             // ResetPassword
	EventTOTPEnabled       = "totp.enabled"               // ConfirmTOTP
	EventTOTPDisabled      = "totp.disabled"              // DisableTOTP
	EventRecoveryCodes     = "recovery_codes.regenerated" // RegenerateRecoveryCodes
	EventUserDeleted       = "user.deleted"               // DeleteUser
	EventResetRequested    = "password.reset_requested"   // RequestPasswordReset sent a link
	EventSessionsTrimmed   = "sessions.trimmed"           // a login ended the oldest sessions (MaxSessions)
	eventNotificationError = "notification.failed"
)

// Notification is a security event on User's account.
type Notification struct {
	Event  string    // one of the Event constants
	User   User      // the account (as it is after the change)
	Client Client    // who made the request, from the context
	At     time.Time // when
}

// BreachChecker tells whether a password is known from data breaches, a
// check beside the embedded list of common passwords (for example a
// k-anonymity range query to a breach corpus, or a local copy of one). It
// sees the NFKC-normalized password and must not log or store it. An
// error refuses the new password (fail closed); a checker that prefers to
// fail open returns false, nil instead.
type BreachChecker interface {
	Breached(ctx context.Context, password string) (bool, error)
}

// notify tells the Notifier of event on u's account.
func (s *Service) notify(ctx context.Context, event string, u User) {
	if s.notifier == nil {
		return
	}
	n := Notification{Event: event, User: u, Client: ClientFrom(ctx), At: s.clock.Now().UTC()}
	if err := s.notifier.Notify(ctx, n); err != nil {
		s.audit(ctx, eventNotificationError, append(userAttrs(u), slog.String("notification", event), slog.String("error", err.Error()))...)
	}
}

// checkNewPassword checks a new password for username against the policy
// and the BreachChecker and returns its NFKC form.
func (s *Service) checkNewPassword(ctx context.Context, password, username string) (string, error) {
	pw, err := s.policy.check(password, username)
	if err != nil {
		return "", err
	}
	if s.breached == nil {
		return pw, nil
	}
	bad, err := s.breached.Breached(ctx, pw)
	if err != nil {
		return "", fmt.Errorf("auth: breached-password check: %w", err)
	}
	if bad {
		return "", weakPassword(ErrPasswordBreached, "it appears in a known data breach; choose another")
	}
	return pw, nil
}
