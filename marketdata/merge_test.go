package marketdata_test

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

func qs(prices ...float64) []marketdata.Quote {
	out := make([]marketdata.Quote, len(prices))
	for i, p := range prices {
		out[i] = marketdata.Quote{Symbol: "X", Price: p, Currency: "USD", Time: t0, Provider: string(rune('a' + i))}
	}
	return out
}

func TestConsensus(t *testing.T) {
	opts := marketdata.ConsensusOptions{Now: t0, MaxAge: time.Hour, OutlierThreshold: 0.02}
	tests := []struct {
		name      string
		quotes    []marketdata.Quote
		price     float64
		spread    float64
		outliers  int
		stale     bool
		conf      marketdata.Confidence
		wantError error
	}{
		{"one", qs(10), 10, 0, 0, false, marketdata.ConfidenceSingle, nil},
		{"two agreeing: median", qs(10, 10.1), 10.05, 0.1, 0, false, marketdata.ConfidenceHigh, nil},
		{"two disagreeing: never averaged", qs(10, 12), 10, 2, 1, false, marketdata.ConfidenceLow, nil},
		{"odd median", qs(10, 10.1, 9.9), 10, 0.2, 0, false, marketdata.ConfidenceHigh, nil},
		{"outlier counted in the spread", qs(10, 10.1, 9.9, 15), 10, 5.1, 1, false, marketdata.ConfidenceMajority, nil},
		{"no majority", qs(100, 105, 110.25), 105, 10.25, 2, false, marketdata.ConfidenceLow, nil},
		{"two against two", qs(10, 10.1, 20, 20.2), 10.05, 10.2, 2, false, marketdata.ConfidenceLow, nil},
		{"zero price ignored", qs(0, 10, 10.1, 9.9), 10, 0.2, 0, false, marketdata.ConfidenceHigh, nil},
		{"nothing usable", qs(0, math.Inf(1), math.NaN()), 0, 0, 0, false, "", marketdata.ErrNoQuote},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := marketdata.Consensus("X", tt.quotes, opts)
			if tt.wantError != nil {
				require.ErrorIs(t, err, tt.wantError)
				return
			}
			require.NoError(t, err)
			assert.InDelta(t, tt.price, m.Price, 1e-12)
			assert.InDelta(t, tt.spread, m.Spread, 1e-12)
			assert.Equal(t, tt.outliers, m.Outliers)
			assert.Equal(t, tt.stale, m.Stale)
			assert.Equal(t, tt.conf, m.Confidence)
		})
	}

	old := qs(10, 20, 30)
	old[2].Time = t0.Add(-2 * time.Hour)
	m, err := marketdata.Consensus("X", old, opts)
	require.NoError(t, err)
	assert.Equal(t, 10.0, m.Price, "stale quote left out; 10 and 20 disagree: not averaged")
	assert.Equal(t, marketdata.ConfidenceLow, m.Confidence)
	assert.True(t, m.Sources[2].Stale)
	assert.False(t, m.Sources[2].Used)

	for i := range old {
		old[i].Time = t0.Add(-2 * time.Hour)
	}
	m, err = marketdata.Consensus("X", old, opts)
	require.NoError(t, err)
	assert.True(t, m.Stale, "all stale: median of stale quotes, flagged")
	assert.Equal(t, 20.0, m.Price)

	mixed := qs(10, 10)
	mixed[1].Currency = "EUR"
	_, err = marketdata.Consensus("X", mixed, opts)
	require.Error(t, err)
	assert.Contains(t, m.Summary(), "stale")
}

// Property: the consensus lies between the smallest and largest price, the
// spread is non-negative and at most max−min, and a permutation of the
// sources changes nothing.
func TestConsensusProperties(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for range 500 {
		n := 1 + rng.IntN(9)
		prices := make([]float64, n)
		for i := range prices {
			prices[i] = 100 * math.Exp(rng.NormFloat64()*0.05)
		}
		opts := marketdata.ConsensusOptions{OutlierThreshold: 0.03}
		m, err := marketdata.Consensus("X", qs(prices...), opts)
		require.NoError(t, err)
		lo, hi := slices.Min(prices), slices.Max(prices)
		assert.True(t, m.Price >= lo && m.Price <= hi)
		assert.True(t, m.Spread >= 0 && m.Spread <= hi-lo+1e-9)
		rng.Shuffle(n, func(i, j int) { prices[i], prices[j] = prices[j], prices[i] })
		m2, err := marketdata.Consensus("X", qs(prices...), opts)
		require.NoError(t, err)
		assert.InDelta(t, m.Price, m2.Price, 1e-12)
		assert.Equal(t, m.Outliers, m2.Outliers)
	}
}
