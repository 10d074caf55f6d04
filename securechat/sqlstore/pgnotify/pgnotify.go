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
// It uses github.com/jackc/pgx/v5 directly, since database/sql cannot
// wait for notifications; the store itself stays on database/sql.
//
//	n, err := pgnotify.New(ctx, "postgres://chat@db.internal/finkit", pgnotify.Options{})
//	defer n.Close()
//	relay, err := securechat.NewRelay(securechat.RelayOptions{Store: store, Notifier: n, Host: host})
package pgnotify

import (
	"context"
	"fmt"
	"regexp"

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
}

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
	return &Notifier{connString: connString, channel: ch, pool: pool}, nil
}

// Close releases the sending connections. Listen calls end with their
// context.
func (n *Notifier) Close() { n.pool.Close() }

// Notify implements securechat.Notifier: one NOTIFY with peer as the
// payload.
func (n *Notifier) Notify(ctx context.Context, peer securechat.PeerID) error {
	if _, err := securechat.ParsePeerID(string(peer)); err != nil {
		return fmt.Errorf("pgnotify: notify: %w", err)
	}
	if _, err := n.pool.Exec(ctx, `SELECT pg_notify($1, $2)`, n.channel, string(peer)); err != nil {
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
