//go:build !js

package securechat

import (
	"crypto/ecdh"
	"crypto/ed25519"
)

// x25519Key is a private key loaded for agreement: natively crypto/ecdh's.
type x25519Key = *ecdh.PrivateKey

func loadX25519(priv *[KeySize]byte) (x25519Key, [KeySize]byte, error) {
	return ecdhLoad(priv)
}

func agreeX25519(kp *keyPair, pub *[KeySize]byte) ([KeySize]byte, error) {
	return ecdhAgree(kp.k, &kp.priv, pub)
}

// verifySignature is ed25519.Verify; pub must be ed25519.PublicKeySize
// bytes long.
func verifySignature(pub ed25519.PublicKey, msg, sig []byte) bool {
	return ed25519.Verify(pub, msg, sig)
}

// CryptoProvider names what does the package's X25519 agreements and
// Ed25519 verifications: "go" (crypto/ecdh and crypto/ed25519) in this
// build. In the WebAssembly build (GOOS=js) it is "webcrypto" when the
// JavaScript environment's crypto.subtle does both X25519 and Ed25519
// (checked once, against known answers, at the first use), "go"
// otherwise.
func CryptoProvider() string { return "go" }
