package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

// TestPurgeWaitsForNoLockedRow: while another transaction holds the row of
// an idle sender's usage counter and of a full token bucket (as an
// Enqueue holds its sender's row until it commits), PurgeExpired on
// PostgreSQL returns at once, leaving those rows: a purge that waited for
// each locked row in the order it found them could close a cycle with the
// writers that lock a sender's row and then the total's (CI saw deadlock
// 40P01 in TestMixedEnqueueAckPurgeAcrossInstances). The rows are purged
// once they are free.
func TestPurgeWaitsForNoLockedRow(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		if b.Dialect != sqlmigrate.Postgres {
			t.Skip("SQLite has one writer: a held write transaction holds every row")
		}
		stores, dbs := instanceDBs(t, b, 1)
		s, db := stores[0], dbs[0]
		ctx := context.Background()
		_, err := db.ExecContext(ctx, `INSERT INTO chat_usage (sender, envelopes, bytes) VALUES ('idle', 0, 0), ('free', 0, 0)`)
		require.NoError(t, err)
		_, err = db.ExecContext(ctx, `INSERT INTO chat_token_buckets (bucket, full_at) VALUES ('held', 1), ('spent', 1)`)
		require.NoError(t, err)

		tx, err := db.BeginTx(ctx, nil)
		require.NoError(t, err)
		defer tx.Rollback()
		_, err = tx.ExecContext(ctx, `UPDATE chat_usage SET bytes = bytes WHERE sender = 'idle'`)
		require.NoError(t, err)
		_, err = tx.ExecContext(ctx, `UPDATE chat_token_buckets SET full_at = full_at WHERE bucket = 'held'`)
		require.NoError(t, err)

		pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		_, err = s.PurgeExpired(pctx, time.Now())
		require.NoError(t, err, "the purge waited for a row another transaction holds")
		require.Equal(t, []string{"idle"}, column(t, db, `SELECT sender FROM chat_usage ORDER BY sender`))
		require.Equal(t, []string{"held"}, column(t, db, `SELECT bucket FROM chat_token_buckets ORDER BY bucket`))

		require.NoError(t, tx.Rollback())
		_, err = s.PurgeExpired(ctx, time.Now())
		require.NoError(t, err)
		require.Empty(t, column(t, db, `SELECT sender FROM chat_usage`))
		require.Empty(t, column(t, db, `SELECT bucket FROM chat_token_buckets`))
	})
}

// column is the first column of every row query returns.
func column(t *testing.T, db *sql.DB, query string) []string {
	t.Helper()
	rows, err := db.QueryContext(context.Background(), query)
	require.NoError(t, err)
	defer rows.Close()
	var out []string
	for rows.Next() {
		var v string
		require.NoError(t, rows.Scan(&v))
		out = append(out, v)
	}
	require.NoError(t, rows.Err())
	return out
}
