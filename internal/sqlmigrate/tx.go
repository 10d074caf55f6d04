package sqlmigrate

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
)

// Dialect is the SQL database behind a *sql.DB.
type Dialect int

// The dialects the stores support.
const (
	// SQLite (modernc.org/sqlite or any driver of SQLite): ? placeholders,
	// one writer at a time for the whole database.
	SQLite Dialect = iota
	// Postgres (PostgreSQL, for example through pgx's database/sql driver):
	// $1, $2, … placeholders, row and table locks.
	Postgres
)

// Rebind rewrites the ? placeholders of query for d.
func (d Dialect) Rebind(query string) string {
	if d == Postgres {
		return DollarPlaceholders(query)
	}
	return query
}

// ForUpdate returns " FOR UPDATE" on PostgreSQL and "" on SQLite, to append
// to a SELECT that reads a row the transaction then changes. On SQLite the
// transaction of BeginWrite already holds the database's write lock.
func (d Dialect) ForUpdate() string {
	if d == Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// Tx is a write transaction begun by BeginWrite. Its methods mirror those of
// *sql.Tx. It is not safe for concurrent use, like *sql.Tx. Rollback after
// Commit is a no-op, so "defer tx.Rollback()" is the usual pattern.
type Tx struct {
	tx      *sql.Tx   // PostgreSQL
	conn    *sql.Conn // SQLite: a connection inside BEGIN IMMEDIATE
	done    bool
	release func() // frees the Writer's turn, nil without one
}

// Writer begins the write transactions of one store. On SQLite its writers
// take turns in the order they arrive (first come, first served) before they
// ask SQLite for the write lock: SQLite lets one writer in at a time anyway,
// and its busy handler polls with sleeps of up to 100 ms, so twenty writers
// of one process left to it wait unfairly, some past busy_timeout. Writers
// of other Writers and other processes still wait through busy_timeout. On
// PostgreSQL writers are not queued: the server locks rows.
//
// The zero Writer is not usable; use NewWriter. A Writer is safe for
// concurrent use.
type Writer struct {
	db   *sql.DB
	d    Dialect
	turn chan struct{} // SQLite: holds a token while a transaction runs
}

// NewWriter returns a Writer for db.
func NewWriter(db *sql.DB, d Dialect) *Writer {
	return &Writer{db: db, d: d, turn: make(chan struct{}, 1)}
}

// Dialect returns the dialect w was made for.
func (w *Writer) Dialect() Dialect { return w.d }

// Begin is BeginWrite after w's queue: it waits for the turn of this
// process's earlier writers first, or until ctx is done.
func (w *Writer) Begin(ctx context.Context) (*Tx, error) {
	if w.d == Postgres {
		return BeginWrite(ctx, w.db, w.d)
	}
	select {
	case w.turn <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("begin: %w", ctx.Err())
	}
	tx, err := BeginWrite(ctx, w.db, w.d)
	if err != nil {
		<-w.turn
		return nil, err
	}
	tx.release = func() { <-w.turn }
	return tx, nil
}

// BeginWrite begins a transaction that will write, taking the write lock
// before its first statement.
//
// On SQLite it issues BEGIN IMMEDIATE on a connection of its own from db's
// pool. A plain (deferred) transaction that reads before it writes must
// upgrade its read lock to a write lock, and SQLite cannot wait for that:
// when another connection writes meanwhile it fails at once with SQLITE_BUSY
// or SQLITE_BUSY_SNAPSHOT, whatever busy_timeout says. BEGIN IMMEDIATE waits
// for the write lock up to the connection's busy_timeout instead, so
// concurrent writers queue. This works on any *sql.DB of SQLite, whatever
// its connection string (database/sql's BeginTx cannot send BEGIN
// IMMEDIATE, and the driver's _txlock parameter is the opener's choice, not
// the store's). The connection should set busy_timeout (the apps use 5 s);
// without it a busy database fails at once.
//
// On PostgreSQL it is a plain read-committed transaction, whatever the
// database's default isolation: writers of one row queue on the row lock,
// and a store that reads before it writes locks what it reads (SELECT …
// FOR UPDATE, see ForUpdate), the table it appends to (LockTables) or an
// advisory lock (pg_advisory_xact_lock), and then sees what the holder
// committed. (Under a repeatable-read default the snapshot of the SELECT
// that takes an advisory lock would be from before the wait.)
func BeginWrite(ctx context.Context, db *sql.DB, d Dialect) (*Tx, error) {
	if db == nil {
		return nil, errors.New("sqlmigrate: nil *sql.DB")
	}
	if d == Postgres {
		tx, err := db.BeginTx(ctx, &sql.TxOptions{Isolation: sql.LevelReadCommitted})
		if err != nil {
			return nil, fmt.Errorf("begin: %w", err)
		}
		return &Tx{tx: tx}, nil
	}
	conn, err := db.Conn(ctx)
	if err != nil {
		return nil, fmt.Errorf("begin: %w", err)
	}
	if _, err := conn.ExecContext(ctx, "BEGIN IMMEDIATE"); err != nil {
		discard(conn)
		return nil, fmt.Errorf("begin: %w", err)
	}
	return &Tx{conn: conn}, nil
}

// discard closes conn and drops its connection from the pool, for a
// connection whose transaction state is unknown.
func discard(conn *sql.Conn) {
	_ = conn.Raw(func(any) error { return driver.ErrBadConn })
	_ = conn.Close()
}

// LockTables locks tables on PostgreSQL in SHARE ROW EXCLUSIVE mode until
// the end of the transaction: other writers of those tables wait, readers do
// not. A store calls it before reading what decides its appends (the next
// sequence number, whether an id is stored). On SQLite it does nothing: the
// transaction already holds the database's write lock. The table names are
// the store's own constants, never input.
func (t *Tx) LockTables(ctx context.Context, tables ...string) error {
	if t.tx == nil || len(tables) == 0 {
		return nil
	}
	for _, name := range tables {
		if !tableName.MatchString(name) {
			return fmt.Errorf("%w: table name %q", ErrBadMigration, name)
		}
	}
	q := "LOCK TABLE " + tables[0]
	for _, name := range tables[1:] {
		q += ", " + name
	}
	if _, err := t.tx.ExecContext(ctx, q+" IN SHARE ROW EXCLUSIVE MODE"); err != nil {
		return fmt.Errorf("lock %v: %w", tables, err)
	}
	return nil
}

// ExecContext runs a statement in the transaction.
func (t *Tx) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	if t.tx != nil {
		return t.tx.ExecContext(ctx, query, args...)
	}
	return t.conn.ExecContext(ctx, query, args...)
}

// QueryContext runs a query in the transaction.
func (t *Tx) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if t.tx != nil {
		return t.tx.QueryContext(ctx, query, args...)
	}
	return t.conn.QueryContext(ctx, query, args...)
}

// QueryRowContext runs a query that returns at most one row in the
// transaction.
func (t *Tx) QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row {
	if t.tx != nil {
		return t.tx.QueryRowContext(ctx, query, args...)
	}
	return t.conn.QueryRowContext(ctx, query, args...)
}

// Commit commits the transaction. When it fails the transaction is rolled
// back and its connection released.
func (t *Tx) Commit() error {
	if t.done {
		return sql.ErrTxDone
	}
	t.done = true
	if t.tx != nil {
		return t.tx.Commit()
	}
	defer t.free()
	if _, err := t.conn.ExecContext(context.Background(), "COMMIT"); err != nil {
		// SQLite keeps the transaction open when COMMIT fails (for
		// example SQLITE_BUSY in rollback-journal mode); roll it back.
		t.done = false
		_ = t.Rollback()
		return fmt.Errorf("commit: %w", err)
	}
	return t.conn.Close()
}

// Rollback aborts the transaction; after Commit or Rollback it does
// nothing and returns nil.
func (t *Tx) Rollback() error {
	if t.done {
		return nil
	}
	t.done = true
	if t.tx != nil {
		return t.tx.Rollback()
	}
	defer t.free()
	// A background context: the caller's may be the reason for the
	// rollback. SQLite may have rolled back already (an interrupted
	// statement does); a connection whose state is unclear is dropped.
	if _, err := t.conn.ExecContext(context.Background(), "ROLLBACK"); err != nil {
		discard(t.conn)
		return nil
	}
	return t.conn.Close()
}

// free ends the transaction's turn of its Writer.
func (t *Tx) free() {
	if t.release != nil {
		t.release()
		t.release = nil
	}
}
