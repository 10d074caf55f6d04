//go:build !js

package securechat_test

import (
	"context"
	"fmt"
	"time"

	"github.com/finkit/finkit/securechat"
)

// A token bucket in a Store: burst 3, one more token a minute. Relays that
// share the store (securechat/sqlstore) share the bucket.
func ExampleMemoryStore_TakeToken() {
	s := securechat.NewMemoryStore()
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	for _, at := range []time.Duration{0, 0, 0, 0, time.Minute} {
		ok, err := s.TakeToken(ctx, "prekeys:bob", time.Minute, 3, now.Add(at))
		fmt.Println(ok, err)
	}
	// Output:
	// true <nil>
	// true <nil>
	// true <nil>
	// false <nil>
	// true <nil>
}

// Enqueue checks the mailbox limit and the quotas as it appends.
func ExampleMemoryStore_Enqueue() {
	s := securechat.NewMemoryStore()
	ctx := context.Background()
	lim := securechat.EnqueueLimits{Mailbox: 100, SenderBytes: 8}
	for range 3 {
		_, err := s.Enqueue(ctx, "bob", securechat.StoredEnvelope{Sender: "alice", Envelope: []byte("four")}, lim)
		fmt.Println(err)
	}
	// Output:
	// <nil>
	// <nil>
	// securechat: storage quota exceeded: 8 bytes of yours wait for delivery
}
