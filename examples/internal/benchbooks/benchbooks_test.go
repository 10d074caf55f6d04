package benchbooks

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/portfolio"
)

// TestCSVBooks checks that the large user's generated transactions
// are valid books: they parse, span three years one a day, and apply to
// the demo's accounts without overdrawing or selling what is not held.
func TestCSVBooks(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	csv, err := CSV(context.Background(), 1000, 3, now)
	require.NoError(t, err)
	again, err := CSV(context.Background(), 1000, 3, now)
	require.NoError(t, err)
	assert.Equal(t, csv, again, "same file for the same inputs")
	txs, err := portfolio.ReadCSV(bytes.NewReader(csv))
	require.NoError(t, err)
	require.Len(t, txs, 1000)
	first, last := txs[0].Time, txs[len(txs)-1].Time
	assert.WithinDuration(t, now.AddDate(-3, 0, 0), first, 48*time.Hour)
	assert.WithinDuration(t, now, last, 72*time.Hour)
	l, err := portfolio.NewLedger(
		portfolio.Account{ID: "broker", Kind: portfolio.KindBrokerage, Currency: "USD", CostMethod: portfolio.FIFO},
		portfolio.Account{ID: "crypto", Kind: portfolio.KindCrypto, Currency: "USD", CostMethod: portfolio.FIFO},
	)
	require.NoError(t, err)
	added, err := l.Import(txs)
	require.NoError(t, err)
	assert.Len(t, added, 1000)
}
