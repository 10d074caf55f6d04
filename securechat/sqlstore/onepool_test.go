package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat/sqlstore"
)

// TestOneConnection runs the contract and the concurrent writers on a
// SQLite pool of one connection: a write transaction that also read
// through the *sql.DB (not its transaction) would wait for itself forever,
// and so would the writers' queue if a writer kept its turn after its
// transaction ended.
func TestOneConnection(t *testing.T) {
	open := func(t *testing.T) *sqlstore.Store {
		db := sqltest.SQLite(t)
		db.SetMaxOpenConns(1)
		s, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("contract", func(t *testing.T) { storeContract(t, open(t)) })
	t.Run("writers", func(t *testing.T) { concurrentWriters(t, open(t)) })
}
