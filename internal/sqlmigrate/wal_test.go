package sqlmigrate

import (
	"context"
	"database/sql"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// While another connection reads a file still in rollback-journal mode,
// the switch to WAL cannot happen and one try fails with "database is
// locked" (here at once: the connection sets no busy_timeout). EnsureWAL
// keeps trying and succeeds once the reader is done; it fails only when its
// context ends first.
func TestEnsureWALWaitsForAReader(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "w.db")
	open := func() *sql.DB {
		db, err := sql.Open("sqlite", "file:"+path)
		require.NoError(t, err)
		t.Cleanup(func() { db.Close() })
		return db
	}
	other, db := open(), open()
	_, err := other.Exec(`CREATE TABLE t (x INTEGER)`)
	require.NoError(t, err)
	reader, err := other.Conn(ctx)
	require.NoError(t, err)
	_, err = reader.ExecContext(ctx, `BEGIN`)
	require.NoError(t, err)
	var n int
	require.NoError(t, reader.QueryRowContext(ctx, `SELECT COUNT(*) FROM t`).Scan(&n), "takes the shared lock")

	var mode string
	err = db.QueryRowContext(ctx, `PRAGMA journal_mode = WAL`).Scan(&mode)
	require.True(t, IsBusy(err), "one try fails while the reader reads: %v (mode %q)", err, mode)

	short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	require.ErrorIs(t, EnsureWAL(short, db), context.DeadlineExceeded)

	var released atomic.Bool
	go func() {
		time.Sleep(300 * time.Millisecond)
		released.Store(true)
		_, _ = reader.ExecContext(ctx, `COMMIT`)
		_ = reader.Close()
	}()
	require.NoError(t, EnsureWAL(ctx, db))
	assert.True(t, released.Load(), "switched while the reader still read")
	// A new connection reads the mode from the file (an open one may
	// report the mode it last saw).
	require.NoError(t, open().QueryRow(`PRAGMA journal_mode`).Scan(&mode))
	assert.Equal(t, "wal", mode)
}
