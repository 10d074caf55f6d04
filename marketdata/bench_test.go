package marketdata_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/marketdata/stooq"
)

// BenchmarkAnalyze10Y runs Analyze over ten years of daily bars.
func BenchmarkAnalyze10Y(b *testing.B) {
	p, err := sim.New(sim.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	end := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	h, err := p.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: end.AddDate(-10, 0, 0), End: end})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	cpu0 := cpuTime()
	for b.Loop() {
		if _, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{RiskFree: 0.03}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/op")
	b.ReportMetric(float64(len(h.Bars)), "bars")
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/float64(len(h.Bars)), "ns/bar")
}

func benchSymbols(n int) []string {
	syms := make([]string, n)
	for i := range syms {
		syms[i] = fmt.Sprintf("S%03d", i)
	}
	return syms
}

// slowStooq is an httptest server speaking Stooq's batch quote CSV that
// answers every request after delay, with a row for every asked symbol.
func slowStooq(b *testing.B, delay time.Duration) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(delay)
		var sb strings.Builder
		sb.WriteString("Symbol,Date,Time,Open,High,Low,Close,Volume\r\n")
		for i, s := range strings.Fields(r.URL.Query().Get("s")) {
			fmt.Fprintf(&sb, "%s,2026-03-02,16:00:00,100,102,99,%d.25,1000\r\n", strings.ToUpper(s), 100+i%7)
		}
		w.Write([]byte(sb.String()))
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkAggregatorFanOut: 6 providers × 200 symbols, each provider an
// httptest server answering after 50 ms. Every iteration fetches the same
// request concurrently and sequentially and reports both wall times and the
// speed-up.
func BenchmarkAggregatorFanOut(b *testing.B) {
	const nProv, nSym, delay = 6, 200, 50 * time.Millisecond
	syms := benchSymbols(nSym)
	provs := make([]marketdata.Provider, nProv)
	for i := range provs {
		srv := slowStooq(b, delay)
		c, err := stooq.New(stooq.Options{Name: fmt.Sprintf("stooq%d", i), BaseURL: srv.URL})
		if err != nil {
			b.Fatal(err)
		}
		provs[i] = c
	}
	mk := func(conc int) *marketdata.Aggregator {
		a, err := marketdata.New(marketdata.Options{Providers: provs, CacheTTL: -1, Concurrency: conc, BatchSize: nSym, MaxAge: -1,
			BreakerFailures: -1, Timeout: 30 * time.Second, ProviderTimeout: 10 * time.Second})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { _ = a.Close() })
		return a
	}
	conc, seq := mk(16), mk(1)
	ctx := context.Background()
	run := func(a *marketdata.Aggregator) time.Duration {
		start := time.Now()
		res, err := a.Quotes(ctx, syms)
		if err != nil {
			b.Fatal(err)
		}
		if len(res.Quotes) != nSym || len(res.Errors) != 0 || len(res.Quotes[0].Sources) != nProv {
			b.Fatalf("incomplete result: %d quotes, %d errors", len(res.Quotes), len(res.Errors))
		}
		return time.Since(start)
	}
	var tc, ts time.Duration
	for b.Loop() {
		tc += run(conc)
		ts += run(seq)
	}
	n := float64(b.N)
	b.ReportMetric(float64(tc.Milliseconds())/n, "concurrent-ms")
	b.ReportMetric(float64(ts.Milliseconds())/n, "sequential-ms")
	b.ReportMetric(float64(ts)/float64(tc), "speedup")
	b.ReportMetric(float64(tc)/n/float64(delay), "concurrent/latency")
}

// staticProvider answers from a precomputed map, so the benchmark measures
// the aggregator (fan-out, merge, consensus) and not a data source.
type staticProvider struct {
	name   string
	quotes map[string]marketdata.Quote
}

func (s *staticProvider) Name() string { return s.name }
func (s *staticProvider) Quote(_ context.Context, sym string) (marketdata.Quote, error) {
	return s.quotes[sym], nil
}
func (s *staticProvider) Quotes(_ context.Context, _ []string) (map[string]marketdata.Quote, error) {
	return s.quotes, nil
}

// BenchmarkAggregatorOverhead: cost per merged source quote with no network
// (6 in-memory providers × 200 symbols, cache off).
func BenchmarkAggregatorOverhead(b *testing.B) {
	const nProv, nSym = 6, 200
	syms := benchSymbols(nSym)
	now := time.Now()
	provs := make([]marketdata.Provider, nProv)
	for i := range provs {
		m := make(map[string]marketdata.Quote, nSym)
		for j, s := range syms {
			m[s] = marketdata.Quote{Symbol: s, Price: 100 + float64(j) + float64(i)*0.01, Currency: "USD", Time: now, Provider: fmt.Sprintf("p%d", i)}
		}
		provs[i] = &staticProvider{name: fmt.Sprintf("p%d", i), quotes: m}
	}
	a, err := marketdata.New(marketdata.Options{Providers: provs, CacheTTL: -1, BatchSize: nSym})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	b.ReportAllocs()
	cpu0 := cpuTime()
	for b.Loop() {
		res, err := a.Quotes(ctx, syms)
		if err != nil || len(res.Quotes) != nSym {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/(nProv*nSym), "ns/quote")
	b.ReportMetric(float64((cpuTime()-cpu0).Nanoseconds())/float64(b.N)/(nProv*nSym), "cpu-ns/quote")
}

// BenchmarkCachedQuote: warm-cache look-ups from parallel goroutines.
func BenchmarkCachedQuote(b *testing.B) {
	p, err := sim.New(sim.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	syms := []string{"AAPL", "MSFT", "EQNR.OL", "BTC-USD", "EURUSD=X"}
	if _, err := a.Quotes(ctx, syms); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			if _, err := a.Quote(ctx, syms[i%len(syms)]); err != nil {
				b.Error(err)
				return
			}
			i++
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "lookups/s")
}

// BenchmarkCachedQuotes: one warm-cache Quotes call for the dashboard's
// ten default symbols, what /api/quotes pays per request.
func BenchmarkCachedQuotes(b *testing.B) {
	p, err := sim.New(sim.Options{Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	a, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	ctx := context.Background()
	syms := []string{"AAPL", "MSFT", "NVDA", "SPY", "EQNR.OL", "SAP.DE", "HSBA.L", "BTC-USD", "ETH-USD", "EURUSD=X"}
	if _, err := a.Quotes(ctx, syms); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		res, err := a.Quotes(ctx, syms)
		if err != nil || len(res.Quotes) != len(syms) {
			b.Fatal(err, res)
		}
	}
}
