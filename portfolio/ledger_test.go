package portfolio

import (
	"errors"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func d(s string) decimal.Decimal { return decimal.RequireFromString(s) }

func day(s string) time.Time {
	t, err := time.Parse("2006-01-02", s)
	if err != nil {
		panic(err)
	}
	return t
}

func assertDec(t *testing.T, want string, got decimal.Decimal, msgAndArgs ...any) {
	t.Helper()
	assert.Truef(t, d(want).Equal(got), "want %s, got %s %v", want, got, msgAndArgs)
}

func deposit(id, acct, date, amount string) Transaction {
	return Transaction{ID: id, Account: acct, Kind: TxDeposit, Time: day(date), Amount: d(amount)}
}

func trade(id, acct string, kind TxKind, date, sym, qty, price, fee string) Transaction {
	tx := Transaction{ID: id, Account: acct, Kind: kind, Time: day(date), Symbol: sym, Quantity: d(qty), Price: d(price)}
	if fee != "" {
		tx.Fee = d(fee)
	}
	return tx
}

// The same trades under FIFO and average cost, computed by hand:
//
//	buy 100 @ 10 fee 10  → basis 1010
//	buy 100 @ 20 fee 10  → basis 2010
//	sell 150 @ 30 fee 15 → proceeds 4485
//
// FIFO: 100 from lot 1 (basis 1010, proceeds 4485×100/150 = 2990, gain 1980)
// and 50 from lot 2 (basis 1005, proceeds 1495, gain 490): realized 2470,
// remaining 50 units with basis 1005.
// Average: pooled basis 3020 for 200; 150 cost 2265; gain 2220; remaining
// 50 units with basis 755.
func TestGoldenFIFOvsAverage(t *testing.T) {
	for _, tc := range []struct {
		method            CostMethod
		realized, remains string
		gains             []string
	}{
		{FIFO, "2470", "1005", []string{"1980", "490"}},
		{AverageCost, "2220", "755", []string{"2220"}},
	} {
		t.Run(string(tc.method), func(t *testing.T) {
			l, err := NewLedger(Account{ID: "a", Currency: "USD", CostMethod: tc.method})
			require.NoError(t, err)
			require.NoError(t, l.Apply(
				deposit("d1", "a", "2024-01-01", "10000"),
				trade("b1", "a", TxBuy, "2024-01-02", "XYZ", "100", "10", "10"),
				trade("b2", "a", TxBuy, "2024-02-01", "XYZ", "100", "20", "10"),
				trade("s1", "a", TxSell, "2024-03-01", "XYZ", "150", "30", "15"),
			))
			cash, err := l.Cash("a")
			require.NoError(t, err)
			assertDec(t, "11465", cash) // 10000 - 1010 - 2010 + 4485
			b, err := l.Balance("a")
			require.NoError(t, err)
			assertDec(t, tc.realized, b.Realized)
			pos, ok := l.Position("a", "XYZ")
			require.True(t, ok)
			assertDec(t, "50", pos.Quantity)
			assertDec(t, tc.remains, pos.Basis)
			gains := l.Realized("a")
			require.Len(t, gains, len(tc.gains))
			for i, g := range gains {
				assertDec(t, tc.gains[i], g.Gain)
			}
			if tc.method == FIFO {
				assert.Equal(t, day("2024-01-02"), gains[0].Acquired)
				assert.Equal(t, day("2024-02-01"), gains[1].Acquired)
				lots := l.Lots("a", "XYZ")
				require.Len(t, lots, 1)
				assertDec(t, "50", lots[0].Quantity)
			}
		})
	}
}

func TestAtomicBatch(t *testing.T) {
	l, err := NewLedger(Account{ID: "a", Currency: "NOK"})
	require.NoError(t, err)
	require.NoError(t, l.Apply(deposit("d1", "a", "2024-01-01", "1000"),
		trade("b1", "a", TxBuy, "2024-01-02", "EQNR.OL", "2", "300", "")))
	before := l.Transactions()
	err = l.Apply(
		trade("b2", "a", TxBuy, "2024-01-03", "EQNR.OL", "1", "300", ""),
		trade("b3", "a", TxBuy, "2024-01-03", "DNB.OL", "1", "100", ""),
		trade("s1", "a", TxSell, "2024-01-04", "EQNR.OL", "2", "310", ""),
		Transaction{ID: "w", Account: "a", Kind: TxWithdrawal, Time: day("2024-01-05"), Amount: d("5000")},
	)
	require.ErrorIs(t, err, ErrInsufficientFunds)
	assert.Equal(t, before, l.Transactions())
	cash, _ := l.Cash("a")
	assertDec(t, "400", cash)
	pos, ok := l.Position("a", "EQNR.OL")
	require.True(t, ok)
	assertDec(t, "2", pos.Quantity)
	assertDec(t, "600", pos.Basis)
	_, ok = l.Position("a", "DNB.OL")
	assert.False(t, ok)
	assert.Empty(t, l.Realized("a"))
	assert.False(t, l.Has("b2"))
	// The rejected ids are free again.
	require.NoError(t, l.Apply(trade("b2", "a", TxBuy, "2024-01-03", "EQNR.OL", "1", "300", "")))
}

func TestValidationErrors(t *testing.T) {
	base := func() *Ledger {
		l, err := NewLedger(Account{ID: "a", Currency: "NOK"}, Account{ID: "s", Currency: "USD", AllowShort: true})
		require.NoError(t, err)
		require.NoError(t, l.Apply(deposit("d1", "a", "2024-01-01", "1000"),
			trade("b1", "a", TxBuy, "2024-01-02", "EQNR.OL", "2", "300", "")))
		return l
	}
	for _, tc := range []struct {
		name string
		tx   Transaction
		want error
	}{
		{"unknown account", deposit("x", "nope", "2024-02-01", "1"), ErrUnknownAccount},
		{"duplicate id", deposit("d1", "a", "2024-02-01", "1"), ErrDuplicateID},
		{"oversell", trade("x", "a", TxSell, "2024-02-01", "EQNR.OL", "3", "300", ""), ErrInsufficientHoldings},
		{"sell unknown", trade("x", "a", TxSell, "2024-02-01", "DNB.OL", "1", "300", ""), ErrInsufficientHoldings},
		{"overdraw", Transaction{ID: "x", Account: "a", Kind: TxWithdrawal, Time: day("2024-02-01"), Amount: d("401")}, ErrInsufficientFunds},
		{"buy too much", trade("x", "a", TxBuy, "2024-02-01", "EQNR.OL", "2", "300", ""), ErrInsufficientFunds},
		{"zero quantity", trade("x", "a", TxBuy, "2024-02-01", "EQNR.OL", "0", "300", ""), ErrInvalidQuantity},
		{"negative quantity", trade("x", "a", TxSell, "2024-02-01", "EQNR.OL", "-1", "300", ""), ErrInvalidQuantity},
		{"negative price", trade("x", "a", TxBuy, "2024-02-01", "EQNR.OL", "1", "-3", ""), ErrInvalidPrice},
		{"negative fee", trade("x", "a", TxBuy, "2024-02-01", "EQNR.OL", "1", "3", "-1"), ErrInvalidAmount},
		{"zero deposit", deposit("x", "a", "2024-02-01", "0"), ErrInvalidAmount},
		{"foreign without fx", Transaction{ID: "x", Account: "a", Kind: TxDeposit, Time: day("2024-02-01"), Amount: d("1"), Currency: "USD"}, ErrCurrencyMismatch},
		{"position currency", Transaction{ID: "x", Account: "a", Kind: TxBuy, Time: day("2024-02-01"), Symbol: "EQNR.OL", Quantity: d("1"), Price: d("1"), Currency: "USD", FXRate: d("10")}, ErrCurrencyMismatch},
		{"unknown kind", Transaction{ID: "x", Account: "a", Kind: "gift", Time: day("2024-02-01")}, ErrInvalidTransaction},
		{"zero time", Transaction{ID: "x", Account: "a", Kind: TxDeposit, Amount: d("1")}, ErrInvalidTransaction},
		{"no symbol", Transaction{ID: "x", Account: "a", Kind: TxBuy, Time: day("2024-02-01"), Quantity: d("1")}, ErrInvalidTransaction},
		{"split nothing", Transaction{ID: "x", Account: "a", Kind: TxSplit, Time: day("2024-02-01"), Symbol: "DNB.OL", Quantity: d("2")}, ErrNoPosition},
		{"split ratio", Transaction{ID: "x", Account: "a", Kind: TxSplit, Time: day("2024-02-01"), Symbol: "EQNR.OL", Quantity: d("0")}, ErrInvalidQuantity},
		{"huge exponent", Transaction{ID: "x", Account: "a", Kind: TxDeposit, Time: day("2024-02-01"), Amount: decimal.New(1, 2_000_000_000)}, ErrInvalidAmount},
		{"transfer too much", Transaction{ID: "x", Account: "a", Kind: TxTransferOut, Time: day("2024-02-01"), Symbol: "EQNR.OL", Quantity: d("5")}, ErrInsufficientHoldings},
	} {
		t.Run(tc.name, func(t *testing.T) {
			l := base()
			before := l.Transactions()
			err := l.Apply(tc.tx)
			require.Error(t, err)
			assert.True(t, errors.Is(err, tc.want), "got %v", err)
			assert.Equal(t, before, l.Transactions())
			cash, _ := l.Cash("a")
			assertDec(t, "400", cash)
		})
	}
}
