// Package storetest is the conformance suite every [portfolio.Shelf] (and
// the [portfolio.Store] of its books) must pass, as [testing/slogtest] is
// for slog handlers. The in-memory store and portfolio/sqlstore run it; a
// store for another database runs it from its own tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) portfolio.Shelf { return newEmptyShelf(t) })
//	}
//
// Each subtest gets a fresh, empty shelf. Besides one book's behaviour it
// attacks the walls between books: an owner reading, writing, editing and
// deleting another's ids, owners that look alike, invalid owners, and
// concurrent writes to two books; and the per-book revision (every write
// bumps it, refused ones do not), accounts written through Update (racing
// adds of one id store one), and StateStore.UpdateState (racing updates
// lose nothing).
package storetest

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Run runs the suite; newShelf must return an empty shelf for each call.
// The tests of one book run on the book of owner "a".
func Run(t *testing.T, newShelf func(t *testing.T) portfolio.Shelf) {
	newStore := func(t *testing.T) portfolio.Store { return newShelf(t).Book("a") }
	t.Run("accounts", func(t *testing.T) { testAccounts(t, newStore(t)) })
	t.Run("stocks", func(t *testing.T) { testStocks(t, newStore(t)) })
	t.Run("transactions", func(t *testing.T) { testTransactions(t, newStore(t)) })
	t.Run("exact", func(t *testing.T) { testExact(t, newStore(t)) })
	t.Run("atomic", func(t *testing.T) { testAtomic(t, newStore(t)) })
	t.Run("ledger", func(t *testing.T) { testLedger(t, newStore(t)) })
	t.Run("bulk", func(t *testing.T) { testBulk(t, newStore(t)) })
	t.Run("concurrent writers", func(t *testing.T) { testConcurrentWriters(t, newStore(t)) })
	t.Run("concurrent conflicting ids", func(t *testing.T) { testConcurrentConflict(t, newStore(t)) })
	t.Run("concurrent checked withdrawals", func(t *testing.T) { testCheckedWithdrawals(t, newStore(t)) })
	t.Run("account redefinition", func(t *testing.T) { testAccountRedefinition(t, newStore(t)) })
	runEdits(t, newStore)
	runOwners(t, newShelf)
	runRevisions(t, newShelf)
}

// testConcurrentConflict has Writers goroutines import, at once, a batch
// whose first transaction is their own and whose second has one id for all
// but a different amount each, over several rounds: each round exactly one
// batch is stored, whole; every other fails with ErrDuplicateID (never a
// raw constraint error) and leaves nothing behind.
func testConcurrentConflict(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	const rounds = 5
	want := map[string]bool{}
	for round := range rounds {
		contested := fmt.Sprintf("contested-%d", round)
		errs := make([]error, Writers)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for w := range Writers {
			wg.Go(func() {
				<-start
				_, errs[w] = add(ctx, s, []portfolio.Transaction{
					{ID: fmt.Sprintf("own-%d-%d", round, w), Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1"), Currency: "USD"},
					{ID: contested, Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-02"), Amount: decimal.NewFromInt(int64(w + 1)), Currency: "USD"},
				})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for w, err := range errs {
			if err == nil {
				require.Equal(t, -1, winner, "round %d: two batches with the contested id were stored", round)
				winner = w
				continue
			}
			require.ErrorIs(t, err, portfolio.ErrDuplicateID, "round %d writer %d", round, w)
		}
		require.NotEqual(t, -1, winner, "round %d: no batch was stored", round)
		want[fmt.Sprintf("own-%d-%d", round, winner)] = true
		want[contested] = true
	}
	got, err := s.Transactions(ctx)
	require.NoError(t, err)
	ids := map[string]bool{}
	for _, tx := range got {
		ids[tx.ID] = true
	}
	assert.Equal(t, want, ids, "each round's winning batch, whole, and nothing else")
}

// Writers and OpsPerWriter size the concurrent-writer test: 20 goroutines
// of 25 writes each, all of which must succeed.
const (
	Writers      = 20
	OpsPerWriter = 25
)

// testConcurrentWriters has Writers goroutines save accounts and import
// batches at once. Each batch holds two transactions of its own and one that
// every writer imports with the same content, so the de-duplication races
// too. Every call must succeed (waiting for the write lock, never "database
// is locked"), and every transaction must be stored exactly once.
func testConcurrentWriters(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	mk := func(id string, i int) portfolio.Transaction {
		return portfolio.Transaction{ID: id, Account: "a", Kind: portfolio.TxDeposit,
			Time: day("2024-01-01").Add(time.Duration(i) * time.Minute), Amount: dec("1.01"), Currency: "USD"}
	}
	var failed, added, accounts atomic.Int64
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range Writers {
		wg.Go(func() {
			<-start
			for op := range OpsPerWriter {
				if op%5 == 4 {
					accounts.Add(1)
					acct := portfolio.Account{ID: fmt.Sprintf("acct-%d-%d", w, op), Currency: "EUR"}
					if err := s.SaveAccount(ctx, acct); err != nil {
						failed.Add(1)
						t.Errorf("writer %d op %d SaveAccount: %v", w, op, err)
					}
					continue
				}
				batch := []portfolio.Transaction{
					mk(fmt.Sprintf("w%d-%d-a", w, op), op), mk(fmt.Sprintf("w%d-%d-b", w, op), op),
					mk(fmt.Sprintf("shared-%d", op), op),
				}
				n, err := add(ctx, s, batch)
				if err != nil {
					failed.Add(1)
					t.Errorf("writer %d op %d AddTransactions: %v", w, op, err)
					continue
				}
				added.Add(int64(n))
			}
		})
	}
	close(start)
	wg.Wait()
	require.Zero(t, failed.Load(), "failed writes of %d", Writers*OpsPerWriter)
	got, err := s.Transactions(ctx)
	require.NoError(t, err)
	batches := OpsPerWriter - OpsPerWriter/5
	want := Writers*batches*2 + batches
	assert.Len(t, got, want)
	assert.Equal(t, int64(want), added.Load(), "added counts sum to the stored transactions")
	seen := map[string]bool{}
	for _, tx := range got {
		assert.False(t, seen[tx.ID], "%s stored twice", tx.ID)
		seen[tx.ID] = true
	}
	accts, err := s.Accounts(ctx)
	require.NoError(t, err)
	assert.Len(t, accts, 1+int(accounts.Load()))
	assert.Equal(t, "a", accts[0].ID, "accounts keep their creation order")
}

// testBulk adds more transactions than one SQL statement takes.
func testBulk(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	var txs []portfolio.Transaction
	for i := range 1201 {
		txs = append(txs, portfolio.Transaction{ID: "b" + strconv.Itoa(i), Account: "a", Kind: portfolio.TxDeposit,
			Time: day("2024-01-01").Add(time.Duration(i) * time.Second), Amount: dec("1.25"), Currency: "USD"})
	}
	n, err := add(ctx, s, txs[:700])
	require.NoError(t, err)
	assert.Equal(t, 700, n)
	// The rest plus the first 700 again: only the rest is new.
	n, err = add(ctx, s, txs)
	require.NoError(t, err)
	assert.Equal(t, 501, n)
	// A conflict at the very end rejects the whole batch.
	more := []portfolio.Transaction{}
	for i := range 600 {
		more = append(more, portfolio.Transaction{ID: "c" + strconv.Itoa(i), Account: "a", Kind: portfolio.TxDeposit,
			Time: day("2024-02-01"), Amount: dec("1"), Currency: "USD"})
	}
	conflict := txs[5]
	conflict.Amount = dec("2")
	_, err = add(ctx, s, append(more, conflict))
	require.ErrorIs(t, err, portfolio.ErrDuplicateID)
	got, err := s.Transactions(ctx)
	require.NoError(t, err)
	require.Len(t, got, 1201)
	for i, tx := range got {
		require.Equal(t, "b"+strconv.Itoa(i), tx.ID)
	}
}

// add stores txs unchecked, as the storage primitive Update does.
func add(ctx context.Context, s portfolio.Store, txs []portfolio.Transaction) (int, error) {
	return s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) { return portfolio.Change{Add: txs}, nil })
}

func dec(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func testAccounts(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	accts, err := s.Accounts(ctx)
	require.NoError(t, err)
	assert.Empty(t, accts)
	b := portfolio.Account{ID: "b", Name: "Bank", Kind: portfolio.KindBank, Currency: "NOK", CostMethod: portfolio.FIFO}
	a := portfolio.Account{ID: "a", Name: "Broker", Kind: portfolio.KindBrokerage, Currency: "USD", CostMethod: portfolio.AverageCost, AllowShort: true, AllowMargin: true}
	require.NoError(t, s.SaveAccount(ctx, b))
	require.NoError(t, s.SaveAccount(ctx, a))
	b.Name = "Bank renamed"
	require.NoError(t, s.SaveAccount(ctx, b))
	accts, err = s.Accounts(ctx)
	require.NoError(t, err)
	assert.Equal(t, []portfolio.Account{b, a}, accts)
	require.ErrorIs(t, s.SaveAccount(ctx, portfolio.Account{ID: "x"}), portfolio.ErrInvalidAccount)
}

func testStocks(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	eq := portfolio.Stock{Symbol: "EQNR.OL", Name: "Equinor", Exchange: "OSE", Currency: "NOK", Class: portfolio.AssetStock}
	btc := portfolio.Stock{Symbol: "BTC", Currency: "USD", Class: portfolio.AssetCrypto}
	require.NoError(t, s.SaveStock(ctx, eq))
	require.NoError(t, s.SaveStock(ctx, btc))
	eq.Name = "Equinor ASA"
	require.NoError(t, s.SaveStock(ctx, eq))
	got, err := s.Stocks(ctx)
	require.NoError(t, err)
	assert.Equal(t, []portfolio.Stock{btc, eq}, got)
}

func day(s string) time.Time {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		panic(err)
	}
	return t
}

func sample() []portfolio.Transaction {
	oslo := time.FixedZone("+01:00", 3600)
	return []portfolio.Transaction{
		{ID: "t3", Account: "a", Kind: portfolio.TxSell, Time: day("2024-03-01"), Symbol: "X", Quantity: dec("5"), Price: dec("12.50"), Currency: "USD"},
		{ID: "t1", Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1000.00"), Currency: "USD", Note: "first"},
		{ID: "t2", Account: "a", Kind: portfolio.TxBuy, Time: time.Date(2024, 2, 1, 10, 30, 0, 123456789, oslo), Symbol: "X", Quantity: dec("10"), Price: dec("10.125"), Fee: dec("1.5"), Currency: "USD"},
		{ID: "t2b", Account: "a", Kind: portfolio.TxBuy, Time: time.Date(2024, 2, 1, 9, 30, 0, 123456789, time.UTC), Symbol: "Y", Quantity: dec("1"), Price: dec("1"), Currency: "USD"},
	}
}

func testTransactions(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	n, err := add(ctx, s, sample())
	require.NoError(t, err)
	assert.Equal(t, 4, n)
	got, err := s.Transactions(ctx)
	require.NoError(t, err)
	require.Len(t, got, 4)
	// Ordered by time; t2 (09:30 UTC) and t2b (09:30:00.123 UTC) are equal
	// instants, so insertion order decides.
	assert.Equal(t, []string{"t1", "t2", "t2b", "t3"}, []string{got[0].ID, got[1].ID, got[2].ID, got[3].ID})
	// Adding again is a no-op; a changed transaction is a conflict.
	n, err = add(ctx, s, sample())
	require.NoError(t, err)
	assert.Zero(t, n)
	changed := sample()[0]
	changed.Price = dec("12.51")
	_, err = add(ctx, s, []portfolio.Transaction{changed})
	require.ErrorIs(t, err, portfolio.ErrDuplicateID)
	_, err = add(ctx, s, []portfolio.Transaction{{ID: "z", Account: "nope", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1")}})
	require.ErrorIs(t, err, portfolio.ErrUnknownAccount)
	_, err = add(ctx, s, []portfolio.Transaction{{Account: "a", Kind: portfolio.TxDeposit, Time: day("2024-01-01"), Amount: dec("1")}})
	require.ErrorIs(t, err, portfolio.ErrInvalidTransaction)
}

// testExact checks that decimals come back with the same digits and times
// with the same instant and offset.
func testExact(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	in := sample()
	in[0].Quantity = dec("0.000000000000000001")
	in[0].Price = dec("123456789012345678901234567890.1234567890")
	in[0].Fee = dec("0.10")
	in[0].FXRate = dec("10.50000")
	in[0].Currency = "NOK"
	_, err := add(ctx, s, in)
	require.NoError(t, err)
	got, err := s.Transactions(ctx)
	require.NoError(t, err)
	byID := map[string]portfolio.Transaction{}
	for _, tx := range got {
		byID[tx.ID] = tx
	}
	for _, want := range in {
		g := byID[want.ID]
		assert.True(t, portfolio.SameTransaction(want, g), "%s: %+v vs %+v", want.ID, want, g)
		for _, pair := range [][2]decimal.Decimal{{want.Quantity, g.Quantity}, {want.Price, g.Price}, {want.Fee, g.Fee}, {want.FXRate, g.FXRate}, {want.Amount, g.Amount}} {
			assert.Equal(t, portfolio.FormatDecimal(pair[0]), portfolio.FormatDecimal(pair[1]))
		}
		_, wo := want.Time.Zone()
		_, gotOff := g.Time.Zone()
		assert.Equal(t, wo, gotOff, want.ID)
	}
}

func testAtomic(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	txs := sample()
	bad := txs[0]
	bad.ID = "t1" // same id as txs[1], other content
	_, err := add(ctx, s, append(txs, bad))
	require.ErrorIs(t, err, portfolio.ErrDuplicateID)
	got, err := s.Transactions(ctx)
	require.NoError(t, err)
	assert.Empty(t, got)
}

func testLedger(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
	_, err := add(ctx, s, sample())
	require.NoError(t, err)
	l, err := portfolio.LoadLedger(ctx, s)
	require.NoError(t, err)
	pos, ok := l.Position("a", "X")
	require.True(t, ok)
	assert.True(t, dec("5").Equal(pos.Quantity))
	cash, err := l.Cash("a")
	require.NoError(t, err)
	// 1000 − (101.25 + 1.5) − 1 + 62.50 = 958.75
	assert.Equal(t, "958.75", cash.String())
}

// testCheckedWithdrawals has eight goroutines book, at once through
// portfolio.BookTransactions, a withdrawal of the whole balance: exactly one
// is stored, the others fail with ErrInsufficientFunds, and the books load.
// A batch function that fails stores nothing.
func testCheckedWithdrawals(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "cash", Currency: "EUR"}))
	day := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: "d", Account: "cash", Kind: portfolio.TxDeposit, Time: day, Amount: decimal.NewFromInt(12000)}})
	require.NoError(t, err)
	const writers = 8
	errs := make([]error, writers)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range writers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = portfolio.BookTransactions(ctx, s, []portfolio.Transaction{{ID: "w" + strconv.Itoa(i), Account: "cash",
				Kind: portfolio.TxWithdrawal, Time: day.Add(time.Hour), Amount: decimal.NewFromInt(12000)}})
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			assert.ErrorIs(t, err, portfolio.ErrInsufficientFunds)
		}
	}
	assert.Equal(t, 1, ok)
	l, err := portfolio.LoadLedger(ctx, s)
	require.NoError(t, err)
	cash, err := l.Cash("cash")
	require.NoError(t, err)
	assert.True(t, cash.IsZero(), "cash %s", cash)

	refuse := fmt.Errorf("refused")
	_, err = s.Update(ctx, func(b portfolio.Books) (portfolio.Change, error) {
		assert.Len(t, b.Transactions, 2)
		return portfolio.Change{Add: []portfolio.Transaction{{ID: "x", Account: "cash", Kind: portfolio.TxDeposit, Time: day, Amount: decimal.NewFromInt(1)}}}, refuse
	})
	assert.ErrorIs(t, err, refuse)
	txs, err := s.Transactions(ctx)
	require.NoError(t, err)
	assert.Len(t, txs, 2)
}

// testAccountRedefinition: an account with transactions keeps its currency
// and cost method (SaveAccount fails with ErrAccountInUse and changes
// nothing); its name may change; an account without transactions may be
// redefined freely.
func testAccountRedefinition(t *testing.T, s portfolio.Store) {
	ctx := context.Background()
	broker := portfolio.Account{ID: "broker", Name: "Broker", Currency: "NOK", CostMethod: portfolio.AverageCost}
	require.NoError(t, s.SaveAccount(ctx, broker))
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "empty", Currency: "NOK"}))
	_, err := add(ctx, s, []portfolio.Transaction{{ID: "d", Account: "broker", Kind: portfolio.TxDeposit,
		Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Amount: decimal.NewFromInt(100)}})
	require.NoError(t, err)
	for _, changed := range []portfolio.Account{
		{ID: "broker", Name: "Brokerage", Currency: "USD", CostMethod: portfolio.AverageCost},
		{ID: "broker", Name: "Brokerage", Currency: "NOK", CostMethod: portfolio.FIFO},
	} {
		assert.ErrorIs(t, s.SaveAccount(ctx, changed), portfolio.ErrAccountInUse)
	}
	renamed := broker
	renamed.Name = "My broker"
	require.NoError(t, s.SaveAccount(ctx, renamed))
	require.NoError(t, s.SaveAccount(ctx, portfolio.Account{ID: "empty", Currency: "USD", CostMethod: portfolio.AverageCost}))
	accts, err := s.Accounts(ctx)
	require.NoError(t, err)
	require.Len(t, accts, 2)
	assert.Equal(t, "NOK", accts[0].Currency)
	assert.Equal(t, portfolio.AverageCost, accts[0].CostMethod)
	assert.Equal(t, "My broker", accts[0].Name)
	assert.Equal(t, "USD", accts[1].Currency)
	_, err = portfolio.LoadLedger(ctx, s)
	require.NoError(t, err)
}
