package marketdata_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// Three simulated sources, asked at once and merged per symbol.
func ExampleAggregator() {
	now := func() time.Time { return time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) }
	var provs []marketdata.Provider
	for _, name := range []string{"sim-a", "sim-b", "sim-c"} {
		p, err := sim.New(sim.Options{Name: name, Seed: 1, Noise: 0.001, Now: now})
		if err != nil {
			panic(err)
		}
		provs = append(provs, p)
	}
	agg, err := marketdata.New(marketdata.Options{Providers: provs, Now: now})
	if err != nil {
		panic(err)
	}
	defer agg.Close()

	res, err := agg.Quotes(context.Background(), []string{"AAPL", "EQNR.OL", "BTC-USD"})
	if err != nil {
		panic(err)
	}
	for _, m := range res.Quotes {
		fmt.Printf("%s in %s from %d sources, spread under 1%%: %v\n", m.Symbol, m.Currency, len(m.Sources), m.SpreadPct < 1)
	}
	// Output:
	// AAPL in USD from 3 sources, spread under 1%: true
	// EQNR.OL in NOK from 3 sources, spread under 1%: true
	// BTC-USD in USD from 3 sources, spread under 1%: true
}

// "How much did it go up or down?" over a few daily bars.
func ExampleAnalyze() {
	csv := `Date,Open,High,Low,Close,Volume
2024-01-02,100,101,99,100,1000
2024-01-03,100,106,100,105,1000
2024-01-04,105,105,98,99,1000
2024-01-05,99,103,99,102,1000
2024-01-08,102,111,102,110,1000`
	bars, err := marketdata.ReadBarsCSV(strings.NewReader(csv))
	if err != nil {
		panic(err)
	}
	s, err := marketdata.Analyze(bars, marketdata.StatsOptions{})
	if err != nil {
		panic(err)
	}
	fmt.Printf("last %.2f, %+.2f%% on the day, %+.2f%% over the series\n", s.LastClose, s.ChangePct, s.Periods[marketdata.PeriodMax].ChangePct)
	fmt.Printf("%d up / %d down days, longest up streak %d\n", s.UpDays, s.DownDays, s.LongestUp)
	fmt.Printf("max drawdown %.2f%% from %s to %s\n", s.MaxDrawdown*100, s.DrawdownPeak.Format("Jan 2"), s.DrawdownLow.Format("Jan 2"))
	// Output:
	// last 110.00, +7.84% on the day, +10.00% over the series
	// 3 up / 1 down days, longest up streak 2
	// max drawdown 5.71% from Jan 3 to Jan 4
}

// A live feed for a dashboard: one update per symbol per round, on a
// bounded channel that drops the oldest update when the reader falls behind.
func ExampleAggregator_Watch() {
	p, err := sim.New(sim.Options{Seed: 7})
	if err != nil {
		panic(err)
	}
	agg, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{p}, CacheTTL: -1})
	if err != nil {
		panic(err)
	}
	defer agg.Close() // stops the stream and waits for its goroutine

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	updates, err := agg.Watch(ctx, []string{"EQNR.OL", "EURNOK=X"}, time.Second)
	if err != nil {
		panic(err)
	}
	for range 2 { // the first round
		u := <-updates
		fmt.Println(u.Symbol, u.Quote.Currency, u.Err == nil)
	}
	// Output:
	// EQNR.OL NOK true
	// EURNOK=X NOK true
}

// Two sources 50 % apart: the consensus is not trusted, so Price refuses it
// with the merged detail; BestGuess takes the newest quote anyway.
func ExampleLowConfidenceError() {
	now := func() time.Time { return time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC) }
	honest, err := sim.New(sim.Options{Name: "honest", Seed: 1, Now: now})
	if err != nil {
		panic(err)
	}
	broken, err := sim.New(sim.Options{Name: "broken", Seed: 1, Bias: 0.5, Now: now})
	if err != nil {
		panic(err)
	}
	agg, err := marketdata.New(marketdata.Options{Providers: []marketdata.Provider{honest, broken}, Now: now})
	if err != nil {
		panic(err)
	}
	defer agg.Close()

	ctx := context.Background()
	_, _, err = agg.Price(ctx, "AAPL")
	var lc *marketdata.LowConfidenceError
	if errors.As(err, &lc) {
		m := lc.Merged
		fmt.Printf("%v: %s confidence, %d of %d sources agree, spread %.0f%%\n",
			errors.Is(err, marketdata.ErrLowConfidence), m.Confidence, m.Agreeing, m.Independent, m.SpreadPct)
	}
	guess, cur, err := agg.BestGuess().Price(ctx, "AAPL")
	fmt.Println(err == nil, guess.IsPositive(), cur)
	// Output:
	// true: low confidence, 1 of 2 sources agree, spread 50%
	// true true USD
}
