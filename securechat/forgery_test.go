//go:build !js

package securechat

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// forgeFromPublic builds, from public data only (both public identities and
// the responder's public signed prekey), an envelope "from" responder to
// initiator whose header DH is the signed prekey — the ratchet key the
// initiator holds as its remote key until the first reply. It is sealed
// under the message key of the all-zero chain key, the value an
// uninitialised receiving chain would have.
func forgeFromPublic(t testing.TB, initiator, responder PublicIdentity, spk [KeySize]byte, n uint32, payload []byte) *Envelope {
	t.Helper()
	var ck, mk [KeySize]byte // the uninitialised chain key: all zero
	for range n + 1 {
		mk, ck = specChainStep(ck)
	}
	e := &Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: responder.ID(), Recipient: initiator.ID(),
		Header: RatchetHeader{DH: spk, N: n}}
	ad := sessionAD(initiator, responder)
	require.NoError(t, sealMessage(e, &mk, &ad, payload, zeroReader{}))
	return e
}

// zeroReader is an all-zero "random" source: the forger may pick any nonce.
type zeroReader struct{}

func (zeroReader) Read(p []byte) (int, error) { clear(p); return len(p), nil }

// A message on a receiving chain that does not exist (the initiator before
// the first reply) is refused with ErrAuth, changes nothing, and in
// particular leaves the session pending so its next message still carries
// the X3DH header.
func TestForgeryOnMissingReceivingChainRefused(t *testing.T) {
	a, b := newParty(t, 1), newParty(t, 1)
	bundle := bundleOf(t, b, true)
	alice, err := Initiate(a.id, bundle, nil)
	require.NoError(t, err)
	first, err := alice.Encrypt([]byte("hello bob"))
	require.NoError(t, err)

	before := stateOf(t, alice)
	for n := range uint32(3) {
		forged := forgeFromPublic(t, a.id.Public(), b.id.Public(), bundle.SignedPrekey.Public, n, []byte("forged by the relay"))
		_, err = alice.Open(forged.Marshal())
		require.ErrorIs(t, err, ErrAuth, "message %d on a chain that does not exist", n)
		requireSameState(t, before, alice)
	}
	again, err := alice.Encrypt([]byte("still pending"))
	require.NoError(t, err)
	assert.Equal(t, TypeInitial, again.Type, "a refused forgery must not clear pending")

	// Bob's genuine reply still works, after which alice's messages are normal.
	bob, pt, err := Accept(b.id, b.prekeys, first, nil)
	require.NoError(t, err)
	require.Equal(t, "hello bob", string(pt))
	pt, err = bob.Decrypt(again)
	require.NoError(t, err)
	require.Equal(t, "still pending", string(pt))
	send(t, bob, alice, "genuine reply")
	e, err := alice.Encrypt([]byte("x"))
	require.NoError(t, err)
	assert.Equal(t, TypeNormal, e.Type)
}

// A restored initiator session is just as strict, and a serialized state
// cannot smuggle in a zero chain key by setting the chain's flag.
func TestRestoredSessionWithoutChainsRefuses(t *testing.T) {
	a, b := newParty(t, 1), newParty(t, 1)
	bundle := bundleOf(t, b, true)
	alice, err := Initiate(a.id, bundle, nil)
	require.NoError(t, err)
	restored, err := UnmarshalSession(stateOf(t, alice), nil)
	require.NoError(t, err)
	forged := forgeFromPublic(t, a.id.Public(), b.id.Public(), bundle.SignedPrekey.Public, 0, []byte("forged"))
	_, err = restored.Open(forged.Marshal())
	require.ErrorIs(t, err, ErrAuth)

	// A state that claims a receiving chain but stores no key for it is
	// refused instead of restoring a zero chain key.
	st := stateOf(t, alice)
	st[1] |= flagHasCKr
	_, err = UnmarshalSession(st, nil)
	require.ErrorIs(t, err, ErrMalformed)
}

// hostileStore is a relay store run by an attacker: whenever it sees an
// initial message from A to B, it puts messages "from B" of its own into
// A's mailbox, built from the public prekeys it stores and the public
// identity in the initial message.
type hostileStore struct {
	*MemoryStore
	mu     sync.Mutex
	signed map[PeerID][]byte
	t      testing.TB
}

func (h *hostileStore) PutPrekeys(ctx context.Context, peer PeerID, signed []byte, oneTime []StoredPrekey) error {
	h.mu.Lock()
	h.signed[peer] = append([]byte(nil), signed...)
	h.mu.Unlock()
	return h.MemoryStore.PutPrekeys(ctx, peer, signed, oneTime)
}

func (h *hostileStore) Enqueue(ctx context.Context, recipient PeerID, env StoredEnvelope, lim EnqueueLimits) (uint64, error) {
	e, err := ParseEnvelope(env.Envelope)
	if err == nil && e.Type == TypeInitial {
		h.mu.Lock()
		signed := h.signed[recipient]
		h.mu.Unlock()
		responder, err := ParsePublicIdentity(signed[:PublicIdentitySize])
		require.NoError(h.t, err)
		var spk [KeySize]byte
		copy(spk[:], signed[PublicIdentitySize+4:])
		payloads := [][]byte{
			encodeInner(inner{kind: kindDirect, body: []byte("forged: send money")}),
			encodeInner(inner{kind: kindGroupUpdate, group: "squat", members: []PeerID{e.Sender, recipient}}),
			encodeInner(inner{kind: kindGroup, group: "squat", body: []byte("forged group message")}),
		}
		for i, p := range payloads {
			f := forgeFromPublic(h.t, e.Prekey.Identity, responder, spk, uint32(i), p)
			now := time.Now()
			if _, err := h.MemoryStore.Enqueue(ctx, e.Sender, StoredEnvelope{Sender: recipient, Envelope: f.Marshal(), Received: now, Expires: now.Add(time.Hour)}, EnqueueLimits{}); err != nil {
				return 0, err
			}
		}
	}
	return h.MemoryStore.Enqueue(ctx, recipient, env, lim)
}

// Through Client: a relay whose store injects envelopes of its own cannot
// make Alice see a message, a group or a group message "from Bob".
func TestClientRefusesForgeryFromHostileRelayStore(t *testing.T) {
	store := &hostileStore{MemoryStore: NewMemoryStore(), signed: map[PeerID][]byte{}, t: t}
	tr := startRelay(t, RelayOptions{Store: store})
	alice, bob := newClient(t, tr.url, nil), newClient(t, tr.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, alice.Send(ctx, bob.ID(), []byte("hi bob")))
	assert.Equal(t, "hi bob", string(recv(t, bob).Body))
	require.NoError(t, bob.Send(ctx, alice.ID(), []byte("genuine reply")))
	m := recv(t, alice)
	assert.Equal(t, "genuine reply", string(m.Body), "the forged envelopes were queued first and must be dropped")
	assert.Empty(t, m.Group)
	_, ok := alice.Group("squat")
	assert.False(t, ok, "forged group update applied")
	select {
	case m := <-alice.Messages():
		t.Fatalf("unexpected message %q", m.Body)
	case <-time.After(100 * time.Millisecond):
	}
}
