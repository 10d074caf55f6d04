package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runOwners runs the tests of several books on one shelf.
func runOwners(t *testing.T, newShelf func(t *testing.T) portfolio.Shelf) {
	t.Run("owners same ids", func(t *testing.T) { testOwnersSameIDs(t, newShelf(t)) })
	t.Run("owner attacks", func(t *testing.T) { testOwnerAttacks(t, newShelf(t)) })
	t.Run("owner look-alikes", func(t *testing.T) { testOwnerLookAlikes(t, newShelf(t)) })
	t.Run("invalid owner", func(t *testing.T) { testInvalidOwner(t, newShelf(t)) })
	t.Run("shared catalogue", func(t *testing.T) { testSharedCatalogue(t, newShelf(t)) })
	t.Run("concurrent books", func(t *testing.T) { testConcurrentBooks(t, newShelf(t)) })
	t.Run("book state", func(t *testing.T) { testBookState(t, newShelf(t)) })
}

// snapshot is everything a book holds.
func snapshot(t *testing.T, s portfolio.Store) portfolio.Books {
	t.Helper()
	b, err := portfolio.ReadBooks(context.Background(), s)
	require.NoError(t, err)
	return b
}

// testOwnersSameIDs: two owners each have an account "broker" (in other
// currencies and cost methods) and transactions "t1" and "t2" with other
// content; each sees and books exactly its own.
func testOwnersSameIDs(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	a, b := sh.Book("alice"), sh.Book("bob")
	require.NoError(t, a.SaveAccount(ctx, portfolio.Account{ID: "broker", Name: "Alice's", Currency: "USD"}))
	require.NoError(t, b.SaveAccount(ctx, portfolio.Account{ID: "broker", Name: "Bob's", Currency: "NOK", CostMethod: portfolio.AverageCost}))
	_, err := portfolio.BookTransactions(ctx, a, []portfolio.Transaction{
		{ID: "t1", Account: "broker", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1000")},
		{ID: "t2", Account: "broker", Kind: portfolio.TxBuy, Time: day("2024-01-02"), Symbol: "X", Quantity: dec("2"), Price: dec("100")},
	})
	require.NoError(t, err)
	_, err = portfolio.BookTransactions(ctx, b, []portfolio.Transaction{
		{ID: "t1", Account: "broker", Kind: portfolio.TxDeposit, Time: day("2024-02-01"), Amount: dec("50000")},
		{ID: "t2", Account: "broker", Kind: portfolio.TxWithdrawal, Time: day("2024-02-02"), Amount: dec("1")},
	})
	require.NoError(t, err, "the same ids in another book are no conflict")
	// Re-booking alice's t1 into bob's book is a conflict in bob's book
	// only.
	_, err = portfolio.BookTransactions(ctx, b, []portfolio.Transaction{{ID: "t1", Account: "broker", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1000")}})
	require.ErrorIs(t, err, portfolio.ErrDuplicateID)

	la, err := portfolio.LoadLedger(ctx, a)
	require.NoError(t, err)
	lb, err := portfolio.LoadLedger(ctx, b)
	require.NoError(t, err)
	cashA, _ := la.Cash("broker")
	cashB, _ := lb.Cash("broker")
	assert.Equal(t, "800", cashA.String())
	assert.Equal(t, "49999", cashB.String())
	accA, accB := snapshot(t, a).Accounts, snapshot(t, b).Accounts
	require.Len(t, accA, 1)
	require.Len(t, accB, 1)
	assert.Equal(t, "USD", accA[0].Currency)
	assert.Equal(t, "NOK", accB[0].Currency)
	assert.Len(t, snapshot(t, sh.Book("")).Transactions, 0, "the default book holds nothing")
}

// testOwnerAttacks: bob tries every write and read by alice's ids; none
// reaches alice's books, which stay exactly as they were.
func testOwnerAttacks(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	alice, bob := sh.Book("alice"), sh.Book("bob")
	require.NoError(t, alice.SaveAccount(ctx, portfolio.Account{ID: "savings", Name: "Alice savings", Currency: "EUR"}))
	_, err := portfolio.BookTransactions(ctx, alice, []portfolio.Transaction{
		{ID: "a1", Account: "savings", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("12000")},
		{ID: "a2", Account: "savings", Kind: portfolio.TxWithdrawal, Time: day("2024-01-05"), Amount: dec("2000")},
	})
	require.NoError(t, err)
	before := snapshot(t, alice)

	// Reads.
	got := snapshot(t, bob)
	assert.Empty(t, got.Accounts)
	assert.Empty(t, got.Transactions)
	_, err = bob.Update(ctx, func(b portfolio.Books) (portfolio.Change, error) {
		assert.Empty(t, b.Accounts, "Update hands bob his books only")
		assert.Empty(t, b.Transactions)
		return portfolio.Change{}, nil
	})
	require.NoError(t, err)

	// Writes to alice's account by its id.
	withdraw := portfolio.Transaction{ID: "b1", Account: "savings", Kind: portfolio.TxWithdrawal, Time: day("2024-02-01"), Amount: dec("10000")}
	_, err = portfolio.BookTransactions(ctx, bob, []portfolio.Transaction{withdraw})
	assert.ErrorIs(t, err, portfolio.ErrUnknownAccount)
	_, err = add(ctx, bob, []portfolio.Transaction{withdraw})
	assert.ErrorIs(t, err, portfolio.ErrUnknownAccount, "Update refuses it too")
	// Edits and deletes of alice's transactions by their ids.
	edited := before.Transactions[1]
	edited.Amount = dec("1")
	_, err = portfolio.EditTransaction(ctx, bob, edited)
	assert.ErrorIs(t, err, portfolio.ErrNotFound)
	assert.ErrorIs(t, portfolio.DeleteTransaction(ctx, bob, "a1"), portfolio.ErrNotFound)
	_, err = bob.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Replace: []portfolio.Transaction{edited}}, nil
	})
	assert.ErrorIs(t, err, portfolio.ErrNotFound)
	_, err = bob.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Delete: []string{"a1", "a2"}}, nil
	})
	assert.ErrorIs(t, err, portfolio.ErrNotFound)
	// Saving an account with alice's id creates bob's own; alice's keeps
	// its name and currency (it has transactions: a redefinition would be
	// refused in her book).
	require.NoError(t, bob.SaveAccount(ctx, portfolio.Account{ID: "savings", Name: "Bob's now", Currency: "USD"}))
	// Bob's own transaction with alice's id is his.
	_, err = portfolio.BookTransactions(ctx, bob, []portfolio.Transaction{{ID: "a1", Account: "savings", Kind: portfolio.TxDeposit, Time: day("2024-03-01"), Amount: dec("5")}})
	require.NoError(t, err)
	require.NoError(t, portfolio.DeleteTransaction(ctx, bob, "a1"), "bob deletes his own a1")

	after := snapshot(t, alice)
	assert.Equal(t, before.Accounts, after.Accounts)
	require.Len(t, after.Transactions, len(before.Transactions))
	for i := range before.Transactions {
		assert.True(t, portfolio.SameTransaction(before.Transactions[i], after.Transactions[i]), "%+v", after.Transactions[i])
	}
	l, err := portfolio.LoadLedger(ctx, alice)
	require.NoError(t, err)
	cash, _ := l.Cash("savings")
	assert.Equal(t, "10000", cash.String())
	bobs := snapshot(t, bob)
	require.Len(t, bobs.Accounts, 1)
	assert.Equal(t, "USD", bobs.Accounts[0].Currency)
	assert.Empty(t, bobs.Transactions)
}

// testOwnerLookAlikes: owners that a careless store might match to
// "alice" (case, spaces, SQL LIKE wildcards, a prefix, the empty default
// book) see nothing of hers.
func testOwnerLookAlikes(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	alice := sh.Book("alice")
	require.NoError(t, alice.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	_, err := portfolio.BookTransactions(ctx, alice, []portfolio.Transaction{{ID: "t", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1")}})
	require.NoError(t, err)
	for _, owner := range []string{"", "Alice", "ALICE", "alice ", " alice", "alic", "alice/", "alic_", "a%", "%", "_lice", "alice\u200b", "ålice"} {
		s := sh.Book(owner)
		b := snapshot(t, s)
		assert.Empty(t, b.Accounts, "owner %q", owner)
		assert.Empty(t, b.Transactions, "owner %q", owner)
		_, err := add(ctx, s, []portfolio.Transaction{{ID: "t", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1")}})
		assert.ErrorIs(t, err, portfolio.ErrUnknownAccount, "owner %q", owner)
	}
	assert.Len(t, snapshot(t, alice).Transactions, 1)
}

// testInvalidOwner: a book whose owner CheckOwner refuses fails every call
// with ErrInvalidOwner and stores nothing.
func testInvalidOwner(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	long := make([]byte, portfolio.MaxOwnerLen+1)
	for i := range long {
		long[i] = 'x'
	}
	for _, owner := range []string{"bad\x00owner", "tab\there", string(long), "\xff"} {
		s := sh.Book(owner)
		errs := []error{s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}), s.SaveStock(ctx, portfolio.Stock{Symbol: "X"})}
		_, err := s.Accounts(ctx)
		errs = append(errs, err)
		_, err = s.Stocks(ctx)
		errs = append(errs, err)
		_, err = s.Transactions(ctx)
		errs = append(errs, err)
		_, err = add(ctx, s, nil)
		errs = append(errs, err)
		for i, err := range errs {
			assert.ErrorIs(t, err, portfolio.ErrInvalidOwner, "owner %q call %d", owner, i)
		}
	}
}

// testSharedCatalogue: instruments of the default book are seen by every
// book; an owner's own instrument replaces it for that owner only.
func testSharedCatalogue(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	require.NoError(t, sh.Book("").SaveStock(ctx, portfolio.Stock{Symbol: "AAPL", Name: "Apple", Currency: "USD", Class: portfolio.AssetStock}))
	require.NoError(t, sh.Book("").SaveStock(ctx, portfolio.Stock{Symbol: "BTC", Currency: "USD", Class: portfolio.AssetCrypto}))
	require.NoError(t, sh.Book("mallory").SaveStock(ctx, portfolio.Stock{Symbol: "AAPL", Name: "Not Apple", Currency: "EUR", Class: portfolio.AssetCrypto}))
	alice, err := sh.Book("alice").Stocks(ctx)
	require.NoError(t, err)
	require.Len(t, alice, 2)
	assert.Equal(t, "Apple", alice[0].Name, "mallory's instrument is his own")
	assert.Equal(t, "USD", alice[0].Currency)
	mallory, err := sh.Book("mallory").Stocks(ctx)
	require.NoError(t, err)
	require.Len(t, mallory, 2)
	assert.Equal(t, "Not Apple", mallory[0].Name)
	assert.Equal(t, "BTC", mallory[1].Symbol)
}

// testConcurrentBooks: writers book into two books at once, each the
// whole balance of an account called "cash" in both books: in each book
// exactly one withdrawal wins, and neither book sees the other's.
func testConcurrentBooks(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	owners := []string{"alice", "bob"}
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, o := range owners {
		s := sh.Book(o)
		require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "cash", Currency: "EUR"}))
		_, err := portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: "d", Account: "cash", Kind: portfolio.TxDeposit, Time: t0, Amount: decimal.NewFromInt(int64(1000 * (i + 1)))}})
		require.NoError(t, err)
	}
	const writers = 8
	errs := make([][]error, len(owners))
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, o := range owners {
		errs[i] = make([]error, writers)
		s := sh.Book(o)
		for w := range writers {
			wg.Go(func() {
				<-start
				_, errs[i][w] = portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: fmt.Sprintf("w%d", w), Account: "cash",
					Kind: portfolio.TxWithdrawal, Time: t0.Add(time.Hour), Amount: decimal.NewFromInt(int64(1000 * (i + 1)))}})
			})
		}
	}
	close(start)
	wg.Wait()
	for i, o := range owners {
		ok := 0
		for _, err := range errs[i] {
			if err == nil {
				ok++
			} else if !errors.Is(err, portfolio.ErrInsufficientFunds) {
				t.Errorf("%s: %v", o, err)
			}
		}
		assert.Equal(t, 1, ok, "%s: exactly one withdrawal", o)
		b := snapshot(t, sh.Book(o))
		require.Len(t, b.Transactions, 2, o)
		assert.Equal(t, decimal.NewFromInt(int64(1000*(i+1))).String(), b.Transactions[1].Amount.String(), "%s sees only its own withdrawal", o)
		l, err := portfolio.LoadLedger(ctx, sh.Book(o))
		require.NoError(t, err)
		cash, _ := l.Cash("cash")
		assert.True(t, cash.IsZero(), "%s cash %s", o, cash)
	}
}

// testBookState: a store whose books keep state records
// (portfolio.StateStore) keeps them per book: another owner never reads,
// replaces or deletes them.
func testBookState(t *testing.T, sh portfolio.Shelf) {
	ctx := context.Background()
	alice, ok := sh.Book("alice").(portfolio.StateStore)
	if !ok {
		t.Skip("the store keeps no state records")
	}
	bob := sh.Book("bob").(portfolio.StateStore)
	_, err := alice.State(ctx, "orders")
	require.ErrorIs(t, err, portfolio.ErrNotFound)
	require.NoError(t, alice.SaveState(ctx, "orders", []byte(`[1,2]`)))
	require.NoError(t, alice.SaveState(ctx, "orders", []byte(`[1,2,3]`)))
	_, err = bob.State(ctx, "orders")
	require.ErrorIs(t, err, portfolio.ErrNotFound, "bob reads nothing of alice's")
	require.NoError(t, bob.SaveState(ctx, "orders", []byte(`"bob's"`)))
	require.NoError(t, bob.SaveState(ctx, "orders", nil), "bob deletes his own")
	got, err := alice.State(ctx, "orders")
	require.NoError(t, err)
	assert.Equal(t, `[1,2,3]`, string(got))
	assert.ErrorIs(t, alice.SaveState(ctx, "", []byte("x")), portfolio.ErrInvalidState)
	assert.ErrorIs(t, alice.SaveState(ctx, "big", make([]byte, portfolio.MaxStateBytes+1)), portfolio.ErrInvalidState)
	require.NoError(t, alice.SaveState(ctx, "orders", nil))
	_, err = alice.State(ctx, "orders")
	require.ErrorIs(t, err, portfolio.ErrNotFound)
}
