package auth

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base32"
	"encoding/binary"
	"fmt"
	"hash"
	"net/url"
	"strings"
	"time"
)

// TOTPAlgorithm is the HMAC hash of a TOTP generator.
type TOTPAlgorithm string

// The RFC 6238 algorithms.
const (
	TOTPSHA1   TOTPAlgorithm = "SHA1"
	TOTPSHA256 TOTPAlgorithm = "SHA256"
	TOTPSHA512 TOTPAlgorithm = "SHA512"
)

func (a TOTPAlgorithm) newHash() (func() hash.Hash, error) {
	switch a {
	case TOTPSHA1, "":
		return sha1.New, nil
	case TOTPSHA256:
		return sha256.New, nil
	case TOTPSHA512:
		return sha512.New, nil
	default:
		return nil, fmt.Errorf("auth: unknown TOTP algorithm %q", a)
	}
}

// TOTP is an RFC 6238 time-based one-time password generator. The zero
// Period, Digits and Algorithm mean 30 seconds, 6 digits and SHA1, the
// values authenticator apps assume.
type TOTP struct {
	Secret    []byte        // shared secret
	Period    time.Duration // time step
	Digits    int           // code length, 6 to 10
	Algorithm TOTPAlgorithm // HMAC hash
}

func (t TOTP) period() time.Duration {
	if t.Period <= 0 {
		return 30 * time.Second
	}
	return t.Period
}

func (t TOTP) digits() int {
	if t.Digits <= 0 {
		return 6
	}
	return t.Digits
}

// stepSeconds is the period in whole seconds, at least 1 so that Step never
// divides by zero; CodeAt rejects periods that are not whole seconds.
func (t TOTP) stepSeconds() int64 { return max(1, int64(t.period()/time.Second)) }

// Step returns the RFC 6238 time step counter T for the instant at. A
// Period shorter than a second counts as one second here; CodeAt (and so
// Code and Match) reject it.
func (t TOTP) Step(at time.Time) int64 {
	return at.Unix() / t.stepSeconds()
}

// CodeAt returns the code for time step counter step (RFC 4226 HOTP on the
// step counter, with dynamic truncation).
func (t TOTP) CodeAt(step int64) (string, error) {
	h, err := t.Algorithm.newHash()
	if err != nil {
		return "", err
	}
	if p := t.period(); p < time.Second || p%time.Second != 0 {
		return "", fmt.Errorf("auth: TOTP period %s is not a whole number of seconds", p)
	}
	d := t.digits()
	if d < 6 || d > 10 {
		return "", fmt.Errorf("auth: TOTP digits %d out of range [6, 10]", d)
	}
	var msg [8]byte
	binary.BigEndian.PutUint64(msg[:], uint64(step))
	mac := hmac.New(h, t.Secret)
	mac.Write(msg[:])
	sum := mac.Sum(nil)
	off := sum[len(sum)-1] & 0x0f
	bin := uint64(binary.BigEndian.Uint32(sum[off:off+4]) & 0x7fffffff)
	mod := uint64(1)
	for range d {
		mod *= 10
	}
	return fmt.Sprintf("%0*d", d, bin%mod), nil
}

// Code returns the code for the instant at.
func (t TOTP) Code(at time.Time) (string, error) { return t.CodeAt(t.Step(at)) }

// Match returns the time step whose code equals code among the steps at-1,
// at and at+1 (one step of clock skew either way), comparing in constant
// time. ok is false when no step matches.
func (t TOTP) Match(code string, at time.Time) (step int64, ok bool) {
	code = strings.TrimSpace(code)
	if len(code) != t.digits() {
		return 0, false
	}
	now := t.Step(at)
	for _, s := range []int64{now - 1, now, now + 1} {
		want, err := t.CodeAt(s)
		if err != nil {
			return 0, false
		}
		if hmac.Equal([]byte(want), []byte(code)) {
			return s, true
		}
	}
	return 0, false
}

var b32 = base32.StdEncoding.WithPadding(base32.NoPadding)

// NewTOTPSecret returns a random 160-bit secret (RFC 4226's recommended size).
func NewTOTPSecret() ([]byte, error) {
	s := make([]byte, 20)
	if _, err := rand.Read(s); err != nil {
		return nil, fmt.Errorf("auth: TOTP secret: %w", err)
	}
	return s, nil
}

// URI returns the otpauth:// key URI authenticator apps read from a QR code.
func (t TOTP) URI(issuer, account string) string {
	label := url.PathEscape(account)
	if issuer != "" {
		label = url.PathEscape(issuer) + ":" + label
	}
	q := url.Values{}
	q.Set("secret", b32.EncodeToString(t.Secret))
	if issuer != "" {
		q.Set("issuer", issuer)
	}
	alg := t.Algorithm
	if alg == "" {
		alg = TOTPSHA1
	}
	q.Set("algorithm", string(alg))
	q.Set("digits", fmt.Sprint(t.digits()))
	q.Set("period", fmt.Sprint(t.stepSeconds()))
	return "otpauth://totp/" + label + "?" + q.Encode()
}
