package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

var tiny = Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

func TestPHCRoundTrip(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 0)
	require.NoError(t, err)
	ctx := context.Background()
	enc, err := h.Hash(ctx, "pässwörd ✓")
	require.NoError(t, err)
	p, salt, key, err := DecodePHC(enc)
	require.NoError(t, err)
	assert.Equal(t, tiny, p)
	assert.Len(t, salt, 16)
	assert.Len(t, key, 32)
	assert.Equal(t, enc, EncodePHC(p, salt, key))
	parts := strings.Split(enc, "$")
	assert.NotContains(t, parts[4]+parts[5], "=", "unpadded base64")

	ok, err := h.Verify(ctx, "pässwörd ✓", enc)
	require.NoError(t, err)
	assert.True(t, ok)
	ok, err = h.Verify(ctx, "pässwörd ✗", enc)
	require.NoError(t, err)
	assert.False(t, ok)
	assert.False(t, h.NeedsRehash(enc))

	other, err := h.Hash(ctx, "pässwörd ✓")
	require.NoError(t, err)
	assert.NotEqual(t, enc, other, "fresh salt each time")
}

// TestDefaultParams is the one test that hashes at OWASP parameters.
func TestDefaultParams(t *testing.T) {
	h, err := NewArgon2Hasher(DefaultParams(), 0)
	require.NoError(t, err)
	enc, err := h.Hash(context.Background(), "default parameters test")
	require.NoError(t, err)
	assert.True(t, strings.HasPrefix(enc, "$argon2id$v=19$m=19456,t=2,p=1$"), enc)
	p, salt, key, err := DecodePHC(enc)
	require.NoError(t, err)
	assert.Equal(t, DefaultParams(), p)
	assert.Len(t, salt, 16)
	assert.Len(t, key, 32)
	ok, err := h.Verify(context.Background(), "default parameters test", enc)
	require.NoError(t, err)
	assert.True(t, ok)
}

// A known-answer test from the Argon2 reference implementation's test
// suite (P-H-C/phc-winner-argon2, src/test.c, version 0x13, Argon2id:
// t = 2, m = 2^16 KiB, p = 1, password "password", salt "somesalt").
func TestArgon2idKnownAnswer(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 0)
	require.NoError(t, err)
	const enc = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc"
	ok, err := h.Verify(context.Background(), "password", enc)
	require.NoError(t, err)
	assert.True(t, ok)
	assert.True(t, h.NeedsRehash(enc))
}

func TestNeedsRehash(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 0)
	require.NoError(t, err)
	ctx := context.Background()
	mine, _ := h.Hash(ctx, "x")
	weaker, _ := NewArgon2Hasher(Params{Memory: 32, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}, 0)
	old, _ := weaker.Hash(ctx, "x")
	longer, _ := NewArgon2Hasher(Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 64}, 0)
	long, _ := longer.Hash(ctx, "x")
	bc, _ := bcrypt.GenerateFromPassword([]byte("x"), bcrypt.MinCost)
	for _, tc := range []struct {
		name string
		enc  string
		want bool
	}{
		{"current", mine, false}, {"other memory", old, true}, {"other key length", long, true},
		{"bcrypt", string(bc), true}, {"garbage", "garbage", true},
	} {
		assert.Equal(t, tc.want, h.NeedsRehash(tc.enc), tc.name)
	}
}

func TestBcryptVariants(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 0)
	require.NoError(t, err)
	ctx := context.Background()
	b, err := bcrypt.GenerateFromPassword([]byte("legacy secret"), bcrypt.MinCost)
	require.NoError(t, err)
	for _, prefix := range []string{"$2a$", "$2b$", "$2y$"} {
		enc := prefix + string(b[4:])
		ok, err := h.Verify(ctx, "legacy secret", enc)
		require.NoError(t, err, prefix)
		assert.True(t, ok, prefix)
		ok, err = h.Verify(ctx, "other", enc)
		require.NoError(t, err)
		assert.False(t, ok)
	}
	_, err = h.Verify(ctx, "x", "$2a$99$broken")
	require.ErrorIs(t, err, ErrMalformedHash)
	// A tampered cost must not make verification run for hours.
	_, err = h.Verify(ctx, "x", "$2a$31$"+string(b[7:]))
	require.ErrorIs(t, err, ErrMalformedHash)
	ok, err := h.Verify(ctx, strings.Repeat("a", 100), string(b))
	require.NoError(t, err, "bcrypt's 72-byte limit is a mismatch, not an error")
	assert.False(t, ok)
}

func TestDecodePHCMalformed(t *testing.T) {
	good := "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U"
	_, _, _, err := DecodePHC(good)
	require.NoError(t, err)
	for _, bad := range []string{
		"",
		"$",
		"argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5",
		"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$t=1,m=64,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=0,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=1,p=0$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=1,p=256$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=064,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=-64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5",
		"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA==$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		"$argon2id$v=19$m=64,t=1,p=1$!!!!$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U",
		good + "$extra",
		"$argon2id$v=19$m=64,t=1,p=1$" + strings.Repeat("A", 600) + "$x",
	} {
		_, _, _, err := DecodePHC(bad)
		require.ErrorIs(t, err, ErrMalformedHash, "%q", bad)
	}
}

func FuzzDecodePHC(f *testing.F) {
	f.Add("$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	f.Add("$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc")
	f.Add("$2b$10$abcdefghijklmnopqrstuu")
	f.Add("$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA")
	f.Add("")
	h, err := NewArgon2Hasher(tiny, 0)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := DecodePHC(s)
		if err != nil {
			require.ErrorIs(t, err, ErrMalformedHash)
			return
		}
		// Whatever parses must re-encode identically and be within bounds.
		require.NoError(t, p.validate())
		require.Equal(t, s, EncodePHC(p, salt, key))
		if p.Memory <= 1024 && p.Time <= 4 {
			_, err := h.Verify(context.Background(), "pw", s)
			require.NoError(t, err)
		}
		_ = h.NeedsRehash(s)
	})
}

func TestNewArgon2HasherRejectsBadParams(t *testing.T) {
	for _, p := range []Params{
		{}, {Memory: 64, Time: 1, Threads: 0, SaltLen: 16, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 4, KeyLen: 32},
		{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 8},
		{Memory: 64, Time: 100, Threads: 1, SaltLen: 16, KeyLen: 32},
		{Memory: 16, Time: 1, Threads: 4, SaltLen: 16, KeyLen: 32},
	} {
		_, err := NewArgon2Hasher(p, 0)
		require.Error(t, err, "%+v", p)
	}
	for _, c := range []int{-1, maxConcurrency + 1, int(^uint(0) >> 1)} {
		_, err := NewArgon2Hasher(tiny, c)
		require.Error(t, err, "concurrency %d", c)
	}
	h, err := NewArgon2Hasher(tiny, maxConcurrency)
	require.NoError(t, err)
	assert.Positive(t, h.budget)
}

func TestHashWaitsForSlot(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 1)
	require.NoError(t, err)
	require.NoError(t, h.acquire(context.Background(), h.weight(tiny.Memory))) // occupy the only slot
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = h.Hash(ctx, "x")
	require.ErrorIs(t, err, context.Canceled)
	_, err = h.Verify(ctx, "x", "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0c2FsdA$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2U")
	require.ErrorIs(t, err, context.Canceled)
	h.release(h.weight(tiny.Memory))
	_, err = h.Hash(context.Background(), "x")
	require.NoError(t, err)
}

// TestVerifyLargeMemoryHashRunsAlone checks that a stored hash with a
// memory parameter above the hasher's takes a matching share of the
// budget: it waits while any other hash runs instead of adding its memory
// on top, and it cannot take more than the whole budget.
func TestVerifyLargeMemoryHashRunsAlone(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 2)
	require.NoError(t, err)
	big := Params{Memory: 16 * tiny.Memory, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
	salt := []byte("0123456789abcdef")
	encBig := EncodePHC(big, salt, argon2IDKey("pw", salt, big))
	encSmall := EncodePHC(tiny, salt, argon2IDKey("pw", salt, tiny))

	assert.Equal(t, 2*int64(tiny.Memory), h.weight(big.Memory), "capped at the whole budget")
	assert.Equal(t, int64(tiny.Memory), h.weight(8), "at least one slot")

	// One ordinary hash in progress.
	require.NoError(t, h.acquire(context.Background(), h.weight(tiny.Memory)))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err = h.Verify(ctx, "pw", encBig)
	require.ErrorIs(t, err, context.DeadlineExceeded, "the big hash waits for the whole budget")
	ok, err := h.Verify(context.Background(), "pw", encSmall)
	require.NoError(t, err, "an ordinary hash still fits beside the running one")
	assert.True(t, ok)
	h.release(h.weight(tiny.Memory))

	ok, err = h.Verify(context.Background(), "pw", encBig)
	require.NoError(t, err)
	assert.True(t, ok)
}

func argon2IDKey(pw string, salt []byte, p Params) []byte {
	return argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, p.KeyLen)
}

// TestBcryptTruncation: bcrypt reads only the first 72 bytes, and
// x/crypto's CompareHashAndPassword does not refuse longer passwords, so
// every password sharing those 72 bytes would verify (and the upgrade
// would then pin that variant). A password over 72 bytes never matches a
// bcrypt hash.
func TestBcryptTruncation(t *testing.T) {
	h, err := NewArgon2Hasher(tiny, 0)
	require.NoError(t, err)
	ctx := context.Background()
	prefix := strings.Repeat("seventy-two bytes of a long legacy passphrase.. ", 2)[:72]
	b, err := bcrypt.GenerateFromPassword([]byte(prefix), bcrypt.MinCost)
	require.NoError(t, err)
	ok, err := h.Verify(ctx, prefix, string(b))
	require.NoError(t, err)
	assert.True(t, ok, "exactly 72 bytes still verifies")
	for _, longer := range []string{prefix + "x", prefix + " and anything an attacker appends"} {
		ok, err = h.Verify(ctx, longer, string(b))
		require.NoError(t, err)
		assert.False(t, ok, "%d bytes must not verify against the 72-byte prefix", len(longer))
	}
}
