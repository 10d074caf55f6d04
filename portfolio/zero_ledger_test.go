package portfolio_test

import (
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The zero Ledger is an empty ledger ready to use, as NewLedger() is: every
// method works on it without panicking, including the ones that write.
func TestZeroLedger(t *testing.T) {
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	deposit := portfolio.Transaction{ID: "d", Account: "a", Kind: portfolio.TxDeposit, Time: day, Amount: decimal.NewFromInt(100)}
	buy := portfolio.Transaction{ID: "b", Account: "a", Kind: portfolio.TxBuy, Time: day, Symbol: "X",
		Quantity: decimal.NewFromInt(2), Price: decimal.NewFromInt(10)}

	t.Run("reads", func(t *testing.T) {
		var l portfolio.Ledger
		assert.Zero(t, l.Len())
		assert.False(t, l.Has("d"))
		assert.Empty(t, l.Accounts())
		assert.Empty(t, l.Transactions())
		_, ok := l.Stock("X")
		assert.False(t, ok)
	})
	t.Run("AddAccount then Apply", func(t *testing.T) {
		var l portfolio.Ledger
		require.NoError(t, l.AddAccount(portfolio.Account{ID: "a", Currency: "USD"}))
		require.NoError(t, l.Apply(deposit, buy))
		cash, err := l.Cash("a")
		require.NoError(t, err)
		assert.Equal(t, "80", cash.String())
		assert.True(t, l.Has("b"))
	})
	t.Run("AddStocks", func(t *testing.T) {
		var l portfolio.Ledger
		l.AddStocks(portfolio.Stock{Symbol: "X"})
		_, ok := l.Stock("X")
		assert.True(t, ok)
	})
	t.Run("Import and Apply before any account", func(t *testing.T) {
		var l portfolio.Ledger
		_, err := l.Import([]portfolio.Transaction{deposit})
		require.Error(t, err) // unknown account, not a panic
		var m portfolio.Ledger
		require.Error(t, m.Apply(deposit))
		require.NoError(t, m.AddAccount(portfolio.Account{ID: "a", Currency: "USD"}))
		added, err := m.Import([]portfolio.Transaction{deposit})
		require.NoError(t, err)
		assert.Len(t, added, 1)
	})
}
