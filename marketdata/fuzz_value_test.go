package marketdata_test

import (
	"context"
	"math"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/alphavantage"
	"github.com/finkit/finkit/marketdata/ecb"
	"github.com/finkit/finkit/marketdata/finnhub"
	"github.com/finkit/finkit/marketdata/frankfurter"
	"github.com/finkit/finkit/marketdata/internal/hostile"
	"github.com/finkit/finkit/marketdata/yahoo"
	"github.com/finkit/finkit/portfolio"
)

// num renders a float the way a hostile JSON or XML answer would carry it
// (NaN and ±Inf come out as the bare words, invalid JSON but fine strings).
func num(f float64) string { return strconv.FormatFloat(f, 'g', -1, 64) }

// FuzzProviderJSONToLedgerValue feeds arbitrary float bit patterns, as the
// numbers of real provider answers (three quote providers, two rate
// providers), through the Aggregator into portfolio.Ledger.Value. Nothing
// may panic; a valuation that succeeds has a finite total made of
// plausible prices and rates.
func FuzzProviderJSONToLedgerValue(f *testing.F) {
	honest := []uint64{math.Float64bits(244.87), math.Float64bits(244.90), math.Float64bits(244.85), math.Float64bits(1.0436), math.Float64bits(0.9582)}
	f.Add(honest[0], honest[1], honest[2], honest[3], honest[4], int64(1739998801))
	f.Add(math.Float64bits(1.7e308), math.Float64bits(1.7e308), math.Float64bits(1.7e308), honest[3], honest[4], int64(0))
	f.Add(math.Float64bits(math.Inf(1)), math.Float64bits(math.NaN()), honest[2], math.Float64bits(1e-320), math.Float64bits(5e-324), int64(-1))
	f.Add(honest[0], math.Float64bits(24487), honest[2], math.Float64bits(108.36), honest[4], int64(99999999999))
	f.Add(uint64(0), uint64(1), ^uint64(0), uint64(0x7ff0000000000001), uint64(0x8000000000000000), int64(math.MaxInt64))

	fh := hostile.Serve(f, nil)
	av := hostile.Serve(f, nil)
	yb := hostile.Body(f, filepath.Join("yahoo", "testdata", "yahoo-chart-AAPL-daily.fixture.json"))
	yh := hostile.Serve(f, nil)
	ff := hostile.Serve(f, nil)
	ecbBody := hostile.Body(f, filepath.Join("ecb", "testdata", "ecb-eurofxref-daily.xml"))
	eb := hostile.Serve(f, nil)

	fhc, err := finnhub.New(finnhub.Options{BaseURL: fh.URL, APIKey: "k"})
	if err != nil {
		f.Fatal(err)
	}
	avc, err := alphavantage.New(alphavantage.Options{BaseURL: av.URL, APIKey: "k"})
	if err != nil {
		f.Fatal(err)
	}
	yc, err := yahoo.New(yahoo.Options{BaseURL: yh.URL, NoCrumb: true})
	if err != nil {
		f.Fatal(err)
	}
	ffc, err := frankfurter.New(frankfurter.Options{BaseURL: ff.URL})
	if err != nil {
		f.Fatal(err)
	}
	ec, err := ecb.New(ecb.Options{BaseURL: eb.URL})
	if err != nil {
		f.Fatal(err)
	}
	a, err := marketdata.New(marketdata.Options{
		Providers:     []marketdata.Provider{fhc, avc, yc},
		RateProviders: []marketdata.RateProvider{ffc, ec},
		CacheTTL:      -1, BreakerFailures: -1, MaxAge: -1,
	})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = a.Close() })
	ctx := context.Background()

	f.Fuzz(func(t *testing.T, p1, p2, p3, r1, r2 uint64, ts int64) {
		x1, x2, x3 := math.Float64frombits(p1), math.Float64frombits(p2), math.Float64frombits(p3)
		y1, y2 := math.Float64frombits(r1), math.Float64frombits(r2)
		fh.SetBody([]byte(`{"c":` + num(x1) + `,"d":0,"dp":0,"h":` + num(x1) + `,"l":` + num(x1) + `,"o":` + num(x1) + `,"pc":` + num(x1) + `,"t":` + strconv.FormatInt(ts, 10) + `}`))
		av.SetBody([]byte(`{"Global Quote":{"01. symbol":"AAPL","02. open":"1","03. high":"1","04. low":"1","05. price":"` + num(x2) +
			`","06. volume":"1","07. latest trading day":"2025-02-19","08. previous close":"` + num(x2) + `"}}`))
		yh.SetBody([]byte(strings.Replace(string(yb), `"regularMarketPrice": 244.87`, `"regularMarketPrice": `+num(x3), 1)))
		ff.SetBody([]byte(`{"amount":1.0,"base":"USD","date":"2025-02-19","rates":{"EUR":` + num(y1) + `}}`))
		eb.SetBody([]byte(strings.Replace(string(ecbBody), `currency='USD' rate='1.1831'`, `currency='USD' rate='`+num(y2)+`'`, 1)))

		price, _, err := a.Price(ctx, "AAPL")
		if err == nil {
			if pf, _ := price.Float64(); !marketdata.ValidPrice(pf) {
				t.Fatalf("implausible price %s", price)
			}
		}
		rate, err := a.Rate(ctx, "USD", "EUR")
		if err == nil {
			if rf, _ := rate.Float64(); !marketdata.ValidRate(rf) {
				t.Fatalf("implausible rate %s", rate)
			}
		}
		for _, src := range []struct {
			p portfolio.PriceSource
			r portfolio.RateSource
		}{{a, a}, {a.BestGuess(), a.BestGuess()}} {
			l, err := portfolio.NewLedger(portfolio.Account{ID: "b", Name: "Broker", Kind: portfolio.KindBrokerage, Currency: "USD"})
			if err != nil {
				t.Fatal(err)
			}
			at := time.Date(2025, 1, 2, 15, 0, 0, 0, time.UTC)
			if err := l.Apply(
				portfolio.Transaction{ID: "1", Account: "b", Kind: portfolio.TxDeposit, Time: at, Amount: decimal.NewFromInt(10000)},
				portfolio.Transaction{ID: "2", Account: "b", Kind: portfolio.TxBuy, Time: at, Symbol: "AAPL", Quantity: decimal.NewFromInt(41), Price: decimal.NewFromInt(240)},
			); err != nil {
				t.Fatal(err)
			}
			v, err := l.Value(ctx, "EUR", src.p, src.r)
			if err != nil {
				if p1 == honest[0] && p2 == honest[1] && p3 == honest[2] && r1 == honest[3] && r2 == honest[4] {
					t.Fatalf("honest answers, no valuation: %v", err)
				}
				continue
			}
			if tf, _ := v.Total.Float64(); math.IsInf(tf, 0) || math.IsNaN(tf) || !(tf > 0) {
				t.Fatalf("total %s", v.Total)
			}
		}
	})
}
