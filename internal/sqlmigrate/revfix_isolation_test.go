package sqlmigrate_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

// TestWriteIsReadCommittedWhateverTheDefault: on a PostgreSQL database (or
// connection string) whose default isolation is repeatable read or
// serializable, BeginWrite's transaction is still read committed, as its
// documentation says: a write that waits for a lock taken by a SELECT
// (pg_advisory_xact_lock) then sees what the holder committed. Apply's
// lock is one: six pools applying at once all succeed and each migration
// runs once (with the default's snapshot, taken before the wait, the
// waiters saw no migration recorded and ran 001 again: "relation already
// exists").
func TestWriteIsReadCommittedWhateverTheDefault(t *testing.T) {
	fsys := fstest.MapFS{
		"001_init.sql": {Data: []byte("CREATE TABLE t_a (x INTEGER);\n")},
		"002_data.sql": {Data: []byte("INSERT INTO t_a (x) VALUES (1);\n")},
	}
	for _, level := range []string{"repeatable%20read", "serializable"} {
		t.Run(level, func(t *testing.T) {
			for round := range 3 {
				dsn := sqltest.PostgresURL(t) + "&default_transaction_isolation=" + level
				pools := make([]*sql.DB, 6)
				for i := range pools {
					db, err := sql.Open("pgx", dsn)
					require.NoError(t, err)
					t.Cleanup(func() { _ = db.Close() })
					pools[i] = db
				}
				var wg sync.WaitGroup
				start := make(chan struct{})
				for i, db := range pools {
					wg.Go(func() {
						<-start
						err := sqlmigrate.Apply(context.Background(), db, fsys, sqlmigrate.Options{Table: "t_m", Dialect: sqlmigrate.Postgres})
						assert.NoError(t, err, "round %d pool %d", round, i)
					})
				}
				close(start)
				wg.Wait()
				var rows int
				require.NoError(t, pools[0].QueryRow(`SELECT COUNT(*) FROM t_a`).Scan(&rows))
				assert.Equal(t, 1, rows, "002 ran once")

				tx, err := sqlmigrate.BeginWrite(context.Background(), pools[0], sqlmigrate.Postgres)
				require.NoError(t, err)
				var iso string
				require.NoError(t, tx.QueryRowContext(context.Background(), `SHOW transaction_isolation`).Scan(&iso))
				assert.Equal(t, "read committed", iso)
				require.NoError(t, tx.Rollback())
			}
		})
	}
}
