package marketdata_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/ecb"
	"github.com/finkit/finkit/marketdata/frankfurter"
	"github.com/finkit/finkit/marketdata/internal/hostile"
	"github.com/finkit/finkit/marketdata/norgesbank"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/portfolio"
)

// ledgerWith returns a ledger holding 41 AAPL (USD) in a USD account.
func ledgerWith(t *testing.T) *portfolio.Ledger {
	t.Helper()
	l, err := portfolio.NewLedger(portfolio.Account{ID: "b", Name: "Broker", Kind: portfolio.KindBrokerage, Currency: "USD"})
	require.NoError(t, err)
	at := t0.Add(-30 * 24 * time.Hour)
	require.NoError(t, l.Apply(
		portfolio.Transaction{ID: "1", Account: "b", Kind: portfolio.TxDeposit, Time: at, Amount: decimal.NewFromInt(10000)},
		portfolio.Transaction{ID: "2", Account: "b", Kind: portfolio.TxBuy, Time: at, Symbol: "AAPL", Quantity: decimal.NewFromInt(41), Price: decimal.NewFromInt(240)},
	))
	return l
}

// encodable fails unless v encodes as JSON (no infinity, no NaN, no year
// past 9999 anywhere in it).
func encodable(t *testing.T, v any) {
	t.Helper()
	_, err := json.Marshal(v)
	require.NoError(t, err)
}

// High 1: overflowing prices never reach decimal.NewFromFloat.
func TestHostileHugePricesDoNotPanic(t *testing.T) {
	ctx := context.Background()
	t.Run("two quotes of 1.7e308", func(t *testing.T) {
		a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
			&countingProvider{name: "p1", price: 1.7e308}, &countingProvider{name: "p2", price: 1.7e308}}})
		_, _, err := a.Price(ctx, "AAPL")
		require.ErrorIs(t, err, marketdata.ErrNoQuote)
		_, err = ledgerWith(t).Value(ctx, "USD", a, a)
		require.ErrorIs(t, err, portfolio.ErrNoPrice)
	})
	t.Run("1.5e308 GBP next to an honest USD quote", func(t *testing.T) {
		fx := newSim(t, sim.Options{Name: "fx", Seed: 1})
		a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
			&countingProvider{name: "gbp", price: 1.5e308, cur: "GBP"}, &countingProvider{name: "usd", price: 244.87}},
			RateProviders: []marketdata.RateProvider{fx}})
		p, cur, err := a.Price(ctx, "AAPL")
		require.NoError(t, err)
		assert.Equal(t, "244.87", p.String())
		assert.Equal(t, "USD", cur)
	})
	t.Run("one infinite source among three", func(t *testing.T) {
		a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
			&countingProvider{name: "p1", price: 100}, &countingProvider{name: "p2", price: 100.5}, &countingProvider{name: "inf", price: math.Inf(1)}}})
		m, err := a.Quote(ctx, "AAPL")
		require.NoError(t, err)
		assert.InDelta(t, 100.25, m.Price, 1e-9)
		encodable(t, m)
		p, _, err := a.Price(ctx, "AAPL")
		require.NoError(t, err)
		assert.Equal(t, "100.25", p.String())
	})
}

// fixture reads a provider's recorded response.
func fixture(t *testing.T, parts ...string) []byte {
	t.Helper()
	return hostile.Body(t, filepath.Join(parts...))
}

// afterRecordings is a clock later than every recorded fixture.
func afterRecordings() time.Time { return time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC) }

// High 1: rates that underflow or overflow a cross or a division are
// provider errors, and Rate and Ledger.Value fail instead of panicking.
func TestHostileRatesDoNotPanic(t *testing.T) {
	ctx := context.Background()
	ecbBody := fixture(t, "ecb", "testdata", "ecb-eurofxref-daily.xml")
	docs, err := os.ReadFile(filepath.Join("frankfurter", "testdata", "frankfurter-v1-docs-examples.txt"))
	require.NoError(t, err)
	var usdEUR string
	for _, line := range strings.Split(string(docs), "\n") {
		if strings.Contains(line, "1999-01-04?base=USD&symbols=EUR */") {
			usdEUR = strings.TrimSpace(line[strings.Index(line, "*/")+2:])
		}
	}
	require.NotEmpty(t, usdEUR)
	nbBody := fixture(t, "norgesbank", "testdata", "norgesbank-exr-csvdata.body.csv")

	cases := []struct {
		name     string
		prov     func(t *testing.T) marketdata.RateProvider
		from, to string
	}{
		{"ECB rate 1e-320", func(t *testing.T) marketdata.RateProvider {
			srv := hostile.Serve(t, ecbBody, hostile.ReplaceRegexp(`currency='USD' rate='[^']*'`, `currency='USD' rate='1e-320'`))
			p, err := ecb.New(ecb.Options{BaseURL: srv.URL})
			require.NoError(t, err)
			return p
		}, "USD", "NOK"},
		{"Frankfurter amount 1e-300", func(t *testing.T) marketdata.RateProvider {
			srv := hostile.Serve(t, []byte(usdEUR), hostile.Replace(`"base"`, `"amount": 1e-300, "base"`))
			p, err := frankfurter.New(frankfurter.Options{BaseURL: srv.URL})
			require.NoError(t, err)
			return p
		}, "USD", "EUR"},
		{"Norges Bank UNIT_MULT 9 with 1e-300", func(t *testing.T) marketdata.RateProvider {
			srv := hostile.Serve(t, nbBody, hostile.Replace("B,USD,NOK,SP,4,false,0,C,2026-03-24,9.7049", "B,USD,NOK,SP,4,false,9,C,2026-03-24,1e-300"))
			p, err := norgesbank.New(norgesbank.Options{BaseURL: srv.URL})
			require.NoError(t, err)
			return p
		}, "EUR", "USD"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := newAgg(t, marketdata.Options{RateProviders: []marketdata.RateProvider{c.prov(t)}, MaxAge: -1, Now: afterRecordings})
			_, err := a.Rate(ctx, c.from, c.to)
			require.Error(t, err)
			l, err := portfolio.NewLedger(portfolio.Account{ID: "c", Name: "Cash", Kind: portfolio.KindBank, Currency: c.from})
			require.NoError(t, err)
			require.NoError(t, l.Apply(portfolio.Transaction{ID: "1", Account: "c", Kind: portfolio.TxDeposit, Time: t0, Amount: decimal.NewFromInt(100)}))
			_, err = l.Value(ctx, c.to, nil, a)
			require.Error(t, err)
		})
	}
}

// High 2: two sources, one quoting cents, are never averaged: Price says
// the consensus is not trusted, and the portfolio is not valued at 13×.
func TestHostileTwoDisagreeingSourcesAreNotAveraged(t *testing.T) {
	ctx := context.Background()
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
		&countingProvider{name: "honest", price: 244.87},
		&countingProvider{name: "cents", price: 24487},
		&countingProvider{name: "down", err: marketdata.NewError("down", "", marketdata.ErrUnavailable, "HTTP 503")}}})
	_, _, err := a.Price(ctx, "AAPL")
	lc := requireLowConfidence(t, err)
	assert.Len(t, lc.Merged.Sources, 2)
	_, err = ledgerWith(t).Value(ctx, "USD", a, a)
	require.ErrorIs(t, err, portfolio.ErrNoPrice)
	requireLowConfidence(t, err)

	p, _, err := a.BestGuess().Price(ctx, "AAPL")
	require.NoError(t, err)
	assert.True(t, p.Equal(decimal.RequireFromString("244.87")) || p.Equal(decimal.NewFromInt(24487)), "a quoted price, not the mean: %s", p)
}

// High 3: quotes stamped in the future or not at all cannot outrank stale
// honest ones.
func TestHostileFutureAndUndatedQuotesAreNotFresh(t *testing.T) {
	ctx := context.Background()
	old := t0.Add(-100 * time.Hour)
	for _, liarAt := range []time.Time{t0.AddDate(1, 0, 0), {}} {
		liar := &countingProvider{name: "liar", price: 489.74, at: liarAt}
		if liarAt.IsZero() {
			liar = &countingProvider{name: "liar", price: 489.74}
			liar.undated = true
		}
		a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
			&countingProvider{name: "h1", price: 244.87, at: old}, &countingProvider{name: "h2", price: 244.87, at: old}, liar}})
		_, _, err := a.Price(ctx, "AAPL")
		lc := requireLowConfidence(t, err)
		assert.True(t, lc.Merged.Stale, "only stale data: %s", lc.Merged.Summary())
		assert.InDelta(t, 244.87, lc.Merged.Price, 1e-9, "the best guess is the honest majority")
		encodable(t, lc.Merged)
	}
}

// Medium 5: a six-year-old quote alone is not a price for valuation.
func TestHostileStaleQuoteIsNotAValuation(t *testing.T) {
	ctx := context.Background()
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{&countingProvider{name: "old", price: 244.87, at: t0.AddDate(-6, 0, 0)}}})
	_, _, err := a.Price(ctx, "AAPL")
	lc := requireLowConfidence(t, err)
	assert.True(t, lc.Merged.Stale)
	assert.Contains(t, err.Error(), "stale")
	_, err = ledgerWith(t).Value(ctx, "USD", a, a)
	require.ErrorIs(t, err, portfolio.ErrNoPrice)
}

// Medium 6: the spread covers every source, and no price is made up.
func TestHostileSpreadShowsDisagreement(t *testing.T) {
	ctx := context.Background()
	prov := func(prices ...float64) []marketdata.Provider {
		var out []marketdata.Provider
		for i, p := range prices {
			out = append(out, &countingProvider{name: string(rune('a' + i)), price: p})
		}
		return out
	}
	// 2 honest against 2 liars: no majority, and the price is one that
	// was quoted (not 306.10, the mean of the middle two).
	a := newAgg(t, marketdata.Options{Providers: prov(244.87, 244.90, 367.30, 367.35)})
	m, err := a.Quote(ctx, "AAPL")
	require.NoError(t, err)
	assert.Equal(t, marketdata.ConfidenceLow, m.Confidence)
	assert.True(t, m.Price < 245 || m.Price > 367, "price %v", m.Price)
	assert.InDelta(t, (367.35-244.87)/m.Price*100, m.SpreadPct, 1e-9)
	assert.False(t, m.Time.IsZero())
	_, _, err = a.Price(ctx, "AAPL")
	requireLowConfidence(t, err)

	// 1 honest + 2 colluding liars: the majority wins (nothing in the data
	// says otherwise), but the spread and the outlier show the dissent.
	b := newAgg(t, marketdata.Options{Providers: prov(244.87, 367.30, 367.30)})
	m, err = b.Quote(ctx, "AAPL")
	require.NoError(t, err)
	assert.Equal(t, marketdata.ConfidenceMajority, m.Confidence)
	assert.Equal(t, 1, m.Outliers)
	assert.Greater(t, m.SpreadPct, 33.0)
}

// Medium 7: a USD price labelled EUR does not decide the result by winning
// a currency tie.
func TestHostileMislabelledCurrency(t *testing.T) {
	fx := newSim(t, sim.Options{Name: "fx", Seed: 1})
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
		&countingProvider{name: "mislabelled", price: 235.44, cur: "EUR"}, &countingProvider{name: "honest", price: 235.44}},
		RateProviders: []marketdata.RateProvider{fx}})
	p, cur, err := a.Price(context.Background(), "AAPL")
	requireLowConfidence(t, err)
	assert.False(t, p.Equal(decimal.RequireFromString("235.44")) && cur == "EUR")
}

// Low 13: overlapping symbol lists in any order fetch each symbol once.
func TestOverlappingRequestsShareSymbols(t *testing.T) {
	p := &countingProvider{name: "count", price: 10, release: make(chan struct{})}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: time.Minute})
	var wg sync.WaitGroup
	for i := range 5 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprintf("X%d", i)
			list := []string{"AAPL", own}
			if i%2 == 1 {
				list = []string{own, "AAPL"}
			}
			res, err := a.Quotes(context.Background(), list)
			assert.NoError(t, err)
			assert.Len(t, res.Quotes, 2)
		}()
	}
	time.Sleep(50 * time.Millisecond)
	close(p.release)
	wg.Wait()
	assert.Equal(t, int64(6), p.calls.Load(), "AAPL once, plus one call per own symbol")
}
