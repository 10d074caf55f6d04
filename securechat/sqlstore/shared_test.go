package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/fstest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
)

// instanceStores returns n stores, each on its own connection pool of one
// new database of backend b, as n application instances would hold them.
func instanceStores(t *testing.T, b sqltest.Backend, n int) []*sqlstore.Store {
	t.Helper()
	target := b.Target(t)
	driver, dsn := "sqlite", sqlmigrate.SQLiteDSN(target)
	if b.Dialect == sqlmigrate.Postgres {
		driver, dsn = "pgx", target
	}
	var out []*sqlstore.Store
	for range n {
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		s, err := sqlstore.New(context.Background(), db, sqlstore.Options{Postgres: b.Dialect == sqlmigrate.Postgres})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		out = append(out, s)
	}
	return out
}

// TestEnqueueQuotas: Enqueue refuses, with ErrQuotaExceeded and changing
// nothing, an envelope past the sender's or the total quota; acks and the
// purge give the bytes back; on memory, SQLite and PostgreSQL alike.
func TestEnqueueQuotas(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		s, _ := backendStore(t, b)
		enqueueQuotas(t, s)
	})
	t.Run("memory", func(t *testing.T) { enqueueQuotas(t, securechat.NewMemoryStore()) })
}

func enqueueQuotas(t *testing.T, s securechat.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	lim := securechat.EnqueueLimits{SenderBytes: 30, TotalBytes: 50}
	env := func(sender string, size int, ttl time.Duration) securechat.StoredEnvelope {
		return securechat.StoredEnvelope{Sender: securechat.PeerID(sender), Envelope: make([]byte, size), Received: now, Expires: now.Add(ttl)}
	}
	usage := func(sender string) securechat.StorageUsage {
		u, err := s.SenderUsage(ctx, securechat.PeerID(sender))
		require.NoError(t, err)
		return u
	}
	total := func() securechat.StorageUsage {
		u, err := s.Usage(ctx)
		require.NoError(t, err)
		return u
	}
	for range 3 {
		_, err := s.Enqueue(ctx, "bob", env("alice", 10, time.Hour), lim)
		require.NoError(t, err)
	}
	_, err := s.Enqueue(ctx, "bob", env("alice", 1, time.Hour), lim)
	require.ErrorIs(t, err, securechat.ErrQuotaExceeded, "alice is at her 30 bytes")
	_, err = s.Enqueue(ctx, "bob", env("carol", 31, time.Hour), lim)
	require.ErrorIs(t, err, securechat.ErrQuotaExceeded, "one envelope over the sender quota")
	assert.Equal(t, securechat.StorageUsage{Envelopes: 3, Bytes: 30}, usage("alice"))
	assert.Equal(t, securechat.StorageUsage{}, usage("carol"), "a refused envelope counts nothing")

	_, err = s.Enqueue(ctx, "dave", env("carol", 20, 2*time.Hour), lim)
	require.NoError(t, err)
	_, err = s.Enqueue(ctx, "dave", env("erin", 1, time.Hour), lim)
	require.ErrorIs(t, err, securechat.ErrQuotaExceeded, "the store is at its 50 bytes")
	assert.Equal(t, securechat.StorageUsage{Envelopes: 4, Bytes: 50}, total())
	got, err := s.Pending(ctx, "dave", 0, 10, now)
	require.NoError(t, err)
	require.Len(t, got, 1, "a refused envelope is not stored")
	seq, err := s.Enqueue(ctx, "dave", env("erin", 1, time.Hour), securechat.EnqueueLimits{})
	require.NoError(t, err, "no quota: unbounded")
	assert.Equal(t, uint64(2), seq, "a refused envelope takes no sequence number")
	require.NoError(t, s.Ack(ctx, "dave", seq))

	require.NoError(t, s.Ack(ctx, "bob", 1))
	require.NoError(t, s.Ack(ctx, "bob", 1), "a second ack gives nothing back")
	assert.Equal(t, securechat.StorageUsage{Envelopes: 2, Bytes: 20}, usage("alice"))
	assert.Equal(t, securechat.StorageUsage{Envelopes: 3, Bytes: 40}, total())
	_, err = s.Enqueue(ctx, "bob", env("alice", 10, time.Hour), lim)
	require.NoError(t, err, "the acked bytes are alice's again")

	n, err := s.PurgeExpired(ctx, now.Add(90*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, securechat.StorageUsage{}, usage("alice"), "purged envelopes no longer count")
	assert.Equal(t, securechat.StorageUsage{Envelopes: 1, Bytes: 20}, total())

	_, err = s.Enqueue(ctx, "bob", env("alice", 1, time.Hour), securechat.EnqueueLimits{Mailbox: 1, SenderBytes: 1})
	require.NoError(t, err)
	_, err = s.Enqueue(ctx, "bob", env("alice", 1, time.Hour), securechat.EnqueueLimits{Mailbox: 1, SenderBytes: 1})
	require.ErrorIs(t, err, securechat.ErrMailboxFull, "the mailbox limit is checked first")
}

// TestTakeToken: a bucket starts full, gives burst tokens at once, then
// one per interval; buckets are independent; bad parameters are refused.
func TestTakeToken(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		s, _ := backendStore(t, b)
		takeToken(t, s)
	})
	t.Run("memory", func(t *testing.T) { takeToken(t, securechat.NewMemoryStore()) })
}

func takeToken(t *testing.T, s securechat.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	take := func(bucket string, at time.Time) bool {
		ok, err := s.TakeToken(ctx, bucket, time.Minute, 3, at)
		require.NoError(t, err)
		return ok
	}
	var got []bool
	for range 5 {
		got = append(got, take("a", now))
	}
	assert.Equal(t, []bool{true, true, true, false, false}, got, "burst 3")
	assert.True(t, take("b", now), "another bucket is full")
	assert.False(t, take("a", now.Add(59*time.Second)), "not a minute yet")
	assert.True(t, take("a", now.Add(time.Minute)), "one token a minute")
	assert.False(t, take("a", now.Add(time.Minute)))
	later := now.Add(time.Hour)
	got = nil
	for range 4 {
		got = append(got, take("a", later))
	}
	assert.Equal(t, []bool{true, true, true, false}, got, "full again, never more than the burst")
	_, err := s.PurgeExpired(ctx, later.Add(time.Hour))
	require.NoError(t, err)
	assert.True(t, take("a", later.Add(time.Hour)), "a purged bucket is full")

	for _, bad := range []struct {
		name     string
		interval time.Duration
		burst    int
	}{{"", time.Second, 1}, {string(make([]byte, securechat.MaxBucketName+1)), time.Second, 1},
		{"x", 0, 1}, {"x", -time.Second, 1}, {"x", time.Second, 0}, {"x", 24 * time.Hour, 400}} {
		_, err := s.TakeToken(ctx, bad.name, bad.interval, bad.burst, now)
		require.ErrorIs(t, err, securechat.ErrMalformed, "%q %v %d", bad.name, bad.interval, bad.burst)
	}
}

// TestSharedLimitsAcrossInstances races writers on two stores, each on its
// own pool of one database, as two relay instances: 40 takes of a bucket
// of burst 5 give exactly 5 tokens; 40 envelopes of 100 bytes, half of
// them from one sender, store exactly what the quotas allow (that sender
// 500 bytes, everyone 1,200), and the usage counters equal what is stored.
func TestSharedLimitsAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		stores := instanceStores(t, b, 2)
		ctx := context.Background()
		now := time.Now()
		var tokens, stored atomic.Int32
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range 40 {
			s := stores[i%2]
			wg.Go(func() {
				<-start
				ok, err := s.TakeToken(ctx, "prekeys:target", time.Hour, 5, now)
				if assert.NoError(t, err) && ok {
					tokens.Add(1)
				}
				sender := securechat.PeerID("greedy")
				if i%2 == 1 {
					sender = securechat.PeerID(fmt.Sprintf("fresh%d", i))
				}
				_, err = s.Enqueue(ctx, securechat.PeerID(fmt.Sprintf("box%d", i%3)),
					securechat.StoredEnvelope{Sender: sender, Envelope: make([]byte, 100), Received: now},
					securechat.EnqueueLimits{SenderBytes: 500, TotalBytes: 1200})
				if err == nil {
					stored.Add(1)
				} else {
					assert.ErrorIs(t, err, securechat.ErrQuotaExceeded)
				}
			})
		}
		close(start)
		wg.Wait()
		assert.EqualValues(t, 5, tokens.Load(), "one burst over both instances")
		assert.EqualValues(t, 12, stored.Load(), "the total quota over both instances")
		u, err := stores[1].SenderUsage(ctx, "greedy")
		require.NoError(t, err)
		assert.LessOrEqual(t, u.Bytes, int64(500), "the sender quota over both instances")
		var rows securechat.StorageUsage
		for i := range 3 {
			got, err := stores[0].Pending(ctx, securechat.PeerID(fmt.Sprintf("box%d", i)), 0, 100, now)
			require.NoError(t, err)
			for _, e := range got {
				rows.Envelopes++
				rows.Bytes += int64(len(e.Envelope))
			}
		}
		total, err := stores[0].Usage(ctx)
		require.NoError(t, err)
		assert.Equal(t, rows, total, "the counters are what is stored")
	})
}

// TestUsageCountersFromExistingMailboxes: a database of the schema before
// the usage counters, with envelopes stored, gets counters that match them
// when New migrates it, so the quotas hold from the upgrade on.
func TestUsageCountersFromExistingMailboxes(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		db := b.Open(t)
		old := fstest.MapFS{}
		for _, name := range []string{"001_init.sql", "002_usage.sql"} {
			body, err := os.ReadFile(filepath.Join("migrations", name))
			require.NoError(t, err)
			old["migrations/"+name] = &fstest.MapFile{Data: body}
		}
		blob := map[sqlmigrate.Dialect]string{sqlmigrate.SQLite: "BLOB", sqlmigrate.Postgres: "BYTEA"}[b.Dialect]
		require.NoError(t, sqlmigrate.Apply(ctx, db, old, sqlmigrate.Options{Dir: "migrations", Table: "chat_schema_migrations",
			Dialect: b.Dialect, Expand: func(s string) string { return strings.ReplaceAll(s, "{{BLOB}}", blob) }}))
		for i, sender := range []string{"alice", "alice", "bob"} {
			_, err := db.ExecContext(ctx, b.Dialect.Rebind(`INSERT INTO chat_mailbox (recipient, seq, sender, envelope, received_at, expires_at, size) VALUES (?, ?, ?, ?, 0, 0, ?)`),
				"carol", i+1, sender, make([]byte, 10*(i+1)), 10*(i+1))
			require.NoError(t, err)
		}
		_, err := db.ExecContext(ctx, `INSERT INTO chat_mailbox_seq (recipient, next_seq) VALUES ('carol', 3)`)
		require.NoError(t, err)
		s, err := sqlstore.New(ctx, db, sqlstore.Options{Postgres: b.Dialect == sqlmigrate.Postgres})
		require.NoError(t, err)
		defer s.Close()
		u, err := s.SenderUsage(ctx, "alice")
		require.NoError(t, err)
		assert.Equal(t, securechat.StorageUsage{Envelopes: 2, Bytes: 30}, u)
		u, err = s.Usage(ctx)
		require.NoError(t, err)
		assert.Equal(t, securechat.StorageUsage{Envelopes: 3, Bytes: 60}, u)
		_, err = s.Enqueue(ctx, "carol", securechat.StoredEnvelope{Sender: "bob", Envelope: make([]byte, 11)}, securechat.EnqueueLimits{SenderBytes: 40})
		require.ErrorIs(t, err, securechat.ErrQuotaExceeded, "bob's 30 stored bytes count")
	})
}

// TestRacingAcksCountOnce: each of 30 entries acked twice at once, through
// two stores on one database, is taken off the usage counters once; then
// the counters are zero, and the next envelopes count from there.
func TestRacingAcksCountOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		stores := instanceStores(t, b, 2)
		ctx := context.Background()
		var seqs []uint64
		for range 30 {
			seq, err := stores[0].Enqueue(ctx, "bob", securechat.StoredEnvelope{Sender: "alice", Envelope: make([]byte, 10)}, securechat.EnqueueLimits{})
			require.NoError(t, err)
			seqs = append(seqs, seq)
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i, seq := range seqs {
			for k := range 2 {
				wg.Go(func() {
					<-start
					assert.NoError(t, stores[(i+k)%2].Ack(ctx, "bob", seq))
				})
			}
		}
		close(start)
		wg.Wait()
		for _, s := range stores {
			u, err := s.SenderUsage(ctx, "alice")
			require.NoError(t, err)
			assert.Equal(t, securechat.StorageUsage{}, u)
			u, err = s.Usage(ctx)
			require.NoError(t, err)
			assert.Equal(t, securechat.StorageUsage{}, u)
		}
		_, err := stores[1].Enqueue(ctx, "bob", securechat.StoredEnvelope{Sender: "alice", Envelope: make([]byte, 10)}, securechat.EnqueueLimits{SenderBytes: 10, TotalBytes: 10})
		require.NoError(t, err, "the quotas count from zero again")
	})
}

// TestEnqueueAckRaceAcrossInstances: 16 writers on two stores of one
// database enqueue and ack at once, all as the same few senders into the
// same mailboxes (so they lock the same counter rows): no call fails (a
// deadlock between the orders of Enqueue's and Ack's row locks would), and
// the counters end at zero.
func TestEnqueueAckRaceAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		stores := instanceStores(t, b, 2)
		ctx := context.Background()
		lim := securechat.EnqueueLimits{Mailbox: 1000, SenderBytes: 1 << 20, TotalBytes: 1 << 20}
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range 16 {
			s := stores[w%2]
			wg.Go(func() {
				<-start
				for i := range 40 {
					to := securechat.PeerID(fmt.Sprintf("box%d", (w+i)%3))
					seq, err := s.Enqueue(ctx, to, securechat.StoredEnvelope{Sender: securechat.PeerID(fmt.Sprintf("s%d", i%2)), Envelope: make([]byte, 8)}, lim)
					if !assert.NoError(t, err) {
						return
					}
					if !assert.NoError(t, s.Ack(ctx, to, seq)) {
						return
					}
				}
			})
		}
		close(start)
		wg.Wait()
		u, err := stores[0].Usage(ctx)
		require.NoError(t, err)
		assert.Equal(t, securechat.StorageUsage{}, u)
	})
}
