package marketdata_test

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

func TestNewRejectsNilRateAndHistoryProviders(t *testing.T) {
	p, err := sim.New(sim.Options{Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	_, err = marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, RateProviders: []marketdata.RateProvider{nil}})
	assert.ErrorContains(t, err, "nil rate provider")
	_, err = marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, HistoryProviders: []marketdata.HistoryProvider{nil}})
	assert.ErrorContains(t, err, "nil history provider")
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}})
	assert.NoError(t, err, "sim is found as rate and history provider too")
	if a != nil {
		a.Close()
	}
}
