package sqlstore_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/finkit/finkit/portfolio/storetest"
)

// TestStoreOneConnection runs the conformance suite on a SQLite pool of
// one connection: a write transaction that also read through the *sql.DB
// (not its transaction) would wait for itself forever, and so would the
// writers' queue if a writer kept its turn after its transaction ended.
func TestStoreOneConnection(t *testing.T) {
	storetest.Run(t, func(t *testing.T) portfolio.Shelf {
		db := sqltest.SQLite(t)
		db.SetMaxOpenConns(1)
		s, err := sqlstore.New(context.Background(), db, sqlstore.Options{})
		require.NoError(t, err)
		return s
	})
}
