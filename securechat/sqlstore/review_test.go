package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
)

// instanceDBs is instanceStores with each store's pool.
func instanceDBs(t *testing.T, b sqltest.Backend, n int) ([]*sqlstore.Store, []*sql.DB) {
	t.Helper()
	target := b.Target(t)
	driver, dsn := "sqlite", sqlmigrate.SQLiteDSN(target)
	if b.Dialect == sqlmigrate.Postgres {
		driver, dsn = "pgx", target
	}
	var stores []*sqlstore.Store
	var dbs []*sql.DB
	for range n {
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(context.Background(), db, sqlstore.Options{Postgres: b.Dialect == sqlmigrate.Postgres})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		stores, dbs = append(stores, s), append(dbs, db)
	}
	return stores, dbs
}

// assertCountersMatchRows checks the usage counter rows against what the
// mailbox rows really hold, per sender and in all.
func assertCountersMatchRows(t *testing.T, db *sql.DB) {
	t.Helper()
	ctx := context.Background()
	var rows, counted securechat.StorageUsage
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*), COALESCE(SUM(size), 0) FROM chat_mailbox`).Scan(&rows.Envelopes, &rows.Bytes))
	require.NoError(t, db.QueryRowContext(ctx, `SELECT envelopes, bytes FROM chat_usage_total WHERE id = 1`).Scan(&counted.Envelopes, &counted.Bytes))
	assert.Equal(t, rows, counted, "the total counter is what the mailboxes hold")
	var drift int
	require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM
(SELECT sender, COUNT(*) AS n, SUM(size) AS b FROM chat_mailbox GROUP BY sender) m
FULL OUTER JOIN (SELECT sender, envelopes AS n, bytes AS b FROM chat_usage WHERE envelopes <> 0 OR bytes <> 0) u
ON m.sender = u.sender WHERE m.sender IS NULL OR u.sender IS NULL OR m.n <> u.n OR m.b <> u.b`).Scan(&drift))
	assert.Zero(t, drift, "senders whose counter differs from their stored envelopes")
}

// TestMixedEnqueueAckPurgeAcrossInstances (review): writers on two pools of
// one database enqueue as a few shared senders into shared mailboxes,
// half of the envelopes already expired, ack some, while both instances
// purge in a loop: no call fails (no deadlock 40P01 between Enqueue's,
// Ack's and the purge's row locks, no busy SQLite), and afterwards the
// counters equal the mailbox rows, per sender and in all.
func TestMixedEnqueueAckPurgeAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		stores, dbs := instanceDBs(t, b, 2)
		ctx := context.Background()
		now := time.Now()
		lim := securechat.EnqueueLimits{Mailbox: 10000, SenderBytes: 1 << 30, TotalBytes: 1 << 30}
		start := make(chan struct{})
		stop := make(chan struct{})
		var writers, purgers sync.WaitGroup
		var purged atomic.Int64
		for w := range 12 {
			s := stores[w%2]
			writers.Go(func() {
				<-start
				for i := range 30 {
					to := securechat.PeerID(fmt.Sprintf("box%d", (w+i)%3))
					exp := now.Add(time.Hour)
					if i%2 == 0 {
						exp = now.Add(-time.Second) // the purge takes it
					}
					seq, err := s.Enqueue(ctx, to, securechat.StoredEnvelope{Sender: securechat.PeerID(fmt.Sprintf("s%d", (w+i)%4)),
						Envelope: make([]byte, 8+i%5), Received: now, Expires: exp}, lim)
					if !assert.NoError(t, err) {
						return
					}
					if i%3 != 0 {
						if !assert.NoError(t, s.Ack(ctx, to, seq)) {
							return
						}
					}
				}
			})
		}
		for _, s := range stores {
			for range 2 {
				purgers.Go(func() {
					<-start
					for {
						select {
						case <-stop:
							return
						default:
						}
						n, err := s.PurgeExpired(ctx, now)
						if !assert.NoError(t, err) {
							return
						}
						purged.Add(int64(n))
					}
				})
			}
		}
		close(start)
		writers.Wait()
		close(stop)
		purgers.Wait()
		n, err := stores[0].PurgeExpired(ctx, now)
		require.NoError(t, err)
		purged.Add(int64(n))
		assert.Positive(t, purged.Load())
		assertCountersMatchRows(t, dbs[0])
	})
}

// TestMailboxLimitExactAcrossInstances (review): 30 writers on two pools
// race into one mailbox of limit 7: exactly 7 are stored, the rest are
// ErrMailboxFull; 30 envelopes of one sender into 30 mailboxes against a
// sender quota of 5 envelopes: exactly 5.
func TestMailboxLimitExactAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		stores, dbs := instanceDBs(t, b, 2)
		ctx := context.Background()
		race := func(to func(i int) string, sender func(i int) string, lim securechat.EnqueueLimits, refused error) int32 {
			var stored atomic.Int32
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i := range 30 {
				wg.Go(func() {
					<-start
					_, err := stores[i%2].Enqueue(ctx, securechat.PeerID(to(i)),
						securechat.StoredEnvelope{Sender: securechat.PeerID(sender(i)), Envelope: make([]byte, 100)}, lim)
					if err == nil {
						stored.Add(1)
					} else {
						assert.ErrorIs(t, err, refused)
					}
				})
			}
			close(start)
			wg.Wait()
			return stored.Load()
		}
		got := race(func(int) string { return "bob" }, func(i int) string { return fmt.Sprintf("s%d", i) },
			securechat.EnqueueLimits{Mailbox: 7}, securechat.ErrMailboxFull)
		assert.EqualValues(t, 7, got, "the mailbox limit over both instances")
		got = race(func(i int) string { return fmt.Sprintf("box%d", i) }, func(int) string { return "greedy" },
			securechat.EnqueueLimits{SenderBytes: 500}, securechat.ErrQuotaExceeded)
		assert.EqualValues(t, 5, got, "the sender quota over both instances")
		assertCountersMatchRows(t, dbs[1])
	})
}

// TestTakeTokenClockSkew (review): two relays 30 minutes apart share one
// bucket: neither gets more than the burst plus what the skew refilled,
// and the one behind gets nothing after the one ahead took the burst.
func TestTakeTokenClockSkew(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		stores, _ := instanceDBs(t, b, 2)
		clockSkew(t, stores[0], stores[1])
	})
	t.Run("memory", func(t *testing.T) {
		s := securechat.NewMemoryStore()
		clockSkew(t, s, s)
	})
}

func clockSkew(t *testing.T, behind, ahead securechat.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	skew := 30 * time.Minute
	count := func(s securechat.Store, at time.Time) int {
		got := 0
		for range 10 {
			ok, err := s.TakeToken(ctx, "skew", time.Minute, 3, at)
			require.NoError(t, err)
			if ok {
				got++
			}
		}
		return got
	}
	total := 0
	for round := range 5 {
		at := now.Add(time.Duration(round) * time.Second)
		total += count(behind, at) + count(ahead, at.Add(skew))
	}
	assert.LessOrEqual(t, total, 3+int(skew/time.Minute)+1, "alternating relays 30 min apart")
	assert.Equal(t, 0, count(behind, now.Add(5*time.Second)), "the relay behind sees the bucket empty")
}
