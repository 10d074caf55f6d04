package papertrade

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// instance opens the paper account of book as one process would: its own
// LedgerStore and Account on the shared store.
func instance(t *testing.T, f *paperFixture, book portfolio.Store, maxPending int) *Account {
	t.Helper()
	ctx := context.Background()
	ls, err := OpenLedgerStore(ctx, book, 0)
	require.NoError(t, err)
	a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("100000"), Now: f.syncNow,
		Orders: book.(portfolio.StateStore), MaxPending: maxPending})
	require.NoError(t, err)
	return a
}

func paperBook(t *testing.T) portfolio.Store {
	book := portfolio.NewMemStore().Book("alice/paper")
	require.NoError(t, book.SaveAccount(context.Background(), portfolio.Account{ID: "paper", Currency: "USD"}))
	return book
}

// clockMu guards the fixtures' clocks shared by instances.
var clockMu sync.Mutex

// syncNow is f.now for instances that share f.
func (f *paperFixture) syncNow() time.Time {
	clockMu.Lock()
	defer clockMu.Unlock()
	return f.now()
}

// TestPendingOrdersTwoInstances: orders placed through two Accounts on one
// store (two instances) are all kept, neither overwrites the other's, ids
// are given out once, and each sees the other's after Poll. (The whole
// record was saved from each process's copy: B's placement wiped A's
// orders.)
func TestPendingOrdersTwoInstances(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	book := paperBook(t)
	a, b := instance(t, f, book, 10), instance(t, f, book, 10)
	for _, acct := range []*Account{a, b, a, b} {
		_, err := acct.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
		require.NoError(t, err)
	}
	require.NoError(t, b.Cancel(1), "B cancels A's order")
	_, err := a.Poll(ctx)
	require.NoError(t, err)
	_, err = b.Poll(ctx)
	require.NoError(t, err)
	assert.Equal(t, []int{2, 3, 4}, ids(a.Orders()))
	assert.Equal(t, []int{2, 3, 4}, ids(b.Orders()))
	assert.Equal(t, []int{2, 3, 4}, ids(instance(t, f, book, 10).Orders()), "a restart keeps them")
}

// TestPendingCapAcrossInstances: placements racing on two instances take
// exactly MaxPending places between them (each instance counted only its
// own copy before).
func TestPendingCapAcrossInstances(t *testing.T) {
	f := newPaperFixture(t)
	book := paperBook(t)
	accts := []*Account{instance(t, f, book, 20), instance(t, f, book, 20)}
	var mu sync.Mutex
	placed := map[int]bool{}
	var wg sync.WaitGroup
	for i := range 60 {
		wg.Go(func() {
			id, err := accts[i%2].PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
			if err != nil {
				assert.ErrorIs(t, err, ErrTooManyOrders)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			assert.False(t, placed[id], "id %d given twice", id)
			placed[id] = true
		})
	}
	wg.Wait()
	assert.Len(t, placed, 20)
	assert.Len(t, instance(t, f, book, 20).Orders(), 20, "stored: exactly the accepted ones")
}

// TestFillsOnceAcrossInstances: crossing orders polled at once by three
// instances fill once each: as many fills reported as orders, one booked
// transaction per order, none pending afterwards.
func TestFillsOnceAcrossInstances(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	book := paperBook(t)
	accts := []*Account{instance(t, f, book, 50), instance(t, f, book, 50), instance(t, f, book, 50)}
	const orders = 12
	for i := range orders {
		_, err := accts[i%3].PlaceLimit("GOOG", Buy, dec("1"), dec("1000")) // GOOG is about 100
		require.NoError(t, err)
	}
	var mu sync.Mutex
	fills := map[int]int{}
	var wg sync.WaitGroup
	for _, acct := range accts {
		wg.Go(func() {
			got, err := acct.Poll(ctx)
			assert.NoError(t, err)
			mu.Lock()
			defer mu.Unlock()
			for _, ex := range got {
				fills[ex.OrderID]++
			}
		})
	}
	wg.Wait()
	assert.Len(t, fills, orders)
	for id, n := range fills {
		assert.Equal(t, 1, n, "order %d filled %d times", id, n)
	}
	txs, err := book.Transactions(ctx)
	require.NoError(t, err)
	buys := 0
	for _, tx := range txs {
		if tx.Kind == portfolio.TxBuy {
			buys++
		}
	}
	assert.Equal(t, orders, buys, "one booked fill per order")
	for _, acct := range accts {
		_, err := acct.Poll(ctx)
		require.NoError(t, err)
		assert.Empty(t, acct.Orders())
		assert.Equal(t, "12", acct.Positions()["GOOG"].String(), "every instance shows every fill")
	}
}

// lossyBooker books and then reports a failure once, as a connection lost
// after the commit would.
type lossyBooker struct {
	*LedgerStore
	mu   sync.Mutex
	lost bool
}

func (b *lossyBooker) Apply(txs ...portfolio.Transaction) error {
	err := b.LedgerStore.Apply(txs...)
	b.mu.Lock()
	defer b.mu.Unlock()
	if err == nil && !b.lost {
		b.lost = true
		return errors.New("connection lost after commit")
	}
	return err
}

// TestFillBookedButNotAcknowledged: a fill that was booked although the
// booking reported an error is not booked again: the next Poll's booking
// of the order's transaction id is refused as a duplicate, and the order
// is then taken out.
func TestFillBookedButNotAcknowledged(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	book := paperBook(t)
	ls, err := OpenLedgerStore(ctx, book, 0)
	require.NoError(t, err)
	a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: &lossyBooker{LedgerStore: ls, lost: true}, Deposit: dec("100000"), Now: f.syncNow, Orders: book.(portfolio.StateStore)})
	require.NoError(t, err)
	a.opts.Book.(*lossyBooker).lost = false
	_, err = a.PlaceLimit("GOOG", Buy, dec("2"), dec("1000"))
	require.NoError(t, err)
	_, err = a.Poll(ctx)
	require.Error(t, err, "the booking reported a failure")
	require.Len(t, a.Orders(), 1, "so the order stays pending")
	fills, err := a.Poll(ctx)
	require.NoError(t, err)
	assert.Empty(t, fills)
	assert.Empty(t, a.Orders(), "the order was booked: taken out, not filled again")
	txs, err := book.Transactions(ctx)
	require.NoError(t, err)
	assert.Len(t, txs, 2, "the deposit and one fill")
}

// TestLimitRefusesHostileValues: PlaceLimit (and Buy, for the quantity and
// symbol) refuse values no trade has, with a sentinel error per field, and
// store nothing.
func TestLimitRefusesHostileValues(t *testing.T) {
	f := newPaperFixture(t)
	book := paperBook(t)
	a := instance(t, f, book, 10)
	for _, tc := range []struct {
		name, sym, qty, limit string
		want                  error
	}{
		{"huge quantity", "GOOG", "1e9999", "1", ErrInvalidQuantity},
		{"quantity above the bound", "GOOG", "1000000000.1", "1", ErrInvalidQuantity},
		{"negative quantity", "GOOG", "-1", "1", ErrInvalidQuantity},
		{"zero quantity", "GOOG", "0", "1", ErrInvalidQuantity},
		{"tiny quantity", "GOOG", "1e-9999", "1", ErrInvalidQuantity},
		{"quantity too fine", "GOOG", "0.000000001", "1", ErrInvalidQuantity},
		{"huge limit", "GOOG", "1", "1e9999", ErrInvalidLimit},
		{"negative limit", "GOOG", "1", "-5", ErrInvalidLimit},
		{"zero limit", "GOOG", "1", "0", ErrInvalidLimit},
		{"limit too fine", "GOOG", "1", "1.000000001", ErrInvalidLimit},
		{"limit above the bound", "GOOG", "1", "1000000001", ErrInvalidLimit},
		{"empty symbol", "", "1", "1", ErrInvalidSymbol},
		{"symbol with a NUL", "GO\x00OG", "1", "1", ErrInvalidSymbol},
		{"symbol with a space", "GO OG", "1", "1", ErrInvalidSymbol},
		{"long symbol", strings.Repeat("A", 33), "1", "1", ErrInvalidSymbol},
		{"invalid UTF-8 symbol", "GO\xffOG", "1", "1", ErrInvalidSymbol},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := a.PlaceLimit(tc.sym, Buy, dec(tc.qty), dec(tc.limit))
			require.ErrorIs(t, err, tc.want)
			require.ErrorIs(t, err, ErrInvalidOrder)
			assert.Less(t, len(err.Error()), 200, "the message stays short: %s", err)
			if tc.want != ErrInvalidLimit {
				_, err := a.Buy(context.Background(), tc.sym, dec(tc.qty))
				require.ErrorIs(t, err, tc.want)
			}
		})
	}
	_, err := book.(portfolio.StateStore).State(context.Background(), "papertrade/orders/paper")
	require.ErrorIs(t, err, portfolio.ErrNotFound, "nothing was stored")
	txs, err := book.Transactions(context.Background())
	require.NoError(t, err)
	assert.Len(t, txs, 1, "only the deposit")
	// The largest valid order is taken.
	_, err = a.PlaceLimit("GOOG", Sell, dec(fmt.Sprint(MaxOrderQuantity)), dec("0.00000001"))
	require.NoError(t, err)
}
