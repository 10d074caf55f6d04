package sqlstore_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
)

// tap records every byte that crosses the relay's TCP connections.
type tap struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (t *tap) record(p []byte) {
	t.mu.Lock()
	t.buf.Write(p)
	t.mu.Unlock()
}

func (t *tap) bytes() []byte {
	t.mu.Lock()
	defer t.mu.Unlock()
	return bytes.Clone(t.buf.Bytes())
}

type tapListener struct {
	net.Listener
	t *tap
}

func (l tapListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return tapConn{c, l.t}, nil
}

type tapConn struct {
	net.Conn
	t *tap
}

func (c tapConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	c.t.record(p[:n])
	return n, err
}

func (c tapConn) Write(p []byte) (int, error) {
	c.t.record(p)
	return c.Conn.Write(p)
}

// relayServer is a relay on a fixed loopback address that can be stopped and
// started again over the same SQLite file.
type relayServer struct {
	t      *testing.T
	addr   string
	dbPath string
	tap    *tap
	db     *sql.DB
	store  *sqlstore.Store
	relay  *securechat.Relay
	srv    *http.Server
	done   chan struct{}
}

func (rs *relayServer) start() {
	t := rs.t
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(rs.dbPath))
	require.NoError(t, err)
	store, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
	require.NoError(t, err)
	addr := rs.addr
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	var ln net.Listener
	require.Eventually(t, func() bool {
		ln, err = net.Listen("tcp", addr)
		return err == nil
	}, 5*time.Second, 20*time.Millisecond)
	rs.addr = ln.Addr().String()
	relay, err := securechat.NewRelay(securechat.RelayOptions{Store: store, Host: rs.addr, RateLimit: 10000, RateBurst: 10000,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	rs.db, rs.store, rs.relay = db, store, relay
	rs.srv = &http.Server{Handler: relay, ReadHeaderTimeout: 5 * time.Second}
	rs.done = make(chan struct{})
	go func() {
		defer close(rs.done)
		rs.srv.Serve(tapListener{ln, rs.tap})
	}()
}

func (rs *relayServer) stop() {
	require.NoError(rs.t, rs.relay.Close())
	require.NoError(rs.t, rs.srv.Close())
	<-rs.done
	require.NoError(rs.t, rs.store.Close())
	require.NoError(rs.t, rs.db.Close())
}

func (rs *relayServer) url() string { return "ws://" + rs.addr + "/chat/ws" }

type inbox struct {
	mu   sync.Mutex
	got  map[securechat.PeerID][]int // sender -> sequence numbers in arrival order
	all  int
	wake chan struct{}
}

func newInbox() *inbox {
	return &inbox{got: map[securechat.PeerID][]int{}, wake: make(chan struct{}, 1)}
}

// drain consumes c's messages until the channel closes.
func (in *inbox) drain(t *testing.T, c *securechat.Client, wg *sync.WaitGroup) {
	wg.Add(1)
	go func() {
		defer wg.Done()
		for m := range c.Messages() {
			// body: "<token> <seq>"
			parts := strings.Fields(string(m.Body))
			if len(parts) != 2 {
				t.Errorf("bad body %q", m.Body)
				continue
			}
			n, err := strconv.Atoi(parts[1])
			if err != nil {
				t.Errorf("bad seq %q", m.Body)
				continue
			}
			in.mu.Lock()
			in.got[m.From] = append(in.got[m.From], n)
			in.all++
			in.mu.Unlock()
			select {
			case in.wake <- struct{}{}:
			default:
			}
		}
	}()
}

func (in *inbox) count() int {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.all
}

func TestEndToEnd(t *testing.T) {
	t.Parallel() // independent and among the slowest: overlaps with the rest
	rs := &relayServer{t: t, dbPath: filepath.Join(t.TempDir(), "relay.db"), tap: &tap{}}
	rs.start()

	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	ids := make([]*securechat.Identity, 3)
	for i := range ids {
		var err error
		ids[i], err = securechat.GenerateIdentity(nil)
		require.NoError(t, err)
	}
	newClient := func(id *securechat.Identity, state []byte) *securechat.Client {
		c, err := securechat.NewClient(securechat.ClientOptions{URL: rs.url(), Identity: id, State: state, Logger: quiet,
			MinBackoff: 20 * time.Millisecond, MaxBackoff: 300 * time.Millisecond, OneTimePrekeys: 20})
		require.NoError(t, err)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		require.NoError(t, c.WaitConnected(ctx))
		return c
	}
	clients := []*securechat.Client{newClient(ids[0], nil), newClient(ids[1], nil), newClient(ids[2], nil)}
	inboxes := []*inbox{newInbox(), newInbox(), newInbox()}
	var drains sync.WaitGroup
	for i, c := range clients {
		inboxes[i].drain(t, c, &drains)
	}

	// Every plaintext carries a random token; none may ever show up in what
	// the relay stored or forwarded.
	var tokMu sync.Mutex
	var tokens []string
	next := map[[2]int]int{} // (from, to) -> next sequence number
	sendN := func(ctx context.Context, from, to, n int) error {
		for range n {
			tokMu.Lock()
			seq := next[[2]int{from, to}]
			next[[2]int{from, to}] = seq + 1
			var raw [12]byte
			rand.Read(raw[:])
			tok := "PLAINTEXT-" + hex.EncodeToString(raw[:])
			tokens = append(tokens, tok)
			tokMu.Unlock()
			if err := clients[from].Send(ctx, ids[to].ID(), fmt.Appendf(nil, "%s %d", tok, seq)); err != nil {
				return err
			}
		}
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 180*time.Second)
	defer cancel()
	parallel := func(jobs ...func() error) {
		var wg sync.WaitGroup
		errs := make(chan error, len(jobs))
		for _, j := range jobs {
			wg.Go(func() { errs <- j() })
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			require.NoError(t, err)
		}
	}
	waitTotal := func(want int) {
		require.Eventually(t, func() bool {
			n := 0
			for _, in := range inboxes {
				n += in.count()
			}
			return n >= want
		}, 120*time.Second, 10*time.Millisecond, "waiting for %d messages", want)
	}

	// Phase 1: all online, everyone to everyone (600).
	var jobs []func() error
	for from := range 3 {
		for to := range 3 {
			if from != to {
				jobs = append(jobs, func() error { return sendN(ctx, from, to, 100) })
			}
		}
	}
	start := time.Now()
	parallel(jobs...)
	waitTotal(600)
	t.Logf("phase 1: %v", time.Since(start))

	// Phase 2: client 2 goes offline (state saved); 0 and 1 write to it (200).
	state, err := clients[2].MarshalState()
	require.NoError(t, err)
	require.NoError(t, clients[2].Close())
	parallel(func() error { return sendN(ctx, 0, 2, 100) }, func() error { return sendN(ctx, 1, 2, 100) })

	// Phase 3: the relay restarts; its mailbox is in SQLite. Client 0 keeps
	// sending to client 1 across the restart (Send waits and retries).
	t.Logf("phase 2: %v", time.Since(start))
	restartDone := make(chan struct{})
	go func() {
		defer close(restartDone)
		rs.stop()
		time.Sleep(100 * time.Millisecond)
		rs.start()
	}()
	parallel(func() error { return sendN(ctx, 0, 1, 50) })
	<-restartDone
	clients[2] = newClient(ids[2], state)
	inboxes[2].drain(t, clients[2], &drains)

	t.Logf("phase 3: %v", time.Since(start))
	// Phase 4: everyone again after the restart (150 more = 1,000 total).
	parallel(
		func() error { return sendN(ctx, 1, 0, 50) },
		func() error { return sendN(ctx, 2, 0, 25) },
		func() error { return sendN(ctx, 2, 1, 25) },
		func() error { return sendN(ctx, 0, 2, 50) },
	)
	const total = 600 + 200 + 50 + 150
	waitTotal(total)
	t.Logf("phase 4: %v", time.Since(start))
	time.Sleep(200 * time.Millisecond) // let any duplicate surface
	for _, c := range clients {
		require.NoError(t, c.Close())
	}
	drains.Wait()

	// Exactly once, in order per sender.
	sum := 0
	for to, in := range inboxes {
		for from := range 3 {
			if from == to {
				continue
			}
			want := next[[2]int{from, to}]
			got := in.got[ids[from].ID()]
			require.Len(t, got, want, "%d -> %d", from, to)
			for i, n := range got {
				require.Equal(t, i, n, "%d -> %d out of order or duplicated", from, to)
			}
			sum += len(got)
		}
	}
	require.Equal(t, total, sum)
	require.Len(t, tokens, total)

	// Nothing the relay stored or forwarded contains a plaintext.
	rs.stop()
	traffic := rs.tap.bytes()
	require.Contains(t, string(traffic), string(ids[0].ID()), "the tap saw relay traffic")
	var stored []byte
	for _, suffix := range []string{"", "-wal", "-shm"} {
		b, err := os.ReadFile(rs.dbPath + suffix)
		if err == nil {
			stored = append(stored, b...)
		}
	}
	require.NotEmpty(t, stored)
	for _, hay := range [][]byte{traffic, stored} {
		require.False(t, bytes.Contains(hay, []byte("PLAINTEXT-")), "plaintext marker leaked")
		for _, tok := range tokens {
			require.False(t, bytes.Contains(hay, []byte(tok[10:])), "plaintext token %s leaked", tok)
		}
	}
}
