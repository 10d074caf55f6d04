// Package sqltest opens the real databases the SQL stores' tests run on:
// a SQLite file (modernc.org/sqlite) in the test's temporary directory, and
// a fresh schema on the PostgreSQL server named by FINKIT_TEST_POSTGRES
// (pgx's database/sql driver). Only tests import it.
//
// Without FINKIT_TEST_POSTGRES a PostgreSQL test is skipped, except under
// CI=true, where it fails: CI starts a server (see .ci/run).
package sqltest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
	_ "modernc.org/sqlite"             // driver "sqlite"

	"github.com/finkit/finkit/internal/sqlmigrate"
)

// EnvPostgres names the environment variable with the URL of the
// PostgreSQL server for tests, for example
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable.
const EnvPostgres = "FINKIT_TEST_POSTGRES"

// Backend is one database the tests run on.
type Backend struct {
	Name    string             // "sqlite" or "postgres"
	Dialect sqlmigrate.Dialect // the dialect to give the store
	// Open returns a new, empty database for one test, closed (and on
	// PostgreSQL dropped) when the test ends.
	Open func(t testing.TB) *sql.DB
	// Target returns a new, empty database as a target the example apps
	// open (a SQLite path or a postgres:// URL), and its cleanup.
	Target func(t testing.TB) string
}

// Run runs f as subtest "sqlite" and as subtest "postgres".
func Run(t *testing.T, f func(t *testing.T, b Backend)) {
	for _, b := range Backends() {
		t.Run(b.Name, func(t *testing.T) { f(t, b) })
	}
}

// Backends returns SQLite and PostgreSQL.
func Backends() []Backend {
	return []Backend{
		{Name: "sqlite", Dialect: sqlmigrate.SQLite, Open: SQLite, Target: func(t testing.TB) string {
			return filepath.Join(t.TempDir(), "finkit.db")
		}},
		{Name: "postgres", Dialect: sqlmigrate.Postgres, Open: Postgres, Target: PostgresURL},
	}
}

// SQLite opens a new SQLite file with the apps' settings
// (sqlmigrate.SQLiteDSN) and without a connection limit.
func SQLite(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(filepath.Join(t.TempDir(), "finkit.db")))
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxIdleConns(16)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// Postgres opens a new, empty schema on the test server (see Run for when
// it skips) as the search path of every connection of the returned pool.
func Postgres(t testing.TB) *sql.DB {
	t.Helper()
	db, err := sql.Open("pgx", PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// PostgresURL creates a new, empty schema on the test server and returns a
// URL whose connections use it; the schema is dropped when the test ends.
// Several pools opened on the URL share the schema, as processes would.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvPostgres)
	if base == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("CI=true: %s is not set (.ci/run starts a PostgreSQL server)", EnvPostgres)
		}
		t.Skipf("PostgreSQL test: set %s to a server's URL (see README)", EnvPostgres)
	}
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	if _, err := admin.ExecContext(ctx, `CREATE SCHEMA `+schema); err != nil {
		_ = admin.Close()
		t.Fatalf("PostgreSQL at %s: %v", EnvPostgres, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := admin.ExecContext(ctx, `DROP SCHEMA `+schema+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", schema, err)
		}
		_ = admin.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}
