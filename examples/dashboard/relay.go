package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/finkit/finkit/examples/internal/appdb"
	"github.com/finkit/finkit/securechat"
	chatsql "github.com/finkit/finkit/securechat/sqlstore"
	"github.com/finkit/finkit/securechat/sqlstore/pgnotify"
)

// openRelay starts the securechat relay on the shared database. On
// PostgreSQL several dashboards may serve one database behind one address:
// the relays then wake each other through LISTEN/NOTIFY (pgnotify), so a
// client on one instance receives, live, what a client on another sends.
func (a *app) openRelay(ctx context.Context, db *appdb.DB, dbTarget string, logger *slog.Logger) error {
	cs, err := chatsql.New(ctx, a.db, db.Chat())
	if err != nil {
		return fmt.Errorf("chat store: %w", err)
	}
	relayHost := a.cfg.relayHost()
	if relayHost == "" {
		return fmt.Errorf("chat relay: --addr %q does not name the host clients dial; set --public-host (or FINKIT_PUBLIC_HOST) to it, e.g. --public-host chat.example.com", a.cfg.addr)
	}
	opts := securechat.RelayOptions{Store: cs, Logger: logger, Host: relayHost}
	if db.Postgres {
		if a.notifier, err = pgnotify.New(ctx, dbTarget, pgnotify.Options{}); err != nil {
			return fmt.Errorf("chat relay: %w", err)
		}
		opts.Notifier = a.notifier
	}
	if a.relay, err = securechat.NewRelay(opts); err != nil {
		return fmt.Errorf("chat relay: %w", err)
	}
	return nil
}
