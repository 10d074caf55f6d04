package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"strings"
	"time"
)

// RecoveryCodeCount is how many recovery codes ConfirmTOTP issues.
const RecoveryCodeCount = 10

// recoveryCodeSymbols is the length of a recovery code in symbols of 5
// bits: 24 × 5 = 120 random bits, beyond the 112 ASVS asks of a secret
// stored with a fast hash.
const recoveryCodeSymbols = 24

// TOTPEnrollment is a pending TOTP secret to show the user once.
type TOTPEnrollment struct {
	// Secret is the base32 secret for manual entry.
	Secret string `json:"secret"`
	// URI is the otpauth:// URI to render as a QR code.
	URI string `json:"uri"`
}

// TOTPConfirmation is the result of ConfirmTOTP.
type TOTPConfirmation struct {
	// RecoveryCodes are the single-use recovery codes to show the user
	// once; only their hashes are stored.
	RecoveryCodes []string `json:"recovery_codes"`
	// Login is the caller's new session: turning two-factor
	// authentication on ends every session of the user.
	Login LoginResult `json:"login"`
}

// EnrollTOTP creates (or replaces) a pending TOTP secret for the user of
// token. It takes effect after ConfirmTOTP with a correct code. The
// session must have authenticated recently (ErrReauthRequired).
func (s *Service) EnrollTOTP(ctx context.Context, token string) (TOTPEnrollment, error) {
	u, _, err := s.recentSession(ctx, token)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	st, err := s.store.TOTP(ctx, u.ID)
	if err == nil && st.Confirmed {
		return TOTPEnrollment{}, ErrTOTPAlreadyEnabled
	}
	if err != nil && !errors.Is(err, ErrNotFound) {
		return TOTPEnrollment{}, fmt.Errorf("auth: enrol totp: %w", err)
	}
	secret, err := NewTOTPSecret()
	if err != nil {
		return TOTPEnrollment{}, err
	}
	sealed, err := s.sealTOTP(u.ID, secret)
	if err != nil {
		return TOTPEnrollment{}, err
	}
	if err := s.store.PutTOTP(ctx, TOTPState{UserID: u.ID, Secret: sealed, UpdatedAt: s.clock.Now().UTC()}); err != nil {
		return TOTPEnrollment{}, fmt.Errorf("auth: enrol totp: %w", err)
	}
	s.audit(ctx, "totp.enrol_started", userAttrs(u)...)
	g := TOTP{Secret: secret}
	return TOTPEnrollment{Secret: b32.EncodeToString(secret), URI: g.URI(s.issuer, u.Username)}, nil
}

// ConfirmTOTP turns on two-factor authentication for the user of token
// after checking a code from the pending secret. In one store write it
// confirms the secret, stores the hashes of RecoveryCodeCount new recovery
// codes and ends every session of the user; the caller gets a new one.
// The session must have authenticated recently (ErrReauthRequired).
func (s *Service) ConfirmTOTP(ctx context.Context, token, code string) (TOTPConfirmation, error) {
	u, sess, err := s.recentSession(ctx, token)
	if err != nil {
		return TOTPConfirmation{}, err
	}
	st, err := s.store.TOTP(ctx, u.ID)
	if errors.Is(err, ErrNotFound) {
		return TOTPConfirmation{}, ErrTOTPNotEnrolled
	}
	if err != nil {
		return TOTPConfirmation{}, fmt.Errorf("auth: confirm totp: %w", err)
	}
	if st.Confirmed {
		return TOTPConfirmation{}, ErrTOTPAlreadyEnabled
	}
	open, err := s.openTOTP(st)
	if err != nil {
		return TOTPConfirmation{}, err
	}
	now := s.clock.Now()
	step, ok := TOTP{Secret: open.Secret}.Match(code, now)
	if !ok {
		return TOTPConfirmation{}, ErrInvalidTOTP
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return TOTPConfirmation{}, err
	}
	u, err = s.store.ConfirmTOTP(ctx, u.ID, st.Secret, step, hashes, now.UTC())
	if errors.Is(err, ErrConflict) {
		return TOTPConfirmation{}, fmt.Errorf("%w: the pending secret changed; enrol again", ErrTOTPNotEnrolled)
	}
	if err != nil {
		return TOTPConfirmation{}, fmt.Errorf("auth: confirm totp: %w", err)
	}
	s.audit(ctx, "totp.enabled", userAttrs(u)...)
	s.notify(ctx, EventTOTPEnabled, u)
	res, err := s.startSession(ctx, u, sessionStart{authAt: sess.AuthenticatedAt, method: AuthPasswordTOTP, expires: sess.ExpiresAt})
	if err != nil {
		return TOTPConfirmation{}, err
	}
	return TOTPConfirmation{RecoveryCodes: codes, Login: res}, nil
}

// TOTPEnabled reports whether the user has confirmed two-factor
// authentication, and how many recovery codes are left.
func (s *Service) TOTPEnabled(ctx context.Context, userID string) (enabled bool, recoveryLeft int, err error) {
	on, err := s.totpOn(ctx, userID)
	if err != nil || !on {
		return false, 0, err
	}
	n, err := s.store.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return false, 0, fmt.Errorf("auth: totp status: %w", err)
	}
	return true, n, nil
}

// DisableTOTP turns two-factor authentication off for the user of token,
// whose session must have authenticated recently with the second factor
// (ErrReauthRequired otherwise: Reauthenticate with the password and a
// code). It removes the secret and the recovery codes and ends every
// session of the user in one store write; the caller gets a new one.
func (s *Service) DisableTOTP(ctx context.Context, token string) (LoginResult, error) {
	u, sess, err := s.recentSession(ctx, token)
	if err != nil {
		return LoginResult{}, err
	}
	if u, err = s.store.RemoveTOTP(ctx, u.ID, s.clock.Now().UTC()); err != nil {
		return LoginResult{}, fmt.Errorf("auth: disable totp: %w", err)
	}
	s.audit(ctx, "totp.disabled", userAttrs(u)...)
	s.notify(ctx, EventTOTPDisabled, u)
	return s.startSession(ctx, u, sessionStart{authAt: sess.AuthenticatedAt, method: sess.AuthMethod, expires: sess.ExpiresAt})
}

// RegenerateRecoveryCodes replaces the recovery codes of the user of
// token, whose session must have authenticated recently with the second
// factor (ErrReauthRequired).
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, token string) ([]string, error) {
	u, _, err := s.recentSession(ctx, token)
	if err != nil {
		return nil, err
	}
	on, err := s.totpOn(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	if !on {
		return nil, ErrTOTPNotEnrolled
	}
	codes, hashes, err := newRecoveryCodes(u.ID)
	if err != nil {
		return nil, err
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, u.ID, hashes); err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	s.audit(ctx, "totp.recovery_codes_regenerated", userAttrs(u)...)
	s.notify(ctx, EventRecoveryCodes, u)
	return codes, nil
}

const recoveryAlphabet = "abcdefghijkmnpqrstuvwxyz23456789" // 32 symbols, no 0/o/1/l

// newRecoveryCodes returns RecoveryCodeCount fresh codes, in groups of six
// symbols, and their stored hashes.
func newRecoveryCodes(userID string) (codes []string, hashes [][]byte, err error) {
	codes = make([]string, RecoveryCodeCount)
	hashes = make([][]byte, RecoveryCodeCount)
	for i := range codes {
		b, err := randomBytes(recoveryCodeSymbols)
		if err != nil {
			return nil, nil, err
		}
		var sb strings.Builder
		for j, c := range b {
			if j > 0 && j%6 == 0 {
				sb.WriteByte('-')
			}
			sb.WriteByte(recoveryAlphabet[c&31]) // 256 is a multiple of 32: unbiased
		}
		codes[i] = sb.String()
		hashes[i] = recoveryHash(userID, codes[i])
	}
	return codes, hashes, nil
}

// recoveryHash is the stored form of a recovery code: SHA-256 over the
// user ID and the code without separators. Codes carry 120 random bits
// (older ones 50) and guesses are throttled, so a fast hash suffices.
func recoveryHash(userID, code string) []byte {
	c := strings.Map(func(r rune) rune {
		switch {
		case r == '-' || r == ' ':
			return -1
		case r >= 'A' && r <= 'Z':
			return r + ('a' - 'A')
		}
		return r
	}, code)
	h := sha256.Sum256([]byte("finkit-recovery\x00" + userID + "\x00" + c))
	return h[:]
}

// checkSecondFactor accepts a TOTP code (once per time step) or an unused
// recovery code and says which it was; anything else wraps ErrInvalidTOTP.
func (s *Service) checkSecondFactor(ctx context.Context, u User, st TOTPState, code string, now time.Time) (AuthMethod, error) {
	code = strings.TrimSpace(code)
	if len(code) > 64 {
		return "", ErrInvalidTOTP
	}
	if step, ok := (TOTP{Secret: st.Secret}).Match(code, now); ok {
		err := s.store.AdvanceTOTPStep(ctx, u.ID, step)
		switch {
		case err == nil:
			return AuthPasswordTOTP, nil
		case errors.Is(err, ErrCodeReused):
			s.audit(ctx, "totp.replay", userAttrs(u)...)
			return "", ErrInvalidTOTP
		default:
			return "", fmt.Errorf("auth: totp: %w", err)
		}
	}
	err := s.store.UseRecoveryCode(ctx, u.ID, recoveryHash(u.ID, code))
	switch {
	case err == nil:
		s.audit(ctx, "totp.recovery_code_used", userAttrs(u)...)
		return AuthPasswordRecovery, nil
	case errors.Is(err, ErrNotFound):
		return "", ErrInvalidTOTP
	default:
		return "", fmt.Errorf("auth: recovery code: %w", err)
	}
}
