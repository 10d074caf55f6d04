package pgnotify_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

// TestNotifyAfterItsConnectionsDied (review): the server ends the
// notifier's sending connections (a restart, a failover, an idle timeout
// of a proxy): the next wake-up still arrives, instead of failing and
// leaving the recipient to the relay's next poll (30 s by default).
func TestNotifyAfterItsConnectionsDied(t *testing.T) {
	url := sqltest.PostgresURL(t)
	ch := channel(t)
	a, b := newNotifier(t, url, ch), newNotifier(t, url, ch)
	wb, _ := listen(t, b)
	ctx := context.Background()
	p := peer(t)
	require.NoError(t, a.Notify(ctx, p))
	require.Equal(t, p, <-wb)
	db, err := sql.Open("pgx", url)
	require.NoError(t, err)
	defer db.Close()
	var killed int
	require.NoError(t, db.QueryRow(`SELECT COUNT(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE query LIKE 'SELECT pg_notify(%'`).Scan(&killed))
	require.Positive(t, killed)
	time.Sleep(100 * time.Millisecond)
	q := peer(t)
	assert.NoError(t, a.Notify(ctx, q), "the first wake-up after the connection died")
	select {
	case got := <-wb:
		assert.Equal(t, q, got)
	case <-time.After(5 * time.Second):
		t.Fatal("the wake-up never arrived")
	}
}
