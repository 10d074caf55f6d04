package sqlmigrate_test

import (
	"context"
	"database/sql"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

// onePool opens a new database of b as a pool of one connection, with a
// parent table and a child whose foreign key is checked at COMMIT.
func onePool(t *testing.T, b sqltest.Backend) (*sql.DB, *sqlmigrate.Writer) {
	db := b.Open(t)
	db.SetMaxOpenConns(1)
	for _, q := range []string{
		`CREATE TABLE parent (id INTEGER PRIMARY KEY)`,
		`CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER NOT NULL
			REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED)`,
		`INSERT INTO parent (id) VALUES (1)`,
	} {
		_, err := db.Exec(q)
		require.NoError(t, err)
	}
	return db, sqlmigrate.NewWriter(db, b.Dialect)
}

// released checks that no connection is in use, the data is only the
// first parent row, and the next writer gets in at once.
func released(t *testing.T, db *sql.DB, w *sqlmigrate.Writer) {
	t.Helper()
	// database/sql gives a PostgreSQL connection back from a goroutine
	// once the context of its transaction ends.
	assert.Eventually(t, func() bool { return db.Stats().InUse == 0 }, 2*time.Second, 5*time.Millisecond, "connections in use")
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tx, err := w.Begin(ctx)
	require.NoError(t, err, "the next writer waits for a connection or turn that was not given back")
	var parents, children int
	require.NoError(t, tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM parent`).Scan(&parents))
	require.NoError(t, tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM child`).Scan(&children))
	require.NoError(t, tx.Commit())
	assert.Equal(t, 1, parents, "parent rows")
	assert.Zero(t, children, "child rows")
}

// A transaction ended by a panic, a cancelled context, a failed statement
// or a failed COMMIT changes nothing and gives back its connection (the
// pool has one) and, on SQLite, the Writer's turn.
func TestTxReleasedOnEveryEnd(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		q := b.Dialect.Rebind
		t.Run("panic", func(t *testing.T) {
			db, w := onePool(t, b)
			func() {
				defer func() { require.NotNil(t, recover()) }()
				tx, err := w.Begin(context.Background())
				require.NoError(t, err)
				defer func() { _ = tx.Rollback() }()
				_, err = tx.ExecContext(context.Background(), `INSERT INTO parent (id) VALUES (2)`)
				require.NoError(t, err)
				panic("store bug")
			}()
			released(t, db, w)
		})
		t.Run("cancelled", func(t *testing.T) {
			db, w := onePool(t, b)
			ctx, cancel := context.WithCancel(context.Background())
			tx, err := w.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, q(`INSERT INTO parent (id) VALUES (?)`), 2)
			require.NoError(t, err)
			cancel()
			_, err = tx.ExecContext(ctx, q(`INSERT INTO parent (id) VALUES (?)`), 3)
			require.Error(t, err)
			// On PostgreSQL database/sql may report the rollback of a
			// cancelled transaction as failed: the connection is dropped.
			_ = tx.Rollback()
			released(t, db, w)
		})
		t.Run("cancelled, commit", func(t *testing.T) {
			db, w := onePool(t, b)
			ctx, cancel := context.WithCancel(context.Background())
			tx, err := w.Begin(ctx)
			require.NoError(t, err)
			_, err = tx.ExecContext(ctx, `INSERT INTO parent (id) VALUES (2)`)
			require.NoError(t, err)
			cancel()
			_, err = tx.ExecContext(ctx, `INSERT INTO parent (id) VALUES (3)`)
			require.Error(t, err)
			// A caller that commits anyway must not store half of it.
			if err := tx.Commit(); err == nil {
				var n int
				require.NoError(t, db.QueryRow(`SELECT COUNT(*) FROM parent`).Scan(&n))
				require.Equal(t, 2, n, "commit after a failed statement stores what succeeded")
				_, err = db.Exec(`DELETE FROM parent WHERE id = 2`)
				require.NoError(t, err)
			}
			released(t, db, w)
		})
		t.Run("failed statement", func(t *testing.T) {
			db, w := onePool(t, b)
			tx, err := w.Begin(context.Background())
			require.NoError(t, err)
			_, err = tx.ExecContext(context.Background(), `INSERT INTO parent (id) VALUES (2)`)
			require.NoError(t, err)
			_, err = tx.ExecContext(context.Background(), `INSERT INTO parent (id) VALUES (1)`)
			require.Error(t, err, "duplicate key")
			require.NoError(t, tx.Rollback())
			released(t, db, w)
		})
		t.Run("failed commit", func(t *testing.T) {
			db, w := onePool(t, b)
			if b.Dialect == sqlmigrate.SQLite {
				_, err := db.Exec(`PRAGMA foreign_keys = ON`)
				require.NoError(t, err)
			}
			tx, err := w.Begin(context.Background())
			require.NoError(t, err)
			_, err = tx.ExecContext(context.Background(), `INSERT INTO parent (id) VALUES (2)`)
			require.NoError(t, err)
			_, err = tx.ExecContext(context.Background(), `INSERT INTO child (id, parent) VALUES (1, 99)`)
			require.NoError(t, err, "checked at COMMIT")
			require.Error(t, tx.Commit(), "foreign key violated at COMMIT")
			require.NoError(t, tx.Rollback(), "rollback after a failed commit is a no-op")
			released(t, db, w)
		})
		t.Run("cancelled while waiting", func(t *testing.T) {
			db, w := onePool(t, b)
			first, err := w.Begin(context.Background())
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			defer cancel()
			_, err = w.Begin(ctx)
			require.True(t, errors.Is(err, context.DeadlineExceeded), "err = %v", err)
			require.NoError(t, first.Rollback())
			released(t, db, w)
		})
	})
}
