package sqlstore_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
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

// BenchmarkEnqueueAck measures one relayed message's store work (an
// Enqueue within the quotas, then its Ack) on SQLite and PostgreSQL (with
// FINKIT_TEST_POSTGRES) in one run, from one writer and from parallel
// writers to 16 mailboxes; reported as messages/s.
func BenchmarkEnqueueAck(b *testing.B) {
	for _, sb := range sqltest.Backends() {
		b.Run(sb.Name, func(b *testing.B) {
			s, err := sqlstore.New(context.Background(), sb.Open(b), sqlstore.Options{Postgres: sb.Dialect == sqlmigrate.Postgres})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			var next atomic.Int64
			lim := securechat.EnqueueLimits{Mailbox: 10000, SenderBytes: 16 << 20, TotalBytes: 512 << 20}
			message := func() error {
				i := next.Add(1)
				to := securechat.PeerID(fmt.Sprintf("box%d", i%16))
				ctx := context.Background()
				seq, err := s.Enqueue(ctx, to, securechat.StoredEnvelope{Sender: securechat.PeerID(fmt.Sprintf("sender%d", i%64)),
					Envelope: make([]byte, 256), Received: time.Now()}, lim)
				if err != nil {
					return err
				}
				return s.Ack(ctx, to, seq)
			}
			b.Run("serial", func(b *testing.B) {
				for b.Loop() {
					if err := message(); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
			})
			b.Run("parallel", func(b *testing.B) {
				b.SetParallelism(4)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := message(); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "messages/s")
			})
		})
	}
}
