package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/finkit/finkit/portfolio/storetest"
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
		storetest.Run(t, func(t *testing.T) portfolio.Store {
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
	require.Equal(t, 1, n)
}
