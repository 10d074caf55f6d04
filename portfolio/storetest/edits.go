package storetest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runEdits runs the tests of edits and deletes by hand.
func runEdits(t *testing.T, newStore func(t *testing.T) portfolio.Store) {
	t.Run("edit and delete", func(t *testing.T) { testEditDelete(t, newStore(t)) })
	t.Run("edit refused", func(t *testing.T) { testEditRefused(t, newStore(t)) })
	t.Run("repair broken books", func(t *testing.T) { testRepair(t, newStore(t)) })
	t.Run("edit races a withdrawal", func(t *testing.T) { testEditRace(t, newStore(t)) })
}

// cashBook is an account with a deposit of 1000, a buy of 2 X at 100 and
// a withdrawal of 500, the books of the edit tests.
func cashBook(t *testing.T, s portfolio.Store) {
	t.Helper()
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "cash", Currency: "EUR"}))
	_, err := portfolio.BookTransactions(ctx, s, []portfolio.Transaction{
		{ID: "d", Account: "cash", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1000")},
		{ID: "b", Account: "cash", Kind: portfolio.TxBuy, Time: day("2024-01-02"), Symbol: "X", Quantity: dec("2"), Price: dec("100")},
		{ID: "w", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("500")},
	})
	require.NoError(t, err)
}

func cashOf(t *testing.T, s portfolio.Store) string {
	t.Helper()
	l, err := portfolio.LoadLedger(context.Background(), s)
	require.NoError(t, err)
	c, err := l.Cash("cash")
	require.NoError(t, err)
	return c.String()
}

// testEditDelete: an edit that keeps the books valid is stored (currency
// filled in, after the others of its time); a delete too; an unknown id is
// ErrNotFound.
func testEditDelete(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	cashBook(t, s)
	w := portfolio.Transaction{ID: "w", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-02"), Amount: dec("700"), Note: "fixed"}
	booked, err := portfolio.EditTransaction(ctx, s, w)
	require.NoError(t, err)
	assert.Equal(t, "EUR", booked.Currency)
	assert.Equal(t, "100", cashOf(t, s))
	txs, err := s.Transactions(ctx)
	require.NoError(t, err)
	require.Len(t, txs, 3)
	assert.Equal(t, []string{"d", "b", "w"}, []string{txs[0].ID, txs[1].ID, txs[2].ID}, "the edited one after the buy of its time")
	assert.Equal(t, "fixed", txs[2].Note)
	require.NoError(t, portfolio.DeleteTransaction(ctx, s, "w"))
	assert.Equal(t, "800", cashOf(t, s))
	_, err = portfolio.EditTransaction(ctx, s, portfolio.Transaction{ID: "nope", Account: "cash", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1")})
	assert.ErrorIs(t, err, portfolio.ErrNotFound)
	assert.ErrorIs(t, portfolio.DeleteTransaction(ctx, s, "w"), portfolio.ErrNotFound)
}

// testEditRefused: edits and deletes that would leave the books not
// applying are refused with a *BooksError naming the transaction that would
// fail, and change nothing.
func testEditRefused(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	cashBook(t, s)
	before := snapshot(t, s)
	for name, edit := range map[string]portfolio.Transaction{
		"deposit too small for the buy": {ID: "d", Account: "cash", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("100")},
		"withdrawal beyond the cash":    {ID: "w", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("800.01")},
		"deposit after the buy":         {ID: "d", Account: "cash", Kind: portfolio.TxDeposit, Time: day("2024-01-05"), Amount: dec("1000")},
		"buy turned into a sell":        {ID: "b", Account: "cash", Kind: portfolio.TxSell, Time: day("2024-01-02"), Symbol: "X", Quantity: dec("2"), Price: dec("100")},
		"invalid itself":                {ID: "w", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("-5")},
	} {
		_, err := portfolio.EditTransaction(ctx, s, edit)
		var be *portfolio.BooksError
		assert.True(t, errors.As(err, &be), "%s: %v", name, err)
	}
	_, err := portfolio.EditTransaction(ctx, s, portfolio.Transaction{ID: "w", Account: "elsewhere", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("1")})
	assert.ErrorIs(t, err, portfolio.ErrUnknownAccount)
	err = portfolio.DeleteTransaction(ctx, s, "d")
	var be *portfolio.BooksError
	require.True(t, errors.As(err, &be), "%v", err)
	assert.Equal(t, "b", be.Problems[0].Transaction.ID, "the buy would no longer be paid for")
	assert.ErrorIs(t, err, portfolio.ErrInsufficientFunds)
	after := snapshot(t, s)
	require.Len(t, after.Transactions, len(before.Transactions))
	for i := range before.Transactions {
		assert.True(t, portfolio.SameTransaction(before.Transactions[i], after.Transactions[i]), "%+v", after.Transactions[i])
	}
}

// testRepair: books that do not apply (stored unchecked, as by an older
// version or a hand edit) load with a *BooksError naming the culprit; they
// may be repaired one transaction at a time, and a change that breaks what
// still applied is refused.
func testRepair(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "cash", Currency: "EUR"}))
	_, err := add(ctx, s, []portfolio.Transaction{
		{ID: "d", Account: "cash", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("100"), Currency: "EUR"},
		{ID: "w1", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-02"), Amount: dec("300"), Currency: "EUR"},
		{ID: "w2", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("400"), Currency: "EUR"},
		{ID: "w3", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-04"), Amount: dec("60"), Currency: "EUR"},
	})
	require.NoError(t, err)
	_, err = portfolio.LoadLedger(ctx, s)
	var be *portfolio.BooksError
	require.True(t, errors.As(err, &be), "%v", err)
	require.Len(t, be.Problems, 2)
	assert.Equal(t, "w1", be.Problems[0].Transaction.ID)
	assert.Equal(t, "w2", be.Problems[1].Transaction.ID)
	assert.ErrorContains(t, err, `"w1"`)
	// Nothing new goes into books that do not apply.
	_, err = portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: "d2", Account: "cash", Kind: portfolio.TxDeposit, Time: day("2024-02-01"), Amount: dec("1")}})
	assert.True(t, errors.As(err, &be))
	// What applies, applies.
	b, err := portfolio.ReadBooks(ctx, s)
	require.NoError(t, err)
	l, problems, err := b.Replay()
	require.NoError(t, err)
	assert.Len(t, problems, 2)
	c, _ := l.Cash("cash")
	assert.Equal(t, "40", c.String(), "100 − 60, the failing ones left out")
	// Deleting the deposit would break w3, which applies: refused.
	assert.True(t, errors.As(portfolio.DeleteTransaction(ctx, s, "d"), &be))
	// Repairs, one at a time.
	require.NoError(t, portfolio.DeleteTransaction(ctx, s, "w1"))
	_, err = portfolio.EditTransaction(ctx, s, portfolio.Transaction{ID: "w2", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("900")})
	assert.True(t, errors.As(err, &be), "an edit that still fails is refused")
	_, err = portfolio.EditTransaction(ctx, s, portfolio.Transaction{ID: "w2", Account: "cash", Kind: portfolio.TxWithdrawal, Time: day("2024-01-03"), Amount: dec("40")})
	require.NoError(t, err)
	assert.Equal(t, "0", cashOf(t, s))
}

// testEditRace: an edit that lowers the deposit races a withdrawal that
// only the unedited deposit pays for: exactly one is stored, and the
// books apply.
func testEditRace(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	for round := range 5 {
		acct := "r" + string(rune('0'+round))
		require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: acct, Currency: "EUR"}))
		t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
		_, err := portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: acct + "-d", Account: acct, Kind: portfolio.TxDeposit, Time: t0, Amount: dec("1000")}})
		require.NoError(t, err)
		var errs [2]error
		var wg sync.WaitGroup
		start := make(chan struct{})
		wg.Go(func() {
			<-start
			_, errs[0] = portfolio.EditTransaction(ctx, s, portfolio.Transaction{ID: acct + "-d", Account: acct, Kind: portfolio.TxDeposit, Time: t0, Amount: dec("500")})
		})
		wg.Go(func() {
			<-start
			_, errs[1] = portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: acct + "-w", Account: acct, Kind: portfolio.TxWithdrawal, Time: t0.Add(time.Hour), Amount: dec("800")}})
		})
		close(start)
		wg.Wait()
		assert.True(t, (errs[0] == nil) != (errs[1] == nil), "round %d: exactly one wins: %v / %v", round, errs[0], errs[1])
		_, err = portfolio.LoadLedger(ctx, s)
		require.NoError(t, err, "round %d", round)
	}
}
