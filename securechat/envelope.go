package securechat

import (
	"encoding/binary"
)

// Wire envelope limits.
const (
	// EnvelopeVersion is the only envelope version this package speaks.
	// Version 2 carries a random nonce; version 1 (fixed zero nonce, see
	// the package documentation) is refused.
	EnvelopeVersion = 2
	// MaxPlaintextSize is the largest message a Session encrypts.
	MaxPlaintextSize = 64 << 10
	// MaxCiphertextSize is the largest ciphertext an envelope may carry.
	MaxCiphertextSize = MaxPlaintextSize + Overhead
	// MaxEnvelopeSize bounds an encoded envelope; the decoder rejects
	// anything longer before looking at it.
	MaxEnvelopeSize = 1024 + MaxCiphertextSize
)

// MessageType tells an initial (session-creating) message from a normal one.
type MessageType uint8

// Message types.
const (
	// TypeInitial carries an X3DH prekey header so the recipient can create
	// the session.
	TypeInitial MessageType = 1
	// TypeNormal is a Double Ratchet message in an existing session.
	TypeNormal MessageType = 2
)

// RatchetHeader is the Double Ratchet header: the sender's current ratchet
// public key, the length of its previous sending chain, and the message
// number in the current chain.
type RatchetHeader struct {
	DH [KeySize]byte
	PN uint32
	N  uint32
}

// PrekeyHeader is what an initial message adds so the responder can run
// X3DH: the initiator's identity, its ephemeral (base) key, and which of the
// responder's prekeys were used.
type PrekeyHeader struct {
	Identity       PublicIdentity
	BaseKey        [KeySize]byte
	SignedPrekeyID uint32
	HasOneTime     bool
	OneTimeID      uint32
}

// Envelope is the unit the relay stores and forwards. Everything except the
// ciphertext is visible to the relay; everything (including the nonce and
// the ciphertext length) is authenticated by the message key derivation,
// see the package documentation.
//
// Encoding (big endian):
//
//	version (1) = 2 || type (1) || len (1) || sender || len (1) || recipient ||
//	[prekey header (169), type initial only] ||
//	ratchet DH (32) || PN (4) || N (4) || nonce (24) ||
//	ciphertext len (4) || ciphertext
type Envelope struct {
	Version    uint8
	Type       MessageType
	Sender     PeerID
	Recipient  PeerID
	Prekey     *PrekeyHeader
	Header     RatchetHeader
	Nonce      [NonceSize]byte // random per message, see the package documentation
	Ciphertext []byte
}

const prekeyHeaderSize = PublicIdentitySize + KeySize + 4 + 1 + 4

// appendAuthData appends every envelope field but the ciphertext bytes.
func (e *Envelope) appendAuthData(out []byte) []byte {
	out = append(out, e.Version, byte(e.Type))
	out = append(out, byte(len(e.Sender)))
	out = append(out, e.Sender...)
	out = append(out, byte(len(e.Recipient)))
	out = append(out, e.Recipient...)
	if e.Type == TypeInitial && e.Prekey != nil {
		p := e.Prekey
		out = append(out, p.Identity.Marshal()...)
		out = append(out, p.BaseKey[:]...)
		out = binary.BigEndian.AppendUint32(out, p.SignedPrekeyID)
		if p.HasOneTime {
			out = append(out, 1)
		} else {
			out = append(out, 0)
		}
		out = binary.BigEndian.AppendUint32(out, p.OneTimeID)
	}
	out = append(out, e.Header.DH[:]...)
	out = binary.BigEndian.AppendUint32(out, e.Header.PN)
	out = binary.BigEndian.AppendUint32(out, e.Header.N)
	out = append(out, e.Nonce[:]...)
	return binary.BigEndian.AppendUint32(out, uint32(len(e.Ciphertext)))
}

// Marshal encodes e.
func (e *Envelope) Marshal() []byte {
	out := make([]byte, 0, 128+prekeyHeaderSize+len(e.Ciphertext))
	out = e.appendAuthData(out)
	return append(out, e.Ciphertext...)
}

// ParseEnvelope strictly decodes an envelope: known version and type, valid
// peer ids, exact lengths, no trailing bytes, size limits checked before
// any allocation. It does not verify signatures (Accept verifies the
// initiator identity of an initial message). The returned envelope does not
// alias data.
func ParseEnvelope(data []byte) (*Envelope, error) {
	if len(data) > MaxEnvelopeSize {
		return nil, errorf("%w: envelope of %d bytes, limit %d", ErrTooLarge, len(data), MaxEnvelopeSize)
	}
	r := reader{b: data}
	e := &Envelope{Version: r.u8(), Type: MessageType(r.u8())}
	if r.err != nil {
		return nil, errorf("%w: envelope truncated", ErrMalformed)
	}
	if e.Version != EnvelopeVersion {
		// Version 1 used a fixed nonce (a rolled-back sender reused its
		// keystream); it is not accepted, not even for decryption.
		return nil, errorf("%w: envelope version %d, want %d", ErrMalformed, e.Version, EnvelopeVersion)
	}
	if e.Type != TypeInitial && e.Type != TypeNormal {
		return nil, errorf("%w: envelope type %d", ErrMalformed, e.Type)
	}
	var err error
	if e.Sender, err = ParsePeerID(string(r.bytes(int(r.u8())))); err != nil {
		return nil, errorf("envelope sender: %w", err)
	}
	if e.Recipient, err = ParsePeerID(string(r.bytes(int(r.u8())))); err != nil {
		return nil, errorf("envelope recipient: %w", err)
	}
	if e.Type == TypeInitial {
		p := &PrekeyHeader{}
		idb := r.bytes(PublicIdentitySize)
		copy(p.BaseKey[:], r.bytes(KeySize))
		p.SignedPrekeyID = r.u32()
		switch r.u8() {
		case 0:
		case 1:
			p.HasOneTime = true
		default:
			return nil, errorf("%w: prekey header flag", ErrMalformed)
		}
		p.OneTimeID = r.u32()
		if r.err != nil {
			return nil, errorf("%w: prekey header truncated", ErrMalformed)
		}
		if !p.HasOneTime && p.OneTimeID != 0 {
			return nil, errorf("%w: one-time prekey id without flag", ErrMalformed)
		}
		// Only decoded here: the relay has no use for the signature check and
		// Accept verifies the identity before using it (a tampered identity
		// in an existing session's message fails authentication anyway,
		// because the whole prekey header is bound into the message key).
		if p.Identity, err = decodePublicIdentity(idb); err != nil {
			return nil, errorf("prekey header: %w", err)
		}
		if p.Identity.ID() != e.Sender {
			return nil, errorf("%w: prekey header identity is not the sender", ErrMalformed)
		}
		e.Prekey = p
	}
	copy(e.Header.DH[:], r.bytes(KeySize))
	e.Header.PN = r.u32()
	e.Header.N = r.u32()
	copy(e.Nonce[:], r.bytes(NonceSize))
	n := r.u32()
	if r.err != nil {
		return nil, errorf("%w: envelope header truncated", ErrMalformed)
	}
	if n > MaxCiphertextSize {
		return nil, errorf("%w: ciphertext of %d bytes, limit %d", ErrTooLarge, n, MaxCiphertextSize)
	}
	if n < Overhead {
		return nil, errorf("%w: ciphertext shorter than the tag", ErrMalformed)
	}
	if uint32(r.remaining()) != n {
		return nil, errorf("%w: ciphertext length %d, %d bytes follow", ErrMalformed, n, r.remaining())
	}
	e.Ciphertext = append([]byte(nil), r.bytes(int(n))...)
	return e, nil
}
