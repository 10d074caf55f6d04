package papertrade

import (
	"context"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPaperAccountResumesFromStore trades a paper account whose fills go
// through a LedgerStore, drops the LedgerStore and the Account, opens new
// ones on the same store and checks that the new Account resumes with the
// same cash and positions. (That stored transactions survive closing and
// reopening a database is the SQL store's promise, tested by the store
// conformance suite in portfolio/sqlstore on SQLite and PostgreSQL.)
func TestPaperAccountResumesFromStore(t *testing.T) {
	ctx := context.Background()
	st := portfolio.NewMemStore()
	require.NoError(t, st.SaveAccount(ctx, portfolio.Account{ID: "paper", Name: "Paper", Currency: "USD"}))
	open := func() *LedgerStore {
		ls, err := OpenLedgerStore(ctx, st, time.Second)
		require.NoError(t, err)
		return ls
	}
	f := newPaperFixture(t)
	ls := open()
	a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("5000"), Now: f.now})
	require.NoError(t, err)
	_, err = a.Buy(ctx, "GOOG", dec("12"))
	require.NoError(t, err)
	f.quotes.Advance()
	_, err = a.Sell(ctx, "GOOG", dec("2"))
	require.NoError(t, err)
	cash := a.Cash()

	ls = open()
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

func (s *failingStore) Update(ctx context.Context, change func(portfolio.Books) (portfolio.Change, error)) (int, error) {
	if s.fail {
		return 0, context.DeadlineExceeded
	}
	return s.MemStore.Update(ctx, change)
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
