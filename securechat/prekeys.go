package securechat

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/binary"
	"io"
	"slices"
	"sync"
	"time"
)

const signedPrekeyLabel = "finkit/securechat/v1/signed-prekey"

// MaxOneTimePrekeys bounds how many one-time prekeys one bundle upload (and
// one Prekeys set) may hold.
const MaxOneTimePrekeys = 1000

// MaxBaseKeysPerSignedPrekey bounds the record Prekeys keeps, per signed
// prekey, of the base keys of initial messages accepted without a one-time
// prekey (those with one are refused on replay because the one-time prekey
// is gone). A replay of such a message is refused with ErrReplay, also
// after a restart, because the record is part of MarshalBinary. When the
// record of a signed prekey is full, further initial messages without a
// one-time prekey under it are refused (ErrUnknownPrekey) until it is
// rotated; Client rotates well before that (Prekeys.NeedsRotation).
const MaxBaseKeysPerSignedPrekey = 1000

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
	if !verifySignature(b.Identity.SigningKey, signedPrekeyMessage(sp.ID, &sp.Public), sp.Signature[:]) {
		return errorf("%w: signed prekey %d", ErrBadSignature, sp.ID)
	}
	if err := checkPublicKey(&sp.Public); err != nil {
		return errorf("signed prekey: %w", err)
	}
	if b.OneTimePrekey != nil {
		if err := checkPublicKey(&b.OneTimePrekey.Public); err != nil {
			return errorf("one-time prekey: %w", err)
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
		return nil, errorf("%w: bundle truncated", ErrMalformed)
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
			return nil, errorf("%w: bundle truncated", ErrMalformed)
		}
		b.OneTimePrekey = &OneTimePrekey{ID: id}
		copy(b.OneTimePrekey.Public[:], pub)
	default:
		return nil, errorf("%w: bundle one-time prekey flag %d", ErrMalformed, flag)
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
		return nil, errorf("%w: prekey upload truncated", ErrMalformed)
	}
	if n > MaxOneTimePrekeys {
		return nil, errorf("%w: %d one-time prekeys, limit %d", ErrTooLarge, n, MaxOneTimePrekeys)
	}
	if r.remaining() != n*(4+KeySize) {
		return nil, errorf("%w: prekey upload length", ErrMalformed)
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
			return nil, errorf("%w: duplicate one-time prekey id %d", ErrMalformed, k.ID)
		}
		seen[k.ID] = true
		if err := checkPublicKey(&k.Public); err != nil {
			return nil, errorf("one-time prekey %d: %w", k.ID, err)
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

// Prekeys holds an identity's private prekeys: the current signed prekey,
// the previous one (kept so initial messages in flight during a rotation
// still decrypt), and the unused one-time prekeys. It is safe for
// concurrent use.
type Prekeys struct {
	mu       sync.Mutex
	signed   keyPair
	signedID uint32
	signedAt int64 // unix seconds when the signed prekey was made; 0 if unknown
	sig      [ed25519.SignatureSize]byte
	seen     baseKeySet // accepted without a one-time prekey under signed
	prev     *keyPair
	prevID   uint32
	prevSeen baseKeySet
	oneTime  map[uint32]keyPair
	nextID   uint32
	rand     io.Reader
	now      func() time.Time
}

// baseKeySet is the record of base keys accepted under one signed prekey.
type baseKeySet map[[KeySize]byte]struct{}

// NewPrekeys creates a signed prekey (signed by id) and n one-time prekeys.
// r supplies randomness (crypto/rand when nil).
func NewPrekeys(id *Identity, n int, r io.Reader) (*Prekeys, error) {
	if r == nil {
		r = rand.Reader
	}
	p := &Prekeys{oneTime: make(map[uint32]keyPair), nextID: 1, rand: r, now: time.Now}
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
		p.prev, p.prevID, p.prevSeen = &old, p.signedID, p.seen
	}
	p.signed, p.signedID, p.seen = kp, p.nextID, baseKeySet{}
	p.signedAt = p.now().Unix()
	p.nextID++
	copy(p.sig[:], id.Sign(signedPrekeyMessage(p.signedID, &p.signed.pub)))
	return nil
}

// RotateSignedPrekey replaces the signed prekey, keeping the previous one
// (and its record of accepted base keys) for initial messages already in
// flight; the one before it is forgotten.
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
		return nil, errorf("%w: at most %d one-time prekeys", ErrTooLarge, MaxOneTimePrekeys)
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

// Replenish adds n fresh one-time prekeys like GenerateOneTime, but first
// forgets the oldest unused ones as far as needed to stay within
// MaxOneTimePrekeys. The relay hands one-time prekeys out lowest id first,
// so the oldest are those handed out longest ago whose initial message
// never came (or never will).
func (p *Prekeys) Replenish(n int) ([]OneTimePrekey, error) {
	if n < 0 || n > MaxOneTimePrekeys {
		return nil, errorf("%w: at most %d one-time prekeys", ErrTooLarge, MaxOneTimePrekeys)
	}
	p.mu.Lock()
	if extra := len(p.oneTime) + n - MaxOneTimePrekeys; extra > 0 {
		ids := make([]uint32, 0, len(p.oneTime))
		for id := range p.oneTime {
			ids = append(ids, id)
		}
		slices.Sort(ids)
		for _, id := range ids[:extra] {
			k := p.oneTime[id]
			clear(k.priv[:])
			delete(p.oneTime, id)
		}
	}
	p.mu.Unlock()
	return p.GenerateOneTime(n)
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
	slices.Sort(ids)
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

// NeedsRotation reports whether the signed prekey should be rotated: it is
// older than maxAge (or of unknown age), or its record of accepted base
// keys is three quarters full.
func (p *Prekeys) NeedsRotation(now time.Time, maxAge time.Duration) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.signedAt == 0 || now.Sub(time.Unix(p.signedAt, 0)) >= maxAge {
		return true
	}
	return len(p.seen) >= MaxBaseKeysPerSignedPrekey*3/4
}

// seenFor returns the base-key record of a signed prekey still held.
func (p *Prekeys) seenFor(spkID uint32) (baseKeySet, bool) {
	switch {
	case spkID == p.signedID:
		return p.seen, true
	case p.prev != nil && spkID == p.prevID:
		return p.prevSeen, true
	}
	return nil, false
}

// lookup finds the private prekeys an initial message names. A message
// without a one-time prekey whose base key was accepted before is a replay.
func (p *Prekeys) lookup(ph *PrekeyHeader) (spk keyPair, opk keyPair, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	spkID, opkID, hasOPK := ph.SignedPrekeyID, ph.OneTimeID, ph.HasOneTime
	switch {
	case spkID == p.signedID:
		spk = p.signed
	case p.prev != nil && spkID == p.prevID:
		spk = *p.prev
	default:
		return spk, opk, errorf("%w: signed prekey %d", ErrUnknownPrekey, spkID)
	}
	if seen, _ := p.seenFor(spkID); !hasOPK {
		if _, dup := seen[ph.BaseKey]; dup {
			return spk, opk, errorf("%w: initial message with base key already accepted", ErrReplay)
		}
	}
	if hasOPK {
		k, ok := p.oneTime[opkID]
		if !ok {
			return spk, opk, errorf("%w: one-time prekey %d", ErrUnknownPrekey, opkID)
		}
		opk = k
	}
	return spk, opk, nil
}

// commitAccept records an initial message that authenticated: it consumes
// its one-time prekey, or, without one, records its base key for the
// signed prekey. Of several concurrent Accepts of the same message only
// one wins.
func (p *Prekeys) commitAccept(ph *PrekeyHeader) error {
	if ph.HasOneTime {
		if !p.consume(ph.OneTimeID) {
			return errorf("%w: one-time prekey %d already used", ErrUnknownPrekey, ph.OneTimeID)
		}
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	seen, ok := p.seenFor(ph.SignedPrekeyID)
	switch {
	case !ok:
		return errorf("%w: signed prekey %d rotated away meanwhile", ErrUnknownPrekey, ph.SignedPrekeyID)
	case len(seen) >= MaxBaseKeysPerSignedPrekey:
		return errorf("%w: signed prekey %d accepted its %d sessions without a one-time prekey; it must be rotated",
			ErrUnknownPrekey, ph.SignedPrekeyID, MaxBaseKeysPerSignedPrekey)
	}
	if _, dup := seen[ph.BaseKey]; dup {
		return errorf("%w: initial message with base key already accepted", ErrReplay)
	}
	seen[ph.BaseKey] = struct{}{}
	return nil
}

// consume removes a one-time prekey and reports whether it was still there.
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

// prekeysVersion 2 adds the signed prekey's creation time and the records
// of accepted base keys; version 1 is still read (age unknown, empty
// records).
const prekeysVersion = 2

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
	out = binary.BigEndian.AppendUint64(out, uint64(p.signedAt))
	out = appendBaseKeys(out, p.seen)
	if p.prev != nil {
		out = append(out, 1)
		out = binary.BigEndian.AppendUint32(out, p.prevID)
		out = append(out, p.prev.priv[:]...)
		out = appendBaseKeys(out, p.prevSeen)
	} else {
		out = append(out, 0)
	}
	ids := make([]uint32, 0, len(p.oneTime))
	for k := range p.oneTime {
		ids = append(ids, k)
	}
	slices.Sort(ids)
	out = binary.BigEndian.AppendUint16(out, uint16(len(ids)))
	for _, k := range ids {
		out = binary.BigEndian.AppendUint32(out, k)
		kp := p.oneTime[k]
		out = append(out, kp.priv[:]...)
	}
	return out, nil
}

func appendBaseKeys(out []byte, set baseKeySet) []byte {
	keys := make([][KeySize]byte, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b [KeySize]byte) int { return bytes.Compare(a[:], b[:]) })
	out = binary.BigEndian.AppendUint16(out, uint16(len(keys)))
	for _, k := range keys {
		out = append(out, k[:]...)
	}
	return out
}

func readBaseKeys(rd *reader) (baseKeySet, error) {
	n := int(rd.u16())
	if rd.err != nil || n > MaxBaseKeysPerSignedPrekey || rd.remaining() < n*KeySize {
		return nil, errorf("%w: prekeys base-key record truncated or oversized", ErrMalformed)
	}
	set := make(baseKeySet, n)
	for range n {
		var k [KeySize]byte
		copy(k[:], rd.bytes(KeySize))
		set[k] = struct{}{}
	}
	if len(set) != n {
		return nil, errorf("%w: prekeys base-key record has duplicates", ErrMalformed)
	}
	return set, nil
}

// UnmarshalPrekeys restores prekeys serialized with MarshalBinary (this
// version or version 1).
func UnmarshalPrekeys(data []byte, r io.Reader) (*Prekeys, error) {
	if r == nil {
		r = rand.Reader
	}
	rd := reader{b: data}
	v := rd.u8()
	if rd.err == nil && v != 1 && v != prekeysVersion {
		return nil, errorf("%w: prekeys version %d", ErrMalformed, v)
	}
	p := &Prekeys{oneTime: make(map[uint32]keyPair), rand: r, now: time.Now, seen: baseKeySet{}, prevSeen: baseKeySet{}}
	p.nextID = rd.u32()
	p.signedID = rd.u32()
	fromPriv := func(b []byte) (keyPair, error) {
		var priv [KeySize]byte
		copy(priv[:], b)
		kp, err := keyPairOf(&priv)
		if err != nil {
			return kp, errorf("%w: prekey: %v", ErrMalformed, err)
		}
		return kp, nil
	}
	sb := rd.bytes(KeySize)
	copy(p.sig[:], rd.bytes(ed25519.SignatureSize))
	var err error
	if v == prekeysVersion {
		p.signedAt = int64(rd.u64())
		if p.seen, err = readBaseKeys(&rd); err != nil {
			return nil, err
		}
	}
	hasPrev := rd.u8()
	var pb []byte
	if hasPrev == 1 {
		p.prevID = rd.u32()
		pb = rd.bytes(KeySize)
		if v == prekeysVersion {
			if p.prevSeen, err = readBaseKeys(&rd); err != nil {
				return nil, err
			}
		}
	} else if hasPrev != 0 {
		return nil, errorf("%w: prekeys flag", ErrMalformed)
	}
	n := int(rd.u16())
	if rd.err != nil || n > MaxOneTimePrekeys || rd.remaining() != n*(4+KeySize) {
		return nil, errorf("%w: prekeys truncated or oversized", ErrMalformed)
	}
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
			return nil, errorf("%w: one-time prekey id %d beyond next id", ErrMalformed, id)
		}
		p.oneTime[id] = kp
	}
	return p, nil
}
