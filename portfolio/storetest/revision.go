package storetest

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runRevisions runs the tests of Store.Revision and of accounts written
// through Update.
func runRevisions(t *testing.T, newShelf func(t *testing.T) portfolio.Shelf) {
	t.Run("revision bumps", func(t *testing.T) { testRevisionBumps(t, newShelf(t)) })
	t.Run("revision per book", func(t *testing.T) { testRevisionPerBook(t, newShelf(t)) })
	t.Run("revision concurrent", func(t *testing.T) { testRevisionConcurrent(t, newShelf(t).Book("a")) })
	t.Run("account changes", func(t *testing.T) { testAccountChanges(t, newShelf(t).Book("a")) })
	t.Run("racing account adds", func(t *testing.T) { testRacingAccountAdds(t, newShelf(t).Book("a")) })
	t.Run("update state", func(t *testing.T) { testUpdateState(t, newShelf(t)) })
	t.Run("book with accounts", func(t *testing.T) { testBookWithAccounts(t, newShelf(t).Book("a")) })
}

// testBookWithAccounts: BookWithAccounts stores new accounts with the
// transactions that need them, all or nothing: transactions that do not
// apply leave no account behind; a stored account declared otherwise is
// refused; racing imports that each declare one account id with their own
// currency store one account and only its importer's transactions.
func testBookWithAccounts(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	overdraw := []portfolio.Transaction{{ID: "w", Account: "new", Kind: portfolio.TxWithdrawal, Time: day("2024-01-01"), Amount: dec("5")}}
	_, _, err := portfolio.BookWithAccounts(ctx, s, []portfolio.Account{{ID: "new", Currency: "USD"}}, overdraw)
	require.ErrorIs(t, err, portfolio.ErrInsufficientFunds)
	assert.Empty(t, snapshot(t, s).Accounts, "the account is not created without its transactions")
	created, added, err := portfolio.BookWithAccounts(ctx, s, []portfolio.Account{{ID: "new", Currency: "USD"}}, sampleFor("new"))
	require.NoError(t, err)
	assert.Len(t, created, 1)
	assert.Len(t, added, 3)
	created, _, err = portfolio.BookWithAccounts(ctx, s, []portfolio.Account{{ID: "new", Name: "renamed", Currency: "USD"}}, sampleFor("new"))
	require.NoError(t, err, "the same account again (another name) is no conflict")
	assert.Empty(t, created)
	_, _, err = portfolio.BookWithAccounts(ctx, s, []portfolio.Account{{ID: "new", Currency: "EUR"}}, nil)
	require.ErrorIs(t, err, portfolio.ErrDuplicateAccount)

	currencies := []string{"EUR", "NOK", "GBP", "SEK", "DKK", "CHF"}
	errs := make([]error, len(currencies))
	var wg sync.WaitGroup
	for i, ccy := range currencies {
		wg.Go(func() {
			_, _, errs[i] = portfolio.BookWithAccounts(ctx, s, []portfolio.Account{{ID: "raced", Currency: ccy}},
				[]portfolio.Transaction{{ID: "d-" + ccy, Account: "raced", Kind: portfolio.TxDeposit, Time: day("2024-03-01"), Amount: dec("1")}})
		})
	}
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two racing imports created the account")
			winner = i
			continue
		}
		require.ErrorIs(t, err, portfolio.ErrDuplicateAccount)
	}
	require.NotEqual(t, -1, winner)
	b := snapshot(t, s)
	var raced []string
	for _, tx := range b.Transactions {
		if tx.Account == "raced" {
			raced = append(raced, tx.ID)
		}
	}
	assert.Equal(t, []string{"d-" + currencies[winner]}, raced)
	assert.Equal(t, currencies[winner], b.Accounts[1].Currency)
}

func revision(t *testing.T, s portfolio.Store) uint64 {
	t.Helper()
	r, err := s.Revision(context.Background())
	require.NoError(t, err)
	return r
}

// testRevisionBumps: every kind of write that stores something changes
// the revision (SaveAccount, SaveStock, AddAccount, BookTransactions,
// EditTransaction, DeleteTransaction, Update with accounts); a refused
// write, a write that stores nothing and every read leave it as it was.
func testRevisionBumps(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	s := sh.Book("a")
	last := revision(t, s)
	changed := func(what string) {
		t.Helper()
		r := revision(t, s)
		require.NotEqual(t, last, r, "%s did not change the revision", what)
		require.Greater(t, r, last, "%s: the revision only grows", what)
		last = r
	}
	same := func(what string) {
		t.Helper()
		require.Equal(t, last, revision(t, s), "%s changed the revision", what)
	}
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "b", Currency: "USD"}))
	changed("SaveAccount (new)")
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "b", Name: "Broker", Currency: "USD"}))
	changed("SaveAccount (replace)")
	_, err := portfolio.AddAccount(ctx, s, portfolio.Account{ID: "c", Currency: "EUR"})
	require.NoError(t, err)
	changed("AddAccount")
	require.NoError(t, s.SaveStock(ctx, portfolio.Stock{Symbol: "X", Currency: "USD"}))
	changed("SaveStock")
	_, err = portfolio.BookTransactions(ctx, s, sampleFor("b"))
	require.NoError(t, err)
	changed("BookTransactions")
	_, err = portfolio.BookTransactions(ctx, s, sampleFor("b"))
	require.NoError(t, err)
	same("BookTransactions of what is stored")
	tx := sampleFor("b")[0]
	tx.Amount = dec("20000")
	_, err = portfolio.EditTransaction(ctx, s, tx)
	require.NoError(t, err)
	changed("EditTransaction")
	require.NoError(t, portfolio.DeleteTransaction(ctx, s, sampleFor("b")[2].ID))
	changed("DeleteTransaction")

	// Refused writes change nothing, the revision included.
	require.Error(t, s.SaveAccount(ctx, portfolio.Account{ID: "b", Currency: "NOK"}))
	same("a refused redefinition")
	_, err = portfolio.AddAccount(ctx, s, portfolio.Account{ID: "c", Currency: "USD"})
	require.ErrorIs(t, err, portfolio.ErrDuplicateAccount)
	same("a refused AddAccount")
	_, err = portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: "w", Account: "b", Kind: portfolio.TxWithdrawal, Time: day("2024-06-01"), Amount: dec("1e9")}})
	require.ErrorIs(t, err, portfolio.ErrInsufficientFunds)
	same("a refused withdrawal")
	require.ErrorIs(t, portfolio.DeleteTransaction(ctx, s, "nope"), portfolio.ErrNotFound)
	same("a delete of nothing")
	_, err = s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) { return portfolio.Change{}, nil })
	require.NoError(t, err)
	same("an empty Update")
	_, err = portfolio.ReadBooks(ctx, s)
	require.NoError(t, err)
	same("reads")
	if ss, ok := s.(portfolio.StateStore); ok {
		require.NoError(t, ss.SaveState(ctx, "x", []byte("y")))
		same("a state record (not books)")
	}
}

// sampleFor is a deposit, a buy and a dividend in account.
func sampleFor(account string) []portfolio.Transaction {
	return []portfolio.Transaction{
		{ID: "r1", Account: account, Kind: "deposit", Time: day("2024-01-01"), Amount: dec("10000")},
		{ID: "r2", Account: account, Kind: "buy", Time: day("2024-01-02"), Symbol: "X", Quantity: dec("10"), Price: dec("100")},
		{ID: "r3", Account: account, Kind: "dividend", Time: day("2024-02-01"), Symbol: "X", Amount: dec("5")},
	}
}

// testRevisionPerBook: a write to one owner's book leaves another's
// revision as it was; a write to the default book (owner "", whose
// instruments every book reads) changes every book's. A book of an
// invalid owner fails with ErrInvalidOwner.
func testRevisionPerBook(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	a, b, def := sh.Book("alice"), sh.Book("bob"), sh.Book("")
	ra, rb := revision(t, a), revision(t, b)
	require.NoError(t, a.SaveAccount(ctx, portfolio.Account{ID: "x", Currency: "USD"}))
	_, err := portfolio.BookTransactions(ctx, a, sampleFor("x"))
	require.NoError(t, err)
	assert.Equal(t, rb, revision(t, b), "alice's writes changed bob's revision")
	assert.NotEqual(t, ra, revision(t, a))
	ra, rb = revision(t, a), revision(t, b)
	require.NoError(t, def.SaveStock(ctx, portfolio.Stock{Symbol: "SHARED", Currency: "USD"}))
	assert.NotEqual(t, ra, revision(t, a), "a default-book instrument is read by alice's book")
	assert.NotEqual(t, rb, revision(t, b), "a default-book instrument is read by bob's book")
	_, err = sh.Book("bad\x00owner").Revision(ctx)
	require.ErrorIs(t, err, portfolio.ErrInvalidOwner)
}

// testRevisionConcurrent: Writers goroutines each book their own
// transaction while readers read the revision; afterwards the revision has
// grown by at least one per stored write, and a reader never saw it go
// back.
func testRevisionConcurrent(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	before := revision(t, s)
	var wg sync.WaitGroup
	done := make(chan struct{})
	var readErr error
	var reader sync.WaitGroup
	reader.Go(func() {
		last := before
		for {
			select {
			case <-done:
				return
			default:
			}
			r, err := s.Revision(ctx)
			if err != nil || r < last {
				readErr = fmt.Errorf("revision %d after %d: %v", r, last, err)
				return
			}
			last = r
		}
	})
	for w := range Writers {
		wg.Go(func() {
			_, err := portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: fmt.Sprintf("w%d", w), Account: "a",
				Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1")}})
			assert.NoError(t, err)
		})
	}
	wg.Wait()
	close(done)
	reader.Wait()
	require.NoError(t, readErr)
	assert.GreaterOrEqual(t, revision(t, s), before+Writers)
}

// testAccountChanges: Update stores the accounts of a change with its
// transactions, all or nothing: a transaction may name an account of the
// same change; a change whose transactions fail stores none of its
// accounts; an account given twice, or an invalid one, is refused.
func testAccountChanges(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	n, err := s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Accounts: []portfolio.Account{{ID: "new", Currency: "USD"}}, Add: sampleFor("new")[:1]}, nil
	})
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	b := snapshot(t, s)
	require.Len(t, b.Accounts, 1)
	assert.Equal(t, portfolio.Account{ID: "new", Kind: portfolio.KindBrokerage, Currency: "USD", CostMethod: portfolio.FIFO}, b.Accounts[0], "defaults filled")

	for name, ch := range map[string]portfolio.Change{
		"unknown account in the same change": {Accounts: []portfolio.Account{{ID: "other", Currency: "USD"}}, Add: sampleFor("missing")[:1]},
		"account twice":                      {Accounts: []portfolio.Account{{ID: "d", Currency: "USD"}, {ID: "d", Currency: "EUR"}}},
		"invalid account":                    {Accounts: []portfolio.Account{{ID: "e", Currency: "not money"}}},
		"redefinition of one in use":         {Accounts: []portfolio.Account{{ID: "f", Currency: "USD"}, {ID: "new", Currency: "EUR"}}},
	} {
		_, err := s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) { return ch, nil })
		require.Error(t, err, name)
		assert.Equal(t, b, snapshot(t, s), "%s changed the books", name)
	}
	// Deleting its transactions in the same change frees the account.
	_, err = s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Accounts: []portfolio.Account{{ID: "new", Currency: "EUR"}}, Delete: []string{"r1"}}, nil
	})
	require.NoError(t, err)
	b = snapshot(t, s)
	assert.Equal(t, "EUR", b.Accounts[0].Currency)
	assert.Empty(t, b.Transactions)
}

// testRacingAccountAdds has Writers goroutines add, at once, an account
// with one id and each its own currency (portfolio.AddAccount): exactly
// one is stored, every other call fails with ErrDuplicateAccount, and the
// stored account is the winner's.
func testRacingAccountAdds(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	currencies := []string{"USD", "EUR", "NOK", "GBP", "SEK", "DKK", "CHF", "JPY"}
	errs := make([]error, len(currencies))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, ccy := range currencies {
		wg.Go(func() {
			<-start
			_, errs[i] = portfolio.AddAccount(ctx, s, portfolio.Account{ID: "same", Currency: ccy})
		})
	}
	close(start)
	wg.Wait()
	winner := -1
	for i, err := range errs {
		if err == nil {
			require.Equal(t, -1, winner, "two adds of one id succeeded")
			winner = i
			continue
		}
		require.ErrorIs(t, err, portfolio.ErrDuplicateAccount)
	}
	require.NotEqual(t, -1, winner)
	accts, err := s.Accounts(ctx)
	require.NoError(t, err)
	require.Len(t, accts, 1)
	assert.Equal(t, currencies[winner], accts[0].Currency, "the stored account is the one reported added")
}
