package auth

import (
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Check them with errors.Is; the errors the package
// returns wrap them with context.
var (
	// ErrInvalidCredentials is returned by Login for an unknown username or
	// a wrong password alike, so accounts cannot be enumerated.
	ErrInvalidCredentials = errors.New("auth: invalid username or password")
	// ErrTooManyAttempts is returned while an account or client is throttled
	// after failed logins. The error is a *ThrottleError carrying RetryAfter.
	ErrTooManyAttempts = errors.New("auth: too many failed attempts")
	// ErrAccountDisabled is returned by Login for a disabled user who gave
	// the right password.
	ErrAccountDisabled = errors.New("auth: account disabled")
	// ErrUnauthenticated means a session token is missing, malformed,
	// unknown, expired or belongs to a disabled user.
	ErrUnauthenticated = errors.New("auth: not authenticated")
	// ErrForbidden means the user is authenticated but lacks the role.
	ErrForbidden = errors.New("auth: forbidden")
	// ErrNotFound is returned by stores and lookups for a missing record.
	ErrNotFound = errors.New("auth: not found")
	// ErrUsernameTaken is returned when registering a username that exists
	// (compared case-insensitively).
	ErrUsernameTaken = errors.New("auth: username already taken")
	// ErrInvalidUsername means a username breaks the rules (3-32 characters
	// of a-z, 0-9, '.', '_' and '-').
	ErrInvalidUsername = errors.New("auth: invalid username")
	// ErrInvalidEmail means an email address could not be parsed as a bare
	// address.
	ErrInvalidEmail = errors.New("auth: invalid email address")
	// ErrInvalidRole means a role other than RoleUser or RoleAdmin.
	ErrInvalidRole = errors.New("auth: invalid role")

	// ErrWeakPassword is wrapped by every password-policy failure, together
	// with one of the specific errors below.
	ErrWeakPassword = errors.New("auth: password rejected by policy")
	// ErrPasswordTooShort means fewer characters than Policy.MinLength.
	ErrPasswordTooShort = errors.New("password too short")
	// ErrPasswordTooLong means more characters than Policy.MaxLength or more
	// than MaxPasswordBytes bytes.
	ErrPasswordTooLong = errors.New("password too long")
	// ErrPasswordCommon means the password is in the blocklist of common
	// passwords.
	ErrPasswordCommon = errors.New("password is too common")
	// ErrPasswordContainsUsername means the password contains the username.
	ErrPasswordContainsUsername = errors.New("password contains the username")
	// ErrPasswordRepetitive means the password is one character, or one
	// word or group of characters, repeated (spaces and punctuation
	// between the copies do not count).
	ErrPasswordRepetitive = errors.New("password repeats one character or word")
	// ErrPasswordBreached means the Options.Breached checker knows the
	// password from a data breach.
	ErrPasswordBreached = errors.New("password appears in a data breach")
	// ErrPasswordInvalidUTF8 means the password is not valid UTF-8.
	ErrPasswordInvalidUTF8 = errors.New("password is not valid UTF-8")

	// ErrMalformedHash means a stored password hash could not be parsed.
	ErrMalformedHash = errors.New("auth: malformed password hash")

	// ErrTOTPRequired is returned by Login when the password was right but
	// the user has two-factor authentication and no code was given.
	ErrTOTPRequired = errors.New("auth: two-factor code required")
	// ErrInvalidTOTP means a wrong, expired or reused two-factor or recovery
	// code.
	ErrInvalidTOTP = errors.New("auth: invalid two-factor code")
	// ErrTOTPNotEnrolled means there is no pending or active TOTP secret.
	ErrTOTPNotEnrolled = errors.New("auth: two-factor authentication not enrolled")
	// ErrTOTPAlreadyEnabled means TOTP is already confirmed for the user.
	ErrTOTPAlreadyEnabled = errors.New("auth: two-factor authentication already enabled")
	// ErrInvalidResetToken means a password reset link is unknown, used,
	// expired or for a disabled account.
	ErrInvalidResetToken = errors.New("auth: invalid or expired password reset link")
	// ErrResetUnavailable means the Service has no Options.ResetSender.
	ErrResetUnavailable = errors.New("auth: password reset is not available")
	// ErrLastAdmin is returned when a change would leave no enabled admin
	// (demoting, disabling or deleting the last one).
	ErrLastAdmin = errors.New("auth: the last admin cannot be demoted, disabled or deleted")
	// ErrConflict is returned by a store when a conditional change found
	// the record changed by someone else; nothing was written.
	ErrConflict = errors.New("auth: changed concurrently")
	// ErrReauthRequired means a sensitive operation needs the user to
	// authenticate again (Reauthenticate): the session's last
	// authentication is too old, or lacks the second factor the user has.
	ErrReauthRequired = errors.New("auth: re-authentication required")
	// ErrCodeReused is returned by a store when a TOTP time step is not newer
	// than the last one used.
	ErrCodeReused = errors.New("auth: two-factor code already used")
)

// ThrottleError is returned (wrapped) by Login while failed attempts are
// throttled. errors.Is(err, ErrTooManyAttempts) reports true for it.
type ThrottleError struct {
	// RetryAfter is how long the caller should wait before trying again.
	RetryAfter time.Duration
	// Scope is which limit was hit: "account" (this account from this
	// client), "client" (this client, any account) or "global" (this
	// account from every client; it slows and never locks).
	Scope string
}

// Error describes the throttling and the wait.
func (e *ThrottleError) Error() string {
	return fmt.Sprintf("%v (%s): retry after %s", ErrTooManyAttempts, e.Scope, e.RetryAfter.Round(time.Second))
}

// Is makes errors.Is(err, ErrTooManyAttempts) true.
func (e *ThrottleError) Is(target error) bool { return target == ErrTooManyAttempts }

// RetryAfter returns the wait carried by a throttling error in err's chain.
func RetryAfter(err error) (time.Duration, bool) {
	var te *ThrottleError
	if errors.As(err, &te) {
		return te.RetryAfter, true
	}
	return 0, false
}
