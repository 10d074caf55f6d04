//go:build !js

package securechat

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReviewDeliverFailingForeverCloseReturns: a Deliver that fails at
// every call is retried with a bounded back-off (not a busy loop), nothing
// is acknowledged, no state is saved after the decryption, and Close
// returns promptly from the back-off wait. A restarted client then gets the
// same message with the same ID.
func TestReviewDeliverFailingForeverCloseReturns(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bID := newID(t)
	var mu sync.Mutex
	var state []byte
	var saves atomic.Int32
	var calls atomic.Int32
	var firstID atomic.Value
	save := func(_ context.Context, st []byte) error {
		mu.Lock()
		state = append([]byte(nil), st...)
		mu.Unlock()
		saves.Add(1)
		return nil
	}
	b, err := NewClient(ClientOptions{URL: tr.url, Identity: bID, Logger: quietLogger(), OneTimePrekeys: 10, SaveState: save,
		Deliver: func(_ context.Context, m Message) error {
			if calls.Add(1) == 1 {
				firstID.Store(m.ID)
			}
			return errors.New("database down")
		}})
	require.NoError(t, err)
	require.NoError(t, b.WaitConnected(ctx))
	a := newClient(t, tr.url, nil)
	require.NoError(t, a.Send(ctx, bID.ID(), []byte("hello")))
	require.Eventually(t, func() bool { return calls.Load() >= 1 }, 10*time.Second, 5*time.Millisecond)
	savesAtFirstCall := saves.Load()
	time.Sleep(1200 * time.Millisecond)
	n := calls.Load()
	// 50+100+200+400 ms of back-off fit in 1.2 s: a handful, not thousands.
	assert.GreaterOrEqual(t, n, int32(3), "retried")
	assert.LessOrEqual(t, n, int32(7), "back-off bounds the retries")
	assert.Equal(t, savesAtFirstCall, saves.Load(), "no save while Deliver has not taken the message")
	closed := make(chan struct{})
	go func() { _ = b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return while Deliver kept failing")
	}
	assert.Equal(t, savesAtFirstCall, saves.Load(), "a closed client saves nothing")

	mu.Lock()
	st := append([]byte(nil), state...)
	mu.Unlock()
	got := make(chan Message, 4)
	b2, err := NewClient(ClientOptions{URL: tr.url, Identity: bID, State: st, Logger: quietLogger(), OneTimePrekeys: 10, SaveState: save,
		Deliver: func(_ context.Context, m Message) error { got <- m; return nil }})
	require.NoError(t, err)
	defer b2.Close()
	select {
	case m := <-got:
		assert.Equal(t, "hello", string(m.Body))
		assert.Equal(t, firstID.Load(), m.ID, "a redelivery keeps its ID")
	case <-ctx.Done():
		t.Fatal("the message was lost")
	}
	select {
	case m := <-got:
		t.Fatalf("delivered twice: %q", m.Body)
	case <-time.After(300 * time.Millisecond):
	}
}

// TestReviewDeliverBlockedCloseReturns: a Deliver blocked on its context
// (a slow disk) is released by Close, which returns; the message is not
// acknowledged, so a restart gets it again.
func TestReviewDeliverBlockedCloseReturns(t *testing.T) {
	tr := startRelay(t, RelayOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	bID := newID(t)
	entered := make(chan string, 1)
	var mu sync.Mutex
	var state []byte
	save := func(_ context.Context, st []byte) error {
		mu.Lock()
		state = append([]byte(nil), st...)
		mu.Unlock()
		return nil
	}
	b, err := NewClient(ClientOptions{URL: tr.url, Identity: bID, Logger: quietLogger(), OneTimePrekeys: 10, SaveState: save,
		Deliver: func(ctx context.Context, m Message) error {
			entered <- m.ID
			<-ctx.Done()
			return nil // claims success after Close: must not be acked or saved
		}})
	require.NoError(t, err)
	require.NoError(t, b.WaitConnected(ctx))
	a := newClient(t, tr.url, nil)
	require.NoError(t, a.Send(ctx, bID.ID(), []byte("hello")))
	var id string
	select {
	case id = <-entered:
	case <-ctx.Done():
		t.Fatal("no delivery")
	}
	closed := make(chan struct{})
	go func() { _ = b.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(2 * time.Second):
		t.Fatal("Close did not return while Deliver was blocked")
	}
	got := make(chan Message, 2)
	mu.Lock()
	st := append([]byte(nil), state...)
	mu.Unlock()
	b2, err := NewClient(ClientOptions{URL: tr.url, Identity: bID, State: st, Logger: quietLogger(), OneTimePrekeys: 10, SaveState: save,
		Deliver: func(_ context.Context, m Message) error { got <- m; return nil }})
	require.NoError(t, err)
	defer b2.Close()
	select {
	case m := <-got:
		assert.Equal(t, id, m.ID)
	case <-ctx.Done():
		t.Fatal("the unacknowledged message was not delivered again")
	}
}
