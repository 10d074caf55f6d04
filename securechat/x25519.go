package securechat

import (
	"crypto/ecdh"
	"io"
)

// keyPair is an X25519 key pair loaded for key agreement. crypto/ecdh,
// which curve25519.X25519 goes through, computes the public key whenever
// it loads a private key: a scalar multiplication, as costly as the
// agreement itself. curve25519.X25519(priv, pub) therefore costs two
// multiplications per agreement, and X25519(priv, Basepoint) two per
// public key. A keyPair loads its private key once, when it is made (the
// public key is needed anyway), and each agreement then costs one: a
// session setup makes 14 multiplications instead of 28, which matters
// most in WebAssembly, where each takes about a millisecond.
//
// What the loaded key is depends on the build (x25519_other.go,
// x25519_js.go): crypto/ecdh's private key natively; in the WebAssembly
// build the browser's WebCrypto key when crypto.subtle does X25519, with
// crypto/ecdh as the fallback.
type keyPair struct {
	priv, pub [KeySize]byte
	k         x25519Key // priv, loaded; nil in a keyPair built field by field
}

// keyPairOf loads priv and computes its public key.
func keyPairOf(priv *[KeySize]byte) (keyPair, error) {
	k, pub, err := loadX25519(priv)
	if err != nil {
		return keyPair{}, err
	}
	return keyPair{priv: *priv, pub: pub, k: k}, nil
}

// newKeyPair makes a key pair from 32 bytes of r.
func newKeyPair(r io.Reader) (keyPair, error) {
	var priv [KeySize]byte
	if _, err := io.ReadFull(r, priv[:]); err != nil {
		return keyPair{}, errorf("securechat: key generation: %w", err)
	}
	kp, err := keyPairOf(&priv)
	clear(priv[:])
	if err != nil {
		return keyPair{}, errorf("securechat: key generation: %w", err)
	}
	return kp, nil
}

// dh computes X25519(kp.priv, pub), rejecting public keys of small order
// (the all-zero output) with ErrLowOrderKey.
func (kp *keyPair) dh(pub *[KeySize]byte) ([KeySize]byte, error) {
	return agreeX25519(kp, pub)
}

// ecdhLoad loads priv into crypto/ecdh and returns its public key.
func ecdhLoad(priv *[KeySize]byte) (*ecdh.PrivateKey, [KeySize]byte, error) {
	var pub [KeySize]byte
	k, err := ecdh.X25519().NewPrivateKey(priv[:])
	if err != nil {
		return nil, pub, err
	}
	copy(pub[:], k.PublicKey().Bytes())
	return k, pub, nil
}

// ecdhAgree is X25519(k, pub) with crypto/ecdh (k nil: priv loaded for
// this agreement only), its all-zero output refused as ErrLowOrderKey.
func ecdhAgree(k *ecdh.PrivateKey, priv, pub *[KeySize]byte) ([KeySize]byte, error) {
	var out [KeySize]byte
	if k == nil {
		var err error
		if k, err = ecdh.X25519().NewPrivateKey(priv[:]); err != nil {
			return out, err
		}
	}
	p, err := ecdh.X25519().NewPublicKey(pub[:])
	if err != nil {
		return out, errorf("%w: %v", ErrLowOrderKey, err)
	}
	s, err := k.ECDH(p)
	if err != nil {
		return out, errorf("%w: %v", ErrLowOrderKey, err)
	}
	copy(out[:], s)
	return out, nil
}
