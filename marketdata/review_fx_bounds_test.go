package marketdata_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

// fixedRate answers every pair with one rate, stamped t0.
type fixedRate struct {
	name string
	rate float64
}

func (f fixedRate) Name() string { return f.name }
func (f fixedRate) Rate(_ context.Context, from, to string) (marketdata.Rate, error) {
	return marketdata.Rate{From: from, To: to, Rate: f.rate, Time: t0, Provider: f.name}, nil
}

// A price at the top of the plausible range (1e12 GBp is 1e10 GBP) times a
// rate at the top of its range (1e9) is 1e19: refused as a source, never
// an infinity, a panic or a "plausible" 1e12 clamp; the honest majority
// stays the price.
func TestReviewFXConversionAtTheBounds(t *testing.T) {
	ctx := context.Background()
	for _, c := range []struct {
		price, rate float64
	}{{1e10, 1e9}, {1e12, 1e9}, {1e-12, 1e-9}, {5e-11, 1e-9}} {
		a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
			&countingProvider{name: "usd1", price: 244.87}, &countingProvider{name: "gbp", price: c.price, cur: "GBP"},
			&countingProvider{name: "usd2", price: 244.90}},
			RateProviders: []marketdata.RateProvider{fixedRate{"r", c.rate}}})
		m, err := a.Quote(ctx, "AAPL")
		require.NoError(t, err)
		_, jerr := json.Marshal(m)
		require.NoError(t, jerr)
		assert.Equal(t, "USD", m.Currency)
		assert.InDelta(t, 244.885, m.Price, 1e-9)
		for _, s := range m.Sources {
			if s.Provider == "gbp" {
				assert.NotEmpty(t, s.Error, "%g GBP × %g", c.price, c.rate)
				assert.False(t, s.Used)
			}
		}
		p, _, err := a.Price(ctx, "AAPL")
		require.NoError(t, err)
		assert.Equal(t, "244.885", p.String())
	}
}
