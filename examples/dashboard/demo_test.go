package main

import (
	"bytes"
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/require"
)

// The demo's accounts file (shared with `finkit portfolio import`) parses
// and its transactions apply to exactly those accounts.
func TestDemoAccountsFitDemoTransactions(t *testing.T) {
	accts, err := demoAccounts()
	require.NoError(t, err)
	require.Len(t, accts, 3)
	l, err := portfolio.NewLedger(accts...)
	require.NoError(t, err)
	txs, err := portfolio.ReadCSV(bytes.NewReader(demoCSV))
	require.NoError(t, err)
	_, err = l.Import(txs)
	require.NoError(t, err)
}
