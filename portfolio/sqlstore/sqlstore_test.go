package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/finkit/finkit/portfolio/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

func openDB(t testing.TB) *sql.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "finkit.db")
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(path))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// TestStore runs the conformance suite on SQLite and on PostgreSQL.
func TestStore(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		opts := sqlstore.Options{Placeholder: sqlstore.Question}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Placeholder = sqlstore.Dollar
		}
		storetest.Run(t, func(t *testing.T) portfolio.Shelf {
			s, err := sqlstore.New(context.Background(), b.Open(t), opts)
			require.NoError(t, err)
			return s
		})
	})
}

func TestMigrateTwice(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	_, err := sqlstore.New(ctx, db, sqlstore.Options{})
	require.NoError(t, err)
	s, err := sqlstore.New(ctx, db, sqlstore.Options{})
	require.NoError(t, err)
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "NOK"}))
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM portfolio_schema_migrations`).Scan(&n))
	require.Equal(t, 5, n)
}

// TestOwnerQueriesUseIndex: SQLite plans the store's reads of one book with
// the owner indexes, not a scan of every owner's rows.
func TestOwnerQueriesUseIndex(t *testing.T) {
	ctx := context.Background()
	db := openDB(t)
	_, err := sqlstore.New(ctx, db, sqlstore.Options{})
	require.NoError(t, err)
	for q, index := range map[string]string{
		`SELECT id FROM portfolio_transactions WHERE owner = ? ORDER BY time_unix, seq`: "portfolio_transactions_owner_time",
		`SELECT id FROM portfolio_accounts WHERE owner = ? ORDER BY seq`:                "portfolio_accounts_owner_seq",
		`SELECT 1 FROM portfolio_transactions WHERE owner = ? AND account = ? LIMIT 1`:  "portfolio_transactions_owner_account",
		`SELECT symbol FROM portfolio_stocks WHERE owner = ?`:                           "sqlite_autoindex_portfolio_stocks",
		`DELETE FROM portfolio_transactions WHERE owner = ? AND id IN (?)`:              "sqlite_autoindex_portfolio_transactions",
	} {
		rows, err := db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, "alice", "x")
		if strings.Count(q, "?") == 1 {
			rows, err = db.QueryContext(ctx, `EXPLAIN QUERY PLAN `+q, "alice")
		}
		require.NoError(t, err)
		var plan strings.Builder
		for rows.Next() {
			var id, parent, unused int
			var detail string
			require.NoError(t, rows.Scan(&id, &parent, &unused, &detail))
			plan.WriteString(detail + "\n")
		}
		require.NoError(t, rows.Close())
		assert.Contains(t, plan.String(), index, q)
		assert.NotContains(t, plan.String(), "SCAN portfolio_", q)
	}
}
