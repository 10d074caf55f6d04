package auth

import (
	"context"
	"time"
)

// Session is a logged-in session. The token itself is never stored: only
// its SHA-256 (TokenHash).
type Session struct {
	// ID identifies the session for listing and revoking; it is not the
	// token and cannot be used to authenticate.
	ID         string    `json:"id"`
	TokenHash  []byte    `json:"-"`            // SHA-256 of the token, never serialized
	UserID     string    `json:"user_id"`      // owner of the session
	CreatedAt  time.Time `json:"created_at"`   // login time
	LastSeenAt time.Time `json:"last_seen_at"` // last use, written at most once a minute
	// ExpiresAt is the absolute expiry; the idle timeout applies on top.
	ExpiresAt time.Time `json:"expires_at"`
	IP        string    `json:"ip,omitempty"`         // client address at login
	UserAgent string    `json:"user_agent,omitempty"` // at login, at most 256 bytes
	// CredentialVersion is the user's CredentialVersion when the session
	// was made; Validate refuses the session once they differ.
	CredentialVersion int64 `json:"-"`
	// AuthenticatedAt is when the user last proved who they are in this
	// session (login or Reauthenticate), and AuthMethod how.
	AuthenticatedAt time.Time  `json:"authenticated_at"`
	AuthMethod      AuthMethod `json:"auth_method"` // see AuthenticatedAt
}

// AuthMethod says how a session last authenticated.
type AuthMethod string

// The ways a session authenticates.
const (
	AuthPassword         AuthMethod = "password"          // password alone
	AuthPasswordTOTP     AuthMethod = "password+totp"     // password and a TOTP code
	AuthPasswordRecovery AuthMethod = "password+recovery" // password and a recovery code
)

// MultiFactor reports whether m includes a second factor.
func (m AuthMethod) MultiFactor() bool { return m == AuthPasswordTOTP || m == AuthPasswordRecovery }

// UserChange is a partial update of a user; nil fields are left alone.
type UserChange struct {
	Email        *string   // new normalized email
	Role         *Role     // new role
	Disabled     *bool     // new disabled flag
	PasswordHash *string   // new encoded password hash
	UpdatedAt    time.Time // stored as the user's UpdatedAt unless zero
	// IfPasswordHash makes the change conditional: it is applied only if
	// the stored hash still equals *IfPasswordHash; otherwise UpdateUser
	// returns ErrConflict and changes nothing (compare-and-swap).
	IfPasswordHash *string
	// NewCredentials increments the user's CredentialVersion, so every
	// session made before the change stops validating, and deletes the
	// user's pending password resets, so no link sent before it works.
	NewCredentials bool
	// EndSessions deletes every session of the user in the same
	// transaction as the change.
	EndSessions bool
	// KeepAdmin refuses the change with ErrLastAdmin if the user was an
	// enabled admin and no enabled admin would be left after it, decided
	// atomically with the change (two admins demoting each other at once
	// leave one).
	KeepAdmin bool
}

// TOTPState is a user's stored two-factor state.
type TOTPState struct {
	UserID string // owner
	Secret []byte // raw TOTP secret
	// Confirmed is false between enrolment and the first correct code.
	Confirmed bool
	// LastStep is the last time step accepted; a code for a step at or
	// below it is a replay.
	LastStep  int64
	UpdatedAt time.Time // last change
}

// UserStore keeps users. Usernames are stored in canonical lower-case form
// and must be unique; CreateUser returns ErrUsernameTaken on a duplicate.
type UserStore interface {
	CreateUser(ctx context.Context, u User) error
	// User and UserByUsername return ErrNotFound for a missing user.
	User(ctx context.Context, id string) (User, error)
	UserByUsername(ctx context.Context, username string) (User, error)
	// Users lists all users ordered by username.
	Users(ctx context.Context) ([]User, error)
	// DeleteUser removes the user with every session, two-factor secret,
	// recovery code and password reset of theirs, in one transaction;
	// ErrNotFound for a missing user, ErrLastAdmin (deleting nothing) for
	// the last enabled admin.
	DeleteUser(ctx context.Context, id string) error
	// UpdateUser applies ch atomically (with the session deletions it
	// asks for) and returns the updated user; ErrNotFound for a missing
	// user, ErrConflict when ch.IfPasswordHash does not match,
	// ErrLastAdmin when ch.KeepAdmin refuses it.
	UpdateUser(ctx context.Context, id string, ch UserChange) (User, error)
}

// SessionStore keeps sessions keyed by the SHA-256 of their token.
type SessionStore interface {
	CreateSession(ctx context.Context, s Session) error
	// SessionByToken returns the session with tokenHash and its user in
	// one look-up; ErrNotFound if there is none.
	SessionByToken(ctx context.Context, tokenHash []byte) (Session, User, error)
	// TouchSession sets the session's LastSeenAt.
	TouchSession(ctx context.Context, tokenHash []byte, at time.Time) error
	// Sessions lists a user's sessions, newest first.
	Sessions(ctx context.Context, userID string) ([]Session, error)
	// DeleteSession removes one session by token hash; ErrNotFound if none.
	DeleteSession(ctx context.Context, tokenHash []byte) error
	// DeleteSessionByID removes the user's session with id; ErrNotFound if none.
	DeleteSessionByID(ctx context.Context, userID, id string) error
	// DeleteUserSessions removes every session of the user and returns how many.
	DeleteUserSessions(ctx context.Context, userID string) (int, error)
	// TrimSessions removes the user's sessions beyond the keep newest
	// (by CreatedAt, then ID) and returns how many it removed.
	TrimSessions(ctx context.Context, userID string, keep int) (int, error)
	// DeleteExpiredSessions removes sessions whose ExpiresAt is before
	// now or whose LastSeenAt is before idleBefore, and returns how many.
	DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error)
}

// TOTPStore keeps two-factor secrets and hashed recovery codes.
type TOTPStore interface {
	// TOTP returns the user's state; ErrNotFound if not enrolled.
	TOTP(ctx context.Context, userID string) (TOTPState, error)
	// PutTOTP creates or replaces the user's state.
	PutTOTP(ctx context.Context, st TOTPState) error
	// ConfirmTOTP turns the user's pending secret on, in one transaction:
	// it sets Confirmed and LastStep (UpdatedAt = at), replaces the
	// recovery code hashes, increments the user's CredentialVersion and
	// deletes every session of the user, returning the updated user. It
	// returns ErrNotFound if there is no state and ErrConflict (changing
	// nothing) unless the state is unconfirmed with exactly this secret.
	ConfirmTOTP(ctx context.Context, userID string, secret []byte, step int64, recoveryHashes [][]byte, at time.Time) (User, error)
	// RemoveTOTP removes the state and the recovery codes, increments the
	// user's CredentialVersion and deletes every session of the user in one
	// transaction, returning the updated user (ErrNotFound for a missing
	// user; a user without state is not an error).
	RemoveTOTP(ctx context.Context, userID string, at time.Time) (User, error)
	// AdvanceTOTPStep atomically sets LastStep to step if step is greater,
	// and returns ErrCodeReused otherwise (ErrNotFound if not enrolled).
	AdvanceTOTPStep(ctx context.Context, userID string, step int64) error
	// ReplaceRecoveryCodes replaces the user's recovery code hashes.
	ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error
	// UseRecoveryCode atomically deletes the code with hash; ErrNotFound if
	// the user has no such code.
	UseRecoveryCode(ctx context.Context, userID string, hash []byte) error
	// RecoveryCodesLeft counts the user's unused recovery codes.
	RecoveryCodesLeft(ctx context.Context, userID string) (int, error)
}

// PasswordReset is a pending self-service password reset. Only the
// SHA-256 of its token is stored.
type PasswordReset struct {
	TokenHash []byte    // SHA-256 of the token sent to the user
	UserID    string    // whose password it resets
	CreatedAt time.Time // when it was requested
	ExpiresAt time.Time // when it stops working
}

// ResetStore keeps pending password resets.
type ResetStore interface {
	// CreatePasswordReset stores r, replacing the user's earlier resets
	// (only the newest link works); ErrNotFound for a missing user.
	CreatePasswordReset(ctx context.Context, r PasswordReset) error
	// PasswordReset returns the reset with tokenHash that has not expired
	// at now, and its user; ErrNotFound otherwise.
	PasswordReset(ctx context.Context, tokenHash []byte, now time.Time) (PasswordReset, User, error)
	// UsePasswordReset consumes the reset with tokenHash, if it has not
	// expired at now, together with the user's other resets, and applies
	// ch to its user in the same transaction, returning the updated user.
	// A reset is used at most once: of concurrent uses one succeeds, the
	// others (and unknown or expired tokens) get ErrNotFound and change
	// nothing.
	UsePasswordReset(ctx context.Context, tokenHash []byte, now time.Time, ch UserChange) (User, error)
}

// Store is everything Service persists. NewMemoryStore is an in-memory
// implementation; package auth/sqlstore keeps it in a SQL database.
type Store interface {
	UserStore
	SessionStore
	TOTPStore
	ResetStore
}
