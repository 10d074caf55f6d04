package sqlmigrate

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// walWait bounds how long EnsureWAL retries a busy database when ctx has no
// earlier deadline.
const walWait = 30 * time.Second

// EnsureWAL switches a SQLite database to write-ahead logging, retrying with
// growing, jittered pauses while another connection or process holds the
// file: busy_timeout alone does not do (it waits out a reader, but a
// connection without it, or one SQLite cannot let wait without a deadlock,
// gets "database is locked" at once, and busy_timeout ends). journal_mode is
// stored in the file, so once one process has switched, the others find it
// switched. An in-memory database keeps its "memory" mode.
func EnsureWAL(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, walWait)
	defer cancel()
	pause := time.Millisecond
	for {
		var mode string
		err := db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode)
		if err == nil && strings.EqualFold(mode, "wal") {
			return nil
		}
		if err == nil {
			err = db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
			if err == nil {
				return nil // "wal", or "memory" for an in-memory database
			}
		}
		if !IsBusy(err) {
			return fmt.Errorf("sqlmigrate: journal_mode WAL: %w", err)
		}
		jitter := time.Duration(rand.Int64N(int64(pause) + 1))
		select {
		case <-ctx.Done():
			return fmt.Errorf("sqlmigrate: journal_mode WAL: %w (%w)", err, ctx.Err())
		case <-time.After(pause + jitter):
		}
		pause = min(2*pause, 100*time.Millisecond)
	}
}

// IsBusy reports whether err is SQLite's SQLITE_BUSY or SQLITE_LOCKED
// ("database is locked", "database table is locked"), by the driver's error
// code when it has a Code() method (modernc.org/sqlite) and by the message
// otherwise.
func IsBusy(err error) bool {
	if err == nil {
		return false
	}
	var coded interface{ Code() int }
	if errors.As(err, &coded) {
		if c := coded.Code() & 0xff; c == 5 || c == 6 {
			return true
		}
	}
	msg := err.Error()
	return strings.Contains(msg, "database is locked") || strings.Contains(msg, "database table is locked") ||
		strings.Contains(msg, "SQLITE_BUSY") || strings.Contains(msg, "SQLITE_LOCKED")
}

// SQLiteDSN is the modernc.org/sqlite connection string finkit's apps and
// tests open a database file with: wait up to 5 s for a lock, enforce
// foreign keys, sync the WAL at checkpoints only (safe in WAL mode: a power
// cut can lose the last commits, never corrupt the file), and begin every
// transaction of database/sql's BeginTx as IMMEDIATE (the stores do not
// need it, see BeginWrite; other code using the *sql.DB does). It sets no
// journal_mode: EnsureWAL switches the file once.
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(5000)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate"
}
