package sqlstore_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// TestMigrateOddRows: migration 0002 moves only rows in the dashboard's
// exact spelling, "u.<user>/…" with a non-empty user, into owned books, the
// same way on SQLite and PostgreSQL. Rows that merely look like it (an
// upper-case "U.S./equities", which SQLite's case-blind LIKE matched; an
// empty user "u./x" beside a CLI account "x", which made the migration
// fail on a duplicate key) stay in the default book as they were.
func TestMigrateOddRows(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		db := b.Open(t)
		init, err := os.ReadFile("migrations/0001_init.sql")
		require.NoError(t, err)
		require.NoError(t, sqlmigrate.Apply(ctx, db, fstest.MapFS{"0001_init.sql": {Data: init}},
			sqlmigrate.Options{Table: "portfolio_schema_migrations", Dialect: b.Dialect}))
		accounts := []string{"U.S./equities", "x", "u./x", "u.bob", "u.al%ice/a_b", "u.carol/paper", "u.carol/main"}
		for i, id := range accounts {
			_, err := db.ExecContext(ctx, b.Dialect.Rebind(`INSERT INTO portfolio_accounts (id, seq, name, kind, currency, cost_method, allow_short, allow_margin) VALUES (?, ?, ?, 'bank', 'NOK', 'average', 0, 0)`), id, i+1, "n"+id)
			require.NoError(t, err)
			_, err = db.ExecContext(ctx, b.Dialect.Rebind(`INSERT INTO portfolio_transactions (seq, id, account, kind, time_unix, time_text, symbol, quantity, price, fee, tax, amount, currency, fx_rate, note) VALUES (?, ?, ?, 'deposit', 1700000000000000000, '2023-11-14T22:13:20Z', '', '0', '0', '0', '0', ?, 'NOK', '0', '')`),
				i+1, id+"/d1", id, fmt.Sprint(100+i))
			require.NoError(t, err)
		}
		opts := sqlstore.Options{}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Placeholder = sqlstore.Dollar
		}
		s, err := sqlstore.New(ctx, db, opts)
		require.NoError(t, err, "the migration runs")
		ids := func(st portfolio.Store) (acc, txs []string) {
			as, err := st.Accounts(ctx)
			require.NoError(t, err)
			for _, a := range as {
				acc = append(acc, a.ID)
			}
			ts, err := st.Transactions(ctx)
			require.NoError(t, err)
			for _, tx := range ts {
				txs = append(txs, tx.Account+" "+tx.ID)
			}
			return acc, txs
		}
		acc, txs := ids(s)
		assert.Equal(t, []string{"U.S./equities", "x", "u./x", "u.bob"}, acc, "the default book")
		assert.Equal(t, []string{"U.S./equities U.S./equities/d1", "x x/d1", "u./x u./x/d1", "u.bob u.bob/d1"}, txs)
		acc, txs = ids(s.Book("al%ice"))
		assert.Equal(t, []string{"a_b"}, acc)
		assert.Equal(t, []string{"a_b a_b/d1"}, txs)
		acc, _ = ids(s.Book("carol"))
		assert.Equal(t, []string{"main"}, acc)
		acc, _ = ids(s.Book("carol/paper"))
		assert.Equal(t, []string{"paper"}, acc)
		for _, owner := range []string{"S.", "", "Al%ice", "al_ice", "al%", "bob"} {
			if owner == "" {
				continue
			}
			acc, txs := ids(s.Book(owner))
			assert.Empty(t, acc, owner)
			assert.Empty(t, txs, owner)
		}
	})
}
