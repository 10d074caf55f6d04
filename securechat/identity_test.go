package securechat

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testKDF is a cheap argon2id cost for tests. It is below the minimum
// MarshalKeyFile accepts, so tests write with marshalSealed (the same
// encoder without the minimum check); ParseKeyFile reads such files.
var testKDF = &KDFParams{Time: 1, MemoryKiB: 64, Threads: 1}

func newID(t testing.TB) *Identity {
	t.Helper()
	id, err := GenerateIdentity(nil)
	require.NoError(t, err)
	return id
}

func TestIdentityPublicRoundTrip(t *testing.T) {
	id := newID(t)
	p, err := ParsePublicIdentity(id.Public().Marshal())
	require.NoError(t, err)
	assert.True(t, p.Equal(id.Public()))
	assert.Equal(t, id.ID(), p.ID())
	_, err = ParsePeerID(string(id.ID()))
	require.NoError(t, err)

	for _, bad := range []string{"", "short", string(id.ID()) + "A", "!" + string(id.ID())[1:]} {
		_, err := ParsePeerID(bad)
		require.ErrorIs(t, err, ErrMalformed, bad)
	}
	// Any bit flip in the encoded identity is rejected.
	enc := id.Public().Marshal()
	for i := range enc {
		for bit := range 8 {
			m := bytes.Clone(enc)
			m[i] ^= 1 << bit
			_, err := ParsePublicIdentity(m)
			require.Error(t, err, "byte %d bit %d", i, bit)
		}
	}
	_, err = ParsePublicIdentity(enc[:100])
	require.ErrorIs(t, err, ErrMalformed)
}

func TestKeyFile(t *testing.T) {
	id := newID(t)
	t.Run("plain", func(t *testing.T) {
		data := id.MarshalKeyFileUnencrypted()
		assert.False(t, KeyFileEncrypted(data))
		got, err := ParseKeyFile(data, nil)
		require.NoError(t, err)
		assert.True(t, got.Public().Equal(id.Public()))
	})
	t.Run("encrypted", func(t *testing.T) {
		data, err := id.marshalSealed([]byte("correct horse"), *testKDF)
		require.NoError(t, err)
		assert.True(t, KeyFileEncrypted(data))
		got, err := ParseKeyFile(data, []byte("correct horse"))
		require.NoError(t, err)
		assert.True(t, got.Public().Equal(id.Public()))
		_, err = ParseKeyFile(data, []byte("wrong"))
		require.ErrorIs(t, err, ErrPassphrase)
		_, err = ParseKeyFile(data, nil)
		require.ErrorIs(t, err, ErrPassphraseRequired)

		// Tampering with any byte of the body (parameters, salt, nonce,
		// ciphertext) fails cleanly.
		block, _ := pem.Decode(data)
		for i := 2; i < len(block.Bytes); i++ {
			b := bytes.Clone(block.Bytes)
			b[i] ^= 0x01
			if i >= 2 && i < 10 {
				b[i] ^= 0x01 // keep time/memory in range: flip a low bit of the low byte instead
				if i == 5 || i == 9 {
					b[i] ^= 0x01
				} else {
					continue
				}
			}
			_, err := ParseKeyFile(pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: b}), []byte("correct horse"))
			require.Error(t, err, "byte %d", i)
		}
	})
	t.Run("bad params rejected", func(t *testing.T) {
		for _, p := range []KDFParams{{0, 64, 1}, {1, 0, 1}, {1, 64, 0}, {17, 64, 1}, {1, 1<<20 + 1, 1}} {
			_, err := id.MarshalKeyFile([]byte("x"), &p)
			require.ErrorIs(t, err, ErrMalformed, "%+v", p)
		}
	})
	t.Run("malformed", func(t *testing.T) {
		good := id.MarshalKeyFileUnencrypted()
		block, _ := pem.Decode(good)
		cases := map[string][]byte{
			"empty":      nil,
			"not pem":    []byte("hello"),
			"wrong type": pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: block.Bytes}),
			"headers":    pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Headers: map[string]string{"a": "b"}, Bytes: block.Bytes}),
			"trailing":   append(bytes.Clone(good), "junk"...),
			"version":    pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: append([]byte{2}, block.Bytes[1:]...)}),
			"kind":       pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: append([]byte{1, 7}, block.Bytes[2:]...)}),
			"short":      pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: block.Bytes[:40]}),
			"long":       pem.EncodeToMemory(&pem.Block{Type: KeyFilePEMType, Bytes: append(bytes.Clone(block.Bytes), 0)}),
			"huge":       bytes.Repeat([]byte("A"), 5000),
			"two blocks": append(bytes.Clone(good), good...),
		}
		for name, data := range cases {
			_, err := ParseKeyFile(data, nil)
			require.Error(t, err, name)
		}
	})
}

func FuzzParseKeyFile(f *testing.F) {
	id, err := GenerateIdentity(nil)
	require.NoError(f, err)
	plain := id.MarshalKeyFileUnencrypted()
	sealed, err := id.marshalSealed([]byte("pw"), *testKDF)
	require.NoError(f, err)
	f.Add(plain, []byte(nil))
	f.Add(sealed, []byte("pw"))
	f.Add([]byte("-----BEGIN FINKIT SECURECHAT IDENTITY-----\nAQE=\n-----END FINKIT SECURECHAT IDENTITY-----\n"), []byte("pw"))
	f.Fuzz(func(t *testing.T, data, pass []byte) {
		got, err := ParseKeyFile(data, pass)
		if err != nil {
			require.Nil(t, got)
			return
		}
		// A key file that parses re-encodes to an identity with the same keys.
		again := got.MarshalKeyFileUnencrypted()
		back, err := ParseKeyFile(again, nil)
		require.NoError(t, err)
		require.True(t, back.Public().Equal(got.Public()))
	})
}

func TestSafetyNumber(t *testing.T) {
	a, b, c := newID(t), newID(t), newID(t)
	ab := SafetyNumber(a.Public(), b.Public())
	ba := SafetyNumber(b.Public(), a.Public())
	assert.Equal(t, ab, ba, "same value on both sides")
	assert.Len(t, ab, 60+11)
	assert.Regexp(t, `^(\d{5} ){11}\d{5}$`, ab)
	assert.True(t, SafetyNumbersEqual(ab, "  "+ab[:10]+ab[10:]))
	assert.NotEqual(t, ab, SafetyNumber(a.Public(), c.Public()), "changes when a key changes")
	// Substituting only the X25519 key is caught by the identity binding
	// (the number covers it through the Ed25519 key that must sign it).
	sub := b.Public()
	sub.DHKey = c.Public().DHKey
	assert.ErrorIs(t, sub.Verify(), ErrBadSignature, "a swapped X25519 key breaks the identity binding")
	byID, err := SafetyNumberOf(b.ID(), a.ID())
	require.NoError(t, err)
	assert.Equal(t, ab, byID)
	_, err = SafetyNumberOf("nope", a.ID())
	require.ErrorIs(t, err, ErrMalformed)
}

func TestSealToOpenFrom(t *testing.T) {
	a, b, eve := newID(t), newID(t), newID(t)
	msg := []byte("meet at noon")
	sealed, err := a.SealTo(b.Public(), msg)
	require.NoError(t, err)
	got, err := b.OpenFrom(a.Public(), sealed)
	require.NoError(t, err)
	assert.Equal(t, msg, got)
	_, err = b.OpenFrom(eve.Public(), sealed)
	require.ErrorIs(t, err, ErrAuth)
	_, err = eve.OpenFrom(a.Public(), sealed)
	require.ErrorIs(t, err, ErrAuth)
	for i := range sealed {
		m := bytes.Clone(sealed)
		m[i] ^= 0x80
		_, err := b.OpenFrom(a.Public(), m)
		require.ErrorIs(t, err, ErrAuth, "byte %d", i)
	}
	_, err = b.OpenFrom(a.Public(), sealed[:10])
	require.ErrorIs(t, err, ErrAuth)

	bpub := b.Public()
	anon, err := SealAnonymous(nil, msg, &bpub.DHKey, nil)
	require.NoError(t, err)
	got, err = b.OpenAnonymous(anon)
	require.NoError(t, err)
	assert.Equal(t, msg, got)
	_, err = eve.OpenAnonymous(anon)
	require.ErrorIs(t, err, ErrAuth)
	_, err = b.OpenAnonymous(anon[:20])
	require.ErrorIs(t, err, ErrAuth)
}

// A key file may not make the parser run argon2id at a cost above
// MaxKDFCost, even when each parameter is within its own limit: the
// parameters are rejected before any key derivation.
func TestKeyFileKDFCostBounded(t *testing.T) {
	id := newID(t)
	huge := &KDFParams{Time: MaxKDFTime, MemoryKiB: MaxKDFMemoryKiB, Threads: 4}
	_, err := id.MarshalKeyFile([]byte("pw"), huge)
	require.ErrorIs(t, err, ErrMalformed)

	data, err := id.marshalSealed([]byte("pw"), *testKDF)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	binary.BigEndian.PutUint32(block.Bytes[2:6], huge.Time)
	binary.BigEndian.PutUint32(block.Bytes[6:10], huge.MemoryKiB)
	hostile := pem.EncodeToMemory(block)
	start := time.Now()
	_, err = ParseKeyFile(hostile, []byte("pw"))
	require.ErrorIs(t, err, ErrMalformed)
	require.Less(t, time.Since(start), time.Second, "argon2 ran before the bound was checked")
}

// MarshalKeyFile with nil params writes DefaultKDFParams(), and changing
// the value one caller got does not change what the next call returns.
func TestDefaultKDFParamsNotSharedState(t *testing.T) {
	got := DefaultKDFParams()
	got.Time, got.MemoryKiB = 0, 0
	want := DefaultKDFParams()
	require.NotEqual(t, got, want)
	data, err := newID(t).MarshalKeyFile([]byte("pw"), nil)
	require.NoError(t, err)
	block, _ := pem.Decode(data)
	require.NotNil(t, block)
	assert.Equal(t, want.Time, binary.BigEndian.Uint32(block.Bytes[2:6]))
	assert.Equal(t, want.MemoryKiB, binary.BigEndian.Uint32(block.Bytes[6:10]))
}
