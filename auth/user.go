package auth

import (
	"fmt"
	"net/mail"
	"strings"
	"time"
)

// Role is a user's role.
type Role string

// The roles a user can have.
const (
	RoleUser  Role = "user"
	RoleAdmin Role = "admin"
)

// ParseRole returns the role named s ("user" or "admin").
func ParseRole(s string) (Role, error) {
	switch r := Role(s); r {
	case RoleUser, RoleAdmin:
		return r, nil
	default:
		return "", fmt.Errorf("%w: %q (want %q or %q)", ErrInvalidRole, s, RoleUser, RoleAdmin)
	}
}

// Valid reports whether r is RoleUser or RoleAdmin.
func (r Role) Valid() bool { return r == RoleUser || r == RoleAdmin }

// User is an account. The password hash is never serialized to JSON.
type User struct {
	ID           string    `json:"id"`              // random, 32 hex digits
	Username     string    `json:"username"`        // canonical lower-case form
	Email        string    `json:"email,omitempty"` // normalized, may be empty
	Role         Role      `json:"role"`            // RoleUser or RoleAdmin
	Disabled     bool      `json:"disabled"`        // cannot log in; sessions rejected
	CreatedAt    time.Time `json:"created_at"`      // registration time
	UpdatedAt    time.Time `json:"updated_at"`      // last change
	PasswordHash string    `json:"-"`               // PHC or bcrypt string, never serialized
	// CredentialVersion grows with every change of the user's password,
	// second factor, role or disabled flag; sessions record it.
	CredentialVersion int64 `json:"-"`
}

// IsAdmin reports whether u has the admin role.
func (u User) IsAdmin() bool { return u.Role == RoleAdmin }

// Username limits.
const (
	MinUsernameLength = 3
	MaxUsernameLength = 32
)

// NormalizeUsername validates a username and returns its canonical
// lower-case form. Usernames are 3-32 characters of ASCII letters, digits,
// '.', '_' and '-', compared case-insensitively. Only ASCII letters are
// case-folded, so look-alikes such as the Kelvin sign are rejected rather
// than folded into "k".
func NormalizeUsername(s string) (string, error) {
	if len(s) < MinUsernameLength || len(s) > MaxUsernameLength {
		return "", fmt.Errorf("%w: must be %d to %d characters", ErrInvalidUsername, MinUsernameLength, MaxUsernameLength)
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		case c >= 'A' && c <= 'Z':
			b[i] = c + ('a' - 'A')
		default:
			return "", fmt.Errorf("%w: only a-z, 0-9, '.', '_' and '-' are allowed", ErrInvalidUsername)
		}
	}
	return string(b), nil
}

// MaxEmailLength is the longest accepted email address (RFC 5321 path limit).
const MaxEmailLength = 254

// NormalizeEmail validates an email address with net/mail and returns it
// trimmed, with the domain lower-cased. The empty string is allowed (no
// email). Display-name forms such as "Bob <bob@example.com>" are rejected.
func NormalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", nil
	}
	if len(s) > MaxEmailLength {
		return "", fmt.Errorf("%w: longer than %d bytes", ErrInvalidEmail, MaxEmailLength)
	}
	addr, err := mail.ParseAddress(s)
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrInvalidEmail, err)
	}
	if addr.Name != "" || addr.Address != s {
		return "", fmt.Errorf("%w: want a bare address like name@example.com", ErrInvalidEmail)
	}
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return "", fmt.Errorf("%w: missing local part or domain", ErrInvalidEmail)
	}
	domain := s[at+1:]
	if !strings.Contains(domain, ".") && domain != "localhost" {
		return "", fmt.Errorf("%w: domain %q has no dot", ErrInvalidEmail, domain)
	}
	return s[:at+1] + strings.ToLower(domain), nil
}
