package securechat

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"io"
	"sort"
	"sync"

	"golang.org/x/crypto/curve25519"
)

const signedPrekeyLabel = "finkit/securechat/v1/signed-prekey"

// MaxOneTimePrekeys bounds how many one-time prekeys one bundle upload (and
// one Prekeys set) may hold.
const MaxOneTimePrekeys = 1000

// SignedPrekey is a medium-term X25519 prekey signed by the owner's
// identity Ed25519 key.
type SignedPrekey struct {
	ID        uint32
	Public    [KeySize]byte
	Signature [ed25519.SignatureSize]byte
}

// OneTimePrekey is a single-use X25519 prekey.
type OneTimePrekey struct {
	ID     uint32
	Public [KeySize]byte
}

// Bundle is what an initiator fetches to start a session: the responder's
// identity, its signed prekey and, while any remain, one one-time prekey.
type Bundle struct {
	Identity      PublicIdentity
	SignedPrekey  SignedPrekey
	OneTimePrekey *OneTimePrekey
}

func signedPrekeyMessage(id uint32, pub *[KeySize]byte) []byte {
	m := make([]byte, 0, len(signedPrekeyLabel)+4+KeySize)
	m = append(m, signedPrekeyLabel...)
	m = binary.BigEndian.AppendUint32(m, id)
	return append(m, pub[:]...)
}

// Verify checks the identity binding and the signed prekey's signature
// (ErrBadSignature) and rejects low-order keys.
func (b *Bundle) Verify() error {
	if err := b.Identity.Verify(); err != nil {
		return err
	}
	sp := &b.SignedPrekey
	if !ed25519.Verify(b.Identity.SigningKey, signedPrekeyMessage(sp.ID, &sp.Public), sp.Signature[:]) {
		return fmt.Errorf("%w: signed prekey %d", ErrBadSignature, sp.ID)
	}
	if err := checkPublicKey(&sp.Public); err != nil {
		return fmt.Errorf("signed prekey: %w", err)
	}
	if b.OneTimePrekey != nil {
		if err := checkPublicKey(&b.OneTimePrekey.Public); err != nil {
			return fmt.Errorf("one-time prekey: %w", err)
		}
	}
	return nil
}

// Marshal encodes b: identity (128) || spk id (4) || spk (32) || spk sig
// (64) || flag (1) [|| opk id (4) || opk (32)].
func (b *Bundle) Marshal() []byte {
	out := b.Identity.Marshal()
	out = appendSignedPrekey(out, &b.SignedPrekey)
	if b.OneTimePrekey == nil {
		return append(out, 0)
	}
	out = append(out, 1)
	out = binary.BigEndian.AppendUint32(out, b.OneTimePrekey.ID)
	return append(out, b.OneTimePrekey.Public[:]...)
}

func appendSignedPrekey(out []byte, sp *SignedPrekey) []byte {
	out = binary.BigEndian.AppendUint32(out, sp.ID)
	out = append(out, sp.Public[:]...)
	return append(out, sp.Signature[:]...)
}

const signedPrekeySize = 4 + KeySize + ed25519.SignatureSize

// ParseBundle decodes and verifies a bundle.
func ParseBundle(data []byte) (*Bundle, error) {
	r := reader{b: data}
	idb := r.bytes(PublicIdentitySize)
	var b Bundle
	sp := r.bytes(signedPrekeySize)
	flag := r.u8()
	if r.err != nil {
		return nil, fmt.Errorf("%w: bundle truncated", ErrMalformed)
	}
	var err error
	if b.Identity, err = ParsePublicIdentity(idb); err != nil {
		return nil, err
	}
	b.SignedPrekey.ID = binary.BigEndian.Uint32(sp)
	copy(b.SignedPrekey.Public[:], sp[4:])
	copy(b.SignedPrekey.Signature[:], sp[4+KeySize:])
	switch flag {
	case 0:
	case 1:
		id := r.u32()
		pub := r.bytes(KeySize)
		if r.err != nil {
			return nil, fmt.Errorf("%w: bundle truncated", ErrMalformed)
		}
		b.OneTimePrekey = &OneTimePrekey{ID: id}
		copy(b.OneTimePrekey.Public[:], pub)
	default:
		return nil, fmt.Errorf("%w: bundle one-time prekey flag %d", ErrMalformed, flag)
	}
	if err := r.end(); err != nil {
		return nil, err
	}
	if err := b.Verify(); err != nil {
		return nil, err
	}
	return &b, nil
}

// PrekeyUpload is what an identity publishes to the relay: its identity,
// its current signed prekey, and a batch of one-time prekeys.
type PrekeyUpload struct {
	Identity     PublicIdentity
	SignedPrekey SignedPrekey
	OneTime      []OneTimePrekey
}

// Marshal encodes u: identity || signed prekey || count (2) || (id || key)*.
func (u *PrekeyUpload) Marshal() []byte {
	out := u.Identity.Marshal()
	out = appendSignedPrekey(out, &u.SignedPrekey)
	out = binary.BigEndian.AppendUint16(out, uint16(len(u.OneTime)))
	for _, k := range u.OneTime {
		out = binary.BigEndian.AppendUint32(out, k.ID)
		out = append(out, k.Public[:]...)
	}
	return out
}

// ParsePrekeyUpload decodes an upload and verifies its signatures.
func ParsePrekeyUpload(data []byte) (*PrekeyUpload, error) {
	r := reader{b: data}
	idb := r.bytes(PublicIdentitySize)
	sp := r.bytes(signedPrekeySize)
	n := int(r.u16())
	if r.err != nil {
		return nil, fmt.Errorf("%w: prekey upload truncated", ErrMalformed)
	}
	if n > MaxOneTimePrekeys {
		return nil, fmt.Errorf("%w: %d one-time prekeys, limit %d", ErrTooLarge, n, MaxOneTimePrekeys)
	}
	if r.remaining() != n*(4+KeySize) {
		return nil, fmt.Errorf("%w: prekey upload length", ErrMalformed)
	}
	var u PrekeyUpload
	var err error
	if u.Identity, err = ParsePublicIdentity(idb); err != nil {
		return nil, err
	}
	u.SignedPrekey.ID = binary.BigEndian.Uint32(sp)
	copy(u.SignedPrekey.Public[:], sp[4:])
	copy(u.SignedPrekey.Signature[:], sp[4+KeySize:])
	seen := make(map[uint32]bool, n)
	for range n {
		k := OneTimePrekey{ID: r.u32()}
		copy(k.Public[:], r.bytes(KeySize))
		if seen[k.ID] {
			return nil, fmt.Errorf("%w: duplicate one-time prekey id %d", ErrMalformed, k.ID)
		}
		seen[k.ID] = true
		if err := checkPublicKey(&k.Public); err != nil {
			return nil, fmt.Errorf("one-time prekey %d: %w", k.ID, err)
		}
		u.OneTime = append(u.OneTime, k)
	}
	b := Bundle{Identity: u.Identity, SignedPrekey: u.SignedPrekey}
	if err := b.Verify(); err != nil {
		return nil, err
	}
	return &u, nil
}

// BundleFor assembles the bundle handed to an initiator from a stored
// upload and (optionally) one one-time prekey taken from it.
func (u *PrekeyUpload) BundleFor(otk *OneTimePrekey) *Bundle {
	return &Bundle{Identity: u.Identity, SignedPrekey: u.SignedPrekey, OneTimePrekey: otk}
}

type keyPair struct {
	priv, pub [KeySize]byte
}

func newKeyPair(r io.Reader) (keyPair, error) {
	var kp keyPair
	if _, err := io.ReadFull(r, kp.priv[:]); err != nil {
		return kp, fmt.Errorf("securechat: key generation: %w", err)
	}
	pub, err := curve25519.X25519(kp.priv[:], curve25519.Basepoint)
	if err != nil {
		return kp, fmt.Errorf("securechat: key generation: %w", err)
	}
	copy(kp.pub[:], pub)
	return kp, nil
}

// Prekeys holds an identity's private prekeys: the current signed prekey,
// the previous one (kept so initial messages in flight during a rotation
// still decrypt), and the unused one-time prekeys. It is safe for
// concurrent use.
type Prekeys struct {
	mu       sync.Mutex
	signed   keyPair
	signedID uint32
	sig      [ed25519.SignatureSize]byte
	prev     *keyPair
	prevID   uint32
	oneTime  map[uint32]keyPair
	nextID   uint32
	rand     io.Reader
}

// NewPrekeys creates a signed prekey (signed by id) and n one-time prekeys.
// r supplies randomness (crypto/rand when nil).
func NewPrekeys(id *Identity, n int, r io.Reader) (*Prekeys, error) {
	if r == nil {
		r = rand.Reader
	}
	p := &Prekeys{oneTime: make(map[uint32]keyPair), nextID: 1, rand: r}
	if err := p.rotate(id); err != nil {
		return nil, err
	}
	if _, err := p.GenerateOneTime(n); err != nil {
		return nil, err
	}
	return p, nil
}

func (p *Prekeys) rotate(id *Identity) error {
	kp, err := newKeyPair(p.rand)
	if err != nil {
		return err
	}
	if p.signedID != 0 {
		old := p.signed
		p.prev, p.prevID = &old, p.signedID
	}
	p.signed, p.signedID = kp, p.nextID
	p.nextID++
	copy(p.sig[:], id.Sign(signedPrekeyMessage(p.signedID, &p.signed.pub)))
	return nil
}

// RotateSignedPrekey replaces the signed prekey, keeping the previous one
// for initial messages already in flight.
func (p *Prekeys) RotateSignedPrekey(id *Identity) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.rotate(id)
}

// GenerateOneTime adds n fresh one-time prekeys and returns their public
// halves.
func (p *Prekeys) GenerateOneTime(n int) ([]OneTimePrekey, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if n < 0 || len(p.oneTime)+n > MaxOneTimePrekeys {
		return nil, fmt.Errorf("%w: at most %d one-time prekeys", ErrTooLarge, MaxOneTimePrekeys)
	}
	out := make([]OneTimePrekey, 0, n)
	for range n {
		kp, err := newKeyPair(p.rand)
		if err != nil {
			return nil, err
		}
		id := p.nextID
		p.nextID++
		p.oneTime[id] = kp
		out = append(out, OneTimePrekey{ID: id, Public: kp.pub})
	}
	return out, nil
}

// Upload returns the public upload for the relay: identity, signed prekey
// and every unused one-time prekey.
func (p *Prekeys) Upload(id *Identity) *PrekeyUpload {
	p.mu.Lock()
	defer p.mu.Unlock()
	u := &PrekeyUpload{Identity: id.Public(), SignedPrekey: SignedPrekey{ID: p.signedID, Public: p.signed.pub, Signature: p.sig}}
	ids := make([]uint32, 0, len(p.oneTime))
	for k := range p.oneTime {
		ids = append(ids, k)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, k := range ids {
		u.OneTime = append(u.OneTime, OneTimePrekey{ID: k, Public: p.oneTime[k].pub})
	}
	return u
}

// OneTimeCount returns the number of unused one-time prekeys.
func (p *Prekeys) OneTimeCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.oneTime)
}

func (p *Prekeys) lookup(spkID uint32, opkID uint32, hasOPK bool) (spk keyPair, opk keyPair, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case spkID == p.signedID:
		spk = p.signed
	case p.prev != nil && spkID == p.prevID:
		spk = *p.prev
	default:
		return spk, opk, fmt.Errorf("%w: signed prekey %d", ErrUnknownPrekey, spkID)
	}
	if hasOPK {
		k, ok := p.oneTime[opkID]
		if !ok {
			return spk, opk, fmt.Errorf("%w: one-time prekey %d", ErrUnknownPrekey, opkID)
		}
		opk = k
	}
	return spk, opk, nil
}

// consume removes a one-time prekey and reports whether it was still there:
// of several concurrent Accepts of the same initial message only one may
// win it.
func (p *Prekeys) consume(opkID uint32) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	k, ok := p.oneTime[opkID]
	if ok {
		clear(k.priv[:])
		delete(p.oneTime, opkID)
	}
	return ok
}

const prekeysVersion = 1

// MarshalBinary serializes the private prekeys (secret material: store it
// as carefully as the identity key).
func (p *Prekeys) MarshalBinary() ([]byte, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	out := []byte{prekeysVersion}
	out = binary.BigEndian.AppendUint32(out, p.nextID)
	out = binary.BigEndian.AppendUint32(out, p.signedID)
	out = append(out, p.signed.priv[:]...)
	out = append(out, p.sig[:]...)
	if p.prev != nil {
		out = append(out, 1)
		out = binary.BigEndian.AppendUint32(out, p.prevID)
		out = append(out, p.prev.priv[:]...)
	} else {
		out = append(out, 0)
	}
	ids := make([]uint32, 0, len(p.oneTime))
	for k := range p.oneTime {
		ids = append(ids, k)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	out = binary.BigEndian.AppendUint16(out, uint16(len(ids)))
	for _, k := range ids {
		out = binary.BigEndian.AppendUint32(out, k)
		kp := p.oneTime[k]
		out = append(out, kp.priv[:]...)
	}
	return out, nil
}

// UnmarshalPrekeys restores prekeys serialized with MarshalBinary.
func UnmarshalPrekeys(data []byte, r io.Reader) (*Prekeys, error) {
	if r == nil {
		r = rand.Reader
	}
	rd := reader{b: data}
	if v := rd.u8(); rd.err == nil && v != prekeysVersion {
		return nil, fmt.Errorf("%w: prekeys version %d", ErrMalformed, v)
	}
	p := &Prekeys{oneTime: make(map[uint32]keyPair), rand: r}
	p.nextID = rd.u32()
	p.signedID = rd.u32()
	fromPriv := func(b []byte) (keyPair, error) {
		var kp keyPair
		copy(kp.priv[:], b)
		pub, err := curve25519.X25519(kp.priv[:], curve25519.Basepoint)
		if err != nil {
			return kp, fmt.Errorf("%w: prekey: %v", ErrMalformed, err)
		}
		copy(kp.pub[:], pub)
		return kp, nil
	}
	sb := rd.bytes(KeySize)
	copy(p.sig[:], rd.bytes(ed25519.SignatureSize))
	hasPrev := rd.u8()
	var pb []byte
	if hasPrev == 1 {
		p.prevID = rd.u32()
		pb = rd.bytes(KeySize)
	} else if hasPrev != 0 {
		return nil, fmt.Errorf("%w: prekeys flag", ErrMalformed)
	}
	n := int(rd.u16())
	if rd.err != nil || n > MaxOneTimePrekeys || rd.remaining() != n*(4+KeySize) {
		return nil, fmt.Errorf("%w: prekeys truncated or oversized", ErrMalformed)
	}
	var err error
	if p.signed, err = fromPriv(sb); err != nil {
		return nil, err
	}
	if pb != nil {
		kp, err := fromPriv(pb)
		if err != nil {
			return nil, err
		}
		p.prev = &kp
	}
	for range n {
		id := rd.u32()
		kp, err := fromPriv(rd.bytes(KeySize))
		if err != nil {
			return nil, err
		}
		if id >= p.nextID {
			return nil, fmt.Errorf("%w: one-time prekey id %d beyond next id", ErrMalformed, id)
		}
		p.oneTime[id] = kp
	}
	return p, nil
}
