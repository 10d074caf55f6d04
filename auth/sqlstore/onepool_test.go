package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

// TestSuiteOneConnection runs the conformance suite on a SQLite pool of
// one connection: a write transaction that also read through the *sql.DB
// (not its transaction) would wait for itself forever, and so would the
// writers' queue if a writer kept its turn after its transaction ended.
func TestSuiteOneConnection(t *testing.T) {
	storetest.Run(t, func(t *testing.T) auth.Store {
		db := sqltest.SQLite(t)
		db.SetMaxOpenConns(1)
		s, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
		require.NoError(t, err)
		t.Cleanup(func() { s.Close() })
		return s
	})
}
