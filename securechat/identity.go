package securechat

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"io"
)

// KeySize is the size of X25519 keys and Ed25519 public keys.
const KeySize = 32

// PublicIdentitySize is the encoded size of a PublicIdentity.
const PublicIdentitySize = ed25519.PublicKeySize + KeySize + ed25519.SignatureSize

// identityBindingLabel prefixes what the Ed25519 key signs to vouch for the
// X25519 key of the same identity.
const identityBindingLabel = "finkit/securechat/v1/identity-dh-key"

// PeerID names a party on the relay: the unpadded base64url encoding of its
// Ed25519 public key (43 characters). It is derived, not chosen, so nobody
// can claim another party's id without its signing key.
type PeerID string

// ParsePeerID checks that s is a well-formed PeerID.
func ParsePeerID(s string) (PeerID, error) {
	if len(s) != base64.RawURLEncoding.EncodedLen(ed25519.PublicKeySize) {
		return "", errorf("%w: peer id must be %d characters, got %d", ErrMalformed, base64.RawURLEncoding.EncodedLen(ed25519.PublicKeySize), len(s))
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s)
	if err != nil || len(b) != ed25519.PublicKeySize {
		return "", errorf("%w: peer id is not base64url", ErrMalformed)
	}
	return PeerID(s), nil
}

// PublicIdentity is what others know about a party: its Ed25519 signing key,
// its X25519 key-agreement key, and the Ed25519 signature that binds the two.
type PublicIdentity struct {
	SigningKey ed25519.PublicKey
	DHKey      [KeySize]byte
	Binding    [ed25519.SignatureSize]byte
}

// ID returns the PeerID of p.
func (p PublicIdentity) ID() PeerID {
	return PeerID(base64.RawURLEncoding.EncodeToString(p.SigningKey))
}

// Verify checks the binding signature and rejects a low-order X25519 key.
func (p PublicIdentity) Verify() error {
	if len(p.SigningKey) != ed25519.PublicKeySize {
		return errorf("%w: identity signing key has %d bytes", ErrMalformed, len(p.SigningKey))
	}
	if !verifySignature(p.SigningKey, bindingMessage(&p.DHKey), p.Binding[:]) {
		return errorf("%w: identity key binding", ErrBadSignature)
	}
	if err := checkPublicKey(&p.DHKey); err != nil {
		return errorf("identity key: %w", err)
	}
	return nil
}

// Marshal encodes p as SigningKey || DHKey || Binding (128 bytes).
func (p PublicIdentity) Marshal() []byte {
	out := make([]byte, 0, PublicIdentitySize)
	out = append(out, p.SigningKey...)
	out = append(out, p.DHKey[:]...)
	return append(out, p.Binding[:]...)
}

// Equal reports whether p and q are the same identity.
func (p PublicIdentity) Equal(q PublicIdentity) bool {
	return p.SigningKey.Equal(q.SigningKey) && p.DHKey == q.DHKey
}

// ParsePublicIdentity decodes and verifies an encoded PublicIdentity.
func ParsePublicIdentity(b []byte) (PublicIdentity, error) {
	p, err := decodePublicIdentity(b)
	if err != nil {
		return PublicIdentity{}, err
	}
	if err := p.Verify(); err != nil {
		return PublicIdentity{}, err
	}
	return p, nil
}

// decodePublicIdentity only splits the fields; callers verify before use.
func decodePublicIdentity(b []byte) (PublicIdentity, error) {
	if len(b) != PublicIdentitySize {
		return PublicIdentity{}, errorf("%w: public identity must be %d bytes, got %d", ErrMalformed, PublicIdentitySize, len(b))
	}
	var p PublicIdentity
	p.SigningKey = ed25519.PublicKey(append([]byte(nil), b[:32]...))
	copy(p.DHKey[:], b[32:64])
	copy(p.Binding[:], b[64:])
	return p, nil
}

func bindingMessage(dh *[KeySize]byte) []byte {
	m := make([]byte, 0, len(identityBindingLabel)+KeySize)
	m = append(m, identityBindingLabel...)
	return append(m, dh[:]...)
}

// Identity is a party's long-term secret: an Ed25519 signing key and an
// independent X25519 key-agreement key. The X25519 key is not derived from
// the Ed25519 key; instead the Ed25519 key signs it (the identity binding),
// so the Ed25519 key alone names the party (PeerID) and vouches for the
// X25519 key used in X3DH and in box.
type Identity struct {
	signing ed25519.PrivateKey
	dh      [KeySize]byte
	dhKey   keyPair // dh, loaded for key agreement
	pub     PublicIdentity
}

// GenerateIdentity creates a new identity from r (crypto/rand when nil).
func GenerateIdentity(r io.Reader) (*Identity, error) {
	if r == nil {
		r = rand.Reader
	}
	var seed [ed25519.SeedSize]byte
	var dh [KeySize]byte
	if _, err := io.ReadFull(r, seed[:]); err != nil {
		return nil, errorf("securechat: generate identity: %w", err)
	}
	if _, err := io.ReadFull(r, dh[:]); err != nil {
		return nil, errorf("securechat: generate identity: %w", err)
	}
	return identityFromSecrets(seed[:], &dh)
}

func identityFromSecrets(seed []byte, dh *[KeySize]byte) (*Identity, error) {
	if len(seed) != ed25519.SeedSize {
		return nil, errorf("%w: signing seed must be %d bytes", ErrMalformed, ed25519.SeedSize)
	}
	priv := ed25519.NewKeyFromSeed(seed)
	kp, err := keyPairOf(dh)
	if err != nil {
		return nil, errorf("%w: x25519 key: %v", ErrMalformed, err)
	}
	id := &Identity{signing: priv, dh: *dh, dhKey: kp}
	id.pub.SigningKey = priv.Public().(ed25519.PublicKey)
	id.pub.DHKey = kp.pub
	copy(id.pub.Binding[:], ed25519.Sign(priv, bindingMessage(&id.pub.DHKey)))
	return id, nil
}

// Public returns the public half of id.
func (id *Identity) Public() PublicIdentity { return id.pub }

// ID returns the PeerID of id.
func (id *Identity) ID() PeerID { return id.pub.ID() }

// Sign signs msg with the identity's Ed25519 key.
func (id *Identity) Sign(msg []byte) []byte { return ed25519.Sign(id.signing, msg) }
