package auth

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"golang.org/x/crypto/chacha20poly1305"
	"golang.org/x/crypto/hkdf"
)

// SecretKeySize is the length of Options.SecretKey.
const SecretKeySize = 32

// keys are the subkeys derived from Options.SecretKey.
type keys struct {
	device []byte // signs device tokens
	totp   []byte // encrypts TOTP secrets at rest; nil stores them in plaintext
	name   []byte // keys the hash that stands for an unknown username in the audit log
}

// deriveKeys derives the subkeys from the application's secret key with
// HKDF-SHA256. Without one, device tokens are signed with a random key of
// this Service (they stop working on restart and across instances) and
// TOTP secrets are stored in plaintext.
func deriveKeys(secret []byte) (keys, error) {
	if secret == nil {
		dev, err := randomBytes(32)
		if err != nil {
			return keys{}, err
		}
		name, err := randomBytes(32)
		return keys{device: dev, name: name}, err
	}
	if len(secret) != SecretKeySize {
		return keys{}, fmt.Errorf("auth: Options.SecretKey must be %d bytes, got %d", SecretKeySize, len(secret))
	}
	derive := func(label string) ([]byte, error) {
		k := make([]byte, 32)
		if _, err := io.ReadFull(hkdf.New(sha256.New, secret, nil, []byte("finkit auth "+label)), k); err != nil {
			return nil, fmt.Errorf("auth: derive %s key: %w", label, err)
		}
		return k, nil
	}
	dev, err := derive("device token v1")
	if err != nil {
		return keys{}, err
	}
	totp, err := derive("totp secret v1")
	if err != nil {
		return keys{}, err
	}
	name, err := derive("audit username v1")
	if err != nil {
		return keys{}, err
	}
	return keys{device: dev, totp: totp, name: name}, nil
}

// nameHash stands for an unknown username in the audit log: an unknown
// "username" is often a password typed into the wrong field, so it is
// never logged verbatim. The keyed hash (HMAC-SHA256, first 8 bytes in
// hex) lets an operator correlate attempts on the same name without
// learning it; with Options.SecretKey it is stable across restarts.
func (k keys) nameHash(name string) string {
	m := hmac.New(sha256.New, k.name)
	m.Write([]byte(name))
	return fmt.Sprintf("unknown:%x", m.Sum(nil)[:8])
}

// DeviceTokenLifetime is how long a device token from a login stays valid.
const DeviceTokenLifetime = 90 * 24 * time.Hour

// deviceMAC is the signature of a device token of u issued at issued
// (Unix seconds). It covers the user's credential version, so a password
// or second-factor change retires every device token.
func (s *Service) deviceMAC(u User, issued int64) []byte {
	m := hmac.New(sha256.New, s.keys.device)
	m.Write([]byte("device\x00" + u.ID + "\x00" + strconv.FormatInt(u.CredentialVersion, 10) + "\x00"))
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(issued))
	m.Write(b[:])
	return m.Sum(nil)
}

// newDeviceToken returns a device token for u: the issue time and its
// signature, base64url. It identifies nothing by itself and is useful only
// together with u's username at login.
func (s *Service) newDeviceToken(u User, now time.Time) string {
	issued := now.Unix()
	b := make([]byte, 8, 8+sha256.Size)
	binary.BigEndian.PutUint64(b, uint64(issued))
	return base64.RawURLEncoding.EncodeToString(append(b, s.deviceMAC(u, issued)...))
}

// trustedDevice reports whether tok is a device token of u that has not
// expired at now.
func (s *Service) trustedDevice(tok string, u User, now time.Time) bool {
	if tok == "" || len(tok) > 64 {
		return false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(tok)
	if err != nil || len(b) != 8+sha256.Size {
		return false
	}
	issued := int64(binary.BigEndian.Uint64(b[:8]))
	at := time.Unix(issued, 0)
	if now.Sub(at) > DeviceTokenLifetime || at.After(now.Add(maxClockSkew)) {
		return false
	}
	return hmac.Equal(b[8:], s.deviceMAC(u, issued))
}

// sealedMagic starts a TOTP secret encrypted at rest; a plaintext secret
// (stored before Options.SecretKey was set) begins with it only with
// probability 2^-64.
const sealedMagic = "finkit\x00\x01"

// sealTOTP encrypts a TOTP secret for storage with XChaCha20-Poly1305
// under the TOTP key, bound to the user ID; without a key it returns the
// secret as is.
func (s *Service) sealTOTP(userID string, secret []byte) ([]byte, error) {
	if s.keys.totp == nil {
		return secret, nil
	}
	aead, err := chacha20poly1305.NewX(s.keys.totp)
	if err != nil {
		return nil, fmt.Errorf("auth: totp key: %w", err)
	}
	nonce, err := randomBytes(aead.NonceSize())
	if err != nil {
		return nil, err
	}
	out := append([]byte(sealedMagic), nonce...)
	return aead.Seal(out, nonce, secret, []byte("totp\x00"+userID)), nil
}

// openTOTP returns st with its secret decrypted. A plaintext secret from
// before a key was configured is returned as is (it is encrypted at its
// next write); an encrypted one without the key, or under another key, is
// an error.
func (s *Service) openTOTP(st TOTPState) (TOTPState, error) {
	if !bytes.HasPrefix(st.Secret, []byte(sealedMagic)) {
		return st, nil
	}
	if s.keys.totp == nil {
		return TOTPState{}, errors.New("auth: the TOTP secret is encrypted but Options.SecretKey is not set")
	}
	aead, err := chacha20poly1305.NewX(s.keys.totp)
	if err != nil {
		return TOTPState{}, fmt.Errorf("auth: totp key: %w", err)
	}
	body := st.Secret[len(sealedMagic):]
	if len(body) < aead.NonceSize()+aead.Overhead() {
		return TOTPState{}, errors.New("auth: stored TOTP secret is truncated")
	}
	plain, err := aead.Open(nil, body[:aead.NonceSize()], body[aead.NonceSize():], []byte("totp\x00"+st.UserID))
	if err != nil {
		return TOTPState{}, errors.New("auth: stored TOTP secret does not decrypt under Options.SecretKey")
	}
	st.Secret = plain
	return st, nil
}
