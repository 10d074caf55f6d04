package marketdata_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// TestQuotesDedupOrderAndMissing: Quotes answers each symbol once, however
// it is spelled, in the order of its first mention, priced ones in Quotes
// and unpriced ones in Missing; the same on a cold and a warm cache, and
// for short lists (scanned) and long ones (over 64 symbols, a map).
func TestQuotesDedupOrderAndMissing(t *testing.T) {
	p, err := sim.New(sim.Options{Seed: 1})
	require.NoError(t, err)
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: time.Hour})
	require.NoError(t, err)
	defer a.Close()
	ctx := context.Background()

	short := []string{"aapl", "MSFT", "ZZZQ1", "AAPL", " msft ", "BTC-USD", "zzzq1", "EURUSD=X"}
	long := append([]string{}, short...)
	var wantMissingLong []string
	for i := range 70 {
		s := fmt.Sprintf("ZZZL%d", i)
		long = append(long, s, "aapl", s)
		wantMissingLong = append(wantMissingLong, s)
	}
	for _, tc := range []struct {
		name        string
		in          []string
		wantMissing []string
	}{
		{"short", short, []string{"ZZZQ1"}},
		{"long", long, append([]string{"ZZZQ1"}, wantMissingLong...)},
	} {
		for _, pass := range []string{"cold", "warm"} {
			t.Run(tc.name+"/"+pass, func(t *testing.T) {
				res, err := a.Quotes(ctx, tc.in)
				require.NoError(t, err)
				var got []string
				for _, m := range res.Quotes {
					got = append(got, m.Symbol)
				}
				assert.Equal(t, []string{"AAPL", "MSFT", "BTC-USD", "EURUSD=X"}, got)
				assert.Equal(t, tc.wantMissing, res.Missing)
			})
		}
	}
}
