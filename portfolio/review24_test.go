package portfolio

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Review of issue 24: attacks on transfers, splits and XIRR.

// Two same-day transfer_outs of one USD stock, one from a EUR account and
// one from a USD account, both taken by one transfer_in into a third (EUR)
// account: each lot's basis must end up in EUR, whichever transfer_out was
// booked first.
func TestReviewTransferMixedSourceCurrencies(t *testing.T) {
	for _, order := range []string{"eur-first", "usd-first"} {
		t.Run(order, func(t *testing.T) {
			l := newLedger(t, Account{ID: "e", Currency: "EUR"}, Account{ID: "u", Currency: "USD"}, Account{ID: "e2", Currency: "EUR"})
			require.NoError(t, l.Apply(
				deposit("de", "e", "2024-01-01", "1000"),
				deposit("du", "u", "2024-01-01", "1000"),
				Transaction{ID: "be", Account: "e", Kind: TxBuy, Time: day("2024-01-02"), Symbol: "Y", Quantity: d("10"), Price: d("100"), Currency: "USD", FXRate: d("0.9")},
				Transaction{ID: "bu", Account: "u", Kind: TxBuy, Time: day("2024-01-03"), Symbol: "Y", Quantity: d("10"), Price: d("100")},
			))
			at := day("2024-02-01")
			oe := Transaction{ID: "oe", Account: "e", Kind: TxTransferOut, Time: at, Symbol: "Y", Quantity: d("10")}
			ou := Transaction{ID: "ou", Account: "u", Kind: TxTransferOut, Time: at, Symbol: "Y", Quantity: d("10")}
			in := Transaction{ID: "in", Account: "e2", Kind: TxTransferIn, Time: at, Symbol: "Y", Quantity: d("20"), Currency: "USD", FXRate: d("0.8")}
			outs := []Transaction{oe, ou}
			if order == "usd-first" {
				outs = []Transaction{ou, oe}
			}
			require.NoError(t, l.Apply(append(outs, in)...))
			lots := l.Lots("e2", "Y")
			require.Len(t, lots, 2)
			// The lot from the EUR account keeps its EUR basis 900; the one
			// from the USD account (local basis 1000 USD) is rebased at the
			// transfer_in's rate: 800 EUR. Never 1000 "EUR".
			byTx := map[string]Lot{}
			for _, lot := range lots {
				byTx[lot.TxID] = lot
			}
			assertDec(t, "900", byTx["be"].Basis, "lot from the EUR account")
			assertDec(t, "1000", byTx["be"].LocalBasis)
			assertDec(t, "800", byTx["bu"].Basis, "lot from the USD account")
			assertDec(t, "1000", byTx["bu"].LocalBasis)
			pos, ok := l.Position("e2", "Y")
			require.True(t, ok)
			assert.Equal(t, "USD", pos.Currency)
			assertDec(t, "1700", pos.Basis)
		})
	}
}

// A transfer_in booked before its transfer_out (same time, earlier in the
// batch, or an earlier time) is unmatched, and the batch changes nothing.
func TestReviewTransferInBeforeOut(t *testing.T) {
	setup := func(t *testing.T) *Ledger {
		l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD"})
		require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "1000"), trade("x", "a", TxBuy, "2024-01-02", "X", "10", "100", "")))
		return l
	}
	at := day("2024-02-01").Add(10 * time.Hour)
	out := Transaction{ID: "o", Account: "a", Kind: TxTransferOut, Time: at, Symbol: "X", Quantity: d("10")}
	in := Transaction{ID: "i", Account: "b", Kind: TxTransferIn, Time: at, Symbol: "X", Quantity: d("10")}
	l := setup(t)
	require.ErrorIs(t, l.Apply(in, out), ErrUnmatchedTransfer)
	pos, ok := l.Position("a", "X")
	require.True(t, ok)
	assertDec(t, "10", pos.Quantity)
	require.Len(t, l.Transactions(), 2)
	// Earlier time, later batch: replayed in time order, still unmatched.
	l = setup(t)
	require.NoError(t, l.Apply(out))
	early := in
	early.Time = at.Add(-time.Hour)
	require.ErrorIs(t, l.Apply(early), ErrUnmatchedTransfer)
	// The matching one, in a later batch the same day, is taken.
	require.NoError(t, l.Apply(in))
	pos, ok = l.Position("b", "X")
	require.True(t, ok)
	assertDec(t, "1000", pos.Basis)
}

// Partial quantities: 10 out, 4 and 6 in to two accounts the same day (FIFO
// over the lots), then one more unit in is unmatched; the next day nothing
// is pending.
func TestReviewTransferPartialTwoReceivers(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD"}, Account{ID: "c", Currency: "USD"})
	require.NoError(t, l.Apply(
		deposit("d", "a", "2024-01-01", "10000"),
		trade("x1", "a", TxBuy, "2024-01-02", "X", "5", "100", ""),
		trade("x2", "a", TxBuy, "2024-01-03", "X", "5", "200", ""),
	))
	at := day("2024-02-01")
	require.NoError(t, l.Apply(
		Transaction{ID: "o1", Account: "a", Kind: TxTransferOut, Time: at, Symbol: "X", Quantity: d("7")},
		Transaction{ID: "o2", Account: "a", Kind: TxTransferOut, Time: at, Symbol: "X", Quantity: d("3")},
		Transaction{ID: "i1", Account: "b", Kind: TxTransferIn, Time: at, Symbol: "X", Quantity: d("4")},
		Transaction{ID: "i2", Account: "c", Kind: TxTransferIn, Time: at, Symbol: "X", Quantity: d("6")},
	))
	pb, _ := l.Position("b", "X")
	pc, _ := l.Position("c", "X")
	assertDec(t, "400", pb.Basis)
	assertDec(t, "1100", pc.Basis) // 1 @ 100 + 5 @ 200
	lc := l.Lots("c", "X")         // 1 of x1, then x2's units from each transfer_out
	require.Len(t, lc, 3)
	assert.Equal(t, day("2024-01-02"), lc[0].Acquired)
	assert.Equal(t, day("2024-01-03"), lc[2].Acquired)
	require.ErrorIs(t, l.Apply(Transaction{ID: "i3", Account: "c", Kind: TxTransferIn, Time: at, Symbol: "X", Quantity: d("1")}), ErrUnmatchedTransfer)
	// A failed batch restores what was pending: out 1 from b, a bad tx,
	// then (separately) the in is unmatched because the out was rolled back.
	require.Error(t, l.Apply(
		Transaction{ID: "o3", Account: "b", Kind: TxTransferOut, Time: at, Symbol: "X", Quantity: d("1")},
		Transaction{ID: "bad", Account: "c", Kind: TxWithdrawal, Time: at, Amount: d("1")},
	))
	require.ErrorIs(t, l.Apply(Transaction{ID: "i4", Account: "c", Kind: TxTransferIn, Time: at, Symbol: "X", Quantity: d("1")}), ErrUnmatchedTransfer)
	// Transfer_out without transfer_in: the units leave (a withdrawal at
	// basis) and are not inherited the next day.
	require.NoError(t, l.Apply(Transaction{ID: "o4", Account: "b", Kind: TxTransferOut, Time: at, Symbol: "X", Quantity: d("4")}))
	require.ErrorIs(t, l.Apply(Transaction{ID: "i5", Account: "c", Kind: TxTransferIn, Time: at.AddDate(0, 0, 1), Symbol: "X", Quantity: d("1")}), ErrUnmatchedTransfer)
	_, ok := l.Position("b", "X")
	assert.False(t, ok)
}

// Split ratios: zero and negative are refused; a ratio that would round
// every unit away is refused rather than leaving a position with a basis
// and no units; a huge ratio is exact.
func TestReviewSplitRatios(t *testing.T) {
	newL := func(t *testing.T) *Ledger {
		l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "v", Currency: "USD", CostMethod: AverageCost})
		require.NoError(t, l.Apply(
			deposit("d", "a", "2024-01-01", "1000"), trade("b", "a", TxBuy, "2024-01-02", "X", "10", "100", ""),
			deposit("dv", "v", "2024-01-01", "1000"), trade("bv", "v", TxBuy, "2024-01-02", "X", "10", "100", ""),
		))
		return l
	}
	split := func(acct, num, den string) Transaction {
		tx := Transaction{ID: "s" + acct + num + den, Account: acct, Kind: TxSplit, Time: day("2024-02-01"), Symbol: "X", Quantity: d(num)}
		if den != "" {
			tx.Price = d(den)
		}
		return tx
	}
	for _, acct := range []string{"a", "v"} {
		l := newL(t)
		for _, bad := range [][2]string{{"0", ""}, {"-2", ""}, {"2", "-1"}, {"1", "1e30"}, {"1e-999", "1e999"}} {
			require.Error(t, l.Apply(split(acct, bad[0], bad[1])), "%s %v", acct, bad)
			pos, ok := l.Position(acct, "X")
			require.True(t, ok, "%s %v", acct, bad)
			assertDec(t, "10", pos.Quantity)
			assertDec(t, "1000", pos.Basis)
		}
		require.NoError(t, l.Apply(split(acct, "1e999", "")))
		pos, _ := l.Position(acct, "X")
		assertDec(t, "1e1000", pos.Quantity)
		assertDec(t, "1000", pos.Basis)
		require.NoError(t, l.Apply(split(acct, "2", "3")))
	}
}

// XIRR on hostile flows: errors or a rate in range that solves them,
// never a panic, NaN or a rate that does not solve.
func TestReviewXIRRHostile(t *testing.T) {
	t0 := day("2024-01-01")
	cases := []struct {
		name  string
		flows []CashFlow
	}{
		{"none", nil},
		{"one", []CashFlow{{t0, -1}}},
		{"all negative", []CashFlow{{t0, -1}, {t0.AddDate(1, 0, 0), -2}}},
		{"all positive", []CashFlow{{t0, 1}, {t0.AddDate(1, 0, 0), 2}}},
		{"zeros", []CashFlow{{t0, 0}, {t0.AddDate(1, 0, 0), 0}}},
		{"same instant, sum zero", []CashFlow{{t0, -1}, {t0, 1}}},
		{"same instant, gain", []CashFlow{{t0, -1}, {t0, 2}}},
		{"same day, then more", []CashFlow{{t0, -1}, {t0, -1}, {t0.AddDate(1, 0, 0), 2.2}}},
		{"tiny rate", []CashFlow{{t0, -1000}, {t0.AddDate(0, 0, 365), 1000.000001}}},
		{"near -100%", []CashFlow{{t0, -1000}, {t0.AddDate(0, 0, 365), 0.001}}},
		{"below grid", []CashFlow{{t0, -1000}, {t0.AddDate(0, 0, 365), 1e-5}}},
		{"huge amounts", []CashFlow{{t0, -1.5e308}, {t0.AddDate(0, 0, 30), 1.6e308}, {t0.AddDate(0, 0, 60), 1.6e308}}},
		{"tiny amounts", []CashFlow{{t0, -1e-300}, {t0.AddDate(0, 0, 365), 1.1e-300}}},
		{"NaN", []CashFlow{{t0, -1}, {t0.AddDate(1, 0, 0), math.NaN()}}},
		{"Inf", []CashFlow{{t0, -1}, {t0.AddDate(1, 0, 0), math.Inf(1)}}},
		{"unsorted", []CashFlow{{t0.AddDate(1, 0, 0), 1.1}, {t0, -1}}},
		{"two roots", []CashFlow{{t0, -100}, {t0.AddDate(0, 0, 365), 230}, {t0.AddDate(0, 0, 730), -132}}},
		{"huge rate in range", []CashFlow{{t0, -1}, {t0.AddDate(0, 0, 365), 9000}}},
		{"long span", []CashFlow{{t0, -1}, {t0.AddDate(200, 0, 0), 100}}},
		{"very long span", []CashFlow{{t0, -1}, {t0.AddDate(400, 0, 0), 100}}},
	}
	for _, tc := range cases {
		r, err := XIRR(tc.flows)
		if err != nil {
			require.ErrorIs(t, err, ErrNoRate, tc.name)
			continue
		}
		require.False(t, math.IsNaN(r), tc.name)
		require.Greater(t, r, -1.0, tc.name)
		require.LessOrEqual(t, r, maxXIRR, tc.name)
		// Solves the flows, relative to the largest flow.
		t0 := tc.flows[0].Time
		for _, f := range tc.flows {
			if f.Time.Before(t0) {
				t0 = f.Time
			}
		}
		var v, s float64
		for _, f := range tc.flows {
			years := float64(f.Time.Sub(t0)) / float64(24*time.Hour) / 365
			if f.Time.Year()-t0.Year() > 250 { // beyond time.Duration
				years = float64(f.Time.Unix()-t0.Unix()) / 86400 / 365
			}
			v += f.Amount / s2(1+r, years)
			s = math.Max(s, math.Abs(f.Amount))
		}
		assert.InDelta(t, 0, v/s, 1e-6, "%s: rate %v", tc.name, r)
	}
	// Known answers.
	r, err := XIRR(cases[8].flows)
	require.NoError(t, err)
	assert.InDelta(t, 1e-9, r, 1e-12)
	r, err = XIRR(cases[16].flows) // roots 10% and 20%: the one nearest 10%
	require.NoError(t, err)
	assert.InDelta(t, 0.1, r, 1e-9)
}

func s2(b, e float64) float64 { return math.Pow(b, e) }

// Performance over one day from inception: the period's return, flagged;
// over a day with a full withdrawal at the close, still the day's return.
func TestReviewPerformanceOneDay(t *testing.T) {
	ctx := context.Background()
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "1000"), trade("b", "a", TxBuy, "2024-01-01", "X", "10", "100", "")))
	h := newTestHistory().price("X", "2024-01-01", "101", "USD")
	p, err := l.Performance(ctx, PerformanceOptions{Base: "USD", History: h})
	require.NoError(t, err)
	assert.True(t, p.XIRRPeriodic)
	assert.InDelta(t, 0.01, p.TWR, 1e-12)
	assert.InDelta(t, 0.01, p.XIRR, 1e-9)
	assert.Contains(t, p.Summary(), "XIRR +1.0%")
	assert.NotContains(t, p.Summary(), "/yr")

	// Sell all and withdraw all the same day: TWR is the day's 10%.
	l = newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "1000"), trade("b", "a", TxBuy, "2024-01-01", "X", "10", "100", ""),
		trade("s", "a", TxSell, "2024-01-02", "X", "10", "110", ""),
		Transaction{ID: "w", Account: "a", Kind: TxWithdrawal, Time: day("2024-01-02"), Amount: d("1100")}))
	h = newTestHistory().price("X", "2024-01-01", "100", "USD").price("X", "2024-01-02", "110", "USD")
	for _, timing := range []FlowTiming{FlowsSplit, FlowsAtEnd} {
		p, err = l.Performance(ctx, PerformanceOptions{Base: "USD", History: h, From: day("2024-01-02"), Timing: timing})
		require.NoError(t, err)
		assert.InDelta(t, 0.1, p.TWR, 1e-12, "timing %d", timing)
		assert.InDelta(t, 0.1, p.XIRR, 1e-9, "timing %d", timing)
		assert.Zero(t, p.EndValue)
	}
	// The zero Options timing is FlowsSplit.
	var o PerformanceOptions
	assert.Equal(t, FlowsSplit, o.Timing)
}

// Hostile random batches: transfers in every order, splits with odd
// ratios, currencies, rates and extreme numbers. Apply never panics, a
// refused batch changes nothing, and Performance and Value over the result
// neither panic nor return non-finite figures.
func TestReviewLedgerHostileBatches(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 24))
	nums := []string{"0", "1", "2", "3", "0.5", "-1", "10", "100", "0.0001", "1e-17", "1e20", "1e999", "1e-999", "123.456789", "7"}
	sane := false // this transaction draws from the plausible values only
	num := func() decimal.Decimal {
		if sane {
			return d(nums[1+rng.IntN(8)])
		}
		return d(nums[rng.IntN(len(nums))])
	}
	kinds := []TxKind{TxDeposit, TxWithdrawal, TxBuy, TxSell, TxDividend, TxInterest, TxFee, TxTax, TxTransferIn, TxTransferOut, TxSplit, "bogus"}
	ccys := []string{"", "USD", "EUR", "JPY", "usd", "€"}
	accts := []string{"u", "e", "j", "v", "s", "nope"}
	snapshot := func(l *Ledger) string {
		var b strings.Builder
		for _, a := range accts[:5] {
			bal, _ := l.Balance(a)
			fmt.Fprintf(&b, "%+v %+v %+v %+v\n", bal, l.Positions(a), l.Lots(a, "X"), l.Lots(a, "Y"))
			fmt.Fprintf(&b, "%+v\n", l.Realized(a))
		}
		fmt.Fprint(&b, len(l.Transactions()), l.pending)
		return b.String()
	}
	ctx := context.Background()
	accepted := map[TxKind]int{}
	for sc := range 30 {
		l := newLedger(t, Account{ID: "u", Currency: "USD"}, Account{ID: "e", Currency: "EUR"}, Account{ID: "j", Currency: "JPY"},
			Account{ID: "v", Currency: "USD", CostMethod: AverageCost}, Account{ID: "s", Currency: "USD", AllowShort: true, AllowMargin: true})
		for _, a := range []string{"u", "e", "j", "v", "s"} {
			require.NoError(t, l.Apply(Transaction{ID: "d" + a, Account: a, Kind: TxDeposit, Time: day("2024-01-01"), Amount: d("100000")}))
		}
		n := 0
		for step := range 200 {
			var batch []Transaction
			when := day("2024-01-02").AddDate(0, 0, step/5).Add(time.Duration(rng.IntN(30)) * time.Hour)
			for range 1 + rng.IntN(3) {
				n++
				sane = rng.IntN(10) < 8
				tx := Transaction{ID: fmt.Sprint("t", n), Account: accts[rng.IntN(len(accts))], Kind: kinds[rng.IntN(len(kinds))],
					Time: when.Add(time.Duration(rng.IntN(3)-1) * time.Hour), Symbol: []string{"", "X", "Y"}[rng.IntN(3)],
					Quantity: num(), Currency: ccys[rng.IntN(len(ccys))]}
				if sane {
					tx.Account, tx.Currency = accts[rng.IntN(5)], ccys[rng.IntN(4)]
					tx.Kind = []TxKind{TxBuy, TxBuy, TxSell, TxTransferOut, TxTransferOut, TxTransferIn, TxSplit, TxDividend, TxWithdrawal}[rng.IntN(9)]
					if tx.Kind != TxWithdrawal {
						tx.Symbol = []string{"X", "Y"}[rng.IntN(2)]
					}
				}
				if rng.IntN(2) == 0 {
					tx.Price = num()
				}
				if rng.IntN(2) == 0 {
					tx.Amount = num()
				}
				if rng.IntN(3) == 0 {
					tx.FXRate = num()
				}
				if rng.IntN(4) == 0 {
					tx.Fee, tx.Tax = num(), num()
				}
				if rng.IntN(8) == 0 {
					tx.Time = tx.Time.In(time.FixedZone("x", (rng.IntN(27)-12)*3600))
				}
				if rng.IntN(10) == 0 {
					tx.Time = tx.Time.AddDate(0, 0, -rng.IntN(20)) // back-dated
				}
				batch = append(batch, tx)
				// Often pair a transfer_out with a transfer_in.
				if tx.Kind == TxTransferOut && tx.Symbol != "" && rng.IntN(2) == 0 {
					n++
					in := tx
					in.ID, in.Kind, in.Account, in.Price = fmt.Sprint("t", n), TxTransferIn, accts[rng.IntN(5)], decimal.Zero
					batch = append(batch, in)
				}
			}
			before := snapshot(l)
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("scenario %d step %d: panic %v on %+v", sc, step, r, batch)
					}
				}()
				if err := l.Apply(batch...); err != nil {
					require.Equal(t, before, snapshot(l), "scenario %d step %d: refused batch changed the ledger: %v", sc, step, err)
					return
				}
				for _, tx := range batch {
					k := tx.Kind
					if tx.Symbol != "" && (k == TxTransferIn || k == TxTransferOut) {
						k += "_securities"
					}
					accepted[k]++
				}
			}()
		}
		h := l.TradeHistory()
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Fatalf("scenario %d: Performance panicked: %v", sc, r)
				}
			}()
			for _, acct := range []string{"", "u", "e", "v"} {
				p, err := l.Performance(ctx, PerformanceOptions{Base: "USD", History: h, Account: acct})
				if err != nil {
					continue
				}
				for _, x := range []float64{p.TWR, p.XIRR, p.NetFlows, p.StartValue, p.EndValue, p.CurrencyEffect} {
					require.False(t, math.IsNaN(x), "scenario %d %q: %+v", sc, acct, p)
				}
			}
			_, _ = l.Value(ctx, "USD", PricesAt(h, day("2025-01-01")), RatesAt(h, day("2025-01-01")))
		}()
	}
	t.Logf("accepted: %v", accepted)
	for _, k := range []TxKind{TxBuy, TxSell, TxSplit, TxTransferIn + "_securities", TxTransferOut + "_securities"} {
		require.Positive(t, accepted[k], "no %s accepted: the test does not reach it", k)
	}
}

// A value beyond float64 (1e999 units delivered at a cost of 1) is an
// error from Performance, not an EndValue of +Inf and a TWR of NaN.
func TestReviewPerformanceValueBeyondFloat(t *testing.T) {
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "10"),
		Transaction{ID: "i", Account: "a", Kind: TxTransferIn, Time: day("2024-01-02"), Symbol: "X", Quantity: d("1e999"), Price: d("1e-999")}))
	h := newTestHistory().price("X", "2024-01-01", "100", "USD")
	_, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h})
	require.ErrorIs(t, err, ErrNotEnoughData)
}
