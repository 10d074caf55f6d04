//go:build !js

package securechat

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A relay without a configured host would trust each request's Host
// header, which lets a server the client was tricked into dialling forward
// this relay's challenge and log in as the client.
func TestRelayRequiresHost(t *testing.T) {
	_, err := NewRelay(RelayOptions{Logger: quietLogger()})
	require.ErrorIs(t, err, ErrMalformed)
	for _, h := range []string{"ws://relay.example", "relay.example/chat", " relay.example"} {
		_, err := NewRelay(RelayOptions{Host: h, Logger: quietLogger()})
		require.ErrorIs(t, err, ErrMalformed, "host %q", h)
	}
	r, err := NewRelay(RelayOptions{Host: "relay.example:443", Logger: quietLogger()})
	require.NoError(t, err)
	require.NoError(t, r.Close())
}

// Plain ws:// is only for loopback unless explicitly allowed.
func TestClientRefusesPlainWebSocketToRemoteHost(t *testing.T) {
	id := newID(t)
	for _, u := range []string{"ws://relay.example/chat/ws", "http://relay.example/chat/ws", "ws://10.0.0.1:8080/chat/ws", "ws://localhost.evil.example/ws"} {
		_, err := NewClient(ClientOptions{URL: u, Identity: id, Logger: quietLogger()})
		require.ErrorIs(t, err, ErrInsecureTransport, u)
	}
	for _, u := range []string{"wss://relay.example/chat/ws", "ws://localhost:1/ws", "ws://127.0.0.1:1/ws", "ws://[::1]:1/ws"} {
		c, err := NewClient(ClientOptions{URL: u, Identity: id, Logger: quietLogger(), MinBackoff: time.Hour})
		require.NoError(t, err, u)
		require.NoError(t, c.Close())
	}
	c, err := NewClient(ClientOptions{URL: "ws://relay.example/chat/ws", Identity: id, Logger: quietLogger(), AllowInsecureTransport: true, MinBackoff: time.Hour})
	require.NoError(t, err)
	require.NoError(t, c.Close())
}

// fetchBundle asks the relay for peer's bundle over a raw connection.
func fetchBundle(t testing.TB, rc *rawConn, id uint64, peer PeerID) frame {
	t.Helper()
	rc.write(frame{Type: frameFetch, ID: id, Peer: peer})
	for {
		f := rc.read()
		if f.ID == id {
			return f
		}
	}
}

// Prekey fetches are limited per requester (over all its connections) and
// per target: beyond the target's budget the bundle comes without a
// one-time prekey, so one identity (or many) cannot drain them in a burst,
// and sessions can still start.
func TestRelayRateLimitsPrekeyFetches(t *testing.T) {
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st, FetchRate: 0.001, FetchBurst: 4, TargetRate: 0.001, TargetBurst: 6})
	target := newParty(t, 30)
	pub := authRaw(t, tr.url, target.id)
	pub.write(frame{Type: framePublish, ID: 1, Data: target.prekeys.Upload(target.id).Marshal()})
	require.Equal(t, frameOK, pub.read().Type)

	// One requester, two connections: 4 fetches in all, then rate_limited.
	mallory := newID(t)
	m1, m2 := authRaw(t, tr.url, mallory), authRaw(t, tr.url, mallory)
	for i := range 4 {
		rc := m1
		if i%2 == 1 {
			rc = m2
		}
		f := fetchBundle(t, rc, uint64(10+i), target.id.ID())
		require.Equal(t, frameBundle, f.Type)
	}
	f := fetchBundle(t, m2, 20, target.id.ID())
	require.Equal(t, frameError, f.Type)
	assert.Equal(t, codeRateLimited, f.Code)

	// Other requesters: the target's one-time budget (6) runs out, the
	// bundles keep coming without one.
	withOTK := 4
	for i := range 6 {
		rc := authRaw(t, tr.url, newID(t))
		f := fetchBundle(t, rc, 1, target.id.ID())
		require.Equal(t, frameBundle, f.Type, "requester %d", i)
		b, err := ParseBundle(f.Data)
		require.NoError(t, err)
		if b.OneTimePrekey != nil {
			withOTK++
		}
	}
	assert.Equal(t, 6, withOTK)
	signed, left, err := st.PeekPrekeys(context.Background(), target.id.ID())
	require.NoError(t, err)
	assert.NotEmpty(t, signed)
	assert.Equal(t, 24, left)
}

// When the relay reports that few one-time prekeys are left, the client
// makes and publishes new ones (not only after it accepts a session).
func TestClientRefillsOneTimePrekeysWhenRelayReportsLow(t *testing.T) {
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st})
	target := newClient(t, tr.url, nil) // 10 one-time prekeys
	count := func() int {
		_, n, err := st.PeekPrekeys(context.Background(), target.ID())
		require.NoError(t, err)
		return n
	}
	require.Equal(t, 10, count())
	rc := authRaw(t, tr.url, newID(t))
	for i := range 8 {
		f := fetchBundle(t, rc, uint64(i+1), target.ID())
		require.Equal(t, frameBundle, f.Type)
	}
	// 10 - 8 = 2 without a refill; the refill starts below 5 and tops up
	// to 10, so at least 5 remain once it is published.
	require.Eventually(t, func() bool { return count() >= 5 }, 10*time.Second, 10*time.Millisecond)
	// The new ones work: a session started with one is accepted.
	c := newClient(t, tr.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.Send(ctx, target.ID(), []byte("with a fresh one-time prekey")))
	assert.Equal(t, "with a fresh one-time prekey", string(recv(t, target).Body))
}

// The client rotates its signed prekey on a schedule and publishes the new
// one; an initial message made from the previous bundle is still accepted.
func TestClientRotatesSignedPrekey(t *testing.T) {
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st})
	id := newID(t)
	target, err := NewClient(ClientOptions{URL: tr.url, Identity: id, Logger: quietLogger(), OneTimePrekeys: 10,
		SignedPrekeyRotation: 4 * time.Second})
	require.NoError(t, err)
	defer target.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, target.WaitConnected(ctx))
	spkID := func() uint32 {
		signed, _, err := st.PeekPrekeys(ctx, id.ID())
		require.NoError(t, err)
		b, err := assembleBundle(signed, nil)
		require.NoError(t, err)
		bundle, err := ParseBundle(b)
		require.NoError(t, err)
		return bundle.SignedPrekey.ID
	}
	first := spkID()
	signed, _, err := st.PeekPrekeys(ctx, id.ID())
	require.NoError(t, err)
	old, err := assembleBundle(signed, nil)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return spkID() != first }, 10*time.Second, 20*time.Millisecond, "signed prekey not rotated")

	// A sender that fetched the old bundle before the rotation.
	a := newParty(t, 0)
	ob, err := ParseBundle(old)
	require.NoError(t, err)
	s, err := Initiate(a.id, ob, nil)
	require.NoError(t, err)
	e, err := s.Encrypt(encodeInner(inner{kind: kindDirect, body: []byte("sent with the old bundle")}))
	require.NoError(t, err)
	rc := authRaw(t, tr.url, a.id)
	rc.write(frame{Type: frameSend, ID: 1, Data: e.Marshal()})
	require.Equal(t, frameOK, rc.read().Type)
	assert.Equal(t, "sent with the old bundle", string(recv(t, target).Body))
}
