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

// TestConcurrentApplySeparatePools starts Apply of three migrations from
// six separate pools (as six processes would) on one new database at once,
// on SQLite and on PostgreSQL: all succeed and each migration runs once.
func TestConcurrentApplySeparatePools(t *testing.T) {
	fsys := fstest.MapFS{
		"001_init.sql": {Data: []byte("CREATE TABLE t_a (x INTEGER);\nCREATE INDEX t_a_x ON t_a (x);\n")},
		"002_more.sql": {Data: []byte("CREATE TABLE t_b (y INTEGER);\n")},
		"003_data.sql": {Data: []byte("INSERT INTO t_a (x) VALUES (1);\n")},
	}
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		for round := range 5 {
			target := b.Target(t)
			driver, dsn := "pgx", target
			if b.Dialect == sqlmigrate.SQLite {
				driver, dsn = "sqlite", sqlmigrate.SQLiteDSN(target)
			}
			pools := make([]*sql.DB, 6)
			for i := range pools {
				db, err := sql.Open(driver, dsn)
				require.NoError(t, err)
				t.Cleanup(func() { _ = db.Close() })
				pools[i] = db
			}
			errs := make([]error, len(pools))
			start := make(chan struct{})
			var wg sync.WaitGroup
			for i, db := range pools {
				wg.Go(func() {
					<-start
					errs[i] = sqlmigrate.Apply(context.Background(), db, fsys, sqlmigrate.Options{Table: "t_m", Dialect: b.Dialect})
				})
			}
			close(start)
			wg.Wait()
			for i, err := range errs {
				assert.NoError(t, err, "round %d pool %d", round, i)
			}
			var n, rows int
			require.NoError(t, pools[0].QueryRow(`SELECT COUNT(*) FROM t_m`).Scan(&n))
			assert.Equal(t, 3, n, "each migration recorded once")
			require.NoError(t, pools[0].QueryRow(`SELECT COUNT(*) FROM t_a`).Scan(&rows))
			assert.Equal(t, 1, rows, "003 ran once")
		}
	})
}
