package papertrade

import (
	"context"
	"encoding/json"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/portfolio"
)

// stepClock is a clock that moves only when told (the fixtures' clock
// moves a minute on every reading, so a claim never held in their tests).
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// claimDead marks order id of the stored record as claimed at at, as an
// instance that died while filling it leaves it.
func claimDead(t *testing.T, book portfolio.Store, id int, at time.Time) {
	t.Helper()
	require.NoError(t, book.(portfolio.StateStore).UpdateState(context.Background(), "papertrade/orders/paper", func(cur []byte) ([]byte, error) {
		st, err := decodeOrders(cur)
		if err != nil {
			return nil, err
		}
		st.Orders[st.index(id)].Filling = at
		return json.Marshal(st)
	}))
}

func buys(t *testing.T, book portfolio.Store) int {
	t.Helper()
	txs, err := book.Transactions(context.Background())
	require.NoError(t, err)
	n := 0
	for _, tx := range txs {
		if tx.Kind == portfolio.TxBuy {
			n++
		}
	}
	return n
}

// TestClaimOfADeadFillerHoldsThenIsTakenOver: an order claimed by an
// instance that died before booking is left alone (not filled, not
// cancelled: ErrOrderFilling) for claimTimeout, then filled once by
// another; one that died after booking but before taking the order out is
// taken out after claimTimeout without a second booking.
func TestClaimOfADeadFillerHoldsThenIsTakenOver(t *testing.T) {
	ctx := context.Background()
	f := newPaperFixture(t)
	clock := &stepClock{t: f.bars[0].Time}
	open := func(book portfolio.Store) (*Account, *LedgerStore) {
		ls, err := OpenLedgerStore(ctx, book, 0)
		require.NoError(t, err)
		a, err := NewAccount(ctx, AccountOptions{ID: "paper", Quotes: f.quotes, Book: ls, Deposit: dec("100000"), Now: clock.now,
			Orders: book.(portfolio.StateStore)})
		require.NoError(t, err)
		return a, ls
	}

	t.Run("died before booking", func(t *testing.T) {
		book := paperBook(t)
		a, _ := open(book)
		id, err := a.PlaceLimit("GOOG", Buy, dec("1"), dec("100000"))
		require.NoError(t, err)
		claimDead(t, book, id, clock.now())
		clock.advance(claimTimeout - time.Second)
		fills, err := a.Poll(ctx)
		require.NoError(t, err)
		assert.Empty(t, fills, "the claim holds")
		require.ErrorIs(t, a.Cancel(id), ErrOrderFilling)
		assert.Zero(t, buys(t, book))
		clock.advance(time.Second)
		fills, err = a.Poll(ctx)
		require.NoError(t, err)
		require.Len(t, fills, 1, "taken over after claimTimeout")
		assert.Empty(t, a.Orders())
		fills, err = a.Poll(ctx)
		require.NoError(t, err)
		assert.Empty(t, fills)
		assert.Equal(t, 1, buys(t, book))
	})

	t.Run("died after booking", func(t *testing.T) {
		book := paperBook(t)
		a, ls := open(book)
		id, err := a.PlaceLimit("GOOG", Buy, dec("1"), dec("100000"))
		require.NoError(t, err)
		o := a.Orders()[0]
		claimDead(t, book, id, clock.now())
		// The dead instance booked the fill under the order's id.
		require.NoError(t, ls.Apply(portfolio.Transaction{ID: a.orderTxID(o), Account: "paper", Kind: portfolio.TxBuy,
			Time: clock.now(), Symbol: "GOOG", Quantity: dec("1"), Price: dec("100"), Currency: "USD"}))
		clock.advance(claimTimeout)
		fills, err := a.Poll(ctx)
		require.NoError(t, err)
		assert.Empty(t, fills, "booked once already: not reported again")
		assert.Empty(t, a.Orders(), "taken out")
		assert.Equal(t, 1, buys(t, book))
		require.ErrorIs(t, a.Cancel(id), ErrUnknownOrder)
	})
}
