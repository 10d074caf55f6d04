package main

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/portfolio"
)

// TestBenchCSVBooks checks that the large user's generated transactions
// are valid books: they parse, span three years one a day, and apply to
// the demo's accounts without overdrawing or selling what is not held.
func TestBenchCSVBooks(t *testing.T) {
	now := time.Date(2026, 12, 2, 10, 0, 0, 0, time.UTC)
	csv, err := benchCSV(context.Background(), 1000, 3, now)
	require.NoError(t, err)
	again, err := benchCSV(context.Background(), 1000, 3, now)
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

func TestQuantile(t *testing.T) {
	r := result{}
	for i := 1; i <= 100; i++ {
		r.lat = append(r.lat, time.Duration(i)*time.Millisecond)
	}
	assert.Equal(t, 50*time.Millisecond, r.quantile(0.5))
	assert.Equal(t, 99*time.Millisecond, r.quantile(0.99))
	assert.Equal(t, time.Duration(0), result{}.quantile(0.99))
}
