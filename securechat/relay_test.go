//go:build !js

package securechat

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// published marks peer as having published prekeys in st (the relay
// stores envelopes only for such recipients).
func published(t testing.TB, st Store, peer PeerID) {
	t.Helper()
	require.NoError(t, st.PutPrekeys(context.Background(), peer, []byte("signed prekey"), nil))
}

func quietLogger() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

type testRelay struct {
	relay *Relay
	srv   *httptest.Server
	url   string
}

func startRelay(t testing.TB, opts RelayOptions) *testRelay {
	t.Helper()
	if opts.Logger == nil {
		opts.Logger = quietLogger()
	}
	srv := httptest.NewUnstartedServer(nil)
	if opts.Host == "" {
		opts.Host = srv.Listener.Addr().String() // what the clients dial
	}
	r, err := NewRelay(opts)
	require.NoError(t, err)
	srv.Config.Handler = r
	srv.Start()
	tr := &testRelay{relay: r, srv: srv, url: "ws" + strings.TrimPrefix(srv.URL, "http")}
	t.Cleanup(func() {
		require.NoError(t, r.Close())
		srv.Close()
	})
	return tr
}

func newClient(t testing.TB, url string, id *Identity) *Client {
	t.Helper()
	if id == nil {
		id = newID(t)
	}
	c, err := NewClient(ClientOptions{URL: url, Identity: id, Logger: quietLogger(), MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, OneTimePrekeys: 10})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.WaitConnected(ctx))
	return c
}

func recv(t testing.TB, c *Client) Message {
	t.Helper()
	select {
	case m := <-c.Messages():
		return m
	case <-time.After(10 * time.Second):
		t.Fatalf("no message for %s", c.ID())
		return Message{}
	}
}

// rawConn speaks the relay protocol by hand, for adversarial tests.
type rawConn struct {
	t  testing.TB
	ws *websocket.Conn
}

func dialRaw(t testing.TB, url string) (*rawConn, []byte) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, url, nil)
	require.NoError(t, err)
	t.Cleanup(func() { ws.CloseNow() })
	rc := &rawConn{t: t, ws: ws}
	f := rc.read()
	require.Equal(t, frameChallenge, f.Type)
	return rc, f.Data
}

func (rc *rawConn) write(f frame) {
	b, err := json.Marshal(f)
	require.NoError(rc.t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(rc.t, rc.ws.Write(ctx, websocket.MessageText, b))
}

// read returns the next frame, skipping the relay's unsolicited prekey
// count reports.
func (rc *rawConn) read() frame {
	for {
		f, err := rc.tryRead()
		require.NoError(rc.t, err)
		if f.Type != framePrekeys {
			return f
		}
	}
}

func (rc *rawConn) tryRead() (frame, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, b, err := rc.ws.Read(ctx)
	if err != nil {
		return frame{}, err
	}
	return decodeFrame(b)
}

func authRaw(t testing.TB, url string, id *Identity) *rawConn {
	t.Helper()
	rc, nonce := dialRaw(t, url)
	host := strings.TrimPrefix(url, "ws://")
	rc.write(frame{Type: frameAuth, Data: id.Public().Marshal(), Sig: id.Sign(authMessage(host, nonce))})
	f := rc.read()
	require.Equal(t, frameWelcome, f.Type)
	return rc
}

func TestRelayAuthentication(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	host := strings.TrimPrefix(tr.url, "ws://")
	alice, mallory := newID(t), newID(t)
	cases := map[string]func(nonce []byte) frame{
		"signature by another key": func(n []byte) frame {
			return frame{Type: frameAuth, Data: alice.Public().Marshal(), Sig: mallory.Sign(authMessage(host, n))}
		},
		"signature for another host": func(n []byte) frame {
			return frame{Type: frameAuth, Data: alice.Public().Marshal(), Sig: alice.Sign(authMessage("evil.example:443", n))}
		},
		"stale challenge": func(n []byte) frame {
			old := make([]byte, len(n))
			return frame{Type: frameAuth, Data: alice.Public().Marshal(), Sig: alice.Sign(authMessage(host, old))}
		},
		"no signature": func(n []byte) frame { return frame{Type: frameAuth, Data: alice.Public().Marshal()} },
		"wrong frame":  func(n []byte) frame { return frame{Type: frameSend, Data: []byte("x")} },
		"bad identity": func(n []byte) frame { return frame{Type: frameAuth, Data: []byte("short"), Sig: make([]byte, 64)} },
	}
	for name, mk := range cases {
		t.Run(name, func(t *testing.T) {
			rc, nonce := dialRaw(t, tr.url)
			rc.write(mk(nonce))
			_, err := rc.tryRead()
			require.Error(t, err)
			assert.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(err))
			assert.Equal(t, 0, tr.relay.Online(alice.ID()))
		})
	}
	authRaw(t, tr.url, alice)
	require.Eventually(t, func() bool { return tr.relay.Online(alice.ID()) == 1 }, 5*time.Second, 10*time.Millisecond)
}

func TestRelayRejectsForgedSenderAndBadFrames(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	alice, bob, mallory := newParty(t, 1), newParty(t, 1), newID(t)
	s, err := Initiate(alice.id, bundleOf(t, bob, true), nil)
	require.NoError(t, err)
	e, err := s.Encrypt([]byte("hi"))
	require.NoError(t, err)

	rc := authRaw(t, tr.url, mallory)
	rc.write(frame{Type: frameSend, ID: 1, Data: e.Marshal()})
	f := rc.read()
	assert.Equal(t, frameError, f.Type)
	assert.Equal(t, codeUnauthorized, f.Code)

	rc.write(frame{Type: frameSend, ID: 2, Data: []byte("garbage")})
	f = rc.read()
	assert.Equal(t, codeMalformed, f.Code)

	rc.write(frame{Type: framePublish, ID: 3, Data: alice.prekeys.Upload(alice.id).Marshal()})
	f = rc.read()
	assert.Equal(t, codeUnauthorized, f.Code, "cannot publish someone else's prekeys")

	rc.write(frame{Type: frameFetch, ID: 4, Peer: bob.id.ID()})
	f = rc.read()
	assert.Equal(t, codeNotFound, f.Code)

	rc.write(frame{Type: "bogus", ID: 5})
	f = rc.read()
	assert.Equal(t, codeMalformed, f.Code)

	require.NoError(t, rc.ws.Write(context.Background(), websocket.MessageText, []byte("{not json")))
	f = rc.read()
	assert.Equal(t, codeMalformed, f.Code)
}

func TestRelayOneTimePrekeysHandedOutOnce(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	bob := newParty(t, 3)
	rc := authRaw(t, tr.url, bob.id)
	rc.write(frame{Type: framePublish, ID: 1, Data: bob.prekeys.Upload(bob.id).Marshal()})
	require.Equal(t, frameOK, rc.read().Type)
	// Re-publishing the same keys does not resurrect handed-out ones.
	fetcher := authRaw(t, tr.url, newID(t))
	seen := map[uint32]bool{}
	for i := range 5 {
		fetcher.write(frame{Type: frameFetch, ID: uint64(i + 1), Peer: bob.id.ID()})
		f := fetcher.read()
		require.Equal(t, frameBundle, f.Type)
		b, err := ParseBundle(f.Data)
		require.NoError(t, err)
		if i == 0 {
			rc.write(frame{Type: framePublish, ID: 2, Data: bob.prekeys.Upload(bob.id).Marshal()})
			require.Equal(t, frameOK, rc.read().Type)
		}
		if b.OneTimePrekey != nil {
			require.False(t, seen[b.OneTimePrekey.ID], "one-time prekey %d handed out twice", b.OneTimePrekey.ID)
			seen[b.OneTimePrekey.ID] = true
		}
	}
	assert.Len(t, seen, 3)
}

func TestRelayMailboxLimitAndRateLimit(t *testing.T) {
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st, MailboxLimit: 3, RateLimit: 1, RateBurst: 6})
	alice, bob := newParty(t, 1), newParty(t, 1)
	published(t, st, bob.id.ID())
	s, err := Initiate(alice.id, bundleOf(t, bob, true), nil)
	require.NoError(t, err)
	rc := authRaw(t, tr.url, alice.id)
	codes := []string{}
	for i := range 8 {
		e, err := s.Encrypt(fmt.Appendf(nil, "m%d", i))
		require.NoError(t, err)
		rc.write(frame{Type: frameSend, ID: uint64(i + 1), Data: e.Marshal()})
		f := rc.read()
		codes = append(codes, f.Type+":"+f.Code)
	}
	assert.Equal(t, []string{"ok:", "ok:", "ok:", "error:mailbox_full", "error:mailbox_full", "error:mailbox_full", "error:rate_limited", "error:rate_limited"}, codes)
}

func TestRelayExpiresMessages(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	store := NewMemoryStore()
	ctx := context.Background()
	_, err := store.Enqueue(ctx, "p", StoredEnvelope{Envelope: []byte("x"), Received: now, Expires: now.Add(time.Hour)}, EnqueueLimits{})
	require.NoError(t, err)
	got, err := store.Pending(ctx, "p", 0, 10, clock().Add(2*time.Hour))
	require.NoError(t, err)
	assert.Empty(t, got, "expired entries are not delivered")
	n, err := store.PurgeExpired(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
}

func TestRelayDisconnectsSlowConsumer(t *testing.T) {
	t.Parallel() // independent and among the slowest: overlaps with the rest
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st, WriteTimeout: 200 * time.Millisecond, RateLimit: 1e6, RateBurst: 1e6})
	alice, bob := newParty(t, 1), newParty(t, 1)
	published(t, st, bob.id.ID())
	// bob authenticates and then never reads.
	authRaw(t, tr.url, bob.id)
	require.Eventually(t, func() bool { return tr.relay.Online(bob.id.ID()) == 1 }, 5*time.Second, 10*time.Millisecond)
	rc := authRaw(t, tr.url, alice.id)
	// The relay only checks the envelope's form, so one maximal envelope
	// (random ciphertext) sent repeatedly fills bob's socket buffers quickly.
	big := (&Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: alice.id.ID(), Recipient: bob.id.ID(),
		Ciphertext: make([]byte, MaxCiphertextSize)}).Marshal()
	for i := 0; i < 400 && tr.relay.Online(bob.id.ID()) > 0; i++ {
		rc.write(frame{Type: frameSend, ID: uint64(i + 1), Data: big})
		require.Equal(t, frameOK, rc.read().Type)
	}
	require.Eventually(t, func() bool { return tr.relay.Online(bob.id.ID()) == 0 }, 10*time.Second, 20*time.Millisecond,
		"a consumer that does not read is disconnected")
}

func TestClientDirectAndGroup(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	a, b, c := newClient(t, tr.url, nil), newClient(t, tr.url, nil), newClient(t, tr.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	require.NoError(t, a.Send(ctx, b.ID(), []byte("hi b")))
	m := recv(t, b)
	assert.Equal(t, a.ID(), m.From)
	assert.Equal(t, "hi b", string(m.Body))
	assert.Empty(t, m.Group)
	require.NoError(t, b.Send(ctx, a.ID(), []byte("hi a")))
	assert.Equal(t, "hi a", string(recv(t, a).Body))

	require.NoError(t, a.SetGroup(ctx, "family", []PeerID{b.ID(), c.ID()}))
	require.Eventually(t, func() bool {
		_, okb := b.Group("family")
		_, okc := c.Group("family")
		return okb && okc
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, b.SendGroup(ctx, "family", []byte("to all")))
	for _, cl := range []*Client{a, c} {
		m := recv(t, cl)
		assert.Equal(t, "family", m.Group)
		assert.Equal(t, b.ID(), m.From)
		assert.Equal(t, "to all", string(m.Body))
	}
	// Only the owner changes membership; c is removed and stops receiving.
	require.ErrorIs(t, b.SetGroup(ctx, "family", []PeerID{a.ID()}), ErrNotMember)
	require.NoError(t, a.SetGroup(ctx, "family", []PeerID{b.ID()}))
	require.Eventually(t, func() bool {
		_, okc := c.Group("family")
		g, _ := b.Group("family")
		return !okc && len(g.Members) == 2
	}, 5*time.Second, 10*time.Millisecond)
	require.ErrorIs(t, c.SendGroup(ctx, "family", []byte("still here?")), ErrNotMember)
	require.NoError(t, a.SendGroup(ctx, "family", []byte("without c")))
	assert.Equal(t, "without c", string(recv(t, b).Body))
	require.NoError(t, a.Send(ctx, c.ID(), []byte("direct to c")))
	m = recv(t, c)
	assert.Equal(t, "direct to c", string(m.Body), "c got no group message after removal")
	assert.Empty(t, m.Group)
}

func TestClientStateSurvivesRestart(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	aID := newID(t)
	a := newClient(t, tr.url, aID)
	b := newClient(t, tr.url, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, b.Send(ctx, a.ID(), []byte("before")))
	assert.Equal(t, "before", string(recv(t, a).Body))
	st, err := a.MarshalState()
	require.NoError(t, err)
	require.NoError(t, a.Close())
	require.NoError(t, b.Send(ctx, a.ID(), []byte("while away")))

	a2, err := NewClient(ClientOptions{URL: tr.url, Identity: aID, State: st, Logger: quietLogger()})
	require.NoError(t, err)
	defer a2.Close()
	assert.Equal(t, "while away", string(recv(t, a2).Body))
	require.NoError(t, a2.Send(ctx, b.ID(), []byte("back")))
	assert.Equal(t, "back", string(recv(t, b).Body))

	_, err = NewClient(ClientOptions{URL: tr.url, Identity: aID, State: []byte("{}")})
	require.ErrorIs(t, err, ErrMalformed)
	_, err = NewClient(ClientOptions{URL: "ftp://x", Identity: aID})
	require.ErrorIs(t, err, ErrMalformed)
}

func TestRelayCloseAndMemorySnapshotHoldsNoPlaintext(t *testing.T) {
	store := NewMemoryStore()
	srv := httptest.NewUnstartedServer(nil)
	r, err := NewRelay(RelayOptions{Store: store, Logger: quietLogger(), Host: srv.Listener.Addr().String()})
	require.NoError(t, err)
	srv.Config.Handler = r
	srv.Start()
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	a := newClient(t, url, nil)
	bID := newID(t)
	b := newClient(t, url, bID)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, b.Close()) // offline: messages stay in the store
	secret := "the plaintext that must never reach the relay"
	for i := range 5 {
		require.NoError(t, a.Send(ctx, bID.ID(), fmt.Appendf(nil, "%s #%d", secret, i)))
	}
	snap := store.Snapshot()
	require.NotEmpty(t, snap)
	for _, blob := range snap {
		require.NotContains(t, string(blob), "plaintext that must never")
	}

	require.NoError(t, r.Close())
	require.NoError(t, r.Close(), "idempotent")
	resp, err := srv.Client().Get(srv.URL)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 503, resp.StatusCode)
}

func TestRelayFrameSizeLimitFanOutAndPurge(t *testing.T) {
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	store := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: store, PurgeInterval: 10 * time.Millisecond, MessageTTL: time.Hour, Now: clock})
	alice, bob := newID(t), newID(t)
	published(t, store, bob.ID())

	// An oversized frame closes the connection (1009 message too big).
	rc := authRaw(t, tr.url, alice)
	require.NoError(t, rc.ws.Write(context.Background(), websocket.MessageText, make([]byte, maxFrameSize+1)))
	_, err := rc.tryRead()
	require.Error(t, err)
	assert.Equal(t, websocket.StatusMessageTooBig, websocket.CloseStatus(err))

	// Both connections of bob get the delivery.
	b1, b2 := authRaw(t, tr.url, bob), authRaw(t, tr.url, bob)
	sender := authRaw(t, tr.url, alice)
	env := (&Envelope{Version: EnvelopeVersion, Type: TypeNormal, Sender: alice.ID(), Recipient: bob.ID(),
		Ciphertext: make([]byte, 40)}).Marshal()
	sender.write(frame{Type: frameSend, ID: 1, Data: env})
	require.Equal(t, frameOK, sender.read().Type)
	for _, c := range []*rawConn{b1, b2} {
		f := c.read()
		require.Equal(t, frameDeliver, f.Type)
		assert.Equal(t, env, f.Data)
	}

	// Unacknowledged, it expires after the TTL and the purge loop drops it.
	envelopes := func() int64 {
		u, err := store.Usage(context.Background())
		require.NoError(t, err)
		return u.Envelopes
	}
	require.Equal(t, int64(1), envelopes())
	mu.Lock()
	now = now.Add(2 * time.Hour)
	mu.Unlock()
	require.Eventually(t, func() bool { return envelopes() == 0 }, 5*time.Second, 10*time.Millisecond)
}

// Closing the clients and then the relay leaves no goroutine behind: every
// connection goroutine, writer, publisher and the purge loop has an owner
// that waits for it.
func TestCloseLeavesNoGoroutines(t *testing.T) {
	settle := func() int {
		var n int
		for range 50 {
			n = runtime.NumGoroutine()
			time.Sleep(5 * time.Millisecond)
			if runtime.NumGoroutine() == n {
				break
			}
		}
		return n
	}
	base := settle()
	srv := httptest.NewUnstartedServer(nil)
	r, err := NewRelay(RelayOptions{Logger: quietLogger(), PurgeInterval: 10 * time.Millisecond, Host: srv.Listener.Addr().String()})
	require.NoError(t, err)
	srv.Config.Handler = r
	srv.Start()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	mk := func() *Client {
		c, err := NewClient(ClientOptions{URL: url, Identity: newID(t), Logger: quietLogger(), MinBackoff: 20 * time.Millisecond, OneTimePrekeys: 2})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		require.NoError(t, c.WaitConnected(ctx))
		return c
	}
	a, b := mk(), mk()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, a.Send(ctx, b.ID(), []byte("hi")))
	assert.Equal(t, "hi", string(recv(t, b).Body))
	require.NoError(t, a.Send(ctx, b.ID(), []byte("unread"))) // b closes with a delivery in flight
	require.NoError(t, a.Close())
	require.NoError(t, b.Close())
	require.NoError(t, r.Close())
	srv.Close()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > base && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > base {
		buf := make([]byte, 1<<20)
		t.Fatalf("%d goroutines after Close, %d before:\n%s", n, base, buf[:runtime.Stack(buf, true)])
	}
}

// countingStore counts the mailbox deletions the relay asks for.
type countingStore struct {
	*MemoryStore
	acks atomic.Int64
}

func (s *countingStore) Ack(ctx context.Context, recipient PeerID, seq uint64) error {
	s.acks.Add(1)
	return s.MemoryStore.Ack(ctx, recipient, seq)
}

// Acks for messages the connection was never delivered are rate-limited
// like any other frame: a client cannot flood the store with deletions.
func TestRelayRateLimitsJunkAcks(t *testing.T) {
	st := &countingStore{MemoryStore: NewMemoryStore()}
	tr := startRelay(t, RelayOptions{Store: st, RateLimit: 1, RateBurst: 20})
	rc := authRaw(t, tr.url, newID(t))
	const n = 200
	for i := range n {
		rc.write(frame{Type: frameAck, ID: uint64(i + 1)})
	}
	limited := 0
	for limited < n-20 {
		f, err := rc.tryRead()
		require.NoError(t, err, "after %d rate_limited replies", limited)
		if f.Type == frameError && f.Code == codeRateLimited {
			limited++
		}
	}
	assert.LessOrEqual(t, st.acks.Load(), int64(21))
}

// With RelayOptions.Host set, a challenge signed for another host is
// refused even when the connecting party claims that host in its Host
// header (the relay-in-the-middle of the RelayOptions.Host doc).
func TestRelayHostBindsChallenge(t *testing.T) {
	tr := startRelay(t, RelayOptions{Host: "relay.example"})
	id := newID(t)
	for _, tc := range []struct {
		signed string
		ok     bool
	}{{"evil.example", false}, {strings.TrimPrefix(tr.url, "ws://"), false}, {"relay.example", true}} {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		ws, _, err := websocket.Dial(ctx, tr.url, &websocket.DialOptions{Host: tc.signed})
		cancel()
		require.NoError(t, err)
		rc := &rawConn{t: t, ws: ws}
		ch := rc.read()
		require.Equal(t, frameChallenge, ch.Type)
		rc.write(frame{Type: frameAuth, Data: id.Public().Marshal(), Sig: id.Sign(authMessage(tc.signed, ch.Data))})
		f, err := rc.tryRead()
		if tc.ok {
			require.NoError(t, err)
			require.Equal(t, frameWelcome, f.Type, tc.signed)
		} else {
			require.Error(t, err, "signature for %s accepted", tc.signed)
		}
		ws.CloseNow()
	}
}

// One identity cannot hold more than MaxConnectionsPerPeer connections; a
// slot frees when a connection ends.
func TestRelayLimitsConnectionsPerPeer(t *testing.T) {
	tr := startRelay(t, RelayOptions{MaxConnectionsPerPeer: 3})
	id := newID(t)
	var conns []*rawConn
	for range 3 {
		conns = append(conns, authRaw(t, tr.url, id))
	}
	require.Equal(t, 3, tr.relay.Online(id.ID()))
	rc, nonce := dialRaw(t, tr.url)
	host := strings.TrimPrefix(tr.url, "ws://")
	rc.write(frame{Type: frameAuth, Data: id.Public().Marshal(), Sig: id.Sign(authMessage(host, nonce))})
	_, err := rc.tryRead()
	require.Error(t, err, "fourth connection accepted")
	require.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(err))

	conns[0].ws.Close(websocket.StatusNormalClosure, "")
	require.Eventually(t, func() bool { return tr.relay.Online(id.ID()) == 2 }, 5*time.Second, 5*time.Millisecond)
	authRaw(t, tr.url, id)
}

// An identity publishing fresh one-time prekeys over and over cannot grow
// the relay's store beyond MaxOneTimePrekeys of them.
func TestRelayBoundsStoredOneTimePrekeys(t *testing.T) {
	st := NewMemoryStore()
	tr := startRelay(t, RelayOptions{Store: st})
	p := newParty(t, 0)
	rc := authRaw(t, tr.url, p.id)
	for round := range 3 {
		_, err := p.prekeys.GenerateOneTime(MaxOneTimePrekeys - p.prekeys.OneTimeCount())
		require.NoError(t, err)
		rc.write(frame{Type: framePublish, ID: uint64(round + 1), Data: p.prekeys.Upload(p.id).Marshal()})
		require.Equal(t, frameOK, rc.read().Type)
		// Forget them locally so the next round has room for new ids.
		for _, k := range p.prekeys.Upload(p.id).OneTime {
			p.prekeys.consume(k.ID)
		}
	}
	st.mu.Lock()
	n := len(st.prekeys[p.id.ID()].oneTime)
	st.mu.Unlock()
	require.Equal(t, MaxOneTimePrekeys, n)
}
