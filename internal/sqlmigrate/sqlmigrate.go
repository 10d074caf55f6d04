package sqlmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"hash/fnv"
	"io/fs"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
)

// ErrBadMigration reports a migration file whose name or contents cannot be
// used, or an unusable bookkeeping table name.
var ErrBadMigration = errors.New("sqlmigrate: bad migration")

// Options configure Apply.
type Options struct {
	// Dir is the directory of fsys that holds the migrations ("migrations"
	// for a store that embeds migrations/*.sql); empty means the root.
	Dir string
	// Table is the bookkeeping table, such as "auth_schema_migrations". It
	// must be a plain SQL identifier ([a-z_][a-z0-9_]*).
	Table string
	// Rebind rewrites the "?" placeholders of the bookkeeping queries for
	// the database (DollarPlaceholders for PostgreSQL). Nil keeps "?".
	Rebind func(query string) string
	// Expand, when set, rewrites each migration body before it runs, for
	// dialect-specific type names.
	Expand func(body string) string
	// Dialect selects how Apply locks (see BeginWrite) and, when Rebind is
	// nil, the placeholders. The zero value is SQLite.
	Dialect Dialect
}

// Migration is one parsed migration file.
type Migration struct {
	Version    int      // from the file name: 001_init.sql is version 1
	Name       string   // the file name
	Statements []string // the statements, without their trailing ';'
}

var tableName = regexp.MustCompile(`^[a-z_][a-z0-9_]*$`)

// Load reads every *.sql file in directory dir of fsys ("" or "." for the
// root), sorted by version. A file
// name must start with a positive version number followed by '_'; two files
// must not share a version.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	if dir == "" {
		dir = "."
	}
	names, err := fs.Glob(fsys, path.Join(dir, "*.sql"))
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrBadMigration, err)
	}
	out := make([]Migration, 0, len(names))
	for _, name := range names {
		num, _, ok := strings.Cut(path.Base(name), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("%w: %q: the name must start with a positive version and '_'", ErrBadMigration, name)
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return nil, fmt.Errorf("sqlmigrate: read %s: %w", name, err)
		}
		out = append(out, Migration{Version: v, Name: path.Base(name), Statements: SplitStatements(string(body))})
	}
	slices.SortFunc(out, func(a, b Migration) int { return a.Version - b.Version })
	for i := 1; i < len(out); i++ {
		if out[i].Version == out[i-1].Version {
			return nil, fmt.Errorf("%w: %s and %s share version %d", ErrBadMigration, out[i-1].Name, out[i].Name, out[i].Version)
		}
	}
	return out, nil
}

// SplitStatements splits a migration body into statements. A statement ends
// with a ';' at the end of a line, so a ';' inside a string literal or a
// trigger body in the middle of a line does not split it. Lines that are
// empty or start with "--" are dropped.
func SplitStatements(body string) []string {
	var stmts []string
	var cur strings.Builder
	flush := func() {
		if s := strings.TrimSuffix(strings.TrimSpace(cur.String()), ";"); strings.TrimSpace(s) != "" {
			stmts = append(stmts, strings.TrimSpace(s))
		}
		cur.Reset()
	}
	for line := range strings.SplitSeq(body, "\n") {
		t := strings.TrimSpace(line)
		if t == "" || strings.HasPrefix(t, "--") {
			continue
		}
		cur.WriteString(line)
		cur.WriteByte('\n')
		if strings.HasSuffix(t, ";") {
			flush()
		}
	}
	flush()
	return stmts
}

// Apply runs, in version order, every migration in opts.Dir of fsys (see
// Load) that the bookkeeping table does not list yet. Each migration runs in
// its own write transaction (BeginWrite) together with its bookkeeping row,
// so a failed migration leaves the database as it was. Apply is safe to call
// on every start and from several processes at once, also on a database
// that does not exist yet: the check whether a migration is applied and the
// migration itself run under the write lock (on PostgreSQL an advisory lock
// per bookkeeping table), so each runs exactly once and the others wait.
//
// On SQLite Apply first switches the database to WAL (journal_mode is a
// property of the file, so this happens once), retrying with back-off while
// another process holds the file. Do not switch to WAL in the connection
// string (_pragma=journal_mode(WAL)): every new connection runs that pragma
// at open, and on a new file two processes doing so at once fail with
// "database is locked" at once, whatever busy_timeout says.
func Apply(ctx context.Context, db *sql.DB, fsys fs.FS, opts Options) error {
	if db == nil {
		return errors.New("sqlmigrate: nil *sql.DB")
	}
	if !tableName.MatchString(opts.Table) {
		return fmt.Errorf("%w: table name %q", ErrBadMigration, opts.Table)
	}
	migs, err := Load(fsys, opts.Dir)
	if err != nil {
		return err
	}
	rebind := opts.Rebind
	if rebind == nil {
		rebind = opts.Dialect.Rebind
	}
	if opts.Dialect == SQLite {
		if err := EnsureWAL(ctx, db); err != nil {
			return err
		}
	}
	a := applier{db: db, opts: opts,
		count:  rebind(`SELECT COUNT(*) FROM ` + opts.Table + ` WHERE version = ?`),
		insert: rebind(`INSERT INTO ` + opts.Table + ` (version, name, applied_at) VALUES (?, ?, ?)`),
	}
	if err := a.inTx(ctx, func(tx *Tx) error {
		if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS `+opts.Table+` (
		version    BIGINT       NOT NULL PRIMARY KEY,
		name       VARCHAR(255) NOT NULL,
		applied_at BIGINT       NOT NULL)`); err != nil {
			return fmt.Errorf("sqlmigrate: create %s: %w", opts.Table, err)
		}
		return nil
	}); err != nil {
		return err
	}
	for _, m := range migs {
		// A cheap check outside the lock first: on a migrated database
		// a start takes the write lock only once, for the bookkeeping
		// table above.
		done, err := a.applied(ctx, db, m.Version)
		if err != nil {
			return err
		}
		if done {
			continue
		}
		if err := a.inTx(ctx, func(tx *Tx) error { return a.applyOne(ctx, tx, m) }); err != nil {
			return err
		}
	}
	return nil
}

// applier applies the migrations of one Apply call.
type applier struct {
	db            *sql.DB
	opts          Options
	count, insert string
}

// inTx runs f in a write transaction that, on PostgreSQL, also holds the
// advisory lock of the bookkeeping table, and commits it when f succeeds.
func (a applier) inTx(ctx context.Context, f func(*Tx) error) error {
	tx, err := BeginWrite(ctx, a.db, a.opts.Dialect)
	if err != nil {
		return fmt.Errorf("sqlmigrate: %w", err)
	}
	defer func() { _ = tx.Rollback() }()
	if a.opts.Dialect == Postgres {
		if _, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock($1)`, advisoryKey(a.opts.Table)); err != nil {
			return fmt.Errorf("sqlmigrate: lock %s: %w", a.opts.Table, err)
		}
	}
	if err := f(tx); err != nil {
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("sqlmigrate: %w", err)
	}
	return nil
}

// advisoryKey is the PostgreSQL advisory lock key of a bookkeeping table:
// FNV-1a of its name, so stores sharing a database do not wait for each
// other.
func advisoryKey(table string) int64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte("sqlmigrate:" + table))
	return int64(h.Sum64())
}

func (a applier) applied(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}, version int) (bool, error) {
	var n int
	if err := q.QueryRowContext(ctx, a.count, version).Scan(&n); err != nil {
		return false, fmt.Errorf("sqlmigrate: read %s: %w", a.opts.Table, err)
	}
	return n > 0, nil
}

// applyOne runs m in tx unless another process applied it meanwhile.
func (a applier) applyOne(ctx context.Context, tx *Tx, m Migration) error {
	done, err := a.applied(ctx, tx, m.Version)
	if err != nil || done {
		return err
	}
	for _, st := range m.Statements {
		if a.opts.Expand != nil {
			st = a.opts.Expand(st)
		}
		if _, err := tx.ExecContext(ctx, st); err != nil {
			return fmt.Errorf("sqlmigrate: %s: %w", m.Name, err)
		}
	}
	if _, err := tx.ExecContext(ctx, a.insert, m.Version, m.Name, time.Now().UnixNano()); err != nil {
		return fmt.Errorf("sqlmigrate: %s: record: %w", m.Name, err)
	}
	return nil
}

// Version returns the highest version recorded in the bookkeeping table, 0
// when none is.
func Version(ctx context.Context, db *sql.DB, table string) (int, error) {
	if !tableName.MatchString(table) {
		return 0, fmt.Errorf("%w: table name %q", ErrBadMigration, table)
	}
	var v sql.NullInt64
	if err := db.QueryRowContext(ctx, `SELECT MAX(version) FROM `+table).Scan(&v); err != nil {
		return 0, fmt.Errorf("sqlmigrate: read %s: %w", table, err)
	}
	return int(v.Int64), nil
}

// DollarPlaceholders rewrites "?" placeholders as $1, $2, … for PostgreSQL.
// The queries it serves hold no '?' inside string literals.
func DollarPlaceholders(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	for i := 0; i < len(query); i++ {
		if query[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(query[i])
	}
	return b.String()
}
