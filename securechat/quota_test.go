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

// publish publishes p's prekeys through a raw connection, as a client does
// at connect.
func publish(t *testing.T, url string, p party) {
	t.Helper()
	rc := authRaw(t, url, p.id)
	rc.write(frame{Type: framePublish, ID: 1, Data: p.prekeys.Upload(p.id).Marshal()})
	require.Equal(t, frameOK, rc.read().Type)
}

// bigEnvelope is a maximal envelope (random-looking ciphertext) from one
// identity to another: the relay checks only its form.
func bigEnvelope(from, to PeerID) []byte {
	return (&Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: from, Recipient: to,
		Ciphertext: make([]byte, MaxCiphertextSize)}).Marshal()
}

// sendRaw sends env n times on a raw connection and returns the reply
// codes ("ok" or the error code).
func sendRaw(t *testing.T, rc *rawConn, env []byte, n int) []string {
	t.Helper()
	var codes []string
	for i := range n {
		rc.write(frame{Type: frameSend, ID: uint64(i + 1), Data: env})
		f := rc.read()
		if f.Type == frameOK {
			codes = append(codes, "ok")
		} else {
			codes = append(codes, f.Code)
		}
	}
	return codes
}

// TestRelayRefusesEnvelopesForUnknownRecipients replays the flood of issue
// 13: fresh identities send maximal envelopes, each to a recipient that
// never published prekeys (so nobody could ever read them). None is
// stored.
func TestRelayRefusesEnvelopesForUnknownRecipients(t *testing.T) {
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st})
	for range 6 {
		sender := newID(t)
		rc := authRaw(t, tr.url, sender)
		for range 5 {
			codes := sendRaw(t, rc, bigEnvelope(sender.ID(), newID(t).ID()), 1)
			require.Equal(t, []string{codeNotFound}, codes)
		}
	}
	u, err := st.Usage(context.Background())
	require.NoError(t, err)
	assert.Zero(t, u.Bytes, "nothing stored")
}

// TestRelaySenderQuota: one sender's undelivered envelopes are bounded in
// bytes; another sender is not affected by it.
func TestRelaySenderQuota(t *testing.T) {
	st := NewMemoryStore()
	size := int64(len(bigEnvelope(newID(t).ID(), newID(t).ID())))
	tr := startRelay(t, RelayOptions{Store: st, SenderQuota: 3 * size})
	bob := newParty(t, 1)
	publish(t, tr.url, bob)
	alice, carol := newID(t), newID(t)
	ra := authRaw(t, tr.url, alice)
	assert.Equal(t, []string{"ok", "ok", "ok", codeQuota, codeQuota}, sendRaw(t, ra, bigEnvelope(alice.ID(), bob.id.ID()), 5))
	rc := authRaw(t, tr.url, carol)
	assert.Equal(t, []string{"ok"}, sendRaw(t, rc, bigEnvelope(carol.ID(), bob.id.ID()), 1))
	u, err := st.SenderUsage(context.Background(), alice.ID())
	require.NoError(t, err)
	assert.Equal(t, StorageUsage{Envelopes: 3, Bytes: 3 * size}, u)
}

// TestRelayStorageQuota: fresh identities, each within its own quota,
// cannot together make the relay hold more than StorageQuota, and Usage
// reports what it holds.
func TestRelayStorageQuota(t *testing.T) {
	st := NewMemoryStore()
	size := int64(len(bigEnvelope(newID(t).ID(), newID(t).ID())))
	tr := startRelay(t, RelayOptions{Store: st, StorageQuota: 4 * size})
	bob := newParty(t, 1)
	publish(t, tr.url, bob)
	stored := 0
	for range 6 {
		sender := newID(t)
		for _, code := range sendRaw(t, authRaw(t, tr.url, sender), bigEnvelope(sender.ID(), bob.id.ID()), 2) {
			if code == "ok" {
				stored++
			} else {
				assert.Equal(t, codeQuota, code)
			}
		}
	}
	assert.Equal(t, 4, stored)
	u, err := tr.relay.Usage(context.Background())
	require.NoError(t, err)
	assert.Equal(t, StorageUsage{Envelopes: 4, Bytes: 4 * size}, u)
}

// latentStore is a MemoryStore whose writes take as long as a database's
// round trip, so that racing senders overlap.
type latentStore struct{ *MemoryStore }

func (s latentStore) Enqueue(ctx context.Context, recipient PeerID, env StoredEnvelope, lim EnqueueLimits) (uint64, error) {
	time.Sleep(20 * time.Millisecond)
	return s.MemoryStore.Enqueue(ctx, recipient, env, lim)
}

// TestRelaySenderQuotaRacingConnections: a sender that sends on all its
// connections at once still stores no more than its quota (the check and
// the store are one step), and the relay no more than its own.
func TestRelaySenderQuotaRacingConnections(t *testing.T) {
	st := latentStore{NewMemoryStore()}
	size := int64(len(bigEnvelope(newID(t).ID(), newID(t).ID())))
	tr := startRelay(t, RelayOptions{Store: st, SenderQuota: 2 * size, StorageQuota: 3 * size})
	bob := newParty(t, 1)
	publish(t, tr.url, bob)
	senders := []*Identity{newID(t), newID(t)}
	var conns []*rawConn
	var envs [][]byte
	for _, s := range senders {
		for range 8 {
			conns = append(conns, authRaw(t, tr.url, s))
			envs = append(envs, bigEnvelope(s.ID(), bob.id.ID()))
		}
	}
	var wg sync.WaitGroup
	codes := make([]string, len(conns))
	for i, rc := range conns {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rc.write(frame{Type: frameSend, ID: 1, Data: envs[i]})
			if f := rc.read(); f.Type == frameOK {
				codes[i] = "ok"
			} else {
				codes[i] = f.Code
			}
		}()
	}
	wg.Wait()
	for _, s := range senders {
		u, err := st.SenderUsage(context.Background(), s.ID())
		require.NoError(t, err)
		assert.LessOrEqual(t, u.Bytes, 2*size, "sender %s over its quota: %v", s.ID(), codes)
	}
	u, err := st.Usage(context.Background())
	require.NoError(t, err)
	assert.LessOrEqual(t, u.Bytes, 3*size, "relay over its quota: %v", codes)
}
