//go:build !js

package securechat

import (
	"bytes"
	"context"
	"crypto/rand"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A forged header on the initiator's pending session — naming the signed
// prekey (the chain that does not exist) or a fresh ratchet key, with any
// PN/N, up to the skip limit — is refused with ErrAuth before anything in
// the session changes: no skipped keys stored, no DH step, pending kept.
func TestForgedHeadersOnPendingSessionChangeNothing(t *testing.T) {
	a, b := newParty(t, 1), newParty(t, 1)
	bundle := bundleOf(t, b, true)
	alice, err := Initiate(a.id, bundle, nil)
	require.NoError(t, err)
	_, err = alice.Encrypt([]byte("hello bob"))
	require.NoError(t, err)
	before := stateOf(t, alice)

	var fresh [KeySize]byte
	_, err = rand.Read(fresh[:])
	require.NoError(t, err)
	fresh[0] &= 248
	spk := bundle.SignedPrekey.Public
	for _, h := range []RatchetHeader{
		{DH: spk, PN: 0, N: 0}, {DH: spk, PN: 7, N: 5}, {DH: spk, PN: 0xffffffff, N: 999},
		{DH: spk, N: 1000}, {DH: spk, N: 1001}, {DH: spk, N: 0xffffffff},
		{DH: fresh, PN: 500, N: 500}, {DH: fresh, PN: 0xffffffff, N: 0}, {DH: fresh, N: 1000},
	} {
		for _, nonce := range []byte{0, 0xff} {
			e := &Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: b.id.ID(), Recipient: a.id.ID(), Header: h,
				Ciphertext: make([]byte, Overhead+8)}
			e.Nonce[0] = nonce
			_, err := alice.Open(e.Marshal())
			require.ErrorIs(t, err, ErrAuth, "header %+v", h)
			require.Equal(t, 0, alice.SkippedKeys())
			requireSameState(t, before, alice)
			require.True(t, bytes.Equal(before, stateOf(t, alice)), "header %+v changed the serialized state", h)
		}
	}
}

// The nonce is authenticated: flipping any of its bits in a genuine
// message gives ErrAuth and changes nothing; the genuine message still
// decrypts afterwards. A version-1 re-encoding of the same message is
// refused too.
func TestNonceBitFlipAndVersion1Refused(t *testing.T) {
	alice, bob := pairSessions(t, nil)
	send(t, bob, alice, "reply") // bob's session has skipped nothing; alice steps
	e, err := alice.Encrypt([]byte("genuine"))
	require.NoError(t, err)
	raw := e.Marshal()
	nonceAt := len(raw) - len(e.Ciphertext) - 4 - NonceSize
	require.Equal(t, e.Nonce[:], raw[nonceAt:nonceAt+NonceSize])
	before := stateOf(t, bob)
	for bit := range NonceSize * 8 {
		f := bytes.Clone(raw)
		f[nonceAt+bit/8] ^= 1 << (bit % 8)
		_, err := bob.Open(f)
		require.ErrorIs(t, err, ErrAuth, "nonce bit %d", bit)
	}
	requireSameState(t, before, bob)

	v1 := bytes.Clone(raw)
	v1[0] = 1
	_, err = bob.Open(v1)
	require.ErrorIs(t, err, ErrAuth)
	require.ErrorIs(t, err, ErrMalformed)
	ev := *e
	ev.Version = 1
	_, err = bob.Decrypt(&ev)
	require.ErrorIs(t, err, ErrAuth)
	requireSameState(t, before, bob)

	pt, err := bob.Open(raw)
	require.NoError(t, err)
	require.Equal(t, "genuine", string(pt))
}

// An established session receiving a forged header with a new ratchet key
// and a PN that would make it skip the rest of its real receiving chain
// stores nothing and steps nothing when the message fails to authenticate.
func TestForgedDHStepOnEstablishedSessionChangesNothing(t *testing.T) {
	alice, bob := pairSessions(t, nil)
	send(t, bob, alice, "r1")
	send(t, alice, bob, "a1")
	// Leave a gap so bob already holds skipped keys.
	_, err := alice.Encrypt([]byte("lost"))
	require.NoError(t, err)
	send(t, alice, bob, "a3")
	require.Equal(t, 1, bob.SkippedKeys())
	before := stateOf(t, bob)
	var fresh [KeySize]byte
	_, err = rand.Read(fresh[:])
	require.NoError(t, err)
	for _, h := range []RatchetHeader{{DH: fresh, PN: 900, N: 50}, {DH: fresh, PN: 3, N: 0}, {DH: fresh, PN: 0xffffffff}} {
		e := &Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: alice.selfID, Recipient: bob.selfID, Header: h,
			Ciphertext: make([]byte, Overhead+1)}
		_, err := bob.Decrypt(e)
		require.ErrorIs(t, err, ErrAuth, "header %+v", h)
		requireSameState(t, before, bob)
	}
}

// The relay's host binding is an exact comparison: a signature over any
// variant of the configured host (case, port, trailing dot, brackets,
// userinfo) is refused, so a server in the middle cannot use one either.
func TestRelayHostVariantsRefused(t *testing.T) {
	tr := startRelay(t, RelayOptions{Host: "relay.example"})
	id := newID(t)
	// Spellings of the same host name are the same host; anything else is refused.
	for _, signed := range []string{"RELAY.example", "Relay.Example", "relay.example."} {
		rc, nonce := dialRaw(t, tr.url)
		rc.write(frame{Type: frameAuth, Data: id.Public().Marshal(), Sig: id.Sign(authMessage(signed, nonce))})
		f, err := rc.tryRead()
		require.NoError(t, err, "signature for %q refused", signed)
		require.Equal(t, frameWelcome, f.Type, "signature for %q", signed)
		rc.ws.CloseNow()
	}
	for _, signed := range []string{"relay.example:443", "relay.example:80",
		"relay.example:", "relay.example\x00", "x@relay.example", "relay.example\x00evil", "relay.exampl", ""} {
		rc, nonce := dialRaw(t, tr.url)
		rc.write(frame{Type: frameAuth, Data: id.Public().Marshal(), Sig: id.Sign(authMessage(signed, nonce))})
		_, err := rc.tryRead()
		require.Error(t, err, "signature for %q accepted", signed)
		rc.ws.CloseNow()
	}
}

// Only real loopback addresses escape the ws:// refusal.
func TestClientInsecureTransportVariants(t *testing.T) {
	id := newID(t)
	for _, u := range []string{"ws://LOCALHOST.evil.example/ws", "ws://localhost.:1/ws", "ws://0.0.0.0:1/ws", "ws://127.0.0.1@evil.example/ws",
		"ws://127.1:1/ws", "ws://2130706433:1/ws", "ws://[fe80::1%25lo]:1/ws", "WS://relay.example/ws", "HTTP://relay.example/ws"} {
		_, err := NewClient(ClientOptions{URL: u, Identity: id, Logger: quietLogger()})
		require.ErrorIs(t, err, ErrInsecureTransport, u)
	}
}

// A genuine peer that is not a member, writing its first message to b
// (the session is created by that very message), cannot post into a group
// b belongs to, take the group over, or change its members; the owner's
// group stays as it was and c's later direct message still arrives.
func TestClientGroupPayloadsFromNonMemberDropped(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	a, b, c := newClient(t, tr.url, nil), newClient(t, tr.url, nil), newClient(t, tr.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, a.SetGroup(ctx, "family", []PeerID{b.ID()}))
	require.Eventually(t, func() bool { _, ok := b.Group("family"); return ok }, 10*time.Second, 10*time.Millisecond)

	for _, p := range []inner{
		{kind: kindGroup, group: "family", body: []byte("posted by a stranger")},
		{kind: kindGroupUpdate, group: "family", members: []PeerID{b.ID(), c.ID()}},
		{kind: kindGroupUpdate, group: "family", members: []PeerID{c.ID()}}, // would drop b from a's group
		{kind: kindGroup, group: "family", body: []byte("posted after the takeover")},
	} {
		require.NoError(t, c.sendPayload(ctx, b.ID(), encodeInner(p)))
	}
	require.NoError(t, c.Send(ctx, b.ID(), []byte("direct from c")))
	m := recv(t, b)
	require.Equal(t, "direct from c", string(m.Body), "a group payload from a non-member was delivered")
	require.Empty(t, m.Group)
	g, ok := b.Group("family")
	require.True(t, ok, "a stranger's update removed b from the group")
	require.Equal(t, a.ID(), g.Owner)
	require.False(t, slices.Contains(g.Members, c.ID()))
}

// The base-key record is bounded: a full record refuses further sessions
// without a one-time prekey (and asks for rotation) rather than growing or
// forgetting; it survives a restart at its full size; after a rotation new
// sessions are accepted again, and once its signed prekey is rotated away
// a replay finds no prekey at all.
func TestBaseKeyRecordBoundedAndSurvivesRotation(t *testing.T) {
	a, b := newParty(t, 0), newParty(t, 0)
	initial := func() *Envelope {
		s, err := Initiate(a.id, bundleOf(t, b, false), nil)
		require.NoError(t, err)
		e, err := s.Encrypt([]byte("hi"))
		require.NoError(t, err)
		return e
	}
	first := initial()
	_, _, err := Accept(b.id, b.prekeys, first, nil)
	require.NoError(t, err)
	b.prekeys.mu.Lock()
	for len(b.prekeys.seen) < MaxBaseKeysPerSignedPrekey {
		var k [KeySize]byte
		_, err := rand.Read(k[:])
		require.NoError(t, err)
		b.prekeys.seen[k] = struct{}{}
	}
	b.prekeys.mu.Unlock()
	require.True(t, b.prekeys.NeedsRotation(time.Now(), time.Hour))

	raw, err := b.prekeys.MarshalBinary()
	require.NoError(t, err)
	restored, err := UnmarshalPrekeys(raw, nil)
	require.NoError(t, err)
	for _, pk := range []*Prekeys{b.prekeys, restored} {
		_, _, err = Accept(b.id, pk, initial(), nil)
		require.ErrorIs(t, err, ErrUnknownPrekey, "a full record must refuse, not grow")
		_, _, err = Accept(b.id, pk, first, nil)
		require.ErrorIs(t, err, ErrReplay)
		pk.mu.Lock()
		require.Len(t, pk.seen, MaxBaseKeysPerSignedPrekey)
		pk.mu.Unlock()
	}

	require.NoError(t, restored.RotateSignedPrekey(b.id))
	_, _, err = Accept(b.id, restored, first, nil)
	require.ErrorIs(t, err, ErrReplay, "the previous signed prekey keeps its record")
	b2 := party{b.id, restored}
	s, err := Initiate(a.id, bundleOf(t, b2, false), nil)
	require.NoError(t, err)
	e, err := s.Encrypt([]byte("after rotation"))
	require.NoError(t, err)
	_, pt, err := Accept(b.id, restored, e, nil)
	require.NoError(t, err)
	require.Equal(t, "after rotation", string(pt))
	require.NoError(t, restored.RotateSignedPrekey(b.id))
	_, _, err = Accept(b.id, restored, first, nil)
	require.ErrorIs(t, err, ErrUnknownPrekey, "a replay under a forgotten signed prekey")
}
