//go:build !js

package securechat

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// device is what survives a crash of a receiving app: the last state its
// SaveState stored and the messages its Deliver stored, by Message.ID.
type device struct {
	mu    sync.Mutex
	state []byte
	inbox map[string]string
	order []string
	seen  map[string]int // Deliver calls by body, redeliveries included
}

// crashPoint says where the next run of a device dies.
type crashPoint int

const (
	noCrash         crashPoint = iota
	crashInDeliver             // before Deliver stored the message
	crashBeforeSave            // Deliver stored it, the state is not saved
	crashAfterSave             // the state is saved, the ack not sent
)

// run starts a client on the device's saved state. At crash it signals
// crashed and blocks (the process is dead from there on: nothing it does
// afterwards reaches the device) until the test closes the client.
func (d *device) run(t *testing.T, url string, id *Identity, crash crashPoint, crashed chan<- struct{}) *Client {
	t.Helper()
	var once sync.Once
	die := func(ctx context.Context) error {
		once.Do(func() { close(crashed) })
		<-ctx.Done()
		return ctx.Err()
	}
	d.mu.Lock()
	st := bytes.Clone(d.state)
	d.mu.Unlock()
	var delivered atomic.Bool
	c, err := NewClient(ClientOptions{URL: url, Identity: id, State: st, Logger: quietLogger(), OneTimePrekeys: 10,
		MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		Deliver: func(ctx context.Context, m Message) error {
			if crash == crashInDeliver {
				return die(ctx)
			}
			d.mu.Lock()
			d.seen[string(m.Body)]++
			if _, ok := d.inbox[m.ID]; !ok {
				d.inbox[m.ID] = string(m.Body)
				d.order = append(d.order, m.ID)
			}
			d.mu.Unlock()
			delivered.Store(true)
			return nil
		},
		SaveState: func(ctx context.Context, st []byte) error {
			if delivered.Load() && crash == crashBeforeSave {
				return die(ctx)
			}
			d.mu.Lock()
			d.state = bytes.Clone(st)
			d.mu.Unlock()
			if delivered.Load() && crash == crashAfterSave {
				return die(ctx)
			}
			return nil
		}})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return c
}

func (d *device) bodies() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	var out []string
	for _, id := range d.order {
		out = append(out, d.inbox[id])
	}
	return out
}

// TestDeliverHookLosesNoMessageInACrash kills the receiving client at each
// step between the decryption and the relay's ack, and restarts it from
// what it had stored: the message is stored exactly once (by ID) in every
// case, and the session goes on (a later message in both directions
// decrypts). Before the hook, a client acked each message once it was in
// the Messages channel, so an app that died before storing it had lost it.
func TestDeliverHookLosesNoMessageInACrash(t *testing.T) {
	for _, tc := range []struct {
		name      string
		crash     crashPoint
		wantCalls int // Deliver calls with the crash's message, both runs
	}{
		{"in deliver", crashInDeliver, 1},
		{"after deliver before save", crashBeforeSave, 2},
		{"after save before ack", crashAfterSave, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := startRelay(t, RelayOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			bID := newID(t)
			d := &device{inbox: map[string]string{}, seen: map[string]int{}}
			never := make(chan struct{})
			b := d.run(t, tr.url, bID, noCrash, never)
			require.NoError(t, b.WaitConnected(ctx))
			a := newClient(t, tr.url, nil)
			require.NoError(t, a.Send(ctx, bID.ID(), []byte("first")))
			require.Eventually(t, func() bool { return len(d.bodies()) == 1 }, 10*time.Second, 5*time.Millisecond)
			require.NoError(t, b.Close())

			// The next run dies while handling "second".
			crashed := make(chan struct{})
			b = d.run(t, tr.url, bID, tc.crash, crashed)
			require.NoError(t, a.Send(ctx, bID.ID(), []byte("second")))
			select {
			case <-crashed:
			case <-ctx.Done():
				t.Fatal("the client never reached the crash point")
			}
			require.NoError(t, b.Close())

			// Restarted from what the device kept.
			b = d.run(t, tr.url, bID, noCrash, never)
			require.NoError(t, b.WaitConnected(ctx))
			require.NoError(t, a.Send(ctx, bID.ID(), []byte("third")))
			require.Eventually(t, func() bool { return len(d.bodies()) == 3 }, 10*time.Second, 5*time.Millisecond,
				"stored: %q", d.bodies())
			assert.Equal(t, []string{"first", "second", "third"}, d.bodies())
			d.mu.Lock()
			assert.Equal(t, tc.wantCalls, d.seen["second"], "Deliver calls with the crash's message")
			assert.Equal(t, 1, d.seen["third"])
			d.mu.Unlock()

			// The session still works both ways.
			require.NoError(t, b.Send(ctx, a.ID(), []byte("reply")))
			assert.Equal(t, "reply", string(recv(t, a).Body))
		})
	}
}

// TestDeliverHookHoldsBackConcurrentSaves is the attacker's test of the
// write-ahead order: while Deliver has not taken a message, a Send of the
// same client (which saves the state before it sends) must not save the
// session that has consumed the message's key, or a crash then loses the
// message for good (the restarted client would refuse its redelivery as a
// replay). The Send waits; the client dies in Deliver; the restart still
// gets the message.
func TestDeliverHookHoldsBackConcurrentSaves(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bID := newID(t)
	d := &device{inbox: map[string]string{}, seen: map[string]int{}}
	never := make(chan struct{})
	b := d.run(t, tr.url, bID, noCrash, never)
	require.NoError(t, b.WaitConnected(ctx))
	a := newClient(t, tr.url, nil)
	require.NoError(t, a.Send(ctx, bID.ID(), []byte("first")))
	require.Eventually(t, func() bool { return len(d.bodies()) == 1 }, 10*time.Second, 5*time.Millisecond)
	require.NoError(t, b.Close())

	crashed := make(chan struct{})
	b = d.run(t, tr.url, bID, crashInDeliver, crashed)
	require.NoError(t, a.Send(ctx, bID.ID(), []byte("second")))
	<-crashed
	sent := make(chan error, 1)
	go func() { sent <- b.Send(ctx, a.ID(), []byte("reply while delivering")) }()
	select {
	case err := <-sent:
		t.Fatalf("Send finished while Deliver held a message: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	require.NoError(t, b.Close())
	assert.Error(t, <-sent, "a Send of a closed client saves and sends nothing")

	b = d.run(t, tr.url, bID, noCrash, never)
	require.NoError(t, b.WaitConnected(ctx))
	require.Eventually(t, func() bool { return len(d.bodies()) == 2 }, 10*time.Second, 5*time.Millisecond,
		"stored: %q", d.bodies())
	assert.Equal(t, []string{"first", "second"}, d.bodies())
	require.NoError(t, b.Send(ctx, a.ID(), []byte("reply")))
	assert.Equal(t, "reply", string(recv(t, a).Body))
}

// TestDeliverHookRetriesFailures: a Deliver that fails (a full disk) is
// called again until it succeeds; nothing is acknowledged meanwhile, and
// the message is not sent to Messages as well.
func TestDeliverHookRetriesFailures(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var calls atomic.Int32
	got := make(chan Message, 4)
	b, err := NewClient(ClientOptions{URL: tr.url, Identity: newID(t), Logger: quietLogger(), OneTimePrekeys: 10,
		Deliver: func(_ context.Context, m Message) error {
			if calls.Add(1) < 3 {
				return errors.New("disk full")
			}
			got <- m
			return nil
		}})
	require.NoError(t, err)
	defer b.Close()
	require.NoError(t, b.WaitConnected(ctx))
	a := newClient(t, tr.url, nil)
	require.NoError(t, a.Send(ctx, b.ID(), []byte("hello")))
	select {
	case m := <-got:
		assert.Equal(t, "hello", string(m.Body))
		assert.Equal(t, a.ID(), m.From)
		assert.Len(t, m.ID, 64)
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
	assert.EqualValues(t, 3, calls.Load())
	select {
	case m := <-b.Messages():
		t.Fatalf("also delivered to Messages: %q", m.Body)
	case <-time.After(100 * time.Millisecond):
	}
}
