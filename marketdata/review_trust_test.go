package marketdata_test

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

// Chains (A≈B, B≈C, A≉C), even groups and boundaries: the price is always
// one of the quotes or the mean of two that agree, every agreeing source
// lies within the tolerance of the price's anchor, and no pair beyond the
// tolerance is averaged.
func TestReviewConsensusChainsAndTies(t *testing.T) {
	opts := marketdata.ConsensusOptions{Now: t0, MaxAge: time.Hour}
	tests := []struct {
		prices []float64
		price  float64
		conf   marketdata.Confidence
	}{
		{[]float64{100, 101.5, 103.0225}, 101.5, marketdata.ConfidenceHigh},    // 1.5 % steps: the middle one agrees with both
		{[]float64{100, 103.0225, 101.5}, 101.5, marketdata.ConfidenceHigh},    // order does not matter
		{[]float64{100, 102, 104, 106.08}, 102, marketdata.ConfidenceMajority}, // longer chain: 3 of 4 around 102
		{[]float64{100, 100, 200, 200}, 100, marketdata.ConfidenceLow},         // 2 vs 2: no majority
		{[]float64{100, 106}, 100, marketdata.ConfidenceLow},                   // two apart: never averaged
		{[]float64{100, 102}, 101, marketdata.ConfidenceHigh},                  // exactly at the tolerance
	}
	for _, tc := range tests {
		m, err := marketdata.Consensus("X", qs(tc.prices...), opts)
		require.NoError(t, err, tc.prices)
		assert.InDelta(t, tc.price, m.Price, 1e-9, tc.prices)
		assert.Equal(t, tc.conf, m.Confidence, tc.prices)
		for _, s := range m.Sources {
			if s.Used && !s.Outlier {
				assert.LessOrEqual(t, math.Abs(s.Deviation), 2*marketdata.DefaultTolerance+1e-12, tc.prices)
			}
		}
	}
}

// A quote stamped exactly MaxClockSkew ahead is accepted, one nanosecond
// later it is refused.
func TestReviewClockSkewBoundary(t *testing.T) {
	opts := marketdata.ConsensusOptions{Now: t0, MaxAge: time.Hour}
	q := qs(100)
	q[0].Time = t0.Add(marketdata.MaxClockSkew)
	m, err := marketdata.Consensus("X", q, opts)
	require.NoError(t, err)
	assert.Equal(t, marketdata.ConfidenceSingle, m.Confidence)
	q[0].Time = q[0].Time.Add(time.Nanosecond)
	_, err = marketdata.Consensus("X", q, opts)
	require.ErrorIs(t, err, marketdata.ErrNoQuote)
}

// Through portfolio.Ledger.Value the low-confidence error still matches
// both errors.Is and errors.As, next to portfolio.ErrNoPrice.
func TestReviewLedgerValueKeepsLowConfidence(t *testing.T) {
	ctx := context.Background()
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
		&countingProvider{name: "p1", price: 244.87}, &countingProvider{name: "p2", price: 24487}}})
	_, err := ledgerWith(t).Value(ctx, "USD", a, a)
	require.ErrorIs(t, err, portfolio.ErrNoPrice)
	require.ErrorIs(t, err, marketdata.ErrLowConfidence)
	var lc *marketdata.LowConfidenceError
	require.True(t, errors.As(err, &lc))
	assert.Equal(t, 2, lc.Merged.Independent)
	v, err := ledgerWith(t).Value(ctx, "USD", a.BestGuess(), a.BestGuess())
	require.NoError(t, err)
	assert.NotNil(t, v)
}
