package securechat

import (
	"crypto/rand"
	"io"

	"golang.org/x/crypto/nacl/box"
	"golang.org/x/crypto/nacl/secretbox"
	//lint:ignore SA1019 HSalsa20 is crypto_box_beforenm's key derivation; x/crypto exports it nowhere else, and nacl/box uses this package itself.
	"golang.org/x/crypto/salsa20/salsa"
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

// lowOrderPoints are the encodings of the X25519 u-coordinates of small
// order, with bit 255 clear (X25519 ignores it): 0, 1 and p-1, the two
// points of order 8, and p and p+1 (non-canonical 0 and 1). A point of the
// curve's 8-torsion or the twist's 4-torsion times any clamped scalar (a
// multiple of 8) is the identity, so X25519 with such a key gives the
// all-zero output whatever the private key; any other u does not. This is
// libsodium's list (crypto_scalarmult_curve25519's has_small_order), and
// the tests check it against X25519 itself.
var lowOrderPoints = [...][KeySize]byte{
	{},
	{1},
	{0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00},
	{0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57},
	{0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
	{0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f},
}

// checkPublicKey rejects X25519 public keys of small order. It compares
// with lowOrderPoints instead of running X25519 with a probe scalar: the
// same answer for a table look-up instead of a scalar multiplication (the
// costliest step of a session setup in WebAssembly, done for every key of
// a bundle).
func checkPublicKey(pub *[KeySize]byte) error {
	u := *pub
	u[31] &= 0x7f
	for i := range lowOrderPoints {
		if u == lowOrderPoints[i] {
			return errorf("%w: bad input point: low order point", ErrLowOrderKey)
		}
	}
	return nil
}

// BoxPrecompute returns the NaCl box shared key HSalsa20(X25519(priv, peer),
// 0, sigma), the same value as box.Precompute and libsodium's
// crypto_box_beforenm, but it fails with ErrLowOrderKey for a low-order peer
// key instead of silently using the all-zero shared secret. (The check is a
// curve25519.X25519 with a fixed clamped scalar: it fails exactly when any
// clamped scalar would give the all-zero output.)
func BoxPrecompute(peer, priv *[KeySize]byte) (*[KeySize]byte, error) {
	return boxKey(&keyPair{priv: *priv}, peer)
}

// boxKey is BoxPrecompute with a loaded key pair (an identity's, whose
// SealTo and OpenFrom then cost one scalar multiplication, not two).
func boxKey(kp *keyPair, peer *[KeySize]byte) (*[KeySize]byte, error) {
	if err := checkPublicKey(peer); err != nil {
		return nil, err
	}
	shared, err := kp.dh(peer)
	if err != nil {
		return nil, err
	}
	var zero [16]byte
	key := new([KeySize]byte)
	salsa.HSalsa20(key, &zero, &shared, &salsa.Sigma)
	clear(shared[:])
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
		return nil, errorf("%w: box", ErrAuth)
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
		return nil, errorf("securechat: seal anonymous: %w", err)
	}
	return sealed, nil
}

// OpenAnonymous opens a sealed box made for (pub, priv) and appends the
// plaintext to out. A low-order ephemeral key is rejected.
func OpenAnonymous(out, sealed []byte, pub, priv *[KeySize]byte) ([]byte, error) {
	if len(sealed) < AnonymousOverhead {
		return nil, errorf("%w: sealed box shorter than %d bytes", ErrAuth, AnonymousOverhead)
	}
	var eph [KeySize]byte
	copy(eph[:], sealed[:KeySize])
	if err := checkPublicKey(&eph); err != nil {
		return nil, errorf("%w: sealed box ephemeral key: %w", ErrAuth, err)
	}
	m, ok := box.OpenAnonymous(out, sealed, pub, priv)
	if !ok {
		return nil, errorf("%w: sealed box", ErrAuth)
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
		return nil, errorf("securechat: seal to %s: %w", peer.ID(), err)
	}
	var nonce [NonceSize]byte
	if _, err := io.ReadFull(rand.Reader, nonce[:]); err != nil {
		return nil, errorf("securechat: nonce: %w", err)
	}
	out := make([]byte, NonceSize, NonceSize+len(msg)+Overhead)
	copy(out, nonce[:])
	key, err := boxKey(&id.dhKey, &peer.DHKey)
	if err != nil {
		return nil, err
	}
	return secretbox.Seal(out, msg, &nonce, key), nil
}

// OpenFrom authenticates and decrypts a SealTo result sent by peer. Like
// SealTo it refuses a peer identity that does not verify (ErrBadSignature).
func (id *Identity) OpenFrom(peer PublicIdentity, sealed []byte) ([]byte, error) {
	if err := peer.Verify(); err != nil {
		return nil, errorf("securechat: open from %s: %w", peer.ID(), err)
	}
	if len(sealed) < NonceSize+Overhead {
		return nil, errorf("%w: sealed message too short", ErrAuth)
	}
	var nonce [NonceSize]byte
	copy(nonce[:], sealed[:NonceSize])
	key, err := boxKey(&id.dhKey, &peer.DHKey)
	if err != nil {
		return nil, err
	}
	m, ok := secretbox.Open(nil, sealed[NonceSize:], &nonce, key)
	if !ok {
		return nil, errorf("%w: box", ErrAuth)
	}
	return m, nil
}

// OpenAnonymous opens a sealed box addressed to id's X25519 key.
func (id *Identity) OpenAnonymous(sealed []byte) ([]byte, error) {
	return OpenAnonymous(nil, sealed, &id.pub.DHKey, &id.dh)
}
