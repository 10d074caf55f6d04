package securechat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/nacl/box"
)

// The X25519 and Ed25519 vectors below are embedded, not read from disk,
// so the tests also run where there is no file system: the WebAssembly
// build in a browser, where the agreements and verifications go through
// WebCrypto (see x25519_js.go). The repository's NaCl, libsodium and
// tweetnacl vectors go through keyPair in kat_test.go, embedded too.

//go:embed testdata/x25519_boringssl_vectors.json
var boringX25519Vectors []byte

//go:embed testdata/ed25519vectors.json
var cctvEd25519Vectors []byte

func hex32(t *testing.T, s string) [KeySize]byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	require.NoError(t, err)
	require.Len(t, b, KeySize)
	return [KeySize]byte(b)
}

// TestCryptoProvider names the implementation in the log; with
// FINKIT_WANT_CRYPTO_PROVIDER set (the browser runs set it) it must be
// that one.
func TestCryptoProvider(t *testing.T) {
	got := CryptoProvider()
	t.Logf("crypto provider: %s", got)
	if want := os.Getenv("FINKIT_WANT_CRYPTO_PROVIDER"); want != "" {
		require.Equal(t, want, got)
	}
}

// x25519Both computes X25519(k, u) with a loaded key pair and with one
// built field by field (loaded for the agreement only): both must agree.
func x25519Both(t *testing.T, k, u [KeySize]byte) ([KeySize]byte, error) {
	t.Helper()
	kp, err := keyPairOf(&k)
	require.NoError(t, err)
	out, err := kp.dh(&u)
	out2, err2 := (&keyPair{priv: k}).dh(&u)
	require.Equal(t, out, out2)
	require.Equal(t, err == nil, err2 == nil)
	return out, err
}

// RFC 7748, sections 5.2 (two vectors and the iterated one, 1 and 1,000
// times) and 6.1 (the Diffie-Hellman example).
func TestX25519RFC7748(t *testing.T) {
	for _, v := range []struct{ k, u, want string }{
		{"a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4", "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c", "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"},
		{"4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d", "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493", "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"},
	} {
		got, err := x25519Both(t, hex32(t, v.k), hex32(t, v.u))
		require.NoError(t, err)
		require.Equal(t, hex32(t, v.want), got)
	}

	k, u := [KeySize]byte{9}, [KeySize]byte{9}
	for i := 1; i <= 1000; i++ {
		out, err := (&keyPair{priv: k}).dh(&u)
		require.NoError(t, err)
		k, u = out, k
		if i == 1 {
			require.Equal(t, hex32(t, "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079"), k)
		}
	}
	require.Equal(t, hex32(t, "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51"), k)

	alice, err := keyPairOf(ptr(hex32(t, "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")))
	require.NoError(t, err)
	bob, err := keyPairOf(ptr(hex32(t, "5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")))
	require.NoError(t, err)
	require.Equal(t, hex32(t, "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a"), alice.pub)
	require.Equal(t, hex32(t, "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f"), bob.pub)
	shared := hex32(t, "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")
	s1, err := alice.dh(&bob.pub)
	require.NoError(t, err)
	s2, err := bob.dh(&alice.pub)
	require.NoError(t, err)
	require.Equal(t, shared, s1)
	require.Equal(t, shared, s2)
}

func ptr[T any](v T) *T { return &v }

// golang.org/x/crypto's curve25519 vectors, generated with BoringSSL; five
// of the sixteen points have bit 255 set, which X25519 ignores.
func TestX25519BoringSSLVectors(t *testing.T) {
	var vs []struct{ In, Base, Expect string }
	require.NoError(t, json.Unmarshal(boringX25519Vectors, &vs))
	require.Len(t, vs, 16)
	for i, v := range vs {
		got, err := x25519Both(t, hex32(t, v.In), hex32(t, v.Base))
		require.NoError(t, err, "vector %d", i)
		require.Equal(t, hex32(t, v.Expect), got, "vector %d", i)
	}
}

// Every low-order encoding, with bit 255 clear and set, is refused with
// ErrLowOrderKey by a loaded key pair and by one built field by field.
func TestX25519LowOrderRefused(t *testing.T) {
	kp, err := newKeyPair(rand.Reader)
	require.NoError(t, err)
	for i, p := range lowOrderPoints {
		for _, high := range []byte{0, 0x80} {
			u := p
			u[31] |= high
			_, err := kp.dh(&u)
			require.ErrorIs(t, err, ErrLowOrderKey, "point %d high %#x", i, high)
			_, err = (&keyPair{priv: kp.priv}).dh(&u)
			require.ErrorIs(t, err, ErrLowOrderKey, "point %d high %#x", i, high)
		}
	}
}

// The agreement is crypto/ecdh's on random keys, random 32-byte strings
// (any bit 255, non-canonical u from p to 2^255-1) and box.Precompute's
// keys.
func TestX25519AgreesWithECDH(t *testing.T) {
	p := hex32(t, "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f")
	for i := range 200 {
		var k, u [KeySize]byte
		rand.Read(k[:])
		rand.Read(u[:])
		switch i % 4 {
		case 1: // a public key
			peer, err := newKeyPair(rand.Reader)
			require.NoError(t, err)
			u = peer.pub
		case 2: // non-canonical: p + small, bit 255 clear or set
			u = p
			u[0] += byte(i % 18)
			u[31] |= byte(i%2) << 7
		}
		want, wantErr := ecdhAgree(nil, &k, &u)
		got, err := x25519Both(t, k, u)
		if wantErr != nil {
			require.ErrorIs(t, err, ErrLowOrderKey, "i=%d u=%x", i, u)
			continue
		}
		require.NoError(t, err, "i=%d u=%x", i, u)
		require.Equal(t, want, got, "i=%d u=%x", i, u)
		if i%4 == 1 {
			var bk [KeySize]byte
			box.Precompute(&bk, &u, &k)
			got, err := BoxPrecompute(&u, &k)
			require.NoError(t, err)
			require.Equal(t, bk, *got)
		}
	}
}

// ed25519Edge are C2SP's Ed25519 edge-case vectors (low-order and
// non-canonical A and R, low-order residues, re-encoded hashes) and, made
// here from valid signatures, the same with S + ℓ (non-canonical S).
func ed25519Edge(t *testing.T) (vs []struct {
	Number        int
	Key, Sig, Msg string
	Flags         []string
}) {
	t.Helper()
	require.NoError(t, json.Unmarshal(cctvEd25519Vectors, &vs))
	require.Len(t, vs, 914)
	for i := range 20 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		msg := "non-canonical S " + string(rune('a'+i))
		sig := ed25519.Sign(priv, []byte(msg))
		var carry uint16
		for j := range 32 { // S += ℓ (S < ℓ < 2^253: no overflow)
			carry += uint16(sig[32+j]) + uint16(groupOrderLE[j])
			sig[32+j] = byte(carry)
			carry >>= 8
		}
		vs = append(vs, struct {
			Number        int
			Key, Sig, Msg string
			Flags         []string
		}{Number: -1 - i, Key: hex.EncodeToString(pub), Sig: hex.EncodeToString(sig), Msg: msg, Flags: []string{"non_canonical_S"}})
	}
	return vs
}

// groupOrderLE is ℓ, Ed25519's group order, little-endian.
var groupOrderLE = [32]byte{0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 31: 0x10}

// TestEd25519NeverMoreLenient: whatever verifySignature accepts,
// crypto/ed25519 accepts. Natively they are the same function; with
// WebCrypto the browser may refuse more (small-order A or R), never less.
func TestEd25519NeverMoreLenient(t *testing.T) {
	stricter := map[string]int{}
	accepted, goAccepted := 0, 0
	for _, v := range ed25519Edge(t) {
		key, err := hex.DecodeString(v.Key)
		require.NoError(t, err)
		sig, err := hex.DecodeString(v.Sig)
		require.NoError(t, err)
		want := ed25519.Verify(key, []byte(v.Msg), sig)
		got := verifySignature(key, []byte(v.Msg), sig)
		require.False(t, got && !want, "vector %d %v: accepted here, refused by crypto/ed25519", v.Number, v.Flags)
		if want {
			goAccepted++
		}
		if got {
			accepted++
		}
		if want && !got {
			for _, f := range v.Flags {
				stricter[f]++
			}
		}
		if CryptoProvider() == "go" {
			require.Equal(t, want, got, "vector %d", v.Number)
		}
		if v.Number < 0 {
			require.False(t, got, "non-canonical S accepted")
		}
	}
	t.Logf("%s: accepted %d of the edge cases, crypto/ed25519 %d; refused here only, by flag: %v", CryptoProvider(), accepted, goAccepted, stricter)

	// Honest signatures all verify, and any altered byte fails.
	for i := range 30 {
		pub, priv, err := ed25519.GenerateKey(rand.Reader)
		require.NoError(t, err)
		msg := make([]byte, i*7)
		rand.Read(msg)
		sig := ed25519.Sign(priv, msg)
		require.True(t, verifySignature(pub, msg, sig))
		bad := bytes.Clone(sig)
		bad[i%64] ^= 1 << (i % 8)
		require.False(t, verifySignature(pub, msg, bad))
		require.False(t, verifySignature(pub, append(msg, 0), sig))
		require.False(t, verifySignature(pub, msg, sig[:63]))
	}
}

// The primitives of a session setup (14 agreements or new key pairs, 3
// verifications), with whatever CryptoProvider is in use: in a browser,
// WebCrypto against the Go fallback (see the dashboard's
// BenchmarkSecurechatPrimitivesInChromium).

func BenchmarkKeyPairAgree(b *testing.B) {
	kp, err := newKeyPair(rand.Reader)
	require.NoError(b, err)
	peer, err := newKeyPair(rand.Reader)
	require.NoError(b, err)
	for b.Loop() {
		if _, err := kp.dh(&peer.pub); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkNewKeyPair(b *testing.B) {
	for b.Loop() {
		if _, err := newKeyPair(rand.Reader); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerifySignature(b *testing.B) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(b, err)
	msg := []byte("finkit/securechat/v1/identity-dh-key and 32 bytes of key")
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !verifySignature(pub, msg, sig) {
			b.Fatal("refused")
		}
	}
}

// Agreements and verifications from many goroutines at once each get
// their own answer (in the WebAssembly build, each waits for its own
// WebCrypto Promise while the others' settle).
func TestX25519ConcurrentAgreements(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	errs := make(chan error, 16)
	for g := range 16 {
		go func() {
			errs <- func() error {
				for i := range 8 {
					var k, u [KeySize]byte
					rand.Read(k[:])
					peer, err := newKeyPair(rand.Reader)
					if err != nil {
						return err
					}
					u = peer.pub
					want, err := ecdhAgree(nil, &k, &u)
					if err != nil {
						return err
					}
					kp, err := keyPairOf(&k)
					if err != nil {
						return err
					}
					got, err := kp.dh(&u)
					if err != nil {
						return err
					}
					if got != want {
						return errors.New("agreement differs from crypto/ecdh")
					}
					msg := []byte{byte(g), byte(i)}
					sig := ed25519.Sign(priv, msg)
					if !verifySignature(pub, msg, sig) || verifySignature(pub, append(msg, 0), sig) {
						return errors.New("verification differs from crypto/ed25519")
					}
				}
				return nil
			}()
		}()
	}
	for range 16 {
		require.NoError(t, <-errs)
	}
}

// Agreements from many goroutines with peers taken in turn from a set
// larger than the WebAssembly build's 32 kept public keys, so kept keys
// are found, dropped and imported again while others use them: every
// answer is crypto/ecdh's for that very peer (a kept key is found by all
// 32 bytes; peers differing in their last byte only, or in bit 255, are
// among them).
func TestX25519KeptKeysUnderConcurrency(t *testing.T) {
	kp, err := newKeyPair(rand.Reader)
	require.NoError(t, err)
	var peers [][KeySize]byte
	for range 40 {
		peer, err := newKeyPair(rand.Reader)
		require.NoError(t, err)
		peers = append(peers, peer.pub)
	}
	for i := range 4 { // the same key but its last byte, and bit 255 set
		u := peers[i]
		u[31] ^= 0x01
		if checkPublicKey(&u) == nil {
			peers = append(peers, u)
		}
		u = peers[i]
		u[31] |= 0x80
		peers = append(peers, u)
	}
	want := make([][KeySize]byte, len(peers))
	wantErr := make([]bool, len(peers))
	for i := range peers {
		out, err := ecdhAgree(nil, &kp.priv, &peers[i])
		want[i], wantErr[i] = out, err != nil
	}
	errs := make(chan error, 8)
	for g := range 8 {
		go func() {
			errs <- func() error {
				for n := range 3 * len(peers) {
					i := (g*7 + n) % len(peers)
					got, err := kp.dh(&peers[i])
					if (err != nil) != wantErr[i] {
						return errors.New("error differs from crypto/ecdh's")
					}
					if err == nil && got != want[i] {
						return errors.New("agreement differs from crypto/ecdh's for its peer")
					}
				}
				return nil
			}()
		}()
	}
	for range 8 {
		require.NoError(t, <-errs)
	}
}
