package main

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/finkit/finkit/examples/internal/appdb"
	"github.com/finkit/finkit/securechat"
	chatsql "github.com/finkit/finkit/securechat/sqlstore"
	"github.com/finkit/finkit/securechat/sqlstore/pgnotify"
)

// setup is one measured deployment.
type setup struct {
	name      string
	postgres  bool
	instances int
}

func parseSetup(name string) (setup, error) {
	switch name {
	case "pg-1":
		return setup{name, true, 1}, nil
	case "pg-2":
		return setup{name, true, 2}, nil
	case "sqlite-1":
		return setup{name, false, 1}, nil
	}
	return setup{}, fmt.Errorf("unknown setup %q (want pg-1, pg-2 or sqlite-1)", name)
}

// result is one phase of one setup.
type result struct {
	setup, phase    string
	sent, delivered int64
	sendErrors      int64
	rate            float64 // delivered messages per second
	p50, p99, max   time.Duration
	load            float64
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// instance is one relay with its own database pool, store and notifier,
// as one application process holds them.
type instance struct {
	db       *appdb.DB
	store    *chatsql.Store
	notifier *pgnotify.Notifier
	relay    *securechat.Relay
	srv      *http.Server
	url      string
}

func (in *instance) close() {
	if in.srv != nil {
		_ = in.srv.Close()
	}
	if in.relay != nil {
		_ = in.relay.Close()
	}
	if in.notifier != nil {
		in.notifier.Close()
	}
	if in.store != nil {
		_ = in.store.Close()
	}
	if in.db != nil {
		_ = in.db.Close()
	}
}

// startInstance starts a relay on target (a SQLite path or a PostgreSQL
// URL), with a notifier on channel when channel is set.
func startInstance(ctx context.Context, target, channel string) (*instance, error) {
	in := &instance{}
	var err error
	if in.db, err = appdb.Open(ctx, target); err != nil {
		return in, err
	}
	if in.store, err = chatsql.New(ctx, in.db.DB, in.db.Chat()); err != nil {
		return in, err
	}
	opts := securechat.RelayOptions{Store: in.store, Logger: quiet}
	if channel != "" {
		if in.notifier, err = pgnotify.New(ctx, target, pgnotify.Options{Channel: channel}); err != nil {
			return in, err
		}
		opts.Notifier = in.notifier
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return in, err
	}
	opts.Host = ln.Addr().String()
	if in.relay, err = securechat.NewRelay(opts); err != nil {
		ln.Close()
		return in, err
	}
	in.srv = &http.Server{Handler: in.relay, ReadHeaderTimeout: 10 * time.Second}
	go in.srv.Serve(ln)
	in.url = "ws://" + opts.Host + "/chat/ws"
	return in, nil
}

// database creates a new database on the server at base and returns its
// URL and a function that drops it.
func database(ctx context.Context, base string) (string, func(), error) {
	admin, err := sql.Open("pgx", base)
	if err != nil {
		return "", nil, err
	}
	name := "relaybench_" + randomHex(6)
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(base)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	drop := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		_, _ = admin.ExecContext(ctx, "DROP DATABASE "+name+" WITH (FORCE)")
		admin.Close()
	}
	return u.String(), drop, nil
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// peer is one benchmark client and what it received.
type peer struct {
	c       *securechat.Client
	partner int
	warm    chan struct{} // a warm-up message arrived
	mu      sync.Mutex
	phase   uint32          // the phase being measured: messages of another are not counted
	lat     []time.Duration // measured messages' delivery latency (of phase)
	gotMsgs atomic.Int64
	drained chan struct{}
}

// run measures setup s: relays, clients, warm-up, then each phase.
func run(ctx context.Context, o options, s setup) ([]result, error) {
	dir, err := os.MkdirTemp("", "finkit-relaybench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	target, channel := filepath.Join(dir, "chat.db"), ""
	if s.postgres {
		var drop func()
		if target, drop, err = database(ctx, o.pgURL); err != nil {
			return nil, err
		}
		defer drop()
		if s.instances > 1 {
			channel = "relaybench_" + randomHex(6)
		}
	}
	var instances []*instance
	defer func() {
		for _, in := range instances {
			in.close()
		}
	}()
	for range s.instances {
		in, err := startInstance(ctx, target, channel)
		instances = append(instances, in)
		if err != nil {
			return nil, fmt.Errorf("start relay: %w", err)
		}
	}
	started := time.Now()
	peers, err := connect(ctx, o, instances)
	defer func() {
		var wg sync.WaitGroup
		for _, p := range peers {
			if p != nil && p.c != nil {
				wg.Go(func() { p.c.Close(); <-p.drained })
			}
		}
		wg.Wait()
	}()
	if err != nil {
		return nil, err
	}
	pair(peers, s.instances)
	if err := warmUp(ctx, o, peers); err != nil {
		return nil, err
	}
	fmt.Printf("  %d clients connected, published and paired (sessions started) in %v\n", len(peers), time.Since(started).Round(time.Millisecond))
	var out []result
	if o.paced > 0 {
		out = append(out, phase(ctx, s.name, "paced", 1, peers, o.paced, o.rate/float64(len(peers))))
	}
	if o.flood > 0 {
		out = append(out, phase(ctx, s.name, "flood", 2, peers, o.flood, 0))
	}
	return out, ctx.Err()
}

// connect starts one client per peer, client i on instance i mod n, and
// waits until every client's prekeys are stored.
func connect(ctx context.Context, o options, instances []*instance) ([]*peer, error) {
	peers := make([]*peer, o.clients)
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.parallel)
	for i := range peers {
		p := &peer{warm: make(chan struct{}, 1), drained: make(chan struct{})}
		peers[i] = p
		in := instances[i%len(instances)]
		g.Go(func() error {
			id, err := securechat.GenerateIdentity(nil)
			if err != nil {
				return err
			}
			c, err := securechat.NewClient(securechat.ClientOptions{URL: in.url, Identity: id, OneTimePrekeys: o.prekeys,
				Logger: quiet, MinBackoff: 50 * time.Millisecond, MaxBackoff: time.Second})
			if err != nil {
				return err
			}
			p.c = c
			go p.receive()
			cctx, cancel := context.WithTimeout(gctx, time.Minute)
			defer cancel()
			if err := c.WaitConnected(cctx); err != nil {
				return fmt.Errorf("client %d: %w", i, err)
			}
			for {
				_, n, err := in.store.PeekPrekeys(cctx, id.ID())
				if err == nil && n > 0 {
					return nil
				}
				if err != nil && !errors.Is(err, securechat.ErrNotFound) {
					return err
				}
				select {
				case <-cctx.Done():
					return fmt.Errorf("client %d never published its prekeys: %w", i, cctx.Err())
				case <-time.After(20 * time.Millisecond):
				}
			}
		})
	}
	return peers, g.Wait()
}

// receive consumes the client's messages until it closes: a body of 12
// bytes is a measured message carrying its phase and send time; one of an
// earlier phase (arriving after that phase's wait) is not counted.
func (p *peer) receive() {
	defer close(p.drained)
	for m := range p.c.Messages() {
		if len(m.Body) != 12 {
			select {
			case p.warm <- struct{}{}:
			default:
			}
			continue
		}
		lat := time.Since(time.Unix(0, int64(binary.BigEndian.Uint64(m.Body[4:]))))
		p.mu.Lock()
		if binary.BigEndian.Uint32(m.Body) == p.phase {
			p.lat = append(p.lat, lat)
			p.gotMsgs.Add(1)
		}
		p.mu.Unlock()
	}
}

// pair gives every peer a partner at random; with several instances the
// partners are on different instances (peer i is on instance i mod n).
func pair(peers []*peer, instances int) {
	var idx []int
	if instances == 1 {
		idx = mrand.Perm(len(peers))
	} else {
		var even, odd []int
		for _, i := range mrand.Perm(len(peers)) {
			if i%2 == 0 {
				even = append(even, i)
			} else {
				odd = append(odd, i)
			}
		}
		for k := range even {
			idx = append(idx, even[k], odd[k])
		}
	}
	for k := 0; k+1 < len(idx); k += 2 {
		a, b := idx[k], idx[k+1]
		peers[a].partner, peers[b].partner = b, a
	}
}

// warmUp starts the session of every pair (one message each way, the
// second after the first arrived), so the phases measure messages on
// established sessions.
func warmUp(ctx context.Context, o options, peers []*peer) error {
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(o.parallel)
	for a, p := range peers {
		if a > p.partner {
			continue
		}
		q := peers[p.partner]
		g.Go(func() error {
			wctx, cancel := context.WithTimeout(gctx, time.Minute)
			defer cancel()
			for _, step := range [][2]*peer{{p, q}, {q, p}} {
				from, to := step[0], step[1]
				if err := from.c.Send(wctx, to.c.ID(), []byte("warm-up")); err != nil {
					return fmt.Errorf("warm-up send: %w", err)
				}
				select {
				case <-to.warm:
				case <-wctx.Done():
					return fmt.Errorf("warm-up message never arrived: %w", wctx.Err())
				}
			}
			return nil
		})
	}
	return g.Wait()
}

// phase has every peer send to its partner for d: at perPeer messages per
// second (exponential gaps on a schedule kept however slow the sends are,
// latency counted from each message's due time), or with perPeer 0 as fast
// as its sends are accepted (latency from the send). It then waits up to 20 s for what was sent to arrive; what
// arrives later is lost for this phase and not counted in the next (the
// messages carry tag).
func phase(ctx context.Context, setupName, name string, tag uint32, peers []*peer, d time.Duration, perPeer float64) result {
	for _, p := range peers {
		p.mu.Lock()
		p.phase = tag
		p.lat = p.lat[:0]
		p.gotMsgs.Store(0)
		p.mu.Unlock()
	}
	load := loadAverage()
	var sent, failed atomic.Int64
	start := time.Now()
	deadline := start.Add(d)
	var wg sync.WaitGroup
	for _, p := range peers {
		to := peers[p.partner].c.ID()
		wg.Go(func() {
			body := make([]byte, 12)
			binary.BigEndian.PutUint32(body, tag)
			next := start
			for {
				stamp := time.Now()
				if perPeer > 0 {
					// The send is due at next; a client behind its
					// schedule (its previous Send was slow) sends at
					// once, and the latency counts from when it was due.
					next = next.Add(time.Duration(mrand.ExpFloat64() / perPeer * float64(time.Second)))
					if next.After(deadline) {
						return
					}
					select {
					case <-time.After(time.Until(next)):
					case <-ctx.Done():
						return
					}
					stamp = next
				} else if stamp.After(deadline) || ctx.Err() != nil {
					return
				}
				binary.BigEndian.PutUint64(body[4:], uint64(stamp.UnixNano()))
				sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				err := p.c.Send(sctx, to, body)
				cancel()
				if err != nil {
					failed.Add(1)
					continue
				}
				sent.Add(1)
			}
		})
	}
	wg.Wait()
	delivered := func() int64 {
		var n int64
		for _, p := range peers {
			n += p.gotMsgs.Load()
		}
		return n
	}
	for wait := time.Now().Add(20 * time.Second); delivered() < sent.Load() && time.Now().Before(wait); {
		time.Sleep(10 * time.Millisecond)
	}
	elapsed := time.Since(start)
	var lat []time.Duration
	for _, p := range peers {
		p.mu.Lock()
		lat = append(lat, p.lat...)
		p.mu.Unlock()
	}
	slices.Sort(lat)
	r := result{setup: setupName, phase: name, sent: sent.Load(), delivered: int64(len(lat)), sendErrors: failed.Load(), load: load}
	// The rate counts from the first send to the last delivery.
	if len(lat) > 0 {
		r.rate = float64(len(lat)) / min(elapsed, d+lat[len(lat)-1]).Seconds()
		r.p50, r.p99, r.max = lat[len(lat)/2], lat[len(lat)*99/100], lat[len(lat)-1]
	}
	return r
}
