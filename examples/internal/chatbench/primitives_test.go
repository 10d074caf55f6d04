package chatbench

import (
	"crypto/ecdh"
	"crypto/ed25519"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/secretbox"

	"github.com/finkit/finkit/securechat"
)

// The primitives an X3DH setup and a ratchet message are made of, to see
// where the time of BenchmarkSetup and BenchmarkMessage1KiB goes (natively,
// and in WebAssembly: GOOS=js GOARCH=wasm go test -bench . -exec
// go_js_wasm_exec runs them in Node's V8, the engine of Chromium). These
// call crypto/ecdh and crypto/ed25519 directly; securechat itself, under
// GOOS=js, uses the environment's WebCrypto when it has X25519 and
// Ed25519 (securechat.CryptoProvider), which Node 20 has but runs slower
// than Chromium (about 1.2 ms an import and agreement, against 0.1-0.3
// ms): BenchmarkSetup under Node is no measure of the browser's; the
// dashboard's BenchmarkChatInChromium is.

// BenchmarkX25519XCrypto is curve25519.X25519(priv, pub): crypto/ecdh
// loads the private key (computing its public key, a scalar
// multiplication) and then agrees: two multiplications.
func BenchmarkX25519XCrypto(b *testing.B) {
	var priv [32]byte
	rand.Read(priv[:])
	pub, _ := curve25519.X25519(priv[:], curve25519.Basepoint)
	for b.Loop() {
		if _, err := curve25519.X25519(priv[:], pub); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkX25519Loaded is an agreement with a key loaded once, as
// securechat's key pairs do: one multiplication.
func BenchmarkX25519Loaded(b *testing.B) {
	k, _ := ecdh.X25519().GenerateKey(rand.Reader)
	peer, _ := ecdh.X25519().GenerateKey(rand.Reader)
	for b.Loop() {
		if _, err := k.ECDH(peer.PublicKey()); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkEd25519Sign(b *testing.B) {
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 64)
	for b.Loop() {
		ed25519.Sign(priv, msg)
	}
}

func BenchmarkEd25519Verify(b *testing.B) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	msg := make([]byte, 64)
	sig := ed25519.Sign(priv, msg)
	for b.Loop() {
		if !ed25519.Verify(pub, msg, sig) {
			b.Fatal("bad signature")
		}
	}
}

func BenchmarkHKDF(b *testing.B) {
	ikm := make([]byte, 32)
	for b.Loop() {
		if _, err := hkdf.Key(sha256.New, ikm, ikm, "info", 64); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkSecretbox1KiB(b *testing.B) {
	var key [32]byte
	var nonce [24]byte
	msg := make([]byte, MessageSize)
	b.SetBytes(MessageSize)
	for b.Loop() {
		ct := secretbox.Seal(nil, msg, &nonce, &key)
		if _, ok := secretbox.Open(nil, ct, &nonce, &key); !ok {
			b.Fatal("open")
		}
	}
}

func BenchmarkParsePublicIdentity(b *testing.B) {
	id, _ := securechat.GenerateIdentity(nil)
	raw := id.Public().Marshal()
	for b.Loop() {
		if _, err := securechat.ParsePublicIdentity(raw); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInitiate(b *testing.B) {
	initiator, _ := securechat.GenerateIdentity(nil)
	for b.Loop() {
		b.StopTimer()
		r, err := NewResponder()
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := securechat.Initiate(initiator, r.Bundle, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRandNonce(b *testing.B) {
	var nonce [24]byte
	for b.Loop() {
		rand.Read(nonce[:])
	}
}

func BenchmarkEncrypt1KiB(b *testing.B) {
	initiator, _ := securechat.GenerateIdentity(nil)
	r, _ := NewResponder()
	alice, bob, err := Setup(initiator, r)
	if err != nil {
		b.Fatal(err)
	}
	msg := make([]byte, MessageSize)
	if err := Exchange(bob, alice, msg); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := alice.Encrypt(msg); err != nil {
			b.Fatal(err)
		}
	}
}
