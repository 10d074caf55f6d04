package securechat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"encoding/pem"
	"io"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/nacl/secretbox"
)

// Key file format. A key file is one PEM block of type KeyFilePEMType whose
// body is:
//
//	version (1 byte, = 1) || kind (1 byte)
//	kind 0 (plain):     ed25519 seed (32) || x25519 private key (32)
//	kind 1 (encrypted): argon2 time (4, big endian) || memory KiB (4) ||
//	                    threads (1) || salt (16) || nonce (24) ||
//	                    secretbox(seed || x25519 key) (64 + 16)
//
// The secretbox key is argon2id(passphrase, salt, time, memory, threads).
// The parameters are not separately authenticated: changing any of them
// changes the derived key, so the secretbox fails to open.
const (
	KeyFilePEMType = "FINKIT SECURECHAT IDENTITY"
	keyFileVersion = 1
	keyKindPlain   = 0
	keyKindSealed  = 1
	secretLen      = ed25519.SeedSize + KeySize
	saltLen        = 16
	plainBodyLen   = 2 + secretLen
	sealedBodyLen  = 2 + 4 + 4 + 1 + saltLen + NonceSize + secretLen + secretbox.Overhead
	maxKeyFileSize = 4096
)

// KDFParams are the argon2id parameters for an encrypted key file.
type KDFParams struct {
	Time      uint32 // passes
	MemoryKiB uint32 // memory in KiB
	Threads   uint8  // lanes
}

// DefaultKDFParams returns the argon2id cost used when none is given: 3
// passes over 64 MiB with 4 lanes (RFC 9106's second recommended option).
// Each call returns a fresh value, so no caller can change the cost other
// code in the process uses.
func DefaultKDFParams() KDFParams { return KDFParams{Time: 3, MemoryKiB: 64 * 1024, Threads: 4} }

// Limits a key file's parameters must respect, so a hostile file cannot make
// the parser burn unbounded memory or time. They are also the most a writer
// (MarshalKeyFile, finkit chat keygen) may ask for, so every file this
// package writes, it can read.
const (
	MaxKDFTime      = 16
	MaxKDFMemoryKiB = 256 << 10 // 256 MiB
	MaxKDFThreads   = 16
	// MaxKDFCost bounds passes × memory (in KiB·passes): each limit alone
	// would still let a hostile file ask for 16 passes over 256 MiB before
	// the passphrase could even be checked. The cap, 512 MiB·passes, admits
	// the default (3 × 64 MiB), 2 × 256 MiB or 8 × 64 MiB.
	MaxKDFCost = 512 << 10
)

// Minimum cost MarshalKeyFile accepts: OWASP's argon2id baseline (19 MiB,
// 2 passes) or an equivalent trade of memory for passes (for example 1
// pass over 38 MiB or 5 over 7.6 MiB), but never less than 7 MiB. Reading
// a cheaper file (written by older versions) is still allowed: it costs
// the reader nothing.
const (
	MinKDFMemoryKiB = 7 << 10
	MinKDFCost      = 2 * 19 << 10
)

func (p KDFParams) validate() error {
	switch {
	case p.Time < 1 || p.Time > MaxKDFTime:
		return errorf("%w: argon2 time %d outside 1..%d", ErrMalformed, p.Time, MaxKDFTime)
	case p.MemoryKiB < 8*uint32(max(p.Threads, 1)) || p.MemoryKiB > MaxKDFMemoryKiB:
		return errorf("%w: argon2 memory %d KiB outside %d..%d", ErrMalformed, p.MemoryKiB, 8*uint32(max(p.Threads, 1)), MaxKDFMemoryKiB)
	case p.Threads < 1 || p.Threads > MaxKDFThreads:
		return errorf("%w: argon2 threads %d outside 1..%d", ErrMalformed, p.Threads, MaxKDFThreads)
	case uint64(p.Time)*uint64(p.MemoryKiB) > MaxKDFCost:
		return errorf("%w: argon2 cost %d passes × %d KiB above %d KiB·passes", ErrMalformed, p.Time, p.MemoryKiB, MaxKDFCost)
	}
	return nil
}

// validateWrite is validate plus the minimum cost for new files.
func (p KDFParams) validateWrite() error {
	if err := p.validate(); err != nil {
		return err
	}
	if p.MemoryKiB < MinKDFMemoryKiB || uint64(p.Time)*uint64(p.MemoryKiB) < MinKDFCost {
		return errorf("%w: argon2 cost %d passes × %d KiB below the minimum (%d KiB, %d KiB·passes)",
			ErrMalformed, p.Time, p.MemoryKiB, MinKDFMemoryKiB, MinKDFCost)
	}
	return nil
}

func deriveFileKey(pass, salt []byte, p KDFParams) *[KeySize]byte {
	k := argon2.IDKey(pass, salt, p.Time, p.MemoryKiB, p.Threads, KeySize)
	var key [KeySize]byte
	copy(key[:], k)
	return &key
}

// MarshalKeyFile encodes id as a PEM key file with the secrets sealed
// with secretbox under an argon2id key derived from passphrase. A nil
// params uses DefaultKDFParams(); a cost below the minimum
// (MinKDFMemoryKiB, MinKDFCost) or above the limits is refused
// (ErrMalformed). An empty passphrase is refused with
// ErrPassphraseRequired: a plaintext key file is written only on request,
// with MarshalKeyFileUnencrypted.
func (id *Identity) MarshalKeyFile(passphrase []byte, params *KDFParams) ([]byte, error) {
	if len(passphrase) == 0 {
		return nil, errorf("%w: refusing to write an unencrypted key file (use MarshalKeyFileUnencrypted)", ErrPassphraseRequired)
	}
	p := DefaultKDFParams()
	if params != nil {
		p = *params
	}
	if err := p.validateWrite(); err != nil {
		return nil, err
	}
	return id.marshalSealed(passphrase, p)
}

// MarshalKeyFileUnencrypted encodes id as a PEM key file holding the
// secret keys in the clear. Use it only where the file is protected
// otherwise (an encrypted disk, a secrets manager); MarshalKeyFile is the
// default.
func (id *Identity) MarshalKeyFileUnencrypted() []byte {
	body := make([]byte, 0, plainBodyLen)
	body = append(body, keyFileVersion, keyKindPlain)
	body = append(body, id.signing.Seed()...)
	body = append(body, id.dh[:]...)
	out := pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: body})
	clear(body)
	return out
}

// marshalSealed writes an encrypted key file with parameters p, which the
// caller has validated.
func (id *Identity) marshalSealed(passphrase []byte, p KDFParams) ([]byte, error) {
	secret := make([]byte, 0, secretLen)
	secret = append(secret, id.signing.Seed()...)
	secret = append(secret, id.dh[:]...)
	defer clear(secret)
	var salt [saltLen]byte
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(rand.Reader, salt[:]); err != nil {
		return nil, errorf("securechat: salt: %w", err)
	}
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return nil, errorf("securechat: nonce: %w", err)
	}
	body := make([]byte, 0, sealedBodyLen)
	body = append(body, keyFileVersion, keyKindSealed)
	body = binary.BigEndian.AppendUint32(body, p.Time)
	body = binary.BigEndian.AppendUint32(body, p.MemoryKiB)
	body = append(body, p.Threads)
	body = append(body, salt[:]...)
	body = append(body, nonce[:]...)
	body = secretbox.Seal(body, secret, &nonce, deriveFileKey(passphrase, salt[:], p))
	return pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: body}), nil
}

// KeyFileEncrypted reports whether data is a well-formed encrypted key file.
func KeyFileEncrypted(data []byte) bool {
	body, err := keyFileBody(data)
	return err == nil && body[1] == keyKindSealed
}

func keyFileBody(data []byte) ([]byte, error) {
	if len(data) > maxKeyFileSize {
		return nil, errorf("%w: key file larger than %d bytes", ErrTooLarge, maxKeyFileSize)
	}
	block, rest := pem.Decode(data)
	if block == nil {
		return nil, errorf("%w: key file is not PEM", ErrMalformed)
	}
	if block.Type != KeyFilePEMType {
		return nil, errorf("%w: key file PEM type %q, want %q", ErrMalformed, block.Type, KeyFilePEMType)
	}
	if len(block.Headers) != 0 {
		return nil, errorf("%w: key file has PEM headers", ErrMalformed)
	}
	if len(bytes.TrimSpace(rest)) != 0 {
		return nil, errorf("%w: trailing data after key file", ErrMalformed)
	}
	b := block.Bytes
	if len(b) < 2 {
		return nil, errorf("%w: key file body too short", ErrMalformed)
	}
	if b[0] != keyFileVersion {
		return nil, errorf("%w: key file version %d, want %d", ErrMalformed, b[0], keyFileVersion)
	}
	switch b[1] {
	case keyKindPlain:
		if len(b) != plainBodyLen {
			return nil, errorf("%w: plain key file body is %d bytes, want %d", ErrMalformed, len(b), plainBodyLen)
		}
	case keyKindSealed:
		if len(b) != sealedBodyLen {
			return nil, errorf("%w: encrypted key file body is %d bytes, want %d", ErrMalformed, len(b), sealedBodyLen)
		}
	default:
		return nil, errorf("%w: key file kind %d", ErrMalformed, b[1])
	}
	return b, nil
}

// ParseKeyFile decodes a key file written by MarshalKeyFile. An encrypted
// file needs its passphrase (ErrPassphraseRequired without, ErrPassphrase
// when wrong). The parser is strict: one PEM block, no headers, no trailing
// data, exact lengths, bounded argon2 parameters.
func ParseKeyFile(data, passphrase []byte) (*Identity, error) {
	b, err := keyFileBody(data)
	if err != nil {
		return nil, err
	}
	var secret []byte
	switch b[1] {
	case keyKindPlain:
		secret = append([]byte(nil), b[2:]...)
	case keyKindSealed:
		p := KDFParams{
			Time:      binary.BigEndian.Uint32(b[2:6]),
			MemoryKiB: binary.BigEndian.Uint32(b[6:10]),
			Threads:   b[10],
		}
		if err := p.validate(); err != nil {
			return nil, err
		}
		if len(passphrase) == 0 {
			return nil, ErrPassphraseRequired
		}
		salt := b[11 : 11+saltLen]
		var nonce [NonceSize]byte
		copy(nonce[:], b[11+saltLen:11+saltLen+NonceSize])
		var ok bool
		secret, ok = secretbox.Open(nil, b[11+saltLen+NonceSize:], &nonce, deriveFileKey(passphrase, salt, p))
		if !ok {
			return nil, ErrPassphrase
		}
	}
	defer clear(secret)
	var dhKey [KeySize]byte
	copy(dhKey[:], secret[ed25519.SeedSize:])
	return identityFromSecrets(secret[:ed25519.SeedSize], &dhKey)
}
