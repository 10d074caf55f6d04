// Package pgnotify is a securechat.Notifier over PostgreSQL's LISTEN and
// NOTIFY, for relays of several application instances that share one
// securechat/sqlstore database: a relay that stores an envelope sends a
// NOTIFY whose payload is only the recipient's peer id (64 bytes, far
// under PostgreSQL's 8,000-byte limit), and every relay LISTENs on a
// connection of its own and delivers from the mailbox rows, which stay the
// truth. A lost notification delays a delivery by at most the relay's
// PollInterval; a relay whose listening connection drops starts it again
// and re-reads every mailbox it serves.
//
// Wake-ups are sent in batches: calls of Notify that arrive while a NOTIFY
// statement runs wait for the next one, which carries all their peers (one
// statement and one commit for many messages under load, one round trip
// for a lone message).
//
// It uses github.com/jackc/pgx/v5 directly, since database/sql cannot
// wait for notifications; the store itself stays on database/sql.
//
//	n, err := pgnotify.New(ctx, "postgres://chat@db.internal/finkit", pgnotify.Options{})
//	defer n.Close()
//	relay, err := securechat.NewRelay(securechat.RelayOptions{Store: store, Notifier: n, Host: host})
package pgnotify

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/finkit/finkit/securechat"
)

// DefaultChannel is the notification channel when Options.Channel is empty.
const DefaultChannel = "finkit_chat"

// Options configure a Notifier.
type Options struct {
	// Channel is the LISTEN/NOTIFY channel (default DefaultChannel): every
	// relay sharing a store must use the same one, and relays of
	// unrelated stores on one server different ones. It must be a plain
	// identifier: a lower-case letter or underscore, then letters, digits
	// or underscores, at most 63 bytes.
	Channel string
	// MaxConns bounds the connections used for sending (default 4); the
	// listening connection is one more.
	MaxConns int32
}

var channelName = regexp.MustCompile(`^[a-z_][a-z0-9_]{0,62}$`)

// Notifier sends and receives mailbox wake-ups. It is safe for concurrent
// use; Close releases its connections.
type Notifier struct {
	connString string
	channel    string
	pool       *pgxpool.Pool

	kick   chan struct{} // a batch is waiting
	stop   chan struct{} // closed by Close
	ctx    context.Context
	cancel context.CancelFunc // by Close: ends a statement in flight
	wg     sync.WaitGroup

	mu     sync.Mutex
	queue  []*batch // waiting to be sent, oldest first
	closed bool
}

// batch is the wake-ups of one NOTIFY statement.
type batch struct {
	peers []string
	seen  map[string]bool
	done  chan struct{} // closed when sent (or failed): err is set
	err   error
}

// maxBatch bounds the peers of one statement.
const maxBatch = 500

// sendTimeout bounds one batch's statement.
const sendTimeout = 10 * time.Second

// errClosed is a Notify on a closed Notifier.
var errClosed = errors.New("pgnotify: notifier closed")

var _ securechat.Notifier = (*Notifier)(nil)

// New returns a Notifier on the PostgreSQL server of connString (a
// postgres:// URL or key=value string, as pgx takes it). It connects
// lazily: a server that is down makes Notify and Listen fail, not New.
func New(ctx context.Context, connString string, opts Options) (*Notifier, error) {
	ch := opts.Channel
	if ch == "" {
		ch = DefaultChannel
	}
	if !channelName.MatchString(ch) {
		return nil, fmt.Errorf("pgnotify: channel %q is not a plain identifier", ch)
	}
	cfg, err := pgxpool.ParseConfig(connString)
	if err != nil {
		return nil, fmt.Errorf("pgnotify: %w", err)
	}
	cfg.MaxConns = opts.MaxConns
	if cfg.MaxConns <= 0 {
		cfg.MaxConns = 4
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pgnotify: %w", err)
	}
	n := &Notifier{connString: connString, channel: ch, pool: pool, kick: make(chan struct{}, 1), stop: make(chan struct{})}
	n.ctx, n.cancel = context.WithCancel(context.Background())
	n.wg.Add(1)
	go n.sendLoop()
	return n, nil
}

// Close stops sending (waiting calls of Notify fail) and releases the
// sending connections. Listen calls end with their context.
func (n *Notifier) Close() {
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return
	}
	n.closed = true
	n.mu.Unlock()
	close(n.stop)
	n.cancel()
	n.wg.Wait()
	n.pool.Close()
}

// Notify implements securechat.Notifier: peer's id is the payload of a
// NOTIFY, sent with the other wake-ups waiting at that moment. It returns
// when the statement has run, or when ctx is done.
func (n *Notifier) Notify(ctx context.Context, peer securechat.PeerID) error {
	if _, err := securechat.ParsePeerID(string(peer)); err != nil {
		return fmt.Errorf("pgnotify: notify: %w", err)
	}
	n.mu.Lock()
	if n.closed {
		n.mu.Unlock()
		return errClosed
	}
	var b *batch
	if len(n.queue) > 0 && len(n.queue[len(n.queue)-1].peers) < maxBatch {
		b = n.queue[len(n.queue)-1]
	} else {
		b = &batch{seen: map[string]bool{}, done: make(chan struct{})}
		n.queue = append(n.queue, b)
	}
	if !b.seen[string(peer)] {
		b.seen[string(peer)] = true
		b.peers = append(b.peers, string(peer))
	}
	n.mu.Unlock()
	select {
	case n.kick <- struct{}{}:
	default:
	}
	select {
	case <-b.done:
		return b.err
	case <-ctx.Done():
		return fmt.Errorf("pgnotify: notify: %w", ctx.Err())
	}
}

// sendLoop sends the queued batches, one statement at a time, until Close.
func (n *Notifier) sendLoop() {
	defer n.wg.Done()
	for {
		select {
		case <-n.stop:
			n.mu.Lock()
			for _, b := range n.queue {
				b.err = errClosed
				close(b.done)
			}
			n.queue = nil
			n.mu.Unlock()
			return
		case <-n.kick:
		}
		for {
			n.mu.Lock()
			if len(n.queue) == 0 {
				n.mu.Unlock()
				break
			}
			b := n.queue[0]
			n.queue = n.queue[1:]
			n.mu.Unlock()
			b.err = n.send(b.peers)
			close(b.done)
		}
	}
}

// send runs one NOTIFY per peer in one statement (one transaction). A
// failed statement is tried again on another connection, up to once per
// pooled connection and one more: a connection the server ended (a
// restart, a failover) fails its next statement, and a wake-up sent twice
// costs a mailbox read, while one lost waits for the relay's next poll.
func (n *Notifier) send(peers []string) error {
	ctx, cancel := context.WithTimeout(n.ctx, sendTimeout)
	defer cancel()
	var err error
	for range n.pool.Config().MaxConns + 1 {
		if _, err = n.pool.Exec(ctx, `SELECT pg_notify($1, p) FROM unnest($2::text[]) AS p`, n.channel, peers); err == nil || ctx.Err() != nil {
			break
		}
	}
	if err != nil {
		return fmt.Errorf("pgnotify: notify: %w", err)
	}
	return nil
}

// Listen implements securechat.Notifier on a connection of its own,
// closed when Listen returns. A payload that is not a peer id (a NOTIFY
// sent by something else on the channel) is ignored.
func (n *Notifier) Listen(ctx context.Context, wake func(securechat.PeerID), ready func()) error {
	conn, err := pgx.Connect(ctx, n.connString)
	if err != nil {
		return fmt.Errorf("pgnotify: listen: %w", err)
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{n.channel}.Sanitize()); err != nil {
		return fmt.Errorf("pgnotify: listen: %w", err)
	}
	ready()
	for {
		nt, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("pgnotify: listen: %w", err)
		}
		if p, err := securechat.ParsePeerID(nt.Payload); err == nil {
			wake(p)
		}
	}
}
