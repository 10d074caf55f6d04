package pgnotify_test

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
	"github.com/finkit/finkit/securechat/sqlstore/pgnotify"
)

// channel returns a channel name of its own for one test: channels are
// server-wide, and the tests of other packages may run at once.
func channel(t *testing.T) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return "t_" + hex.EncodeToString(b)
}

func newNotifier(t *testing.T, url, ch string) *pgnotify.Notifier {
	t.Helper()
	n, err := pgnotify.New(context.Background(), url, pgnotify.Options{Channel: ch})
	require.NoError(t, err)
	t.Cleanup(n.Close)
	return n
}

// listen runs n.Listen in the background and returns the peers it is
// woken for; it waits until it listens.
func listen(t *testing.T, n *pgnotify.Notifier) (<-chan securechat.PeerID, <-chan error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	woken, ready, done := make(chan securechat.PeerID, 100), make(chan struct{}, 10), make(chan error, 1)
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		done <- n.Listen(ctx, func(p securechat.PeerID) { woken <- p }, func() { ready <- struct{}{} })
	}()
	t.Cleanup(func() { cancel(); <-finished })
	select {
	case <-ready:
	case err := <-done:
		t.Fatalf("listen: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("listen never ready")
	}
	return woken, done
}

func peer(t *testing.T) securechat.PeerID {
	id, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	return id.ID()
}

func TestNotifyReachesEveryListener(t *testing.T) {
	url := sqltest.PostgresURL(t)
	ch := channel(t)
	a, b := newNotifier(t, url, ch), newNotifier(t, url, ch)
	wa, _ := listen(t, a)
	wb, _ := listen(t, b)
	p := peer(t)
	require.NoError(t, a.Notify(context.Background(), p))
	for _, w := range []<-chan securechat.PeerID{wa, wb} {
		select {
		case got := <-w:
			assert.Equal(t, p, got)
		case <-time.After(10 * time.Second):
			t.Fatal("no wake-up")
		}
	}
	// Another channel is not heard; junk on ours is ignored.
	other := newNotifier(t, url, channel(t))
	require.NoError(t, other.Notify(context.Background(), peer(t)))
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`SELECT pg_notify($1, $2)`, ch, "not a peer id")
	require.NoError(t, err)
	q := peer(t)
	require.NoError(t, b.Notify(context.Background(), q))
	assert.Equal(t, q, <-wa, "only the valid wake-up, after the junk")

	require.Error(t, a.Notify(context.Background(), "x"), "not a peer id")
	_, err = pgnotify.New(context.Background(), url, pgnotify.Options{Channel: "Bad; DROP"})
	require.Error(t, err)
}

// TestListenEndsWhenItsConnectionDies: a listening connection killed by
// the server ends Listen with an error, so the relay starts it again.
func TestListenEndsWhenItsConnectionDies(t *testing.T) {
	url := sqltest.PostgresURL(t)
	ch := channel(t)
	n := newNotifier(t, url, ch)
	_, done := listen(t, n)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	var killed int
	require.NoError(t, db.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query = $1`,
		`LISTEN "`+ch+`"`).Scan(&killed))
	require.Equal(t, 1, killed)
	select {
	case err := <-done:
		require.Error(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Listen did not notice its connection die")
	}
}

type instance struct {
	relay *securechat.Relay
	url   string
	store *sqlstore.Store
}

// startInstance starts a relay on its own pool of the database at url,
// with a notifier on channel ch, as one application instance would.
func startInstance(t *testing.T, url, ch string) *instance {
	t.Helper()
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	store, err := sqlstore.New(context.Background(), db, sqlstore.Options{Postgres: true})
	require.NoError(t, err)
	t.Cleanup(func() { store.Close() })
	srv := httptest.NewUnstartedServer(nil)
	relay, err := securechat.NewRelay(securechat.RelayOptions{Store: store, Notifier: newNotifier(t, url, ch),
		Host: srv.Listener.Addr().String(), RateLimit: 1000, RateBurst: 1000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv.Config.Handler = relay
	srv.Start()
	t.Cleanup(func() { relay.Close(); srv.Close() })
	return &instance{relay: relay, url: "ws" + strings.TrimPrefix(srv.URL, "http"), store: store}
}

func client(t *testing.T, url string, id *securechat.Identity, state []byte) *securechat.Client {
	t.Helper()
	c, err := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: id, State: state,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 20 * time.Millisecond,
		MaxBackoff: 300 * time.Millisecond, OneTimePrekeys: 10})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	require.NoError(t, c.WaitConnected(ctx))
	return c
}

func send(t *testing.T, c *securechat.Client, to securechat.PeerID, from, n int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := from; i < from+n; i++ {
		require.NoError(t, c.Send(ctx, to, []byte(strconv.Itoa(i))))
	}
}

// expect reads the messages from..from+n-1 of sender in order, exactly
// once.
func expect(t *testing.T, c *securechat.Client, sender securechat.PeerID, from, n int) {
	t.Helper()
	for i := from; i < from+n; i++ {
		select {
		case m := <-c.Messages():
			require.Equal(t, sender, m.From)
			require.Equal(t, strconv.Itoa(i), string(m.Body))
		case <-time.After(20 * time.Second):
			t.Fatalf("message %d never arrived", i)
		}
	}
	select {
	case m := <-c.Messages():
		t.Fatalf("extra message %q", m.Body)
	case <-time.After(100 * time.Millisecond):
	}
}

func identity(t *testing.T) *securechat.Identity {
	id, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	return id
}

// TestRelaysFanOutOverPostgres runs two relays, each on its own pool of
// one PostgreSQL database and joined by LISTEN/NOTIFY: clients on A and B
// exchange messages both ways, live, in order and exactly once; an
// offline recipient gets its mailbox on the other instance; after the
// listening connection of B is killed, B listens again and delivers what
// was sent meanwhile.
func TestRelaysFanOutOverPostgres(t *testing.T) {
	url := sqltest.PostgresURL(t)
	ch := channel(t)
	a, b := startInstance(t, url, ch), startInstance(t, url, ch)
	const n = 100
	xID, yID := identity(t), identity(t)
	x, y := client(t, a.url, xID, nil), client(t, b.url, yID, nil)
	var wg sync.WaitGroup
	wg.Go(func() { send(t, x, yID.ID(), 0, n) })
	wg.Go(func() { send(t, y, xID.ID(), 0, n) })
	expect(t, y, xID.ID(), 0, n)
	expect(t, x, yID.ID(), 0, n)
	wg.Wait()

	// y offline; x keeps sending; y comes back on A.
	st, err := y.MarshalState()
	require.NoError(t, err)
	require.NoError(t, y.Close())
	require.Eventually(t, func() bool { return b.relay.Online(yID.ID()) == 0 }, 10*time.Second, 10*time.Millisecond)
	send(t, x, yID.ID(), n, 20)
	y = client(t, a.url, yID, st)
	expect(t, y, xID.ID(), n, 20)

	// x moves to B; B's listener is killed; what y sends meanwhile and
	// after still arrives, once.
	st, err = x.MarshalState()
	require.NoError(t, err)
	require.NoError(t, x.Close())
	x = client(t, b.url, xID, st)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query = $1`, `LISTEN "`+ch+`"`)
	require.NoError(t, err)
	send(t, y, xID.ID(), n, 30)
	expect(t, x, yID.ID(), n, 30)
}

// TestNotifyBatches: 600 wake-ups notified at once (more than one batch
// holds), some twice, all reach a listener, each peer at least once; every
// Notify returns nil. After Close, Notify fails and does not block.
func TestNotifyBatches(t *testing.T) {
	url := sqltest.PostgresURL(t)
	ch := channel(t)
	a, err := pgnotify.New(context.Background(), url, pgnotify.Options{Channel: ch})
	require.NoError(t, err)
	b := newNotifier(t, url, ch)
	ctx, cancel := context.WithCancel(context.Background())
	var mu sync.Mutex
	heard := map[securechat.PeerID]bool{}
	ready, done := make(chan struct{}, 1), make(chan struct{})
	go func() {
		defer close(done)
		_ = b.Listen(ctx, func(p securechat.PeerID) {
			mu.Lock()
			heard[p] = true
			mu.Unlock()
		}, func() { ready <- struct{}{} })
	}()
	defer func() { cancel(); <-done }()
	<-ready
	peers := make([]securechat.PeerID, 600)
	for i := range peers {
		peers[i] = peer(t)
	}
	var wg sync.WaitGroup
	for i := range 700 {
		wg.Go(func() { assert.NoError(t, a.Notify(context.Background(), peers[i%len(peers)])) })
	}
	wg.Wait()
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return len(heard) == len(peers)
	}, 10*time.Second, 10*time.Millisecond, "every peer woken")

	a.Close()
	a.Close()
	require.Error(t, a.Notify(context.Background(), peers[0]), "closed")
}

// BenchmarkNotify sends wake-ups from 64 parallel callers: through
// Notifier (batched: the callers waiting while a statement runs share the
// next one) and, as the baseline, one SELECT pg_notify statement per call
// on a pool of the same size, in one run.
func BenchmarkNotify(b *testing.B) {
	url := sqltest.PostgresURL(b)
	ch := "b_" + strings.ReplaceAll(strings.ToLower(identityID(b)[:12]), "-", "")
	peers := make([]securechat.PeerID, 256)
	for i := range peers {
		peers[i] = securechat.PeerID(identityID(b))
	}
	run := func(b *testing.B, notify func(securechat.PeerID) error) {
		var i atomic.Int64
		b.SetParallelism(32)
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if err := notify(peers[i.Add(1)%int64(len(peers))]); err != nil {
					b.Error(err)
					return
				}
			}
		})
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifies/s")
	}
	b.Run("batched", func(b *testing.B) {
		n, err := pgnotify.New(context.Background(), url, pgnotify.Options{Channel: ch})
		require.NoError(b, err)
		defer n.Close()
		run(b, func(p securechat.PeerID) error { return n.Notify(context.Background(), p) })
	})
	b.Run("per-call", func(b *testing.B) {
		pool, err := pgxpool.New(context.Background(), url+"&pool_max_conns=4")
		require.NoError(b, err)
		defer pool.Close()
		run(b, func(p securechat.PeerID) error {
			_, err := pool.Exec(context.Background(), `SELECT pg_notify($1, $2)`, ch, string(p))
			return err
		})
	})
}

func identityID(b *testing.B) string {
	id, err := securechat.GenerateIdentity(nil)
	require.NoError(b, err)
	return string(id.ID())
}
