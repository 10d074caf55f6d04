//go:build !js

package securechat

import (
	"bytes"
	"context"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A session restored from an older snapshot (a crash before the advanced
// state was saved, or two processes sharing one state) encrypts again
// under the same message key and header. The two ciphertexts of equal-length
// plaintexts must not share a keystream: c1 ⊕ c2 must not equal p1 ⊕ p2,
// and the Poly1305 tags (one-time keys) must differ.
func TestRollbackDoesNotReuseKeystream(t *testing.T) {
	alice, bob := pairSessions(t, nil)
	send(t, bob, alice, "reply")
	snapshot := stateOf(t, alice)

	p1 := []byte("transfer 100 to account 12345678")
	p2 := []byte("meet me at the station at 9pm!!!")
	require.Len(t, p2, len(p1))
	e1, err := alice.Encrypt(p1)
	require.NoError(t, err)
	rolledBack, err := UnmarshalSession(snapshot, nil)
	require.NoError(t, err)
	e2, err := rolledBack.Encrypt(p2)
	require.NoError(t, err)
	require.Equal(t, e1.Header, e2.Header, "same chain position: the message key is the same")

	body1, body2 := e1.Ciphertext[Overhead:], e2.Ciphertext[Overhead:]
	cx := make([]byte, len(p1))
	px := make([]byte, len(p1))
	subtle.XORBytes(cx, body1, body2)
	subtle.XORBytes(px, p1, p2)
	assert.NotEqual(t, px, cx, "keystream reused: c1 xor c2 = p1 xor p2")

	// Even the same plaintext encrypted twice from the same snapshot gives
	// unrelated ciphertexts (with a repeated key and nonce it would be
	// byte-identical, tag included, and so would its one-time MAC key).
	again, err := UnmarshalSession(snapshot, nil)
	require.NoError(t, err)
	e3, err := again.Encrypt(p1)
	require.NoError(t, err)
	assert.False(t, bytes.Equal(e1.Ciphertext, e3.Ciphertext), "same key and nonce for the same slot")
	assert.NotEqual(t, e1.Nonce, e3.Nonce)

	// The first of the two decrypts; the second occupies a used slot and is
	// refused, but reveals nothing.
	pt, err := bob.Open(e1.Marshal())
	require.NoError(t, err)
	require.Equal(t, p1, pt)
	_, err = bob.Open(e2.Marshal())
	require.ErrorIs(t, err, ErrAuth)
}

// writeAheadStore checks, at the moment an envelope from a watched sender
// reaches the relay, that the sender's saved state is already past it.
type writeAheadStore struct {
	*MemoryStore
	t      testing.TB
	sender PeerID
	mu     sync.Mutex
	saved  []byte
	checks int
}

func (w *writeAheadStore) save(_ context.Context, st []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.saved = bytes.Clone(st)
	return nil
}

func (w *writeAheadStore) Enqueue(ctx context.Context, recipient PeerID, env StoredEnvelope, lim EnqueueLimits) (uint64, error) {
	if env.Sender == w.sender {
		e, err := ParseEnvelope(env.Envelope)
		require.NoError(w.t, err)
		w.mu.Lock()
		var st clientState
		require.NoError(w.t, json.Unmarshal(w.saved, &st))
		ahead := false
		for _, raw := range st.Sessions[recipient] {
			s, err := UnmarshalSession(raw, nil)
			require.NoError(w.t, err)
			if s.st.dhs.pub == e.Header.DH && s.st.ns > e.Header.N {
				ahead = true
			}
		}
		w.checks++
		w.mu.Unlock()
		assert.True(w.t, ahead, "envelope %d left the process before the advanced state was saved", e.Header.N)
	}
	return w.MemoryStore.Enqueue(ctx, recipient, env, lim)
}

// Client's write-ahead hook: every envelope reaches the relay only after a
// state past it was saved; a failing hook fails Send and sends nothing.
func TestClientSavesStateBeforeSending(t *testing.T) {
	aID := newID(t)
	store := &writeAheadStore{MemoryStore: NewMemoryStore(), t: t, sender: aID.ID()}
	tr := startRelay(t, RelayOptions{Store: store})
	var fail atomic.Bool
	a, err := NewClient(ClientOptions{URL: tr.url, Identity: aID, Logger: quietLogger(), OneTimePrekeys: 10,
		SaveState: func(ctx context.Context, st []byte) error {
			if fail.Load() {
				return errors.New("disk full")
			}
			return store.save(ctx, st)
		}})
	require.NoError(t, err)
	defer a.Close()
	b := newClient(t, tr.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, a.WaitConnected(ctx))
	for i := range 3 {
		require.NoError(t, a.Send(ctx, b.ID(), fmt.Appendf(nil, "m%d", i)))
		assert.Equal(t, fmt.Sprintf("m%d", i), string(recv(t, b).Body))
	}
	require.NoError(t, b.Send(ctx, a.ID(), []byte("reply")))
	assert.Equal(t, "reply", string(recv(t, a).Body))
	require.NoError(t, a.Send(ctx, b.ID(), []byte("new chain")))
	assert.Equal(t, "new chain", string(recv(t, b).Body))

	fail.Store(true)
	require.Error(t, a.Send(ctx, b.ID(), []byte("not sent")))
	fail.Store(false)
	require.NoError(t, a.Send(ctx, b.ID(), []byte("sent")))
	assert.Equal(t, "sent", string(recv(t, b).Body), "the unsaved message never reached the relay")
	store.mu.Lock()
	assert.Equal(t, 5, store.checks)
	store.mu.Unlock()
}
