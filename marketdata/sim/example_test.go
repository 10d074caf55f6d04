package sim_test

import (
	"context"
	"fmt"
	"time"

	"github.com/finkit/finkit/marketdata/sim"
)

// The simulated provider is deterministic for a seed and a clock: the same
// readings give the same prices, so it can stand in for real sources in
// demos and tests.
func Example() {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	p, err := sim.New(sim.Options{Seed: 42, Now: func() time.Time { return now }})
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
	// Output:
	// AAPL     USD 346.85
	// EQNR.OL  NOK 286.60
	// BTC-USD  USD 43256.85
	// true
}
