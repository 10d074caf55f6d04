package auth

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"

	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
	"golang.org/x/sync/semaphore"
)

// Hasher hashes and verifies passwords. Service uses it for every password
// operation, so a test can wrap it to count calls. Implementations must be
// safe for concurrent use.
type Hasher interface {
	// Hash returns an encoded hash of password.
	Hash(ctx context.Context, password string) (string, error)
	// Verify reports whether password matches encoded. A malformed encoded
	// hash is an error wrapping ErrMalformedHash.
	Verify(ctx context.Context, password, encoded string) (bool, error)
	// NeedsRehash reports whether encoded was made with other parameters or
	// another algorithm and should be replaced after a successful login.
	NeedsRehash(encoded string) bool
}

// Params are argon2id parameters.
type Params struct {
	// Memory in KiB.
	Memory uint32
	// Time is the number of passes.
	Time uint32
	// Threads is the degree of parallelism.
	Threads uint8
	// SaltLen and KeyLen are in bytes.
	SaltLen uint32
	KeyLen  uint32 // see SaltLen
}

// DefaultParams returns OWASP's recommended argon2id parameters: m = 19 MiB,
// t = 2, p = 1, with a 16-byte salt and a 32-byte key.
func DefaultParams() Params {
	return Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// Bounds on parameters accepted from a stored hash, so a tampered hash
// cannot make verification allocate without limit.
const (
	minMemory  = 8
	maxMemory  = 1 << 18 // 256 MiB in KiB
	maxTime    = 64
	minSaltLen = 8
	maxSaltLen = 64
	minKeyLen  = 16
	maxKeyLen  = 128
	// maxBcryptCost bounds legacy bcrypt work (cost 16 is about 5 s).
	maxBcryptCost = 16
	// bcryptMaxBytes is the most of a password bcrypt reads; longer
	// passwords never verify against a bcrypt hash.
	bcryptMaxBytes = 72
	// maxConcurrency bounds NewArgon2Hasher's concurrency, keeping the
	// memory budget (concurrency × KiB) far from overflow.
	maxConcurrency = 1 << 16
)

func (p Params) validate() error {
	switch {
	case p.Memory < minMemory || p.Memory > maxMemory:
		return fmt.Errorf("memory %d KiB out of range [%d, %d]", p.Memory, minMemory, maxMemory)
	case p.Time < 1 || p.Time > maxTime:
		return fmt.Errorf("time %d out of range [1, %d]", p.Time, maxTime)
	case p.Threads < 1:
		return fmt.Errorf("threads must be at least 1")
	case p.Memory < 8*uint32(p.Threads):
		return fmt.Errorf("memory %d KiB below 8 KiB per thread", p.Memory)
	case p.SaltLen < minSaltLen || p.SaltLen > maxSaltLen:
		return fmt.Errorf("salt length %d out of range [%d, %d]", p.SaltLen, minSaltLen, maxSaltLen)
	case p.KeyLen < minKeyLen || p.KeyLen > maxKeyLen:
		return fmt.Errorf("key length %d out of range [%d, %d]", p.KeyLen, minKeyLen, maxKeyLen)
	}
	return nil
}

// Argon2Hasher hashes with argon2id into PHC strings
// ($argon2id$v=19$m=…,t=…,p=…$salt$hash, unpadded standard base64) and
// verifies argon2id and legacy bcrypt ($2a$, $2b$, $2y$) hashes. A password
// longer than bcrypt's 72 bytes never matches a bcrypt hash: bcrypt would
// compare only its first 72 bytes.
//
// Hashing is bounded by a memory budget of Concurrency × Params.Memory:
// each hash takes its own memory cost from the budget (at least
// Params.Memory, at most the whole budget) and callers wait, giving up when
// their context ends. So at most Concurrency hashes run at once, and a
// stored hash with a larger memory parameter (a legacy or tampered one, up
// to the 256 MiB DecodePHC accepts) runs with fewer or no others instead
// of multiplying its cost: the argon2 buffers alive at once never exceed
// max(budget, the largest single hash).
//
// The process's peak memory is higher than the live buffers: a finished
// hash's buffer is garbage until the next collection, so with the default
// GOGC=100 the heap can reach about twice the budget plus the rest of the
// program. A server that must stay within a memory bound should set one
// (GOMEMLIMIT or debug.SetMemoryLimit in main, e.g. Concurrency × 20 MiB +
// 32 MiB); a library cannot, since that is a process-wide setting.
type Argon2Hasher struct {
	params      Params
	concurrency int
	budget      int64 // KiB
	mem         *semaphore.Weighted
}

// NewArgon2Hasher returns a hasher using params. concurrency bounds how many
// hashes run at once; 0 means runtime.GOMAXPROCS(0).
func NewArgon2Hasher(params Params, concurrency int) (*Argon2Hasher, error) {
	if err := params.validate(); err != nil {
		return nil, fmt.Errorf("auth: bad argon2 parameters: %w", err)
	}
	if concurrency < 0 || concurrency > maxConcurrency {
		return nil, fmt.Errorf("auth: hashing concurrency %d out of range [0, %d]", concurrency, maxConcurrency)
	}
	if concurrency == 0 {
		concurrency = runtime.GOMAXPROCS(0)
	}
	budget := int64(concurrency) * int64(params.Memory)
	return &Argon2Hasher{params: params, concurrency: concurrency, budget: budget, mem: semaphore.NewWeighted(budget)}, nil
}

// Params returns the parameters new hashes are made with.
func (h *Argon2Hasher) Params() Params { return h.params }

// Concurrency returns how many hashes may run at once.
func (h *Argon2Hasher) Concurrency() int { return h.concurrency }

// weight is the share of the memory budget a hash with memory cost m KiB
// takes: at least one slot (Params.Memory), at most the whole budget.
func (h *Argon2Hasher) weight(m uint32) int64 {
	return min(max(int64(m), int64(h.params.Memory)), h.budget)
}

// acquire waits for weight KiB of the budget or for ctx to end.
func (h *Argon2Hasher) acquire(ctx context.Context, weight int64) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("auth: waiting to hash: %w", err)
	}
	if err := h.mem.Acquire(ctx, weight); err != nil {
		return fmt.Errorf("auth: waiting to hash: %w", err)
	}
	return nil
}

func (h *Argon2Hasher) release(weight int64) { h.mem.Release(weight) }

// Hash returns the PHC string of password under the hasher's parameters.
func (h *Argon2Hasher) Hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("auth: salt: %w", err)
	}
	w := h.weight(h.params.Memory)
	if err := h.acquire(ctx, w); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	h.release(w)
	return EncodePHC(h.params, salt, key), nil
}

// Verify checks password against an argon2id PHC string or a bcrypt hash,
// in constant time with respect to the key.
func (h *Argon2Hasher) Verify(ctx context.Context, password, encoded string) (bool, error) {
	if isBcrypt(encoded) {
		if len(password) > bcryptMaxBytes {
			// bcrypt reads only the first 72 bytes and CompareHashAndPassword
			// does not refuse more, so every password sharing them would
			// match. Refuse instead (the user resets the password).
			return false, nil
		}
		cost, err := bcrypt.Cost([]byte(encoded))
		if err != nil {
			return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
		}
		if cost > maxBcryptCost {
			return false, fmt.Errorf("%w: bcrypt cost %d above %d", ErrMalformedHash, cost, maxBcryptCost)
		}
		w := h.weight(0) // bcrypt needs little memory: one CPU slot
		if err := h.acquire(ctx, w); err != nil {
			return false, err
		}
		err = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password))
		h.release(w)
		switch {
		case err == nil:
			return true, nil
		case errors.Is(err, bcrypt.ErrMismatchedHashAndPassword), errors.Is(err, bcrypt.ErrPasswordTooLong):
			return false, nil
		default:
			return false, fmt.Errorf("%w: bcrypt: %v", ErrMalformedHash, err)
		}
	}
	p, salt, key, err := DecodePHC(encoded)
	if err != nil {
		return false, err
	}
	w := h.weight(p.Memory)
	if err := h.acquire(ctx, w); err != nil {
		return false, err
	}
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	h.release(w)
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// NeedsRehash reports whether encoded is bcrypt, malformed, or argon2id
// with parameters other than the hasher's.
func (h *Argon2Hasher) NeedsRehash(encoded string) bool {
	if isBcrypt(encoded) {
		return true
	}
	p, salt, key, err := DecodePHC(encoded)
	if err != nil {
		return true
	}
	return p.Memory != h.params.Memory || p.Time != h.params.Time || p.Threads != h.params.Threads ||
		uint32(len(salt)) != h.params.SaltLen || uint32(len(key)) != h.params.KeyLen
}

func isBcrypt(s string) bool {
	return strings.HasPrefix(s, "$2a$") || strings.HasPrefix(s, "$2b$") || strings.HasPrefix(s, "$2y$")
}

var b64 = base64.RawStdEncoding

// EncodePHC formats an argon2id hash as a PHC string.
func EncodePHC(p Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s",
		argon2.Version, p.Memory, p.Time, p.Threads, b64.EncodeToString(salt), b64.EncodeToString(key))
}

// DecodePHC parses an argon2id PHC string. SaltLen and KeyLen of the
// returned Params are the lengths found. Anything malformed, another
// algorithm or version, or parameters outside sane bounds give an error
// wrapping ErrMalformedHash.
func DecodePHC(s string) (p Params, salt, key []byte, err error) {
	bad := func(format string, args ...any) (Params, []byte, []byte, error) {
		return Params{}, nil, nil, fmt.Errorf("%w: %s", ErrMalformedHash, fmt.Sprintf(format, args...))
	}
	if len(s) > 512 {
		return bad("longer than 512 bytes")
	}
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" {
		return bad("want $argon2id$v=19$m=…,t=…,p=…$salt$hash")
	}
	if parts[1] != "argon2id" {
		return bad("algorithm %q is not argon2id", parts[1])
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return bad("unsupported version %q", parts[2])
	}
	kv := strings.Split(parts[3], ",")
	if len(kv) != 3 {
		return bad("want m=…,t=…,p=…")
	}
	var vals [3]uint64
	for i, name := range []string{"m", "t", "p"} {
		k, v, ok := strings.Cut(kv[i], "=")
		if !ok || k != name {
			return bad("parameter %d: want %s=N", i+1, name)
		}
		if v == "" || (len(v) > 1 && v[0] == '0') {
			return bad("parameter %s: bad number %q", name, v)
		}
		n, perr := strconv.ParseUint(v, 10, 32)
		if perr != nil {
			return bad("parameter %s: %v", name, perr)
		}
		vals[i] = n
	}
	if vals[2] > 255 {
		return bad("parallelism %d above 255", vals[2])
	}
	if salt, err = b64.Strict().DecodeString(parts[4]); err != nil {
		return bad("salt: %v", err)
	}
	if key, err = b64.Strict().DecodeString(parts[5]); err != nil {
		return bad("hash: %v", err)
	}
	p = Params{Memory: uint32(vals[0]), Time: uint32(vals[1]), Threads: uint8(vals[2]), SaltLen: uint32(len(salt)), KeyLen: uint32(len(key))}
	if verr := p.validate(); verr != nil {
		return bad("%v", verr)
	}
	return p, salt, key, nil
}
