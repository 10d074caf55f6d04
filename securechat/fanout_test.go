//go:build !js

package securechat

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// memHub is a Notifier between relays of one process, as PostgreSQL's
// LISTEN/NOTIFY is between processes. With drop set it loses every
// notification.
type memHub struct {
	mu   sync.Mutex
	subs map[chan PeerID]struct{}
	drop atomic.Bool
	sent atomic.Int64
}

func newMemHub() *memHub { return &memHub{subs: map[chan PeerID]struct{}{}} }

func (h *memHub) Notify(_ context.Context, peer PeerID) error {
	h.sent.Add(1)
	if h.drop.Load() {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	for ch := range h.subs {
		select {
		case ch <- peer:
		default: // a listener this far behind misses wake-ups, as a lost connection would
		}
	}
	return nil
}

func (h *memHub) Listen(ctx context.Context, wake func(PeerID), ready func()) error {
	ch := make(chan PeerID, 1024)
	h.mu.Lock()
	h.subs[ch] = struct{}{}
	h.mu.Unlock()
	defer func() {
		h.mu.Lock()
		delete(h.subs, ch)
		h.mu.Unlock()
	}()
	ready()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case p := <-ch:
			wake(p)
		}
	}
}

// expectInOrder reads n messages from c and checks they are "<from> <i>"
// for i = 0..n-1 from one sender, each exactly once and in order.
func expectInOrder(t *testing.T, c *Client, from PeerID, n int) {
	t.Helper()
	for i := range n {
		m := recv(t, c)
		require.Equal(t, from, m.From)
		require.Equal(t, strconv.Itoa(i), string(m.Body), "message %d of %d", i, n)
	}
	select {
	case m := <-c.Messages():
		t.Fatalf("unexpected extra message %q", m.Body)
	case <-time.After(100 * time.Millisecond):
	}
}

func sendAll(t *testing.T, c *Client, to PeerID, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for i := range n {
		require.NoError(t, c.Send(ctx, to, []byte(strconv.Itoa(i))))
	}
}

// TestRelayFanOutAcrossInstances runs two relays on one store, joined by a
// notifier: a client on A receives, live, in order and exactly once, what
// a client on B sends, both ways; a recipient that was offline gets its
// mailbox on the other instance.
func TestRelayFanOutAcrossInstances(t *testing.T) {
	store, hub := NewMemoryStore(), newMemHub()
	opts := RelayOptions{Store: store, Notifier: hub, RateLimit: 1000, RateBurst: 1000, FetchBurst: 100}
	ra, rb := startRelay(t, opts), startRelay(t, opts)
	const n = 50
	x, y := newClient(t, ra.url, nil), newClient(t, rb.url, nil)
	var wg sync.WaitGroup
	wg.Go(func() { sendAll(t, x, y.ID(), n) })
	wg.Go(func() { sendAll(t, y, x.ID(), n) })
	expectInOrder(t, y, x.ID(), n)
	expectInOrder(t, x, y.ID(), n)
	wg.Wait()

	// y goes offline; x's messages wait in the mailbox; y comes back on A.
	yID := y.id
	require.NoError(t, y.Close())
	require.Eventually(t, func() bool { return rb.relay.Online(yID.ID()) == 0 }, 5*time.Second, 5*time.Millisecond)
	sendAll(t, x, yID.ID(), n)
	y2 := newClientState(t, ra.url, yID, y)
	expectInOrder(t, y2, x.ID(), n)
}

// newClientState reconnects the identity of old (closed) with its saved
// session state.
func newClientState(t *testing.T, url string, id *Identity, old *Client) *Client {
	t.Helper()
	st, err := old.MarshalState()
	require.NoError(t, err)
	c, err := NewClient(ClientOptions{URL: url, Identity: id, State: st, Logger: quietLogger(),
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 500 * time.Millisecond, OneTimePrekeys: 10})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, c.WaitConnected(ctx))
	return c
}

// TestRelayPollsWhenNotificationsAreLost checks that a delivery across
// instances whose notification was lost still arrives within PollInterval.
func TestRelayPollsWhenNotificationsAreLost(t *testing.T) {
	store, hub := NewMemoryStore(), newMemHub()
	opts := RelayOptions{Store: store, Notifier: hub, PollInterval: 200 * time.Millisecond}
	ra, rb := startRelay(t, opts), startRelay(t, opts)
	x, y := newClient(t, ra.url, nil), newClient(t, rb.url, nil)
	hub.drop.Store(true)
	start := time.Now()
	sendAll(t, x, y.ID(), 3)
	expectInOrder(t, y, x.ID(), 3)
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Positive(t, hub.sent.Load(), "the sends notified")
}

// TestRelayWithoutNotifierStaysLocal documents what the notifier adds: a
// relay without one does not wake another instance's connections.
func TestRelayWithoutNotifierStaysLocal(t *testing.T) {
	store := NewMemoryStore()
	ra, rb := startRelay(t, RelayOptions{Store: store}), startRelay(t, RelayOptions{Store: store})
	x, y := newClient(t, ra.url, nil), newClient(t, rb.url, nil)
	sendAll(t, x, y.ID(), 1)
	select {
	case m := <-y.Messages():
		t.Fatalf("delivered across instances without a notifier: %q", m.Body)
	case <-time.After(500 * time.Millisecond):
	}
}
