package marketdata_test

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/alphavantage"
	"github.com/finkit/finkit/marketdata/coingecko"
	"github.com/finkit/finkit/marketdata/ecb"
	"github.com/finkit/finkit/marketdata/finnhub"
	"github.com/finkit/finkit/marketdata/frankfurter"
	"github.com/finkit/finkit/marketdata/internal/hostile"
	"github.com/finkit/finkit/marketdata/norgesbank"
	"github.com/finkit/finkit/marketdata/stooq"
	"github.com/finkit/finkit/marketdata/yahoo"
)

// recorded is one provider with a recorded answer and a symbol it prices
// from that answer.
type recorded struct {
	name   string
	body   []byte
	symbol string
	build  func(t *testing.T, url string) marketdata.Provider
}

func must[P marketdata.Provider](t *testing.T) func(P, error) marketdata.Provider {
	return func(p P, err error) marketdata.Provider {
		t.Helper()
		require.NoError(t, err)
		return p
	}
}

// frankfurterUSDEUR is the recorded /1999-01-04?base=USD&symbols=EUR answer.
func frankfurterUSDEUR(t *testing.T) []byte {
	docs, err := os.ReadFile(filepath.Join("frankfurter", "testdata", "frankfurter-v1-docs-examples.txt"))
	require.NoError(t, err)
	for _, line := range strings.Split(string(docs), "\n") {
		if strings.Contains(line, "1999-01-04?base=USD&symbols=EUR */") {
			return []byte(strings.TrimSpace(line[strings.Index(line, "*/")+2:]))
		}
	}
	t.Fatal("no USD/EUR example")
	return nil
}

// nbRows keeps the header and the EUR and USD rows of the given dates of a
// Norges Bank recording (the whole file has thousands of numbers).
func nbRows(body []byte, dates ...string) []byte {
	lines := strings.Split(string(body), "\n")
	out := lines[:1]
	for _, l := range lines[1:] {
		for _, d := range dates {
			if (strings.Contains(l, ",EUR,NOK,") || strings.Contains(l, ",USD,NOK,")) && strings.Contains(l, d) {
				out = append(out, l)
			}
		}
	}
	return []byte(strings.Join(out, "\n") + "\n")
}

// allRecorded lists the eight real providers over their recordings.
func allRecorded(t *testing.T) []recorded {
	return []recorded{
		{"yahoo", fixture(t, "yahoo", "testdata", "yahoo-chart-AAPL-daily.fixture.json"), "AAPL", func(t *testing.T, u string) marketdata.Provider {
			return must[*yahoo.Client](t)(yahoo.New(yahoo.Options{BaseURL: u, NoCrumb: true}))
		}},
		{"stooq", fixture(t, "stooq", "testdata", "stooq-quote-aapl.us.csv"), "AAPL", func(t *testing.T, u string) marketdata.Provider {
			return must[*stooq.Client](t)(stooq.New(stooq.Options{BaseURL: u}))
		}},
		{"ecb", fixture(t, "ecb", "testdata", "ecb-eurofxref-daily.xml"), "EURUSD=X", func(t *testing.T, u string) marketdata.Provider {
			return must[*ecb.Client](t)(ecb.New(ecb.Options{BaseURL: u}))
		}},
		{"frankfurter", frankfurterUSDEUR(t), "USDEUR=X", func(t *testing.T, u string) marketdata.Provider {
			return must[*frankfurter.Client](t)(frankfurter.New(frankfurter.Options{BaseURL: u}))
		}},
		{"coingecko", fixture(t, "coingecko", "testdata", "coingecko-simple-price-docs-example.json"), "BTC-USD", func(t *testing.T, u string) marketdata.Provider {
			return must[*coingecko.Client](t)(coingecko.New(coingecko.Options{BaseURL: u, APIKey: "cg-secret"}))
		}},
		{"alphavantage", fixture(t, "alphavantage", "testdata", "alphavantage-global-quote-MSFT.json"), "MSFT", func(t *testing.T, u string) marketdata.Provider {
			return must[*alphavantage.Client](t)(alphavantage.New(alphavantage.Options{BaseURL: u, APIKey: "av-secret"}))
		}},
		{"finnhub", fixture(t, "finnhub", "testdata", "finnhub-quote-FHFX-EUR-USD.json"), "EURUSD=X", func(t *testing.T, u string) marketdata.Provider {
			return must[*finnhub.Client](t)(finnhub.New(finnhub.Options{BaseURL: u, APIKey: "fh-secret"}))
		}},
		{"norgesbank", nbRows(fixture(t, "norgesbank", "testdata", "norgesbank-exr-csvdata.body.csv"), "2026-03-23", "2026-03-24"), "EURUSD=X", func(t *testing.T, u string) marketdata.Provider {
			return must[*norgesbank.Client](t)(norgesbank.New(norgesbank.Options{BaseURL: u}))
		}},
	}
}

// Every numeric literal of every provider's recording, replaced by every
// hostile number: the provider answers an error or a plausible, encodable
// quote, and Price through the Aggregator answers an error or a plausible
// decimal. Nothing panics.
func TestHostileNumbersOnEveryProvider(t *testing.T) {
	ctx := context.Background()
	for _, rc := range allRecorded(t) {
		t.Run(rc.name, func(t *testing.T) {
			srv := hostile.Serve(t, rc.body)
			p := rc.build(t, srv.URL)
			a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1, BreakerFailures: -1,
				MaxAge: -1, Now: time.Now})
			q, err := p.Quote(ctx, rc.symbol)
			require.NoError(t, err, "the recording itself is valid")
			require.Greater(t, q.Price, 0.0)
			valid := marketdata.ValidPrice
			if strings.HasSuffix(rc.symbol, "=X") {
				valid = marketdata.ValidRate
			}
			n := 0
			for _, lit := range hostile.Floats {
				for _, v := range hostile.EachNumber(rc.body, lit) {
					srv.SetBody(v)
					n++
					q, err := p.Quote(ctx, rc.symbol)
					if err == nil {
						assert.True(t, valid(q.Price), "%s: price %g from %s", rc.name, q.Price, v)
						_, jerr := json.Marshal(q)
						assert.NoError(t, jerr)
					}
					price, _, err := a.Price(ctx, rc.symbol)
					if err == nil {
						f, _ := price.Float64()
						assert.True(t, valid(f), "%s: Price %s", rc.name, price)
					}
				}
			}
			assert.Positive(t, n)
		})
	}
}

// Medium 4: a redirect to another host carries no API key there — neither
// in headers nor in a Referer — and the call fails.
func TestHostileRedirectDoesNotLeakKeys(t *testing.T) {
	ctx := context.Background()
	for _, rc := range allRecorded(t) {
		t.Run(rc.name, func(t *testing.T) {
			thief := hostile.Serve(t, rc.body)
			front := hostile.Serve(t, rc.body, hostile.RedirectTo(thief.URL))
			p := rc.build(t, front.URL)
			_, err := p.Quote(ctx, rc.symbol)
			require.Error(t, err)
			assert.ErrorIs(t, err, marketdata.ErrUnavailable)
			assert.NotEmpty(t, front.Requests())
			assert.Empty(t, thief.Requests(), "followed a redirect to another host")
			for _, r := range thief.Requests() {
				for _, secret := range []string{"cg-secret", "av-secret", "fh-secret"} {
					assert.NotContains(t, r.Header.Get("Referer"), secret)
					assert.NotContains(t, r.URL.RawQuery, secret)
					for k := range r.Header {
						assert.NotContains(t, r.Header.Get(k), secret, k)
					}
				}
			}
		})
	}
}

// A redirect within the same host still works (and drops the Referer).
func TestSameHostRedirectIsFollowed(t *testing.T) {
	body := fixture(t, "finnhub", "testdata", "finnhub-quote-FHFX-EUR-USD.json")
	var refs []string
	srv := hostile.Serve(t, body)
	mux := http.NewServeMux()
	mux.HandleFunc("/old/", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/new/"+strings.TrimPrefix(r.URL.RequestURI(), "/old/"), http.StatusMovedPermanently)
	})
	mux.HandleFunc("/new/", func(w http.ResponseWriter, r *http.Request) {
		refs = append(refs, r.Header.Get("Referer"))
		assert.Equal(t, "fh-secret", r.Header.Get("X-Finnhub-Token"))
		w.Write(body)
	})
	srv.Config.Handler = mux
	p, err := finnhub.New(finnhub.Options{BaseURL: srv.URL + "/old", APIKey: "fh-secret"})
	require.NoError(t, err)
	q, err := p.Quote(context.Background(), "EURUSD=X")
	require.NoError(t, err)
	assert.InDelta(t, 1.15894, q.Price, 1e-12)
	assert.Equal(t, []string{""}, refs)
}

// High 3 at the providers: Finnhub t=0 and CoinGecko without
// last_updated_at are undated (stale to the Aggregator); a Finnhub time in
// the year 5107 is refused.
func TestHostileProviderTimes(t *testing.T) {
	ctx := context.Background()
	fh := fixture(t, "finnhub", "testdata", "finnhub-quote-FHFX-EUR-USD.json")
	srv := hostile.Serve(t, fh, hostile.Replace(`"t":1636322400`, `"t":0`))
	p, err := finnhub.New(finnhub.Options{BaseURL: srv.URL, APIKey: "k"})
	require.NoError(t, err)
	q, err := p.Quote(ctx, "EURUSD=X")
	require.NoError(t, err)
	assert.True(t, q.Time.IsZero())
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, Now: time.Now})
	_, _, err = a.Price(ctx, "EURUSD=X")
	lc := requireLowConfidence(t, err)
	assert.True(t, lc.Merged.Sources[0].Undated)

	srv.SetBody([]byte(strings.Replace(string(fh), `"t":1636322400`, `"t":99999999999`, 1)))
	_, err = p.Quote(ctx, "EURUSD=X")
	require.ErrorIs(t, err, marketdata.ErrBadResponse)

	cg := fixture(t, "coingecko", "testdata", "coingecko-simple-price-docs-example.json")
	cgs := hostile.Serve(t, cg, hostile.ReplaceRegexp(`,\s*"last_updated_at": \d+`, ``))
	c, err := coingecko.New(coingecko.Options{BaseURL: cgs.URL})
	require.NoError(t, err)
	q, err = c.Quote(ctx, "BTC-USD")
	require.NoError(t, err)
	assert.True(t, q.Time.IsZero())
	b := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{c}, Now: time.Now})
	_, _, err = b.Price(ctx, "BTC-USD")
	requireLowConfidence(t, err)
}

// Low 15: Retry-After beyond time.Duration, or just huge, is capped.
func TestHostileRetryAfterIsCapped(t *testing.T) {
	body := fixture(t, "coingecko", "testdata", "coingecko-simple-price-429.json")
	for _, v := range []string{"999999", "99999999999999999999", "9223372037", "Fri, 31 Dec 9999 23:59:59 GMT"} {
		srv := hostile.Serve(t, body, hostile.Status(http.StatusTooManyRequests), hostile.Header("Retry-After", v))
		c, err := coingecko.New(coingecko.Options{BaseURL: srv.URL})
		require.NoError(t, err)
		_, err = c.Quote(context.Background(), "BTC-USD")
		require.ErrorIs(t, err, marketdata.ErrRateLimited)
		assert.Equal(t, marketdata.MaxRetryAfter, marketdata.RetryAfter(err), v)
	}
	// And the breaker never waits longer, whatever a provider claims.
	now := t0
	clock := func() time.Time { return now }
	p := &countingProvider{name: "p", err: &marketdata.Error{Provider: "p", Kind: marketdata.ErrRateLimited, RetryAfter: 280 * time.Hour}}
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1, Now: clock})
	_, err := a.Quote(context.Background(), "AAPL")
	require.Error(t, err)
	now = now.Add(marketdata.MaxRetryAfter + time.Second)
	p.err, p.price = nil, 10
	_, err = a.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.Equal(t, int64(2), p.calls.Load())
}

// Low 9: an answer for another symbol is refused (unless it is a known
// rename).
func TestHostileAnswerForAnotherSymbol(t *testing.T) {
	ctx := context.Background()
	yb := fixture(t, "yahoo", "testdata", "yahoo-chart-AAPL-daily.fixture.json")
	ys := hostile.Serve(t, yb, hostile.Replace(`"symbol": "AAPL"`, `"symbol": "MSFT"`))
	y, err := yahoo.New(yahoo.Options{BaseURL: ys.URL, NoCrumb: true})
	require.NoError(t, err)
	_, err = y.Quote(ctx, "AAPL")
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	_, err = y.History(ctx, "AAPL", marketdata.HistoryRequest{})
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	renamed, err := yahoo.New(yahoo.Options{BaseURL: ys.URL, NoCrumb: true, Aliases: map[string]string{"aapl": "MSFT"}})
	require.NoError(t, err)
	_, err = renamed.Quote(ctx, "AAPL")
	require.NoError(t, err, "a known rename passes")

	ab := fixture(t, "alphavantage", "testdata", "alphavantage-global-quote-MSFT.json")
	as := hostile.Serve(t, ab)
	av, err := alphavantage.New(alphavantage.Options{BaseURL: as.URL, APIKey: "k"})
	require.NoError(t, err)
	_, err = av.Quote(ctx, "AAPL") // the server answers with MSFT's quote
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	_, err = av.Quote(ctx, "MSFT")
	require.NoError(t, err)
}

// Low 11: a Norges Bank cross rate is as old as its older leg.
func TestHostileNorgesBankCrossDate(t *testing.T) {
	body := nbRows(fixture(t, "norgesbank", "testdata", "norgesbank-exr-csvdata.body.csv"), "2026-03-24")
	body = []byte(strings.Replace(string(body), "B,EUR,NOK,SP,4,false,0,C,2026-03-24,", "B,EUR,NOK,SP,4,false,0,C,2020-03-24,", 1))
	srv := hostile.Serve(t, body)
	nb, err := norgesbank.New(norgesbank.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	r, err := nb.Rate(context.Background(), "EUR", "USD")
	require.NoError(t, err)
	assert.Equal(t, 2020, r.Time.Year(), "stamped %s", r.Time)
	q, err := nb.Quote(context.Background(), "USDEUR=X")
	require.NoError(t, err)
	assert.Equal(t, 2020, q.Time.Year())
}

// Low 12: Stooq rows that disagree for one symbol are not resolved silently,
// and AAPL asked together with AAPL.US is priced for both.
func TestHostileStooqDuplicateRows(t *testing.T) {
	ctx := context.Background()
	body := fixture(t, "stooq", "testdata", "stooq-quote-aapl.us.csv")
	two := strings.TrimRight(string(body), "\r\n") + "\r\nAAPL.US,2020-05-06,22:00:01,300.46,303.24,298.87,3006.30,35583438\n"
	srv := hostile.Serve(t, []byte(two))
	s, err := stooq.New(stooq.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	got, err := s.Quotes(ctx, []string{"AAPL"})
	require.NoError(t, err)
	assert.Empty(t, got, "two different rows for AAPL.US: ambiguous")

	srv.SetBody(body)
	got, err = s.Quotes(ctx, []string{"AAPL", "AAPL.US"})
	require.NoError(t, err)
	require.Len(t, got, 2)
	assert.Equal(t, 300.63, got["AAPL"].Price)
	assert.Equal(t, 300.63, got["AAPL.US"].Price)
}

// Medium 6: two named mirrors of one upstream (Stooq under two names)
// count once, so they cannot outvote an independent source.
func TestHostileMirrorsCountOnce(t *testing.T) {
	now := time.Date(2020, 5, 7, 12, 0, 0, 0, time.UTC)
	body := fixture(t, "stooq", "testdata", "stooq-quote-aapl.us.csv")
	liar := []byte(strings.Replace(string(body), "300.63", "601.26", 1))
	var provs []marketdata.Provider
	for _, name := range []string{"stooq", "stooq-mirror"} {
		srv := hostile.Serve(t, liar)
		s, err := stooq.New(stooq.Options{Name: name, BaseURL: srv.URL})
		require.NoError(t, err)
		provs = append(provs, s)
	}
	provs = append(provs, &countingProvider{name: "honest", price: 300.63, at: now.Add(-time.Hour)})
	a := newAgg(t, marketdata.Options{Providers: provs, Now: func() time.Time { return now }})
	m, err := a.Quote(context.Background(), "AAPL")
	require.NoError(t, err)
	assert.Equal(t, 2, m.Independent, m.Summary())
	assert.True(t, m.Sources[1].Duplicate)
	assert.Equal(t, marketdata.ConfidenceLow, m.Confidence)
	_, _, err = a.Price(context.Background(), "AAPL")
	requireLowConfidence(t, err)
}
