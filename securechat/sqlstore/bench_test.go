package sqlstore_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/finkit/finkit/securechat"
)

// BenchmarkEnqueue measures one mailbox write (a transaction: counter
// update, insert) on SQLite, serially and from parallel writers.
func BenchmarkEnqueue(b *testing.B) {
	for _, parallel := range []bool{false, true} {
		b.Run(fmt.Sprintf("parallel=%v", parallel), func(b *testing.B) {
			s, _, _ := newStore(b)
			ctx := context.Background()
			env := securechat.StoredEnvelope{Sender: "alice", Envelope: make([]byte, 256)}
			if !parallel {
				for b.Loop() {
					if _, err := s.Enqueue(ctx, "bob", env, securechat.EnqueueLimits{}); err != nil {
						b.Fatal(err)
					}
				}
				return
			}
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.Enqueue(ctx, "bob", env, securechat.EnqueueLimits{}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
