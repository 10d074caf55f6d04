package securechat

import (
	"cmp"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"slices"
	"sync"
	"time"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/finkit/finkit/securechat/internal/chain"
)

// KDF labels. They version the construction: changing one changes every key.
const (
	x3dhInfo    = "finkit/securechat/v1/x3dh"
	ratchetInfo = "finkit/securechat/v1/root-ratchet"
	messageInfo = "finkit/securechat/v1/message-key"
	adLabel     = "finkit/securechat/v1/session-ad"
)

// Defaults for SessionOptions.
const (
	DefaultMaxSkip        = 1000
	DefaultMaxSkippedKeys = 2000
	DefaultSkippedKeyTTL  = 7 * 24 * time.Hour
	DefaultReplayWindow   = 1024
)

// SessionOptions tunes a Session. The zero value uses the defaults.
type SessionOptions struct {
	// MaxSkip is the largest gap of message numbers one incoming message may
	// open (keys derived and stored for the skipped ones). Default 1000.
	MaxSkip int
	// MaxSkippedKeys caps the stored skipped message keys; the oldest are
	// dropped first. Default 2000.
	MaxSkippedKeys int
	// SkippedKeyTTL drops skipped keys older than this. Default 7 days.
	SkippedKeyTTL time.Duration
	// ReplayWindow is how many recent messages are remembered to report a
	// replay as ErrReplay (older replays still fail, with ErrAuth, because
	// their keys are gone). Default 1024.
	ReplayWindow int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Rand supplies key-generation randomness (crypto/rand when nil).
	Rand io.Reader
}

func (o *SessionOptions) withDefaults() SessionOptions {
	var r SessionOptions
	if o != nil {
		r = *o
	}
	if r.MaxSkip <= 0 {
		r.MaxSkip = DefaultMaxSkip
	}
	if r.MaxSkippedKeys <= 0 {
		r.MaxSkippedKeys = DefaultMaxSkippedKeys
	}
	if r.SkippedKeyTTL <= 0 {
		r.SkippedKeyTTL = DefaultSkippedKeyTTL
	}
	if r.ReplayWindow <= 0 {
		r.ReplayWindow = DefaultReplayWindow
	}
	if r.Now == nil {
		r.Now = time.Now
	}
	if r.Rand == nil {
		r.Rand = rand.Reader
	}
	return r
}

type skipID struct {
	dh [KeySize]byte
	n  uint32
}

type skippedKey struct {
	mk    [KeySize]byte
	added int64 // unix nanoseconds
	seq   uint64
}

// ratchetState is the Double Ratchet state. The sending and receiving
// chains are optional values (chain.Chain): a chain that does not exist yet
// (the initiator's receiving chain before the first reply, the responder's
// sending chain before the first message) has no key to derive from, so a
// message on it cannot be decrypted, whatever its header says.
type ratchetState struct {
	dhs    keyPair
	dhr    [KeySize]byte
	hasDHr bool
	rk     [KeySize]byte
	cks    chain.Chain
	ckr    chain.Chain
	ns, nr uint32
	pn     uint32
}

type replayDigest [16]byte

// Session is one side of a Double Ratchet conversation with one peer,
// created by Initiate (initiator) or Accept (responder). It is safe for
// concurrent use. A failed Decrypt leaves it exactly as it was.
type Session struct {
	mu        sync.Mutex
	opts      SessionOptions
	self      PublicIdentity
	peer      PublicIdentity
	selfID    PeerID
	peerID    PeerID
	initiator bool
	ad        [KeySize]byte
	baseKey   [KeySize]byte
	pending   *PrekeyHeader
	st        ratchetState
	skipped   map[skipID]skippedKey
	skipSeq   uint64
	replay    []replayDigest
	replayPos int
	replaySet map[replayDigest]struct{}
}

func newSession(o SessionOptions, self, peer PublicIdentity, initiator bool) *Session {
	s := &Session{opts: o, self: self, peer: peer, selfID: self.ID(), peerID: peer.ID(), initiator: initiator,
		skipped: make(map[skipID]skippedKey), replaySet: make(map[replayDigest]struct{})}
	if initiator {
		s.ad = sessionAD(self, peer)
	} else {
		s.ad = sessionAD(peer, self)
	}
	return s
}

func sessionAD(initiator, responder PublicIdentity) [KeySize]byte {
	h := sha256.New()
	h.Write([]byte(adLabel))
	h.Write(initiator.Marshal())
	h.Write(responder.Marshal())
	var out [KeySize]byte
	copy(out[:], h.Sum(nil))
	return out
}

func x3dhSecret(dhs ...[KeySize]byte) ([KeySize]byte, error) {
	ikm := make([]byte, 0, KeySize*(len(dhs)+1))
	for range KeySize {
		ikm = append(ikm, 0xff)
	}
	for _, d := range dhs {
		ikm = append(ikm, d[:]...)
	}
	var out [KeySize]byte
	k, err := hkdf.Key(sha256.New, ikm, make([]byte, KeySize), x3dhInfo, KeySize)
	if err != nil {
		return out, errorf("securechat: x3dh kdf: %w", err)
	}
	clear(ikm)
	copy(out[:], k)
	return out, nil
}

// kdfRK is the root-chain step: HKDF-SHA256 with the root key as salt and
// the DH output as input key material, split into a new root key and a
// chain key.
func kdfRK(rk, dhOut [KeySize]byte) (newRK, ck [KeySize]byte, err error) {
	k, err := hkdf.Key(sha256.New, dhOut[:], rk[:], ratchetInfo, 2*KeySize)
	if err != nil {
		return newRK, ck, errorf("securechat: root kdf: %w", err)
	}
	copy(newRK[:], k[:KeySize])
	copy(ck[:], k[KeySize:])
	return newRK, ck, nil
}

// encryptionKey binds a message key to the session and to the envelope's
// authenticated data. It is HKDF-Expand(PRK = mk, info = label || session AD
// || authData, L = 32), i.e. one HMAC-SHA256 over info || 0x01.
func encryptionKey(mk, ad *[KeySize]byte, authData []byte) [KeySize]byte {
	h := hmac.New(sha256.New, mk[:])
	h.Write([]byte(messageInfo))
	h.Write(ad[:])
	h.Write(authData)
	h.Write([]byte{1})
	var k [KeySize]byte
	h.Sum(k[:0])
	return k
}

// Initiate runs the initiator's half of X3DH against a peer's bundle and
// returns a session whose messages are TypeInitial until the peer replies.
// A bundle whose identity binding or signed-prekey signature fails is
// rejected with ErrBadSignature.
func Initiate(self *Identity, b *Bundle, opts *SessionOptions) (*Session, error) {
	if b == nil {
		return nil, errorf("%w: nil bundle", ErrMalformed)
	}
	if err := b.Verify(); err != nil {
		return nil, errorf("securechat: initiate with %s: %w", b.Identity.ID(), err)
	}
	o := opts.withDefaults()
	ek, err := newKeyPair(o.Rand)
	if err != nil {
		return nil, err
	}
	dh1, err := self.dhKey.dh(&b.SignedPrekey.Public)
	if err != nil {
		return nil, err
	}
	dh2, err := ek.dh(&b.Identity.DHKey)
	if err != nil {
		return nil, err
	}
	dh3, err := ek.dh(&b.SignedPrekey.Public)
	if err != nil {
		return nil, err
	}
	parts := [][KeySize]byte{dh1, dh2, dh3}
	ph := &PrekeyHeader{Identity: self.Public(), BaseKey: ek.pub, SignedPrekeyID: b.SignedPrekey.ID}
	if b.OneTimePrekey != nil {
		dh4, err := ek.dh(&b.OneTimePrekey.Public)
		if err != nil {
			return nil, err
		}
		parts = append(parts, dh4)
		ph.HasOneTime, ph.OneTimeID = true, b.OneTimePrekey.ID
	}
	sk, err := x3dhSecret(parts...)
	if err != nil {
		return nil, err
	}
	clear(ek.priv[:])
	s := newSession(o, self.Public(), b.Identity, true)
	s.baseKey = ek.pub
	s.pending = ph
	if s.st.dhs, err = newKeyPair(o.Rand); err != nil {
		return nil, err
	}
	s.st.dhr, s.st.hasDHr = b.SignedPrekey.Public, true
	d, err := s.st.dhs.dh(&s.st.dhr)
	if err != nil {
		return nil, err
	}
	var ck [KeySize]byte
	if s.st.rk, ck, err = kdfRK(sk, d); err != nil {
		return nil, err
	}
	s.st.cks = chain.New(ck)
	return s, nil
}

// Accept runs the responder's half of X3DH for an initial envelope and
// decrypts it. Only when the message authenticates is the one-time prekey
// consumed (or, without one, its base key recorded) and the session
// returned; on any error nothing changes. A replayed initial message is
// refused: with a one-time prekey because it is gone (ErrUnknownPrekey),
// without one because its base key is on record (ErrReplay).
func Accept(self *Identity, pk *Prekeys, e *Envelope, opts *SessionOptions) (*Session, []byte, error) {
	if e == nil || e.Type != TypeInitial || e.Prekey == nil {
		return nil, nil, errorf("%w: not an initial message", ErrMalformed)
	}
	if e.Recipient != self.ID() {
		return nil, nil, errorf("%w: envelope is for %s", ErrAuth, e.Recipient)
	}
	ph := e.Prekey
	if err := ph.Identity.Verify(); err != nil {
		return nil, nil, err
	}
	if ph.Identity.ID() != e.Sender {
		return nil, nil, errorf("%w: prekey header identity is not the sender", ErrAuth)
	}
	spk, opk, err := pk.lookup(ph)
	if err != nil {
		return nil, nil, err
	}
	dh1, err := spk.dh(&ph.Identity.DHKey)
	if err != nil {
		return nil, nil, errorf("%w: %w", ErrAuth, err)
	}
	dh2, err := self.dhKey.dh(&ph.BaseKey)
	if err != nil {
		return nil, nil, errorf("%w: %w", ErrAuth, err)
	}
	dh3, err := spk.dh(&ph.BaseKey)
	if err != nil {
		return nil, nil, errorf("%w: %w", ErrAuth, err)
	}
	parts := [][KeySize]byte{dh1, dh2, dh3}
	if ph.HasOneTime {
		dh4, err := opk.dh(&ph.BaseKey)
		if err != nil {
			return nil, nil, errorf("%w: %w", ErrAuth, err)
		}
		parts = append(parts, dh4)
	}
	sk, err := x3dhSecret(parts...)
	if err != nil {
		return nil, nil, err
	}
	s := newSession(opts.withDefaults(), self.Public(), ph.Identity, false)
	s.baseKey = ph.BaseKey
	s.st.dhs = spk
	s.st.rk = sk
	pt, err := s.Decrypt(e)
	if err != nil {
		return nil, nil, err
	}
	// Consumes the one-time prekey or records the base key; a concurrent
	// Accept of the same message that got here first wins.
	if err := pk.commitAccept(ph); err != nil {
		return nil, nil, err
	}
	return s, pt, nil
}

// Peer returns the identity of the other party.
func (s *Session) Peer() PublicIdentity { return s.peer }

// BaseKey returns the X3DH ephemeral key that created the session; an app
// uses it to match repeated initial messages to an existing session.
func (s *Session) BaseKey() [KeySize]byte { return s.baseKey }

// Initiator reports whether this side started the session.
func (s *Session) Initiator() bool { return s.initiator }

// Encrypt encrypts plaintext into an envelope from this side to the peer.
func (s *Session) Encrypt(plaintext []byte) (*Envelope, error) {
	if len(plaintext) > MaxPlaintextSize {
		return nil, errorf("%w: message of %d bytes, limit %d", ErrTooLarge, len(plaintext), MaxPlaintextSize)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cks := s.st.cks // advanced copy, committed once sealed
	mk, ok := cks.Next()
	if !ok {
		return nil, errorf("%w: responder cannot send before the first message is received", ErrNoSession)
	}
	e := &Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: s.selfID, Recipient: s.peerID,
		Header: RatchetHeader{DH: s.st.dhs.pub, PN: s.st.pn, N: s.st.ns}}
	if s.pending != nil {
		e.Type = TypeInitial
		p := *s.pending
		e.Prekey = &p
	}
	if err := sealMessage(e, &mk, &s.ad, plaintext, s.opts.Rand); err != nil {
		return nil, err
	}
	s.st.cks = cks
	s.st.ns++
	return e, nil
}

// sealMessage encrypts plaintext into e under message key mk with a fresh
// random nonce from r, binding the session AD and every other field of e
// (nonce included) into the encryption key.
func sealMessage(e *Envelope, mk, ad *[KeySize]byte, plaintext []byte, r io.Reader) error {
	if _, err := io.ReadFull(r, e.Nonce[:]); err != nil {
		return errorf("securechat: nonce: %w", err)
	}
	// The ciphertext length is part of the authenticated data.
	e.Ciphertext = make([]byte, len(plaintext)+Overhead)
	var buf [512]byte
	key := encryptionKey(mk, ad, e.appendAuthData(buf[:0]))
	e.Ciphertext = secretbox.Seal(e.Ciphertext[:0], plaintext, &e.Nonce, &key)
	clear(key[:])
	return nil
}

// Open parses raw envelope bytes and decrypts them. Parse failures are
// reported as ErrAuth too (wrapping ErrMalformed/ErrTooLarge): bytes that
// do not parse cannot be authenticated.
func (s *Session) Open(raw []byte) ([]byte, error) {
	e, err := ParseEnvelope(raw)
	if err != nil {
		return nil, errorf("%w: %w", ErrAuth, err)
	}
	return s.Decrypt(e)
}

var errNoReceivingChain = errorf("%w: no receiving chain for this ratchet key", ErrAuth)

type pendingSkip struct {
	id skipID
	mk [KeySize]byte
}

// Decrypt authenticates and decrypts an envelope from the peer. Errors:
// ErrReplay for a message already decrypted (within ReplayWindow), ErrAuth
// for anything that does not authenticate, and ErrAuth wrapping
// ErrTooManySkipped for a gap larger than MaxSkip (such a message cannot be
// authenticated without deriving the keys it skips). On any error the session is unchanged.
func (s *Session) Decrypt(e *Envelope) ([]byte, error) {
	if e == nil {
		return nil, errorf("%w: nil envelope", ErrMalformed)
	}
	if e.Sender != s.peerID || e.Recipient != s.selfID {
		return nil, errorf("%w: envelope from %s to %s does not belong to this session", ErrAuth, e.Sender, e.Recipient)
	}
	if e.Version != EnvelopeVersion || (e.Type != TypeNormal && e.Type != TypeInitial) {
		return nil, errorf("%w: envelope version/type", ErrAuth)
	}
	if e.Type == TypeInitial {
		if s.initiator || e.Prekey == nil || e.Prekey.BaseKey != s.baseKey {
			return nil, errorf("%w: initial message for another session", ErrAuth)
		}
	} else if e.Prekey != nil {
		return nil, errorf("%w: prekey header on a normal message", ErrAuth)
	}
	if len(e.Ciphertext) < Overhead || len(e.Ciphertext) > MaxCiphertextSize {
		return nil, errorf("%w: ciphertext size", ErrAuth)
	}
	var buf [512]byte
	authData := e.appendAuthData(buf[:0])

	s.mu.Lock()
	defer s.mu.Unlock()
	// A replay is byte-identical, so the header and the Poly1305 tag (the
	// first Overhead bytes) identify it without hashing the whole body. A
	// replay can never decrypt anyway (its key is gone); this only turns its
	// ErrAuth into the more useful ErrReplay.
	dg := digestOf(authData, e.Ciphertext[:Overhead])
	if _, ok := s.replaySet[dg]; ok {
		return nil, ErrReplay
	}
	h := &e.Header
	if sk, ok := s.skipped[skipID{h.DH, h.N}]; ok {
		// An expired key is refused even before the next prune removes it.
		if sk.added < s.opts.Now().UnixNano()-int64(s.opts.SkippedKeyTTL) {
			return nil, errorf("%w: message key %d expired", ErrAuth, h.N)
		}
		pt, err := s.open(&sk.mk, authData, &e.Nonce, e.Ciphertext)
		if err != nil {
			return nil, err
		}
		delete(s.skipped, skipID{h.DH, h.N})
		s.remember(dg)
		s.pending = nil
		return pt, nil
	}

	st := s.st // tentative copy; committed only on success
	newChain := !st.hasDHr || h.DH != st.dhr
	// Bound the work before doing any of it: the keys this message would
	// make us derive (the rest of the previous receiving chain up to PN,
	// then the new chain up to N) must fit in MaxSkip, and a message number
	// already passed in the current chain cannot be authenticated.
	var gap int64
	switch {
	case newChain:
		if st.ckr.Present() && h.PN > st.nr {
			gap = int64(h.PN) - int64(st.nr)
		}
		gap += int64(h.N)
	case h.N < st.nr:
		return nil, errorf("%w: message key %d already used or expired", ErrAuth, h.N)
	default:
		gap = int64(h.N) - int64(st.nr)
	}
	if gap > int64(s.opts.MaxSkip) {
		return nil, errorf("%w: %w: gap of %d messages, limit %d", ErrAuth, ErrTooManySkipped, gap, s.opts.MaxSkip)
	}
	var skips []pendingSkip
	if newChain {
		// First half of the DH ratchet step: the receiving chain. The
		// sending half (a fresh key pair) waits until the message has
		// authenticated, so a forged header costs one X25519, not three,
		// and consumes no randomness.
		if st.ckr.Present() {
			var err error
			if skips, err = s.skip(&st, h.PN, skips); err != nil {
				return nil, err
			}
		}
		st.pn, st.ns, st.nr = st.ns, 0, 0
		st.dhr, st.hasDHr = h.DH, true
		d, err := st.dhs.dh(&st.dhr)
		if err != nil {
			return nil, errorf("%w: ratchet key: %w", ErrAuth, err)
		}
		var ck [KeySize]byte
		if st.rk, ck, err = kdfRK(st.rk, d); err != nil {
			return nil, err
		}
		st.ckr = chain.New(ck)
	}
	var err error
	if skips, err = s.skip(&st, h.N, skips); err != nil {
		return nil, err
	}
	mk, ok := st.ckr.Next()
	if !ok {
		// The header names the current remote ratchet key, but no
		// receiving chain exists for it (the initiator before the first
		// reply): nothing can authenticate such a message.
		return nil, errNoReceivingChain
	}
	st.nr++
	pt, err := s.open(&mk, authData, &e.Nonce, e.Ciphertext)
	if err != nil {
		return nil, err
	}
	if newChain {
		// Second half of the DH ratchet step: the new sending chain.
		if st.dhs, err = newKeyPair(s.opts.Rand); err != nil {
			return nil, err
		}
		d, err := st.dhs.dh(&st.dhr)
		if err != nil {
			return nil, errorf("%w: ratchet key: %w", ErrAuth, err)
		}
		var ck [KeySize]byte
		if st.rk, ck, err = kdfRK(st.rk, d); err != nil {
			return nil, err
		}
		st.cks = chain.New(ck)
	}
	// Commit.
	s.st = st
	now := s.opts.Now().UnixNano()
	for _, p := range skips {
		s.skipSeq++
		s.skipped[p.id] = skippedKey{mk: p.mk, added: now, seq: s.skipSeq}
	}
	s.pruneSkipped(now)
	s.remember(dg)
	s.pending = nil
	return pt, nil
}

func (s *Session) skip(st *ratchetState, until uint32, skips []pendingSkip) ([]pendingSkip, error) {
	if until <= st.nr {
		return skips, nil
	}
	if int64(until)-int64(st.nr)+int64(len(skips)) > int64(s.opts.MaxSkip) {
		return nil, errorf("%w: %w: gap of %d messages, limit %d", ErrAuth, ErrTooManySkipped, int64(until)-int64(st.nr)+int64(len(skips)), s.opts.MaxSkip)
	}
	for st.nr < until {
		mk, ok := st.ckr.Next()
		if !ok {
			return nil, errNoReceivingChain
		}
		skips = append(skips, pendingSkip{id: skipID{st.dhr, st.nr}, mk: mk})
		st.nr++
	}
	return skips, nil
}

func (s *Session) open(mk *[KeySize]byte, authData []byte, nonce *[NonceSize]byte, ct []byte) ([]byte, error) {
	key := encryptionKey(mk, &s.ad, authData)
	pt, ok := secretbox.Open(nil, ct, nonce, &key)
	clear(key[:])
	if !ok {
		return nil, errorf("%w: ciphertext does not authenticate", ErrAuth)
	}
	return pt, nil
}

func digestOf(authData, tag []byte) replayDigest {
	h := sha256.New()
	h.Write(authData)
	h.Write(tag)
	var sum [sha256.Size]byte
	var d replayDigest
	copy(d[:], h.Sum(sum[:0]))
	return d
}

func (s *Session) remember(d replayDigest) {
	if len(s.replay) < s.opts.ReplayWindow {
		s.replay = append(s.replay, d)
	} else {
		delete(s.replaySet, s.replay[s.replayPos])
		s.replay[s.replayPos] = d
		s.replayPos = (s.replayPos + 1) % len(s.replay)
	}
	s.replaySet[d] = struct{}{}
}

func (s *Session) pruneSkipped(now int64) {
	cutoff := now - int64(s.opts.SkippedKeyTTL)
	for id, k := range s.skipped {
		if k.added < cutoff {
			delete(s.skipped, id)
		}
	}
	if extra := len(s.skipped) - s.opts.MaxSkippedKeys; extra > 0 {
		type ent struct {
			id  skipID
			seq uint64
		}
		all := make([]ent, 0, len(s.skipped))
		for id, k := range s.skipped {
			all = append(all, ent{id, k.seq})
		}
		slices.SortFunc(all, func(a, b ent) int { return cmp.Compare(a.seq, b.seq) })
		for _, e := range all[:extra] {
			delete(s.skipped, e.id)
		}
	}
}

// SkippedKeys returns how many skipped message keys the session holds.
func (s *Session) SkippedKeys() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.skipped)
}
