// Package appdb opens the database of finkit's example apps (the dashboard
// and the CLI): a SQLite file by default, or a PostgreSQL server when given
// a postgres:// URL. It is the one place the apps choose a driver and its
// settings, and it hands the stores their options for the database.
package appdb

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver "pgx"
	_ "modernc.org/sqlite"             // database/sql driver "sqlite"

	authsql "github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/internal/sqlmigrate"
	portfoliosql "github.com/finkit/finkit/portfolio/sqlstore"
	chatsql "github.com/finkit/finkit/securechat/sqlstore"
)

// pool is how many connections a database keeps.
type pool struct {
	maxOpen, maxIdle int
	maxIdleTime      time.Duration
}

// tuned is the apps' pool. database/sql keeps only 2 idle connections by
// default, so under load connections were closed and reopened all the time
// (each open reruns the pragmas and re-prepares the stores' statements;
// closing the last one checkpoints the WAL): 27 % of the CPU of a cheap
// request went to it. Keeping every open connection idle ends that
// (BenchmarkSessionLookup). SQLite is CPU-bound in this process, so more
// connections than a few per core only add memory (a page cache each);
// PostgreSQL's server does the work, and its default limit is 100 for
// every client together.
func tuned(postgres bool) pool {
	if postgres {
		return pool{maxOpen: 32, maxIdle: 32, maxIdleTime: 5 * time.Minute}
	}
	return pool{maxOpen: 16, maxIdle: 16, maxIdleTime: 10 * time.Minute}
}

// DB is an open database and its dialect.
type DB struct {
	*sql.DB
	// Postgres is set for a PostgreSQL server, unset for SQLite.
	Postgres bool
}

// IsURL reports whether target names a PostgreSQL server rather than a
// SQLite file.
func IsURL(target string) bool {
	return strings.HasPrefix(target, "postgres://") || strings.HasPrefix(target, "postgresql://")
}

// Open opens target: a postgres:// (or postgresql://) URL, or else the path
// of a SQLite file, which is created when missing. SQLite is switched to
// WAL once, retrying while another process holds the file, before Open
// returns; the connection is checked on both.
func Open(ctx context.Context, target string) (*DB, error) {
	return open(ctx, target, tuned(IsURL(target)))
}

func open(ctx context.Context, target string, p pool) (*DB, error) {
	if target == "" {
		return nil, errors.New("empty database path or URL")
	}
	d := &DB{Postgres: IsURL(target)}
	var err error
	if d.Postgres {
		d.DB, err = sql.Open("pgx", target)
	} else {
		// The path goes into a file: URI; '?' or '#' would start its
		// query (driver options) or fragment.
		if strings.ContainsAny(target, "?#") {
			return nil, fmt.Errorf("database path %q must not contain '?' or '#'", target)
		}
		d.DB, err = sql.Open("sqlite", sqlmigrate.SQLiteDSN(target))
	}
	if err != nil {
		return nil, fmt.Errorf("open database: %w", err)
	}
	d.SetMaxOpenConns(p.maxOpen)
	d.SetMaxIdleConns(p.maxIdle)
	d.SetConnMaxIdleTime(p.maxIdleTime)
	if err := d.PingContext(ctx); err != nil {
		_ = d.Close()
		return nil, fmt.Errorf("open database: %w", err)
	}
	if !d.Postgres {
		if err := sqlmigrate.EnsureWAL(ctx, d.DB); err != nil {
			_ = d.Close()
			return nil, fmt.Errorf("open database: %w", err)
		}
	}
	return d, nil
}

// Name is how messages show the database: the SQLite path, or the
// PostgreSQL URL without its password.
func Name(target string) string {
	if !IsURL(target) {
		return target
	}
	scheme, rest, _ := strings.Cut(target, "://")
	if at := strings.LastIndex(rest, "@"); at >= 0 {
		user, _, _ := strings.Cut(rest[:at], ":")
		rest = user + "@" + rest[at+1:]
	}
	return scheme + "://" + rest
}

// Auth returns the auth store's options for d.
func (d *DB) Auth() authsql.Options {
	if d.Postgres {
		return authsql.Options{Dialect: authsql.Postgres}
	}
	return authsql.Options{Dialect: authsql.SQLite}
}

// Portfolio returns the portfolio store's options for d.
func (d *DB) Portfolio() portfoliosql.Options {
	if d.Postgres {
		return portfoliosql.Options{Placeholder: portfoliosql.Dollar}
	}
	return portfoliosql.Options{Placeholder: portfoliosql.Question}
}

// Chat returns the securechat store's options for d.
func (d *DB) Chat() chatsql.Options {
	return chatsql.Options{Postgres: d.Postgres}
}

// EnvVar names the environment variable that sets the apps' database when
// --db is not given.
const EnvVar = "FINKIT_DB"

// FromEnv returns $FINKIT_DB, or fallback when it is unset or empty.
func FromEnv(fallback string) string {
	if v := os.Getenv(EnvVar); v != "" {
		return v
	}
	return fallback
}
