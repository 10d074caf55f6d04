//go:build !js

package securechat

import (
	"context"
	"time"
)

// Notifier carries wake-up signals between relays that share a Store. The
// mailbox rows are the truth; a notification only says "peer's mailbox has
// news", and the relay holding peer's connections reads the store. An
// implementation for PostgreSQL's LISTEN/NOTIFY is in
// securechat/sqlstore/pgnotify.
type Notifier interface {
	// Notify tells every relay listening on the notifier, this one
	// included, that peer's mailbox has news.
	Notify(ctx context.Context, peer PeerID) error
	// Listen calls wake for every notification until ctx is done or the
	// connection behind it fails, and returns then. It calls ready each
	// time it has started listening, after which no notification is
	// missed until it returns: the relay then re-reads every mailbox, for
	// what was notified while it was not listening. Calls to wake and
	// ready come from one goroutine.
	Listen(ctx context.Context, wake func(peer PeerID), ready func()) error
}

// listenBackoff bounds the wait between failed Listen calls.
const (
	listenMinBackoff = 100 * time.Millisecond
	listenMaxBackoff = 5 * time.Second
)

// listenLoop runs Notifier.Listen until the relay closes, starting it again
// with back-off when it fails.
func (r *Relay) listenLoop() {
	defer r.wg.Done()
	backoff := listenMinBackoff
	for {
		started := time.Now()
		err := r.opts.Notifier.Listen(r.ctx, r.wakeRecipient, r.wakeAll)
		if r.ctx.Err() != nil {
			return
		}
		r.opts.Logger.Warn("securechat relay: wake-up listener stopped; restarting", "err", err, "in", backoff)
		if time.Since(started) > listenMaxBackoff {
			backoff = listenMinBackoff
		}
		select {
		case <-r.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenMaxBackoff)
	}
}

// notifyOthers tells the relays sharing the store that peer's mailbox has
// news. A failure is logged: the envelope is stored, and the recipient's
// relay finds it at its next poll (PollInterval) or reconnect.
func (r *Relay) notifyOthers(ctx context.Context, peer PeerID) {
	if r.opts.Notifier == nil {
		return
	}
	if err := r.opts.Notifier.Notify(ctx, peer); err != nil && ctx.Err() == nil {
		r.opts.Logger.Warn("securechat relay: notify", "peer", peer, "err", err)
	}
}
