package sqlstore_test

import (
	"context"
	"database/sql"
	"strconv"
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

// twoPools opens two stores on one new database through pools of their
// own, as two processes would.
func twoPools(t testing.TB, b sqltest.Backend) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	target := b.Target(t)
	opts := sqlstore.Options{Placeholder: sqlstore.Question}
	driver, dsn := "sqlite", sqlmigrate.SQLiteDSN(target)
	if b.Dialect == sqlmigrate.Postgres {
		opts.Placeholder, driver, dsn = sqlstore.Dollar, "pgx", target
	}
	var stores [2]*sqlstore.Store
	for i := range stores {
		db, err := sql.Open(driver, dsn)
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		stores[i], err = sqlstore.New(context.Background(), db, opts)
		require.NoError(t, err)
	}
	return stores[0], stores[1]
}

// TestRevisionAcrossPools: a write through one pool changes the revision
// read through another at once (it is stored, not kept in a process), and
// a refused write through one leaves it as the other read it.
func TestRevisionAcrossPools(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		a, other := twoPools(t, b)
		bookA, bookB := a.Book("ann"), other.Book("ann")
		r0, err := bookB.Revision(ctx)
		require.NoError(t, err)
		_, err = portfolio.AddAccount(ctx, bookA, portfolio.Account{ID: "x", Currency: "USD"})
		require.NoError(t, err)
		r1, err := bookB.Revision(ctx)
		require.NoError(t, err)
		assert.Greater(t, r1, r0)
		_, err = portfolio.AddAccount(ctx, bookB, portfolio.Account{ID: "x", Currency: "EUR"})
		require.ErrorIs(t, err, portfolio.ErrDuplicateAccount, "the other pool sees the account inside its write lock")
		r2, err := bookA.Revision(ctx)
		require.NoError(t, err)
		assert.Equal(t, r1, r2)
	})
}

// BenchmarkRevision is what the dashboard's cache pays per request to
// know whether an owner's books changed (Store.Revision, a primary-key
// read), against what it saves when they did not: reading the books of
// 1,000 transactions (portfolio.ReadBooks). SQLite and PostgreSQL (with
// FINKIT_TEST_POSTGRES) in one run.
func BenchmarkRevision(b *testing.B) {
	for _, sb := range sqltest.Backends() {
		b.Run(sb.Name, func(b *testing.B) {
			s, _ := twoPools(b, sb)
			book := s.Book("ann")
			ctx := context.Background()
			seedBook(b, book, 1000)
			b.Run("Revision", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := book.Revision(ctx); err != nil {
						b.Fatal(err)
					}
				}
			})
			b.Run("ReadBooks", func(b *testing.B) {
				b.ReportAllocs()
				for b.Loop() {
					if _, err := portfolio.ReadBooks(ctx, book); err != nil {
						b.Fatal(err)
					}
				}
			})
		})
	}
}

// seedBook stores an account and n deposits in book.
func seedBook(b testing.TB, book portfolio.Store, n int) {
	ctx := context.Background()
	if err := book.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}); err != nil {
		b.Fatal(err)
	}
	txs := make([]portfolio.Transaction, n)
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range txs {
		txs[i] = portfolio.Transaction{ID: "t" + strconv.Itoa(i), Account: "a", Kind: portfolio.TxDeposit,
			Time: t0.Add(time.Duration(i) * time.Hour), Amount: decimal.NewFromInt(int64(1 + i%7)), Currency: "USD"}
	}
	if _, err := portfolio.BookTransactions(ctx, book, txs); err != nil {
		b.Fatal(err)
	}
}

// TestRevisionPreparedAcrossBooksAndClose: the prepared revision query is
// shared by every book of a Store, names each book's owner (one owner's
// write never moves another's revision, a default-book write moves all),
// and after Close fails with an error instead of panicking.
func TestRevisionPreparedAcrossBooksAndClose(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		s, _ := twoPools(t, b)
		ann, bob := s.Book("ann"), s.Book("bob")
		ra0, err := ann.Revision(ctx)
		require.NoError(t, err)
		rb0, err := bob.Revision(ctx)
		require.NoError(t, err)
		_, err = portfolio.AddAccount(ctx, ann, portfolio.Account{ID: "x", Currency: "USD"})
		require.NoError(t, err)
		ra1, err := ann.Revision(ctx)
		require.NoError(t, err)
		rb1, err := bob.Revision(ctx)
		require.NoError(t, err)
		assert.Greater(t, ra1, ra0)
		assert.Equal(t, rb0, rb1, "ann's write moved bob's revision")

		// default-book write moves every book's revision
		_, err = portfolio.AddAccount(ctx, s, portfolio.Account{ID: "d", Currency: "USD"})
		require.NoError(t, err)
		rb2, err := bob.Revision(ctx)
		require.NoError(t, err)
		assert.Greater(t, rb2, rb1)

		require.NoError(t, s.Close())
		require.NoError(t, s.Close(), "a second Close does nothing")
		_, err = bob.Revision(ctx)
		require.Error(t, err)
	})
}
