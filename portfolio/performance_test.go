package portfolio

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The XIRR example from the spreadsheet documentation.
func TestXIRRGolden(t *testing.T) {
	flows := []CashFlow{
		{day("2008-01-01"), -10000},
		{day("2008-03-01"), 2750},
		{day("2008-10-30"), 4250},
		{day("2009-02-15"), 3250},
		{day("2009-04-01"), 2750},
	}
	r, err := XIRR(flows)
	require.NoError(t, err)
	// Spreadsheets print 0.373362535 (their iteration stops at a tolerance
	// of 1e-8); the exact root of the NPV equation is 0.37336253351883.
	assert.InDelta(t, 0.373362535, r, 1e-8)
	assert.InDelta(t, 0.37336253351883, r, 1e-12)
}

func TestXIRRCases(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flows []CashFlow
		want  float64
		err   error
	}{
		{"one year ten percent", []CashFlow{{day("2023-01-01"), -100}, {day("2024-01-01"), 110}}, 0.1, nil},
		{"total loss almost", []CashFlow{{day("2023-01-01"), -100}, {day("2024-01-01"), 1}}, -0.99, nil},
		{"huge gain", []CashFlow{{day("2023-01-01"), -1}, {day("2023-02-01"), 2}}, math.Pow(2, 365.0/31) - 1, nil},
		{"no root", []CashFlow{{day("2023-01-01"), -100}, {day("2023-06-01"), 300}, {day("2024-01-01"), -300}}, 0, ErrNoRate},
		{"only outflows", []CashFlow{{day("2023-01-01"), -100}, {day("2024-01-01"), -5}}, 0, ErrNoRate},
		{"one flow", []CashFlow{{day("2023-01-01"), -100}}, 0, ErrNoRate},
		{"nan", []CashFlow{{day("2023-01-01"), -100}, {day("2024-01-01"), math.NaN()}}, 0, ErrNoRate},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := XIRR(tc.flows)
			if tc.err != nil {
				require.ErrorIs(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			assert.InEpsilon(t, tc.want, r, 1e-6)
		})
	}
}

func TestTWR(t *testing.T) {
	// Day 1: 1000 grows to 1100 (+10%). Day 2: deposit 1100 at the start,
	// 2200 ends at 1980 (−10%). TWR = 1.1 × 0.9 − 1 = −1%.
	pts := []ValuePoint{{Value: 1000}, {Value: 1100}, {Value: 1980, Flow: 1100}}
	r, err := TWR(pts, FlowsAtStart)
	require.NoError(t, err)
	assert.InDelta(t, -0.01, r, 1e-12)
	// At the end of the day the deposit did not take part: (1980−1100)/1100.
	r, err = TWR(pts, FlowsAtEnd)
	require.NoError(t, err)
	assert.InDelta(t, 1.1*(880.0/1100)-1, r, 1e-12)
	_, err = TWR(pts[:1], FlowsAtStart)
	require.ErrorIs(t, err, ErrNotEnoughData)
}

func TestLedgerPerformance(t *testing.T) {
	l, err := NewLedger(Account{ID: "a", Currency: "USD"})
	require.NoError(t, err)
	require.NoError(t, l.Apply(
		deposit("d1", "a", "2024-01-01", "1000"),
		trade("b1", "a", TxBuy, "2024-01-01", "X", "10", "100", ""),
	))
	require.NoError(t, l.Apply(
		deposit("d2", "a", "2024-01-03", "1100"),
		trade("b2", "a", TxBuy, "2024-01-03", "X", "10", "110", ""),
		trade("s1", "a", TxSell, "2024-01-05", "X", "1", "99", ""),
	))
	perf, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: l.TradeHistory()})
	require.NoError(t, err)
	// Marked to trades: 1000 on day 1; on day 3 the 1100 deposit arrives
	// at the start of the day and the price moves to 110, so the day ends at
	// 2200 on 2100 invested; day 5 ends at 20 × 99 = 1980 (−10%).
	assert.InDelta(t, 2200.0/2100*0.9-1, perf.TWR, 1e-9)
	assert.InDelta(t, 1980, perf.EndValue, 1e-9)
	assert.InDelta(t, 2100, perf.NetFlows, 1e-9)
	assert.Empty(t, perf.XIRRError)
	assert.Less(t, perf.XIRR, 0.0)
	assert.Equal(t, day("2024-01-01"), perf.From)
	assert.Equal(t, day("2024-01-05"), perf.To)

	end, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: l.TradeHistory(), Timing: FlowsAtEnd})
	require.NoError(t, err)
	assert.InDelta(t, 1.1*0.9-1, end.TWR, 1e-9) // the deposit did not earn day 3's +10%

	// A sub-period: from day 3 the start value is day 2's 1000.
	sub, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: l.TradeHistory(), From: day("2024-01-03")})
	require.NoError(t, err)
	assert.InDelta(t, 1000, sub.StartValue, 1e-9)
	assert.InDelta(t, 1100, sub.NetFlows, 1e-9)

	ytd := YTD(time.Date(2024, 6, 5, 12, 0, 0, 0, time.UTC))
	assert.Equal(t, day("2024-01-01"), ytd)
}

func TestPerformanceErrors(t *testing.T) {
	ctx := context.Background()
	empty := newLedger(t, Account{ID: "a", Currency: "USD"})
	_, err := empty.Performance(ctx, PerformanceOptions{Base: "USD", History: empty.TradeHistory()})
	require.ErrorIs(t, err, ErrNotEnoughData)
	_, err = empty.Performance(ctx, PerformanceOptions{Base: "USD"})
	require.ErrorIs(t, err, ErrNotEnoughData)

	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "EUR"})
	require.NoError(t, l.Apply(deposit("d", "a", "2024-01-01", "100"), trade("x", "a", TxBuy, "2024-01-02", "X", "1", "50", ""),
		Transaction{ID: "e", Account: "b", Kind: TxDeposit, Time: day("2024-01-03"), Amount: d("10")}))
	_, err = l.Performance(ctx, PerformanceOptions{Base: "USD", History: l.TradeHistory(), From: day("2024-02-01"), To: day("2024-01-01")})
	require.ErrorIs(t, err, ErrNotEnoughData)
	_, err = l.Performance(ctx, PerformanceOptions{Base: "USD", History: l.TradeHistory(), Account: "nope"})
	require.ErrorIs(t, err, ErrUnknownAccount)
	// EUR cash cannot be converted: no EUR/USD rate in the transactions.
	_, err = l.Performance(ctx, PerformanceOptions{Base: "USD", History: l.TradeHistory()})
	require.ErrorIs(t, err, ErrNoPrice)
	// One account alone works.
	p, err := l.Performance(ctx, PerformanceOptions{Base: "USD", History: l.TradeHistory(), Account: "a"})
	require.NoError(t, err)
	assert.InDelta(t, 100, p.EndValue, 1e-9)
	assert.InDelta(t, 0, p.TWR, 1e-12)
	assert.NotEmpty(t, p.Summary())
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = l.Performance(cctx, PerformanceOptions{Base: "USD", History: l.TradeHistory(), Account: "a"})
	require.ErrorIs(t, err, context.Canceled)
}

func TestAnnualize(t *testing.T) {
	assert.InDelta(t, 0.21, Annualize(0.21, day("2024-01-01"), day("2024-06-01")), 1e-12)
	assert.InDelta(t, 0.1, Annualize(0.21, day("2022-01-01"), day("2023-12-31")), 1e-3)
	assert.Equal(t, day("2023-03-05"), OneYear(day("2024-03-05")))
}
