package portfolio

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// randomStream makes n transactions over accounts "a" and "b" and symbols
// X, Y, Z: mostly valid, some invalid (over-sells, over-withdrawals), with
// fractional quantities, odd-cent prices, FX trades and transfers.
func randomStream(rng *rand.Rand, n int, transfers bool) []Transaction {
	syms := []string{"X", "Y", "Z"}
	accts := []string{"a", "b"}
	t0 := time.Date(2023, 1, 1, 0, 0, 0, 0, time.UTC)
	dec := func(max int, exp int32) decimal.Decimal { return decimal.New(int64(1+rng.IntN(max)), exp) }
	var txs []Transaction
	for i := range n {
		acct := accts[rng.IntN(2)]
		tx := Transaction{ID: fmt.Sprint("p", i), Account: acct, Time: t0.Add(time.Duration(i) * time.Hour)}
		sym := syms[rng.IntN(3)]
		switch r := rng.IntN(100); {
		case r < 15:
			tx.Kind, tx.Amount = TxDeposit, dec(100000, -2)
		case r < 20:
			tx.Kind, tx.Amount = TxWithdrawal, dec(50000, -2)
		case r < 50:
			tx.Kind, tx.Symbol, tx.Quantity, tx.Price, tx.Fee = TxBuy, sym, dec(300, -1), dec(20000, -3), dec(300, -2)
		case r < 75:
			tx.Kind, tx.Symbol, tx.Quantity, tx.Price, tx.Fee = TxSell, sym, dec(300, -1), dec(20000, -3), dec(300, -2)
		case r < 80:
			tx.Kind, tx.Symbol, tx.Amount, tx.Tax = TxDividend, sym, dec(1000, -2), dec(100, -2)
		case r < 83:
			tx.Kind, tx.Amount = TxInterest, dec(1000, -2)
		case r < 86:
			tx.Kind, tx.Amount = TxFee, dec(100, -2)
		case r < 88:
			tx.Kind, tx.Symbol, tx.Quantity = TxSplit, sym, decimal.NewFromInt(int64(2+rng.IntN(2)))
		case r < 94:
			// A buy in EUR at an FX rate (symbol E trades in EUR).
			tx.Kind, tx.Symbol, tx.Quantity, tx.Price, tx.Currency, tx.FXRate = TxBuy, "E", dec(50, 0), dec(5000, -2), "EUR", dec(2000, -4)
			if rng.IntN(2) == 0 {
				tx.Kind = TxSell
			}
		default:
			if !transfers {
				tx.Kind, tx.Amount = TxDeposit, dec(1000, -2)
				break
			}
			other := "a"
			if acct == "a" {
				other = "b"
			}
			if rng.IntN(2) == 0 {
				tx.Kind, tx.Amount = TxTransferOut, dec(10000, -2)
				in := Transaction{ID: tx.ID + "in", Account: other, Kind: TxTransferIn, Time: tx.Time, Amount: tx.Amount}
				txs = append(txs, tx, in)
				continue
			}
			tx.Kind, tx.Symbol, tx.Quantity = TxTransferOut, sym, dec(100, -1)
			in := Transaction{ID: tx.ID + "in", Account: other, Kind: TxTransferIn, Time: tx.Time, Symbol: sym, Quantity: tx.Quantity}
			txs = append(txs, tx, in)
			continue
		}
		txs = append(txs, tx)
	}
	return txs
}

// state is a comparable picture of a ledger.
func state(l *Ledger) string {
	var b bytes.Buffer
	for _, a := range l.Accounts() {
		bal, _ := l.Balance(a.ID)
		fmt.Fprintf(&b, "%s %s %s %s %s %s %s %s %s\n", a.ID, bal.Cash, bal.Deposits, bal.Withdrawals, bal.Dividends, bal.Interest, bal.Fees, bal.Taxes, bal.Realized)
		for _, p := range l.Positions(a.ID) {
			fmt.Fprintf(&b, "  %s %s %s %s\n", p.Symbol, p.Quantity, p.Basis, p.LocalBasis)
			for _, lot := range l.Lots(a.ID, p.Symbol) {
				fmt.Fprintf(&b, "    %s %s %s\n", lot.Acquired.Format(time.RFC3339), lot.Quantity, lot.Basis)
			}
		}
	}
	fmt.Fprintf(&b, "realized %d txs %d\n", len(l.Realized("")), l.Len())
	return b.String()
}

var propPrices = Prices{"X": {d("12.345"), "USD"}, "Y": {d("7"), "USD"}, "Z": {d("0.5"), "USD"}, "E": {d("55.55"), "EUR"}}
var propRates = Rates{"EUR/USD": d("1.1")}

func TestPropertyStreams(t *testing.T) {
	for seed := range uint64(12) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 99))
			l := newLedger(t,
				Account{ID: "a", Currency: "USD", CostMethod: FIFO, AllowShort: seed%3 == 0},
				Account{ID: "b", Currency: "USD", CostMethod: AverageCost})
			stream := randomStream(rng, 300, true)
			for i := 0; i < len(stream); i++ {
				batch := stream[i : i+1]
				if i+1 < len(stream) && stream[i+1].Kind == TxTransferIn {
					batch = stream[i : i+2] // a transfer is booked as a pair
					i++
				}
				before := state(l)
				var mvBefore decimal.Decimal
				if batch[0].Kind == TxTransferOut {
					mvBefore = marketValue(t, l)
				}
				if err := l.Apply(batch...); err != nil {
					assert.Equal(t, before, state(l), "rejected %v changed the ledger: %v", batch[0].ID, err)
					continue
				}
				if batch[0].Kind == TxTransferOut {
					// Cash + market value is conserved across a transfer.
					assert.True(t, mvBefore.Equal(marketValue(t, l)), "transfer %s: %s → %s", batch[0].ID, mvBefore, marketValue(t, l))
				}
			}
			v, err := l.Value(context.Background(), "USD", propPrices, propRates)
			require.NoError(t, err)
			// Total gain = realized + unrealized + income − costs, exactly.
			sum := v.Realized.Add(v.Unrealized).Add(v.Income).Sub(v.Costs)
			assert.True(t, v.TotalGain.Equal(sum), "total gain %s, parts %s", v.TotalGain, sum)
			assert.True(t, v.CapitalGain.Add(v.CurrencyEffect).Equal(v.Realized.Add(v.Unrealized)), "capital + currency ≠ realized + unrealized")

			// Export → import → same ledger.
			var buf bytes.Buffer
			require.NoError(t, WriteCSV(&buf, l.Transactions()))
			back, err := ReadCSV(&buf)
			require.NoError(t, err)
			l2 := newLedger(t, l.Accounts()...)
			_, err = l2.Import(back)
			require.NoError(t, err)
			assert.Equal(t, state(l), state(l2))
			// Re-import changes nothing.
			added, err := l2.Import(back)
			require.NoError(t, err)
			assert.Empty(t, added)
		})
	}
}

// marketValue is cash plus holdings at propPrices, summed over accounts.
func marketValue(t *testing.T, l *Ledger) decimal.Decimal {
	v, err := l.Value(context.Background(), "USD", propPrices, propRates)
	require.NoError(t, err)
	return v.Total
}

// The same trades under FIFO and average cost end with the same total
// gain (only its split into realized and unrealized differs).
func TestPropertyMethodsAgreeOnTotalGain(t *testing.T) {
	for seed := range uint64(20) {
		rng := rand.New(rand.NewPCG(seed, 5))
		stream := randomStream(rng, 200, false)
		var gains []string
		for _, m := range []CostMethod{FIFO, AverageCost} {
			l := newLedger(t, Account{ID: "a", Currency: "USD", CostMethod: m}, Account{ID: "b", Currency: "USD", CostMethod: m})
			for _, tx := range stream {
				_ = l.Apply(tx)
			}
			v, err := l.Value(context.Background(), "USD", propPrices, propRates)
			require.NoError(t, err)
			gains = append(gains, v.TotalGain.String()+" "+v.Realized.Add(v.Unrealized).String())
		}
		assert.Equal(t, gains[0], gains[1], "seed %d", seed)
	}
}

func TestTxLogTruncate(t *testing.T) {
	var lg txLog
	for i := range 2*txChunk + 10 {
		tx := Transaction{ID: fmt.Sprint(i)}
		lg.append(&tx)
	}
	for _, n := range []int{2*txChunk + 5, 2 * txChunk, txChunk + 1, 3, 0} {
		lg.truncate(n)
		require.Equal(t, n, lg.len())
		require.Len(t, lg.all(), n)
		if n > 0 {
			require.Equal(t, fmt.Sprint(n-1), lg.at(n-1).ID)
		}
	}
	tx := Transaction{ID: "again"}
	lg.append(&tx)
	require.Equal(t, "again", lg.at(0).ID)
}

// Applying a stream in shuffled, back-dated batches ends in the same state
// as applying it in order (accounts with shorts and margin accept any
// subset, so every batch applies).
func TestPropertyOutOfOrderBatches(t *testing.T) {
	for seed := range uint64(5) {
		accts, txs := mixedStream(600, 3, 8, seed)
		for i := range accts {
			accts[i].AllowShort, accts[i].AllowMargin = true, true
		}
		inOrder := newLedger(t, accts...)
		require.NoError(t, inOrder.Apply(txs...))

		rng := rand.New(rand.NewPCG(seed, 11))
		shuffled := slices.Clone(txs)
		rng.Shuffle(len(shuffled), func(i, j int) { shuffled[i], shuffled[j] = shuffled[j], shuffled[i] })
		l := newLedger(t, accts...)
		for i := 0; i < len(shuffled); {
			n := 1 + rng.IntN(50)
			batch := shuffled[i:min(i+n, len(shuffled))]
			require.NoError(t, l.Apply(batch...))
			i += n
		}
		assert.Equal(t, state(inOrder), state(l), "seed %d", seed)
		assert.Equal(t, ids(inOrder.Transactions()), ids(l.Transactions()))
	}
}
