package securechat

import (
	"crypto/rand"
	"fmt"
	"io"

	"golang.org/x/crypto/curve25519"
	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
)

// Box sizes, as in NaCl.
const (
	// NonceSize is the size of a box / secretbox nonce.
	NonceSize = 24
	// Overhead is the Poly1305 tag added by box and secretbox.
	Overhead = secretbox.Overhead
	// AnonymousOverhead is what SealAnonymous adds: an ephemeral public key
	// and the tag (libsodium's crypto_box_SEALBYTES).
	AnonymousOverhead = box.AnonymousOverhead
)

// lowOrderProbe is a fixed clamped scalar used to test a public key: a
// point of small order times any clamped scalar (a multiple of 8) is the
// identity, so curve25519.X25519 returns its "low order point" error.
var lowOrderProbe = [KeySize]byte{8, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 64}

// checkPublicKey rejects X25519 public keys of small order.
func checkPublicKey(pub *[KeySize]byte) error {
	if _, err := curve25519.X25519(lowOrderProbe[:], pub[:]); err != nil {
		return fmt.Errorf("%w: %v", ErrLowOrderKey, err)
	}
	return nil
}

// dh computes X25519(priv, pub), rejecting low-order public keys.
func dh(priv, pub *[KeySize]byte) ([KeySize]byte, error) {
	var out [KeySize]byte
	s, err := curve25519.X25519(priv[:], pub[:])
	if err != nil {
		return out, fmt.Errorf("%w: %v", ErrLowOrderKey, err)
	}
	copy(out[:], s)
	return out, nil
}

// BoxPrecompute returns the NaCl box shared key HSalsa20(X25519(priv, peer),
// 0, sigma), the same value as box.Precompute and libsodium's
// crypto_box_beforenm, but it fails with ErrLowOrderKey for a low-order peer
// key instead of silently using the all-zero shared secret. (The check is a
// curve25519.X25519 with a fixed clamped scalar: it fails exactly when any
// clamped scalar would give the all-zero output.)
func BoxPrecompute(peer, priv *[KeySize]byte) (*[KeySize]byte, error) {
	if err := checkPublicKey(peer); err != nil {
		return nil, err
	}
	key := new([KeySize]byte)
	box.Precompute(key, peer, priv)
	return key, nil
}

// BoxSeal appends to out the NaCl crypto_box of msg (tag || ciphertext,
// nonce not included) from priv to peer. It reproduces NaCl/libsodium byte
// for byte and rejects low-order peer keys.
func BoxSeal(out, msg []byte, nonce *[NonceSize]byte, peer, priv *[KeySize]byte) ([]byte, error) {
	key, err := BoxPrecompute(peer, priv)
	if err != nil {
		return nil, err
	}
	return secretbox.Seal(out, msg, nonce, key), nil
}

// BoxOpen authenticates and decrypts a crypto_box made by BoxSeal (or NaCl,
// libsodium, tweetnacl) and appends the plaintext to out.
func BoxOpen(out, boxed []byte, nonce *[NonceSize]byte, peer, priv *[KeySize]byte) ([]byte, error) {
	key, err := BoxPrecompute(peer, priv)
	if err != nil {
		return nil, err
	}
	m, ok := secretbox.Open(out, boxed, nonce, key)
	if !ok {
		return nil, fmt.Errorf("%w: box", ErrAuth)
	}
	return m, nil
}

// SealAnonymous appends to out an anonymous sealed box of msg for
// recipient, in libsodium's crypto_box_seal format (ephemeral public key ||
// tag || ciphertext), using randomness from r (crypto/rand when nil).
func SealAnonymous(out, msg []byte, recipient *[KeySize]byte, r io.Reader) ([]byte, error) {
	if err := checkPublicKey(recipient); err != nil {
		return nil, err
	}
	if r == nil {
		r = rand.Reader
	}
	sealed, err := box.SealAnonymous(out, msg, recipient, r)
	if err != nil {
		return nil, fmt.Errorf("securechat: seal anonymous: %w", err)
	}
	return sealed, nil
}

// OpenAnonymous opens a sealed box made for (pub, priv) and appends the
// plaintext to out. A low-order ephemeral key is rejected.
func OpenAnonymous(out, sealed []byte, pub, priv *[KeySize]byte) ([]byte, error) {
	if len(sealed) < AnonymousOverhead {
		return nil, fmt.Errorf("%w: sealed box shorter than %d bytes", ErrAuth, AnonymousOverhead)
	}
	var eph [KeySize]byte
	copy(eph[:], sealed[:KeySize])
	if err := checkPublicKey(&eph); err != nil {
		return nil, fmt.Errorf("%w: sealed box ephemeral key: %w", ErrAuth, err)
	}
	m, ok := box.OpenAnonymous(out, sealed, pub, priv)
	if !ok {
		return nil, fmt.Errorf("%w: sealed box", ErrAuth)
	}
	return m, nil
}

// SealTo encrypts msg from id to peer with an authenticated box under a
// random nonce; the result is nonce || box. Both sides' identity X25519 keys
// are used, so the recipient learns who sent it (but there is no forward
// secrecy: use a Session for conversations).
//
// peer must verify (its Ed25519 key vouches for its X25519 key); otherwise
// ErrBadSignature.
func (id *Identity) SealTo(peer PublicIdentity, msg []byte) ([]byte, error) {
	if err := peer.Verify(); err != nil {
		return nil, fmt.Errorf("securechat: seal to %s: %w", peer.ID(), err)
	}
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return nil, fmt.Errorf("securechat: nonce: %w", err)
	}
	out := make([]byte, NonceSize, NonceSize+len(msg)+Overhead)
	copy(out, nonce[:])
	return BoxSeal(out, msg, &nonce, &peer.DHKey, &id.dh)
}

// OpenFrom authenticates and decrypts a SealTo result sent by peer. Like
// SealTo it refuses a peer identity that does not verify (ErrBadSignature).
func (id *Identity) OpenFrom(peer PublicIdentity, sealed []byte) ([]byte, error) {
	if err := peer.Verify(); err != nil {
		return nil, fmt.Errorf("securechat: open from %s: %w", peer.ID(), err)
	}
	if len(sealed) < NonceSize+Overhead {
		return nil, fmt.Errorf("%w: sealed message too short", ErrAuth)
	}
	var nonce [NonceSize]byte
	copy(nonce[:], sealed[:NonceSize])
	return BoxOpen(nil, sealed[NonceSize:], &nonce, &peer.DHKey, &id.dh)
}

// OpenAnonymous opens a sealed box addressed to id's X25519 key.
func (id *Identity) OpenAnonymous(sealed []byte) ([]byte, error) {
	return OpenAnonymous(nil, sealed, &id.pub.DHKey, &id.dh)
}
