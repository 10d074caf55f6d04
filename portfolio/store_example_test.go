package portfolio_test

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

// Each owner's books are a Store of their own: the same account and
// transaction ids in two books never meet.
func ExampleShelf() {
	ctx := context.Background()
	var shelf portfolio.Shelf = portfolio.NewMemStore() // or sqlstore.New(ctx, db, …)
	day := time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	for owner, amount := range map[string]int64{"alice": 1000, "bob": 50} {
		book := shelf.Book(owner)
		_ = book.SaveAccount(ctx, portfolio.Account{ID: "broker", Currency: "EUR"})
		_, _ = portfolio.BookTransactions(ctx, book, []portfolio.Transaction{
			{ID: "t1", Account: "broker", Kind: portfolio.TxDeposit, Time: day, Amount: decimal.NewFromInt(amount)}})
	}
	// Bob cannot spend Alice's cash, by any id.
	_, err := portfolio.BookTransactions(ctx, shelf.Book("bob"), []portfolio.Transaction{
		{ID: "t2", Account: "broker", Kind: portfolio.TxWithdrawal, Time: day, Amount: decimal.NewFromInt(500)}})
	fmt.Println(errors.Is(err, portfolio.ErrInsufficientFunds))
	l, _ := portfolio.LoadLedger(ctx, shelf.Book("alice"))
	cash, _ := l.Cash("broker")
	fmt.Println("alice:", cash)
	// Output:
	// true
	// alice: 1000
}

// Transactions are edited and deleted by hand through the same check as
// BookTransactions: inside the store's write lock, against the books as
// stored. A change that would leave the books not applying is refused with
// a *BooksError naming the transaction that would fail, and changes
// nothing.
func ExampleEditTransaction() {
	ctx := context.Background()
	store := portfolio.NewMemStore().Book("alice")
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	_ = store.SaveAccount(ctx, portfolio.Account{ID: "bank", Currency: "EUR"})
	_, _ = portfolio.BookTransactions(ctx, store, []portfolio.Transaction{
		{ID: "pay", Account: "bank", Kind: portfolio.TxDeposit, Time: day(1), Amount: decimal.NewFromInt(3000)},
		{ID: "rent", Account: "bank", Kind: portfolio.TxWithdrawal, Time: day(2), Amount: decimal.NewFromInt(1200)},
	})

	// A typo fixed: the salary was 3100.
	if _, err := portfolio.EditTransaction(ctx, store, portfolio.Transaction{
		ID: "pay", Account: "bank", Kind: portfolio.TxDeposit, Time: day(1), Amount: decimal.NewFromInt(3100)}); err != nil {
		fmt.Println(err)
	}
	// Moving the salary after the rent would overdraw the account.
	_, err := portfolio.EditTransaction(ctx, store, portfolio.Transaction{
		ID: "pay", Account: "bank", Kind: portfolio.TxDeposit, Time: day(3), Amount: decimal.NewFromInt(3100)})
	var be *portfolio.BooksError
	if errors.As(err, &be) {
		fmt.Println("refused:", be.Problems[0].Transaction.ID, errors.Is(err, portfolio.ErrInsufficientFunds))
	}
	// Deleting the rent is fine.
	if err := portfolio.DeleteTransaction(ctx, store, "rent"); err != nil {
		fmt.Println(err)
	}
	l, _ := portfolio.LoadLedger(ctx, store)
	cash, _ := l.Cash("bank")
	fmt.Println("cash:", cash)
	// Output:
	// refused: rent true
	// cash: 3100
}

// A cache of a book keeps the revision it was read at and reads the book
// again only when the store's revision differs: every write, by this
// process or another on the same database, bumps it. AddAccount checks the
// new account inside the write lock, so a second add of one id is refused.
func ExampleAddAccount() {
	ctx := context.Background()
	book := portfolio.NewMemStore().Book("alice")
	before, _ := book.Revision(ctx)
	_, err := portfolio.AddAccount(ctx, book, portfolio.Account{ID: "broker", Currency: "EUR"})
	fmt.Println(err)
	_, err = portfolio.AddAccount(ctx, book, portfolio.Account{ID: "broker", Currency: "USD"})
	fmt.Println(errors.Is(err, portfolio.ErrDuplicateAccount))
	after, _ := book.Revision(ctx)
	fmt.Println("changed:", after != before)
	// Output:
	// <nil>
	// true
	// changed: true
}
