package auth

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// RecoveryCodeCount is how many recovery codes ConfirmTOTP issues.
const RecoveryCodeCount = 10

// TOTPEnrollment is a pending TOTP secret to show the user once.
type TOTPEnrollment struct {
	// Secret is the base32 secret for manual entry.
	Secret string `json:"secret"`
	// URI is the otpauth:// URI to render as a QR code.
	URI string `json:"uri"`
}

// EnrollTOTP creates (or replaces) a pending TOTP secret for the user. It
// takes effect after ConfirmTOTP with a correct code.
func (s *Service) EnrollTOTP(ctx context.Context, userID string) (TOTPEnrollment, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return TOTPEnrollment{}, fmt.Errorf("auth: enrol totp: %w", err)
	}
	st, err := s.store.TOTP(ctx, userID)
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
	if err := s.store.PutTOTP(ctx, TOTPState{UserID: userID, Secret: secret, UpdatedAt: s.clock.Now().UTC()}); err != nil {
		return TOTPEnrollment{}, fmt.Errorf("auth: enrol totp: %w", err)
	}
	s.audit(ctx, "totp.enrol_started", userAttrs(u)...)
	g := TOTP{Secret: secret}
	return TOTPEnrollment{Secret: b32.EncodeToString(secret), URI: g.URI(s.issuer, u.Username)}, nil
}

// ConfirmTOTP turns on two-factor authentication after checking a code
// from the pending secret, and returns RecoveryCodeCount single-use
// recovery codes to show the user once (only their hashes are stored).
func (s *Service) ConfirmTOTP(ctx context.Context, userID, code string) ([]string, error) {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return nil, fmt.Errorf("auth: confirm totp: %w", err)
	}
	st, err := s.store.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return nil, ErrTOTPNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("auth: confirm totp: %w", err)
	}
	if st.Confirmed {
		return nil, ErrTOTPAlreadyEnabled
	}
	step, ok := TOTP{Secret: st.Secret}.Match(code, s.clock.Now())
	if !ok {
		return nil, ErrInvalidTOTP
	}
	st.Confirmed, st.LastStep, st.UpdatedAt = true, step, s.clock.Now().UTC()
	codes, err := s.newRecoveryCodes(ctx, userID)
	if err != nil {
		return nil, err
	}
	if err := s.store.PutTOTP(ctx, st); err != nil {
		return nil, fmt.Errorf("auth: confirm totp: %w", err)
	}
	s.audit(ctx, "totp.enabled", userAttrs(u)...)
	return codes, nil
}

// TOTPEnabled reports whether the user has confirmed two-factor
// authentication, and how many recovery codes are left.
func (s *Service) TOTPEnabled(ctx context.Context, userID string) (enabled bool, recoveryLeft int, err error) {
	st, err := s.store.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) {
		return false, 0, nil
	}
	if err != nil {
		return false, 0, fmt.Errorf("auth: totp status: %w", err)
	}
	n, err := s.store.RecoveryCodesLeft(ctx, userID)
	if err != nil {
		return false, 0, fmt.Errorf("auth: totp status: %w", err)
	}
	return st.Confirmed, n, nil
}

// DisableTOTP turns two-factor authentication off after checking the
// user's password. Wrong passwords are throttled like failed logins (per
// account and client), so a stolen session cannot be used to guess the
// password here; while throttled it returns a *ThrottleError.
func (s *Service) DisableTOTP(ctx context.Context, userID, password string) error {
	u, err := s.store.User(ctx, userID)
	if err != nil {
		return fmt.Errorf("auth: disable totp: %w", err)
	}
	now := s.clock.Now()
	ckey := ""
	if ip := ClientFrom(ctx).IP; ip != "" {
		ckey = clientKey(ip)
	}
	att, err := s.throttle.begin(u.Username, ckey, now)
	if err != nil {
		return fmt.Errorf("auth: disable totp: %w", err)
	}
	defer att.done()
	wrong := func() error {
		s.audit(ctx, "totp.disable_failed", append(userAttrs(u), slog.String("reason", "wrong password"))...)
		att.done()
		s.throttle.fail(u.Username, ckey, now)
		return fmt.Errorf("disable totp: %w", ErrInvalidCredentials)
	}
	pw, err := normalize(password)
	if err != nil {
		return wrong()
	}
	ok, err := s.hasher.Verify(ctx, pw, u.PasswordHash)
	if err != nil {
		return fmt.Errorf("auth: disable totp: %w", err)
	}
	if !ok {
		return wrong()
	}
	if err := s.store.DeleteTOTP(ctx, userID); err != nil {
		return fmt.Errorf("auth: disable totp: %w", err)
	}
	s.audit(ctx, "totp.disabled", userAttrs(u)...)
	return nil
}

// RegenerateRecoveryCodes replaces the user's recovery codes.
func (s *Service) RegenerateRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	st, err := s.store.TOTP(ctx, userID)
	if errors.Is(err, ErrNotFound) || (err == nil && !st.Confirmed) {
		return nil, ErrTOTPNotEnrolled
	}
	if err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	codes, err := s.newRecoveryCodes(ctx, userID)
	if err != nil {
		return nil, err
	}
	s.audit(ctx, "totp.recovery_codes_regenerated", slog.String("user_id", userID))
	return codes, nil
}

const recoveryAlphabet = "abcdefghijkmnpqrstuvwxyz23456789" // 32 symbols, no 0/o/1/l

func (s *Service) newRecoveryCodes(ctx context.Context, userID string) ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	hashes := make([][]byte, RecoveryCodeCount)
	for i := range codes {
		b, err := randomBytes(10)
		if err != nil {
			return nil, err
		}
		var sb strings.Builder
		for j, c := range b {
			if j == 5 {
				sb.WriteByte('-')
			}
			sb.WriteByte(recoveryAlphabet[c&31])
		}
		codes[i] = sb.String()
		hashes[i] = recoveryHash(userID, codes[i])
	}
	if err := s.store.ReplaceRecoveryCodes(ctx, userID, hashes); err != nil {
		return nil, fmt.Errorf("auth: recovery codes: %w", err)
	}
	return codes, nil
}

// recoveryHash is the stored form of a recovery code: SHA-256 over the
// user ID and the code without separators. Codes carry 50 random bits and
// guesses are throttled, so a fast hash suffices.
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
// recovery code; anything else wraps ErrInvalidTOTP.
func (s *Service) checkSecondFactor(ctx context.Context, u User, st TOTPState, code string, now time.Time) error {
	code = strings.TrimSpace(code)
	if len(code) > 64 {
		return ErrInvalidTOTP
	}
	if step, ok := (TOTP{Secret: st.Secret}).Match(code, now); ok {
		err := s.store.AdvanceTOTPStep(ctx, u.ID, step)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, ErrCodeReused):
			s.audit(ctx, "totp.replay", userAttrs(u)...)
			return ErrInvalidTOTP
		default:
			return fmt.Errorf("auth: totp: %w", err)
		}
	}
	err := s.store.UseRecoveryCode(ctx, u.ID, recoveryHash(u.ID, code))
	switch {
	case err == nil:
		s.audit(ctx, "totp.recovery_code_used", userAttrs(u)...)
		return nil
	case errors.Is(err, ErrNotFound):
		return ErrInvalidTOTP
	default:
		return fmt.Errorf("auth: recovery code: %w", err)
	}
}
