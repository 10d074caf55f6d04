package papertrade

import (
	"context"
	"database/sql"
	"path/filepath"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	_ "modernc.org/sqlite"
)

// TestPaperAccountPersistsInSQLite trades a paper account whose fills go
// through a LedgerStore into SQLite, closes everything, reopens the
// database and checks that a new Account resumes with the same cash and
// positions.
func TestPaperAccountPersistsInSQLite(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "paper.db")
	open := func() (*sql.DB, *LedgerStore) {
		db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(path))
		require.NoError(t, err)
		st, err := sqlstore.New(ctx, db, sqlstore.Options{})
		require.NoError(t, err)
		require.NoError(t, st.SaveAccount(ctx, portfolio.Account{ID: "paper", Name: "Paper", Currency: "USD"}))
		ls, err := OpenLedgerStore(ctx, st, time.Second)
		require.NoError(t, err)
		return db, ls
	}
	f := newPaperFixture(t)
	db, ls := open()
	a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("5000"), Now: f.now})
	require.NoError(t, err)
	_, err = a.Buy(ctx, "GOOG", dec("12"))
	require.NoError(t, err)
	f.quotes.Advance()
	_, err = a.Sell(ctx, "GOOG", dec("2"))
	require.NoError(t, err)
	cash := a.Cash()
	require.NoError(t, db.Close())

	db, ls = open()
	defer db.Close()
	b, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("5000"), Now: f.now})
	require.NoError(t, err)
	assert.True(t, b.Cash().Equal(cash.Round(2)), "cash %s resumed as %s", cash, b.Cash())
	assert.True(t, b.Positions()["GOOG"].Equal(dec("10")))
	assert.Equal(t, 3, ls.Ledger().Len(), "deposit, buy, sell; no second deposit")
}

// failingStore wraps a real MemStore and refuses transactions on demand.
type failingStore struct {
	*portfolio.MemStore
	fail bool
}

func (s *failingStore) AddTransactions(ctx context.Context, txs []portfolio.Transaction) (int, error) {
	if s.fail {
		return 0, context.DeadlineExceeded
	}
	return s.MemStore.AddTransactions(ctx, txs)
}

func TestLedgerStoreRollsBackWhenStoreFails(t *testing.T) {
	ctx := context.Background()
	mem := portfolio.NewMemStore()
	require.NoError(t, mem.SaveAccount(ctx, portfolio.Account{ID: "paper", Name: "Paper", Currency: "USD"}))
	st := &failingStore{MemStore: mem}
	ls, err := OpenLedgerStore(ctx, st, 0)
	require.NoError(t, err)
	f := newPaperFixture(t)
	a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("1000"), Now: f.now})
	require.NoError(t, err)
	st.fail = true
	_, err = a.Buy(ctx, "GOOG", dec("1"))
	require.ErrorIs(t, err, ErrBooking)
	assert.True(t, a.Cash().Equal(dec("1000")), "nothing changed")
	assert.Equal(t, 1, ls.Ledger().Len(), "ledger reloaded: only the deposit")
	_, err = OpenLedgerStore(ctx, nil, 0)
	assert.ErrorIs(t, err, ErrInvalidOptions)
}
