package sqlstore_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// TestRevisionRolledBackWithItsWrite: a write that fails after its
// revision was bumped (a transaction's insert refused by the database,
// a failing bump after a stock's upsert) leaves the revision, the
// accounts, the stocks and the transactions as they were, on SQLite and
// PostgreSQL: the cache would otherwise label the old books with a new
// revision, or keep showing books that were never stored. The failures are
// made by triggers on the real tables.
func TestRevisionRolledBackWithItsWrite(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		db := b.Open(t)
		opts := sqlstore.Options{Placeholder: sqlstore.Question}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Placeholder = sqlstore.Dollar
		}
		s, err := sqlstore.New(ctx, db, opts)
		require.NoError(t, err)
		t.Cleanup(func() { _ = s.Close() })
		failOn(t, db, b.Dialect)

		book := s.Book("ann")
		require.NoError(t, book.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
		t0 := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
		dep := func(id, note string) portfolio.Transaction {
			return portfolio.Transaction{ID: id, Account: "a", Kind: portfolio.TxDeposit, Time: t0,
				Amount: decimal.NewFromInt(10), Currency: "USD", Note: note}
		}
		_, err = portfolio.BookTransactions(ctx, book, []portfolio.Transaction{dep("ok", "")})
		require.NoError(t, err)
		r0, err := book.Revision(ctx)
		require.NoError(t, err)
		before, err := portfolio.ReadBooks(ctx, book)
		require.NoError(t, err)

		// The insert fails after the bump, in a change that also adds an
		// account.
		_, err = book.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
			return portfolio.Change{Accounts: []portfolio.Account{{ID: "b", Currency: "EUR"}},
				Add: []portfolio.Transaction{dep("t1", ""), dep("t2", "boom")}}, nil
		})
		require.ErrorContains(t, err, "boom")
		// The bump fails after the stock's upsert.
		err = s.Book("boom").SaveStock(ctx, portfolio.Stock{Symbol: "XYZ", Name: "x", Currency: "USD"})
		require.ErrorContains(t, err, "boom")

		r1, err := book.Revision(ctx)
		require.NoError(t, err)
		assert.Equal(t, r0, r1, "the failed write's bump was rolled back")
		after, err := portfolio.ReadBooks(ctx, book)
		require.NoError(t, err)
		assert.Equal(t, before, after, "nothing of the failed write is stored")
		stocks, err := s.Book("boom").Stocks(ctx)
		require.NoError(t, err)
		assert.Empty(t, stocks)
		rb, err := s.Book("boom").Revision(ctx)
		require.NoError(t, err)
		assert.Zero(t, rb)
	})
}

// failOn makes the database refuse a transaction whose note is "boom"
// and any revision bump of owner "boom".
func failOn(t *testing.T, db *sql.DB, d sqlmigrate.Dialect) {
	t.Helper()
	stmts := []string{
		`CREATE TRIGGER boom_tx BEFORE INSERT ON portfolio_transactions WHEN NEW.note = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
		`CREATE TRIGGER boom_rev BEFORE INSERT ON portfolio_revisions WHEN NEW.owner = 'boom' BEGIN SELECT RAISE(ABORT, 'boom'); END`,
	}
	if d == sqlmigrate.Postgres {
		stmts = []string{
			`CREATE FUNCTION boom_fail() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'boom'; END $$`,
			`CREATE TRIGGER boom_tx BEFORE INSERT ON portfolio_transactions FOR EACH ROW WHEN (NEW.note = 'boom') EXECUTE FUNCTION boom_fail()`,
			`CREATE TRIGGER boom_rev BEFORE INSERT OR UPDATE ON portfolio_revisions FOR EACH ROW WHEN (NEW.owner = 'boom') EXECUTE FUNCTION boom_fail()`,
		}
	}
	for _, q := range stmts {
		_, err := db.Exec(q)
		require.NoError(t, err, q)
	}
}
