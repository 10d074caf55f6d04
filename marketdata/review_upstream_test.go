package marketdata_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/ecb"
	"github.com/finkit/finkit/marketdata/frankfurter"
	"github.com/finkit/finkit/marketdata/internal/hostile"
	"github.com/finkit/finkit/marketdata/norgesbank"
)

// Frankfurter serves the ECB reference rates: the two are one upstream and
// cannot outvote Norges Bank. A wrong ECB publication (here 2× the USD→EUR
// rate, repeated by Frankfurter) against an honest Norges Bank is a 1 : 1
// disagreement, never a trusted "2 of 3" majority.
func TestReviewFrankfurterAndECBCountOnce(t *testing.T) {
	ctx := context.Background()
	ecbBody := fixture(t, "ecb", "testdata", "ecb-eurofxref-daily.xml")
	nbBody := fixture(t, "norgesbank", "testdata", "norgesbank-exr-csvdata.body.csv")
	// Norges Bank on 2026-03-24: USD 9.7049 NOK, EUR 11.2305 NOK → USD→EUR 0.86416.
	build := func(t *testing.T, usdPerEUR, usdEUR string) *marketdata.Aggregator {
		es := hostile.Serve(t, ecbBody, hostile.Replace(`currency='USD' rate='1.1831'`, `currency='USD' rate='`+usdPerEUR+`'`))
		e, err := ecb.New(ecb.Options{BaseURL: es.URL})
		require.NoError(t, err)
		fs := hostile.Serve(t, []byte(`{"amount":1.0,"base":"USD","date":"2026-03-24","rates":{"EUR":`+usdEUR+`}}`))
		f, err := frankfurter.New(frankfurter.Options{BaseURL: fs.URL})
		require.NoError(t, err)
		ns := hostile.Serve(t, nbBody)
		n, err := norgesbank.New(norgesbank.Options{BaseURL: ns.URL})
		require.NoError(t, err)
		return newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{e, f, n}, MaxAge: -1, Now: afterRecordings})
	}

	t.Run("one upstream alone is a single source", func(t *testing.T) {
		es := hostile.Serve(t, ecbBody)
		e, err := ecb.New(ecb.Options{BaseURL: es.URL})
		require.NoError(t, err)
		fs := hostile.Serve(t, []byte(`{"amount":1.0,"base":"USD","date":"2026-03-24","rates":{"EUR":0.84523}}`))
		f, err := frankfurter.New(frankfurter.Options{BaseURL: fs.URL})
		require.NoError(t, err)
		a := newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{e, f}, MaxAge: -1, Now: afterRecordings})
		m, err := a.FXQuote(ctx, "USD", "EUR")
		require.NoError(t, err)
		assert.Equal(t, 1, m.Independent)
		assert.Equal(t, marketdata.ConfidenceSingle, m.Confidence)
	})
	t.Run("ECB and Frankfurter lying together", func(t *testing.T) {
		a := build(t, "0.5786", "1.7283")
		_, err := a.Rate(ctx, "USD", "EUR")
		lc := requireLowConfidence(t, err)
		assert.Equal(t, 2, lc.Merged.Independent)
	})
	t.Run("all honest", func(t *testing.T) {
		a := build(t, "1.1572", "0.86416")
		r, err := a.Rate(ctx, "USD", "EUR")
		require.NoError(t, err)
		rf, _ := r.Float64()
		assert.InDelta(t, 0.86416, rf, 1e-3)
	})
}
