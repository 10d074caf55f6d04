//go:build !js

package securechat

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A relay replays an initial message (without a one-time prekey) after the
// session it created was evicted from the client's per-peer sessions and
// after a restart: the client must not deliver it again.
func TestClientRefusesReplayedInitialMessage(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	bID := newID(t)
	b := newClient(t, tr.url, bID)
	a := newParty(t, 0)
	rc := authRaw(t, tr.url, a.id)
	f := fetchBundle(t, rc, 1, b.ID())
	require.Equal(t, frameBundle, f.Type)
	bundle, err := ParseBundle(f.Data)
	require.NoError(t, err)
	bundle.OneTimePrekey = nil // as a relay may hand it out

	var initials [][]byte
	for i := range maxSessionsPerPeer + 1 {
		s, err := Initiate(a.id, bundle, nil)
		require.NoError(t, err)
		e, err := s.Encrypt(encodeInner(inner{kind: kindDirect, body: fmt.Appendf(nil, "session %d", i)}))
		require.NoError(t, err)
		initials = append(initials, e.Marshal())
		rc.write(frame{Type: frameSend, ID: uint64(10 + i), Data: initials[i]})
		require.Equal(t, frameOK, rc.read().Type)
		assert.Equal(t, fmt.Sprintf("session %d", i), string(recv(t, b).Body))
	}
	noMore := func(c *Client) {
		t.Helper()
		select {
		case m := <-c.Messages():
			t.Fatalf("replay delivered again: %q", m.Body)
		case <-time.After(300 * time.Millisecond):
		}
	}
	// Session 0 is no longer among the ones b keeps for a.
	rc.write(frame{Type: frameSend, ID: 20, Data: initials[0]})
	require.Equal(t, frameOK, rc.read().Type)
	noMore(b)

	st, err := b.MarshalState()
	require.NoError(t, err)
	require.NoError(t, b.Close())
	b2, err := NewClient(ClientOptions{URL: tr.url, Identity: bID, State: st, Logger: quietLogger()})
	require.NoError(t, err)
	defer b2.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, b2.WaitConnected(ctx))
	for _, raw := range initials[:2] {
		rc.write(frame{Type: frameSend, ID: 30, Data: raw})
		require.Equal(t, frameOK, rc.read().Type)
	}
	noMore(b2)
}
