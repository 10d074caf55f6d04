package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// The simulated market is deterministic: the same seed gives the same
// price at the same instant in every provider, so it can stand in for
// real sources in demos and tests. Default is the market the finkit
// dashboard and command line share.
func Example() {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	o := sim.Default("sim")
	o.Now = func() time.Time { return now }
	p, err := sim.New(o)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, sym := range []string{"AAPL", "EQNR.OL", "BTC-USD"} {
		q, err := p.Quote(context.Background(), sym)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("%-8s %s %.2f\n", q.Symbol, q.Currency, q.Price)
	}
	_, err = p.Quote(context.Background(), "NOPE")
	fmt.Println(err != nil)

	// A day's close is one number, in every history that contains the day.
	h, err := p.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: sim.DefaultStart()})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("%s close %.2f\n", h.Bars[0].Time.Format(time.DateOnly), h.Bars[0].Close)
	// Output:
	// AAPL     USD 242.20
	// EQNR.OL  NOK 191.19
	// BTC-USD  USD 52211.46
	// true
	// 2025-01-02 close 243.85
}
