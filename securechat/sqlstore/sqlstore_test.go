package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
)

func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(path))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func newStore(t testing.TB) (*sqlstore.Store, *sql.DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "chat.db")
	db := openDB(t, path)
	s, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
	require.NoError(t, err)
	return s, db, path
}

func TestMigrationsIdempotentAndPrefixed(t *testing.T) {
	_, db, _ := newStore(t)
	_, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
	require.NoError(t, err, "second New re-applies nothing")
	rows, err := db.Query(`SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name`)
	require.NoError(t, err)
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		require.NoError(t, rows.Scan(&n))
		names = append(names, n)
	}
	assert.Equal(t, []string{"chat_mailbox", "chat_mailbox_seq", "chat_one_time_prekeys", "chat_prekeys", "chat_schema_migrations", "chat_token_buckets", "chat_usage", "chat_usage_total"}, names)
	var v int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM chat_schema_migrations`).Scan(&v))
	assert.Equal(t, 3, v)
	_, err = sqlstore.New(context.Background(), db, sqlstore.Options{BlobType: "TEXT; DROP TABLE x"})
	require.ErrorIs(t, err, securechat.ErrMalformed)
}

// backendStore returns a store on a new database of backend b.
func backendStore(t *testing.T, b sqltest.Backend) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := b.Open(t)
	s, err := sqlstore.New(context.Background(), db, sqlstore.Options{Postgres: b.Dialect == sqlmigrate.Postgres})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, db
}

// TestStoreContract runs the same checks against the SQL store, on SQLite
// and on PostgreSQL, and the in-memory store, so all behave alike.
func TestStoreContract(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		s, _ := backendStore(t, b)
		storeContract(t, s)
	})
	t.Run("memory", func(t *testing.T) { storeContract(t, securechat.NewMemoryStore()) })
}

func storeContract(t *testing.T, s securechat.Store) {
	ctx := context.Background()
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	bob := securechat.PeerID("bob")
	for i := range 5 {
		seq, err := s.Enqueue(ctx, bob, securechat.StoredEnvelope{Sender: "alice", Envelope: fmt.Appendf(nil, "env%d", i), Received: now, Expires: now.Add(time.Hour)}, securechat.EnqueueLimits{Mailbox: 5})
		require.NoError(t, err)
		require.Equal(t, uint64(i+1), seq)
	}
	_, err := s.Enqueue(ctx, bob, securechat.StoredEnvelope{Envelope: []byte("x")}, securechat.EnqueueLimits{Mailbox: 5})
	require.ErrorIs(t, err, securechat.ErrMailboxFull)

	got, err := s.Pending(ctx, bob, 0, 3, now)
	require.NoError(t, err)
	require.Len(t, got, 3)
	assert.Equal(t, "env0", string(got[0].Envelope))
	assert.Equal(t, securechat.PeerID("alice"), got[0].Sender)
	assert.True(t, got[0].Received.Equal(now))
	got, err = s.Pending(ctx, bob, 3, 10, now)
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, uint64(4), got[0].Seq)

	u, err := s.SenderUsage(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, securechat.StorageUsage{Envelopes: 5, Bytes: 20}, u, "five 4-byte envelopes from alice")
	_, err = s.Enqueue(ctx, "carol", securechat.StoredEnvelope{Sender: "dave", Envelope: []byte("123456"), Received: now}, securechat.EnqueueLimits{})
	require.NoError(t, err)
	u, err = s.Usage(ctx)
	require.NoError(t, err)
	assert.Equal(t, securechat.StorageUsage{Envelopes: 6, Bytes: 26}, u)
	require.NoError(t, s.Ack(ctx, "carol", 1))
	require.NoError(t, s.Ack(ctx, bob, 1))
	require.NoError(t, s.Ack(ctx, bob, 1), "ack is idempotent")
	u, err = s.SenderUsage(ctx, "alice")
	require.NoError(t, err)
	assert.Equal(t, securechat.StorageUsage{Envelopes: 4, Bytes: 16}, u, "an acked envelope no longer counts")
	got, err = s.Pending(ctx, bob, 0, 10, now)
	require.NoError(t, err)
	require.Len(t, got, 4)
	seq, err := s.Enqueue(ctx, bob, securechat.StoredEnvelope{Envelope: []byte("env5"), Received: now, Expires: now.Add(2 * time.Hour)}, securechat.EnqueueLimits{Mailbox: 5})
	require.NoError(t, err)
	assert.Equal(t, uint64(6), seq, "sequence keeps increasing after acks")

	got, err = s.Pending(ctx, bob, 0, 10, now.Add(90*time.Minute))
	require.NoError(t, err)
	require.Len(t, got, 1, "expired entries are hidden")
	n, err := s.PurgeExpired(ctx, now.Add(90*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 4, n)

	// Prekeys.
	_, _, err = s.TakeBundle(ctx, "nobody")
	require.ErrorIs(t, err, securechat.ErrNotFound)
	keys := []securechat.StoredPrekey{{ID: 3, Public: []byte("k3")}, {ID: 1, Public: []byte("k1")}, {ID: 2, Public: []byte("k2")}}
	_, _, err = s.PeekPrekeys(ctx, "nobody")
	require.ErrorIs(t, err, securechat.ErrNotFound)
	require.NoError(t, s.PutPrekeys(ctx, bob, []byte("signed1"), keys))
	signed, k, err := s.TakeBundle(ctx, bob)
	require.NoError(t, err)
	assert.Equal(t, "signed1", string(signed))
	require.NotNil(t, k)
	assert.Equal(t, uint32(1), k.ID)
	signed, left, err := s.PeekPrekeys(ctx, bob)
	require.NoError(t, err)
	assert.Equal(t, "signed1", string(signed))
	assert.Equal(t, 2, left, "peeking takes nothing")
	// Re-publishing the same keys plus a new one: key 1 is not resurrected.
	require.NoError(t, s.PutPrekeys(ctx, bob, []byte("signed2"), append(keys, securechat.StoredPrekey{ID: 4, Public: []byte("k4")})))
	var ids []uint32
	for {
		signed, k, err := s.TakeBundle(ctx, bob)
		require.NoError(t, err)
		assert.Equal(t, "signed2", string(signed))
		if k == nil {
			break
		}
		ids = append(ids, k.ID)
	}
	assert.Equal(t, []uint32{2, 3, 4}, ids)
}

func TestConcurrentTakeBundleHandsOutEachKeyOnce(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		s, _ := backendStore(t, b)
		concurrentTakeBundle(t, s)
	})
}

// TestTakeBundleAcrossInstances races takers on two stores, each on its own
// connection pool of one database, as two relay instances: each one-time
// prekey is still handed out once.
func TestTakeBundleAcrossInstances(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		target := b.Target(t)
		open := func() securechat.Store {
			driver, dsn := "sqlite", sqlmigrate.SQLiteDSN(target)
			if b.Dialect == sqlmigrate.Postgres {
				driver, dsn = "pgx", target
			}
			db, err := sql.Open(driver, dsn)
			require.NoError(t, err)
			t.Cleanup(func() { db.Close() })
			s, err := sqlstore.New(context.Background(), db, sqlstore.Options{Postgres: b.Dialect == sqlmigrate.Postgres})
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		}
		concurrentTakeBundle(t, open(), open())
	})
}

func concurrentTakeBundle(t *testing.T, s securechat.Store, others ...securechat.Store) {
	ctx := context.Background()
	var keys []securechat.StoredPrekey
	for i := range 40 {
		keys = append(keys, securechat.StoredPrekey{ID: uint32(i + 1), Public: []byte{byte(i)}})
	}
	require.NoError(t, s.PutPrekeys(ctx, "p", []byte("s"), keys))
	var mu sync.Mutex
	seen := map[uint32]int{}
	var wg sync.WaitGroup
	stores := append([]securechat.Store{s}, others...)
	for w := range 8 {
		taker := stores[w%len(stores)]
		wg.Go(func() {
			for range 6 {
				_, k, err := taker.TakeBundle(ctx, "p")
				if !assert.NoError(t, err) {
					return
				}
				if k != nil {
					mu.Lock()
					seen[k.ID]++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	assert.Len(t, seen, 40)
	for id, n := range seen {
		assert.Equal(t, 1, n, "key %d", id)
	}
}

func TestPersistsAcrossReopen(t *testing.T) {
	s, db, path := newStore(t)
	ctx := context.Background()
	_, err := s.Enqueue(ctx, "bob", securechat.StoredEnvelope{Sender: "a", Envelope: []byte("kept")}, securechat.EnqueueLimits{})
	require.NoError(t, err)
	require.NoError(t, db.Close())
	s2, err := sqlstore.New(ctx, openDB(t, path), sqlstore.Options{})
	require.NoError(t, err)
	got, err := s2.Pending(ctx, "bob", 0, 10, time.Now())
	require.NoError(t, err)
	require.Len(t, got, 1)
	assert.Equal(t, "kept", string(got[0].Envelope))
	assert.True(t, got[0].Expires.IsZero())
}

// After Close (which releases the prepared statements but not the
// database) every call fails with ErrClosed, none panics.
func TestClosedStoreFailsCleanly(t *testing.T) {
	s, db, _ := newStore(t)
	ctx := context.Background()
	require.NoError(t, s.Close())
	require.NoError(t, s.Close(), "idempotent")
	_, err := s.Pending(ctx, "bob", 0, 10, time.Now())
	require.ErrorIs(t, err, securechat.ErrClosed)
	require.ErrorIs(t, s.Ack(ctx, "bob", 1), securechat.ErrClosed)
	_, err = s.PurgeExpired(ctx, time.Now())
	require.ErrorIs(t, err, securechat.ErrClosed)
	_, err = s.Enqueue(ctx, "bob", securechat.StoredEnvelope{Sender: "a", Envelope: []byte("x")}, securechat.EnqueueLimits{})
	require.ErrorIs(t, err, securechat.ErrClosed)
	_, _, err = s.TakeBundle(ctx, "bob")
	require.ErrorIs(t, err, securechat.ErrClosed)
	require.NoError(t, db.PingContext(ctx), "Close leaves the database open")
}

// At most securechat.MaxOneTimePrekeys one-time prekeys are kept per peer,
// however often it publishes fresh ones.
func TestOneTimePrekeysBoundedPerPeer(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		s, db := backendStore(t, b)
		prekeysBounded(t, s, db, b.Dialect)
	})
}

func prekeysBounded(t *testing.T, s securechat.Store, db *sql.DB, d sqlmigrate.Dialect) {
	ctx := context.Background()
	next := uint32(1)
	for range 3 {
		keys := make([]securechat.StoredPrekey, securechat.MaxOneTimePrekeys)
		for i := range keys {
			keys[i] = securechat.StoredPrekey{ID: next, Public: make([]byte, 32)}
			next++
		}
		require.NoError(t, s.PutPrekeys(ctx, "alice", []byte("signed"), keys))
	}
	var n int
	require.NoError(t, db.QueryRowContext(ctx, d.Rebind(`SELECT COUNT(*) FROM chat_one_time_prekeys WHERE peer = ?`), "alice").Scan(&n))
	require.Equal(t, securechat.MaxOneTimePrekeys, n)
}

// TestConcurrentWriters runs 20 writers of 25 operations each on one store:
// enqueues to shared and brand-new mailboxes, prekey publications, takes and
// acks. Every call must succeed (waiting for the write lock, never "database
// is locked"), and every mailbox must hold sequence numbers 1..n, each once.
func TestConcurrentWriters(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		s, _ := backendStore(t, b)
		concurrentWriters(t, s)
	})
	t.Run("memory", func(t *testing.T) { concurrentWriters(t, securechat.NewMemoryStore()) })
}

func concurrentWriters(t *testing.T, s securechat.Store) {
	const writers, ops = 20, 25
	ctx := context.Background()
	var mu sync.Mutex
	seqs := map[securechat.PeerID][]uint64{}
	var failed atomic.Int32
	fail := func(w, op int, what string, err error) {
		if err != nil {
			failed.Add(1)
			t.Errorf("writer %d op %d %s: %v", w, op, what, err)
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			<-start
			peer := securechat.PeerID(fmt.Sprintf("peer%d", w))
			for op := range ops {
				switch op % 5 {
				case 0:
					keys := []securechat.StoredPrekey{{ID: uint32(2*op + 1), Public: []byte("k")}, {ID: uint32(2*op + 2), Public: []byte("k")}}
					fail(w, op, "PutPrekeys", s.PutPrekeys(ctx, peer, []byte("signed"), keys))
				case 1:
					_, _, err := s.TakeBundle(ctx, peer)
					fail(w, op, "TakeBundle", err)
				default:
					to := securechat.PeerID(fmt.Sprintf("box%d", w%4))
					if op%5 == 3 {
						to = securechat.PeerID(fmt.Sprintf("fresh%d", op)) // created by whichever writer comes first
					}
					seq, err := s.Enqueue(ctx, to, securechat.StoredEnvelope{Sender: peer, Envelope: []byte("m"), Received: time.Now()}, securechat.EnqueueLimits{})
					fail(w, op, "Enqueue", err)
					if err == nil {
						mu.Lock()
						seqs[to] = append(seqs[to], seq)
						mu.Unlock()
					}
					if op%5 == 4 && err == nil {
						fail(w, op, "Ack", s.Ack(ctx, to, seq))
					}
				}
			}
		})
	}
	close(start)
	wg.Wait()
	require.Zero(t, failed.Load(), "failed writes of %d", writers*ops)
	for box, got := range seqs {
		slices.Sort(got)
		for i, seq := range got {
			require.Equal(t, uint64(i+1), seq, "%s: sequence numbers 1..n, each once", box)
		}
	}
}
