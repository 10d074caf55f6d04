package storetest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testUpdateState checks StateStore.UpdateState, when the book has it:
// change sees nil for a missing record and the stored data otherwise; a
// failing change or data CheckState refuses stores nothing; empty data
// deletes; and Writers goroutines each adding one to a counter 5 times at
// once end at Writers×5, none lost.
func testUpdateState(t *testing.T, sh portfolio.Shelf) {
	ss, ok := sh.Book("a").(portfolio.StateStore)
	if !ok {
		t.Skip("the book keeps no state records")
	}
	ctx := context.Background()
	var seen []byte
	require.NoError(t, ss.UpdateState(ctx, "n", func(cur []byte) ([]byte, error) { seen = cur; return []byte("1"), nil }))
	assert.Nil(t, seen, "a missing record is nil")
	boom := errors.New("boom")
	require.ErrorIs(t, ss.UpdateState(ctx, "n", func([]byte) ([]byte, error) { return []byte("2"), boom }), boom)
	require.ErrorIs(t, ss.UpdateState(ctx, "n", func([]byte) ([]byte, error) { return []byte("bad\x00"), nil }), portfolio.ErrInvalidState)
	got, err := ss.State(ctx, "n")
	require.NoError(t, err)
	assert.Equal(t, "1", string(got), "refused updates stored nothing")
	require.NoError(t, ss.UpdateState(ctx, "n", func([]byte) ([]byte, error) { return nil, nil }))
	_, err = ss.State(ctx, "n")
	require.ErrorIs(t, err, portfolio.ErrNotFound, "empty data deletes")
	require.NoError(t, ss.UpdateState(ctx, "never", func([]byte) ([]byte, error) { return nil, nil }))
	_, err = ss.State(ctx, "never")
	require.ErrorIs(t, err, portfolio.ErrNotFound, "an update to nothing leaves nothing")

	other := sh.Book("b").(portfolio.StateStore)
	var wg sync.WaitGroup
	for w := range Writers {
		wg.Go(func() {
			store := ss
			if w%2 == 1 {
				store = sh.Book("a").(portfolio.StateStore) // another Store value of the book
			}
			for range 5 {
				assert.NoError(t, store.UpdateState(ctx, "counter", increment))
			}
		})
	}
	wg.Go(func() { assert.NoError(t, other.UpdateState(ctx, "counter", increment)) })
	wg.Wait()
	got, err = ss.State(ctx, "counter")
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(Writers*5), string(got), "no increment lost")
	got, err = other.State(ctx, "counter")
	require.NoError(t, err)
	assert.Equal(t, "1", string(got), "another book's record is its own")
}

// increment adds one to a decimal counter (a missing record is 0).
func increment(cur []byte) ([]byte, error) {
	n := 0
	if cur != nil {
		var err error
		if n, err = strconv.Atoi(string(cur)); err != nil {
			return nil, err
		}
	}
	return []byte(strconv.Itoa(n + 1)), nil
}
