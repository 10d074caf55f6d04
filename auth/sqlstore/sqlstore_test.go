package sqlstore_test

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

func openDB(t testing.TB, path string) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(path))
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	return db
}

func newStore(t testing.TB) (*sqlstore.Store, *sql.DB) {
	t.Helper()
	db := openDB(t, filepath.Join(t.TempDir(), "auth.db"))
	s, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
	require.NoError(t, err)
	t.Cleanup(func() { s.Close() })
	return s, db
}

// TestSuite runs the conformance suite on SQLite and on PostgreSQL.
func TestSuite(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		opts := sqlstore.Options{Dialect: sqlstore.SQLite}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Dialect = sqlstore.Postgres
		}
		storetest.Run(t, func(t *testing.T) auth.Store {
			s, err := sqlstore.New(context.Background(), b.Open(t), opts)
			require.NoError(t, err)
			t.Cleanup(func() { s.Close() })
			return s
		})
	})
}

// latestVersion is the number of the newest migration.
const latestVersion = 4

func TestMigrationsIdempotent(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "auth.db")
	db := openDB(t, path)
	s1, err := sqlstore.New(ctx, db, sqlstore.Options{})
	require.NoError(t, err)
	v, err := s1.SchemaVersion(ctx)
	require.NoError(t, err)
	assert.Equal(t, latestVersion, v)
	require.NoError(t, s1.Close())

	s2, err := sqlstore.New(ctx, db, sqlstore.Options{})
	require.NoError(t, err, "second New on a migrated database")
	defer s2.Close()
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM auth_schema_migrations`).Scan(&n))
	assert.Equal(t, latestVersion, n)
	for _, table := range []string{"auth_users", "auth_sessions", "auth_totp", "auth_recovery_codes"} {
		require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM `+table).Scan(&n), table)
	}
}

func TestNewRejectsBadInput(t *testing.T) {
	_, err := sqlstore.New(context.Background(), nil, sqlstore.Options{})
	require.Error(t, err)
	db := openDB(t, filepath.Join(t.TempDir(), "x.db"))
	_, err = sqlstore.New(context.Background(), db, sqlstore.Options{Dialect: 7})
	require.Error(t, err)
}

func TestUsernameUniqueIndexInDatabase(t *testing.T) {
	// The database itself refuses a second spelling of a name, even when
	// inserted behind the store's back.
	_, db := newStore(t)
	_, err := db.Exec(`INSERT INTO auth_users (id, username, role, password_hash, created_at, updated_at) VALUES ('a', 'kim', 'user', 'h', 1, 1)`)
	require.NoError(t, err)
	_, err = db.Exec(`INSERT INTO auth_users (id, username, role, password_hash, created_at, updated_at) VALUES ('b', 'KIM', 'user', 'h', 1, 1)`)
	require.Error(t, err)
}

func TestDeletingUserCascades(t *testing.T) {
	ctx := context.Background()
	s, db := newStore(t)
	svc, err := auth.New(auth.Options{Store: s, Params: storetest.TinyParams()})
	require.NoError(t, err)
	u, err := svc.Register(ctx, auth.RegisterRequest{Username: "lee", Password: "quite a long passphrase here"})
	require.NoError(t, err)
	_, err = svc.Login(ctx, auth.Credentials{Username: "lee", Password: "quite a long passphrase here"})
	require.NoError(t, err)
	_, err = db.Exec(`DELETE FROM auth_users WHERE id = ?`, u.ID)
	require.NoError(t, err)
	var n int
	require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM auth_sessions`).Scan(&n))
	assert.Equal(t, 0, n)
}

// TestShared runs the several-instances suite on two connection pools of
// one database, on SQLite and on PostgreSQL.
func TestShared(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		storetest.RunShared(t, func(t *testing.T) (auth.Store, auth.Store) {
			target := b.Target(t)
			open := func() auth.Store {
				driver, dsn, opts := "sqlite", sqlmigrate.SQLiteDSN(target), sqlstore.Options{Dialect: sqlstore.SQLite}
				if b.Dialect == sqlmigrate.Postgres {
					driver, dsn, opts = "pgx", target, sqlstore.Options{Dialect: sqlstore.Postgres}
				}
				db, err := sql.Open(driver, dsn)
				require.NoError(t, err)
				t.Cleanup(func() { db.Close() })
				s, err := sqlstore.New(context.Background(), db, opts)
				require.NoError(t, err)
				t.Cleanup(func() { s.Close() })
				return s
			}
			return open(), open()
		})
	})
}
