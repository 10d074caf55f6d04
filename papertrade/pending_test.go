package papertrade

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPendingOrdersCapped: an account takes MaxPending limit orders and
// refuses the next with ErrTooManyOrders (50,300 were accepted before); a
// cancel frees a place.
func TestPendingOrdersCapped(t *testing.T) {
	f := newPaperFixture(t)
	a, err := NewAccount(context.Background(), AccountOptions{ID: "paper", Quotes: f.quotes, Book: f.ledger, Deposit: dec("1000"), Now: f.now, MaxPending: 3})
	require.NoError(t, err)
	for range 3 {
		_, err := a.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
		require.NoError(t, err)
	}
	_, err = a.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
	require.ErrorIs(t, err, ErrTooManyOrders)
	require.Len(t, a.Orders(), 3)
	require.NoError(t, a.Cancel(2))
	id, err := a.PlaceLimit("GOOG", Sell, dec("1"), dec("1000"))
	require.NoError(t, err)
	assert.Equal(t, 4, id)

	d, err := NewAccount(context.Background(), AccountOptions{ID: "paper", Quotes: f.quotes, Book: newPaperFixture(t).ledger, Now: f.now})
	require.NoError(t, err)
	for range DefaultMaxPending {
		_, err := d.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
		require.NoError(t, err)
	}
	_, err = d.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
	assert.ErrorIs(t, err, ErrTooManyOrders, "capped by default")
}

// TestPendingOrdersSurviveRestart: with Orders set, the pending orders (and
// the order ids given out) come back in a new Account on the same store; a
// cancel and a fill are kept too, and a filled order does not come back.
func TestPendingOrdersSurviveRestart(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	book := portfolio.NewMemStore().Book("alice/paper")
	require.NoError(t, book.SaveAccount(ctx, portfolio.Account{ID: "paper", Currency: "USD"}))
	open := func() *Account {
		ls, err := OpenLedgerStore(ctx, book, 0)
		require.NoError(t, err)
		a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("10000"), Now: f.now, Orders: book.(portfolio.StateStore)})
		require.NoError(t, err)
		return a
	}
	a := open()
	for _, lim := range []string{"1", "2", "1000"} { // the last crosses GOOG's ~100
		_, err := a.PlaceLimit("GOOG", Buy, dec("1"), dec(lim))
		require.NoError(t, err)
	}
	require.NoError(t, a.Cancel(1))

	b := open()
	require.Equal(t, []int{2, 3}, ids(b.Orders()), "the restart keeps what was pending")
	id, err := b.PlaceLimit("GOOG", Buy, dec("1"), dec("3"))
	require.NoError(t, err)
	assert.Equal(t, 4, id, "ids are not given out twice")
	fills, err := b.Poll(ctx)
	require.NoError(t, err)
	require.Len(t, fills, 1)
	assert.Equal(t, 3, fills[0].OrderID)

	c := open()
	assert.Equal(t, []int{2, 4}, ids(c.Orders()), "the filled order does not come back")
	assert.Equal(t, "1", c.Positions()["GOOG"].String())
}

// TestPendingOrdersNotKeptNotPlaced: when the store cannot keep the
// orders, PlaceLimit and Cancel fail and change nothing, and a crossing
// order does not fill (it would come back after a restart).
func TestPendingOrdersNotKeptNotPlaced(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	st := &failingState{MemStore: portfolio.NewMemStore()}
	a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: f.ledger, Deposit: dec("10000"), Now: f.now, Orders: st})
	require.NoError(t, err)
	_, err = a.PlaceLimit("GOOG", Buy, dec("1"), dec("1000"))
	require.NoError(t, err)
	st.fail = true
	_, err = a.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
	require.ErrorIs(t, err, errNoState)
	require.ErrorIs(t, a.Cancel(1), errNoState)
	fills, err := a.Poll(ctx)
	require.ErrorIs(t, err, errNoState)
	assert.Empty(t, fills)
	assert.Equal(t, []int{1}, ids(a.Orders()))
	assert.True(t, a.Cash().Equal(dec("10000")), "nothing filled")
}

var errNoState = errors.New("state store down")

type failingState struct {
	*portfolio.MemStore
	fail bool
}

func (s *failingState) SaveState(ctx context.Context, name string, data []byte) error {
	if s.fail {
		return errNoState
	}
	return s.MemStore.SaveState(ctx, name, data)
}

func (s *failingState) UpdateState(ctx context.Context, name string, change func([]byte) ([]byte, error)) error {
	if s.fail {
		return errNoState
	}
	return s.MemStore.UpdateState(ctx, name, change)
}

func (s *failingState) State(ctx context.Context, name string) ([]byte, error) {
	if s.fail {
		return nil, errNoState
	}
	return s.MemStore.State(ctx, name)
}

func ids(os []LiveOrder) []int {
	out := []int{}
	for _, o := range os {
		out = append(out, o.ID)
	}
	return out
}

// TestPendingOrdersCapRacing (review of issue 13 item 7): placements
// racing from many goroutines (many tabs, the page and the API) take
// exactly MaxPending places, and a restart brings back exactly those, with
// ids given out once.
func TestPendingOrdersCapRacing(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	book := portfolio.NewMemStore().Book("alice/paper")
	require.NoError(t, book.SaveAccount(ctx, portfolio.Account{ID: "paper", Currency: "USD"}))
	open := func() *Account {
		ls, err := OpenLedgerStore(ctx, book, 0)
		require.NoError(t, err)
		a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("10000"), Now: f.now,
			Orders: book.(portfolio.StateStore), MaxPending: 20})
		require.NoError(t, err)
		return a
	}
	a := open()
	var mu sync.Mutex
	placed, refused := map[int]bool{}, 0
	var wg sync.WaitGroup
	for range 60 {
		wg.Go(func() {
			id, err := a.PlaceLimit("GOOG", Buy, dec("1"), dec("1"))
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				assert.ErrorIs(t, err, ErrTooManyOrders)
				refused++
				return
			}
			assert.False(t, placed[id], "id %d given twice", id)
			placed[id] = true
		})
	}
	wg.Wait()
	assert.Len(t, placed, 20)
	assert.Equal(t, 40, refused)
	b := open()
	assert.Len(t, b.Orders(), 20, "a restart keeps exactly what was accepted")
	for _, o := range b.Orders() {
		assert.True(t, placed[o.ID], "order %d was never accepted", o.ID)
	}
}
