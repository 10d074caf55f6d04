package securechat

import (
	"encoding/binary"

	"github.com/finkit/finkit/securechat/internal/chain"
)

const (
	sessionStateVersion = 1
	maxStateEntries     = 1 << 16
)

const (
	flagInitiator = 1 << iota
	flagHasDHr
	flagHasCKs
	flagHasCKr
	flagPending
)

// MarshalBinary serializes the whole session (secret keys included) so it
// can be persisted and restored with UnmarshalSession. Protect the result
// like a private key.
func (s *Session) MarshalBinary() ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var flags byte
	if s.initiator {
		flags |= flagInitiator
	}
	if s.st.hasDHr {
		flags |= flagHasDHr
	}
	cks, hasCKs := s.st.cks.Key()
	ckr, hasCKr := s.st.ckr.Key()
	if hasCKs {
		flags |= flagHasCKs
	}
	if hasCKr {
		flags |= flagHasCKr
	}
	if s.pending != nil {
		flags |= flagPending
	}
	out := make([]byte, 0, 600+len(s.skipped)*84+len(s.replay)*16)
	out = append(out, sessionStateVersion, flags)
	out = append(out, s.self.Marshal()...)
	out = append(out, s.peer.Marshal()...)
	out = append(out, s.ad[:]...)
	out = append(out, s.baseKey[:]...)
	out = append(out, s.st.dhs.priv[:]...)
	out = append(out, s.st.dhr[:]...)
	out = append(out, s.st.rk[:]...)
	out = append(out, cks[:]...)
	out = append(out, ckr[:]...)
	out = binary.BigEndian.AppendUint32(out, s.st.ns)
	out = binary.BigEndian.AppendUint32(out, s.st.nr)
	out = binary.BigEndian.AppendUint32(out, s.st.pn)
	if s.pending != nil {
		out = binary.BigEndian.AppendUint32(out, s.pending.SignedPrekeyID)
		if s.pending.HasOneTime {
			out = append(out, 1)
		} else {
			out = append(out, 0)
		}
		out = binary.BigEndian.AppendUint32(out, s.pending.OneTimeID)
	}
	out = binary.BigEndian.AppendUint64(out, s.skipSeq)
	out = binary.BigEndian.AppendUint32(out, uint32(len(s.skipped)))
	for id, k := range s.skipped {
		out = append(out, id.dh[:]...)
		out = binary.BigEndian.AppendUint32(out, id.n)
		out = append(out, k.mk[:]...)
		out = binary.BigEndian.AppendUint64(out, uint64(k.added))
		out = binary.BigEndian.AppendUint64(out, k.seq)
	}
	out = binary.BigEndian.AppendUint32(out, uint32(len(s.replay)))
	out = binary.BigEndian.AppendUint32(out, uint32(s.replayPos))
	for _, d := range s.replay {
		out = append(out, d[:]...)
	}
	return out, nil
}

// restoreChain rebuilds an optional chain from its serialized key and
// presence flag; the two must agree (an absent chain is stored as zeros, a
// present one never is).
func restoreChain(key [KeySize]byte, present bool) (chain.Chain, error) {
	c := chain.New(key)
	if c.Present() != present {
		return chain.Chain{}, errorf("%w: session state chain key and flag disagree", ErrMalformed)
	}
	return c, nil
}

// UnmarshalSession restores a session serialized with MarshalBinary. The
// decoder is strict (exact lengths, bounded counts) and never panics.
func UnmarshalSession(data []byte, opts *SessionOptions) (*Session, error) {
	r := reader{b: data}
	v, flags := r.u8(), r.u8()
	if r.err != nil {
		return nil, errorf("%w: session state truncated", ErrMalformed)
	}
	if v != sessionStateVersion {
		return nil, errorf("%w: session state version %d", ErrMalformed, v)
	}
	if flags&^byte(flagInitiator|flagHasDHr|flagHasCKs|flagHasCKr|flagPending) != 0 {
		return nil, errorf("%w: session state flags %#x", ErrMalformed, flags)
	}
	selfB, peerB := r.bytes(PublicIdentitySize), r.bytes(PublicIdentitySize)
	if r.err != nil {
		return nil, errorf("%w: session state truncated", ErrMalformed)
	}
	self, err := ParsePublicIdentity(selfB)
	if err != nil {
		return nil, errorf("session state: %w", err)
	}
	peer, err := ParsePublicIdentity(peerB)
	if err != nil {
		return nil, errorf("session state: %w", err)
	}
	s := newSession(opts.withDefaults(), self, peer, flags&flagInitiator != 0)
	copy(s.ad[:], r.bytes(KeySize))
	copy(s.baseKey[:], r.bytes(KeySize))
	copy(s.st.dhs.priv[:], r.bytes(KeySize))
	copy(s.st.dhr[:], r.bytes(KeySize))
	copy(s.st.rk[:], r.bytes(KeySize))
	var cks, ckr [KeySize]byte
	copy(cks[:], r.bytes(KeySize))
	copy(ckr[:], r.bytes(KeySize))
	s.st.ns, s.st.nr, s.st.pn = r.u32(), r.u32(), r.u32()
	s.st.hasDHr = flags&flagHasDHr != 0
	if s.st.cks, err = restoreChain(cks, flags&flagHasCKs != 0); err != nil {
		return nil, err
	}
	if s.st.ckr, err = restoreChain(ckr, flags&flagHasCKr != 0); err != nil {
		return nil, err
	}
	if flags&flagPending != 0 {
		p := &PrekeyHeader{Identity: self, BaseKey: s.baseKey, SignedPrekeyID: r.u32()}
		switch r.u8() {
		case 0:
		case 1:
			p.HasOneTime = true
		default:
			return nil, errorf("%w: session state pending flag", ErrMalformed)
		}
		p.OneTimeID = r.u32()
		s.pending = p
	}
	s.skipSeq = r.u64()
	n := r.u32()
	if r.err != nil {
		return nil, errorf("%w: session state truncated", ErrMalformed)
	}
	if n > maxStateEntries || int(n)*(KeySize+4+KeySize+16) > r.remaining() {
		return nil, errorf("%w: session state skipped-key count %d", ErrMalformed, n)
	}
	for range n {
		var id skipID
		var k skippedKey
		copy(id.dh[:], r.bytes(KeySize))
		id.n = r.u32()
		copy(k.mk[:], r.bytes(KeySize))
		k.added = int64(r.u64())
		k.seq = r.u64()
		s.skipped[id] = k
	}
	if uint32(len(s.skipped)) != n {
		return nil, errorf("%w: session state has duplicate skipped keys", ErrMalformed)
	}
	rn, pos := r.u32(), r.u32()
	if r.err != nil {
		return nil, errorf("%w: session state truncated", ErrMalformed)
	}
	if rn > maxStateEntries || int(rn)*16 != r.remaining() || (rn > 0 && pos >= rn) || (rn == 0 && pos != 0) {
		return nil, errorf("%w: session state replay window", ErrMalformed)
	}
	for range rn {
		var d replayDigest
		copy(d[:], r.bytes(16))
		s.replay = append(s.replay, d)
		s.replaySet[d] = struct{}{}
	}
	s.replayPos = int(pos)
	if err := r.end(); err != nil {
		return nil, err
	}
	if s.st.dhs, err = keyPairOf(&s.st.dhs.priv); err != nil {
		return nil, errorf("%w: session ratchet key: %v", ErrMalformed, err)
	}
	if s.ad != sessionAD(self, peer) && s.ad != sessionAD(peer, self) {
		return nil, errorf("%w: session state associated data does not match its identities", ErrMalformed)
	}
	// A window restored with a smaller ReplayWindow is trimmed to fit.
	for len(s.replay) > s.opts.ReplayWindow {
		delete(s.replaySet, s.replay[s.replayPos])
		s.replay = append(s.replay[:s.replayPos], s.replay[s.replayPos+1:]...)
		if s.replayPos >= len(s.replay) {
			s.replayPos = 0
		}
	}
	return s, nil
}
