package sim_test

import (
	"context"
	"testing"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// Two years of daily bars, as the dashboard's valuation over time asks for
// each holding.
func BenchmarkHistory(b *testing.B) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	o := sim.Default("")
	o.Now = func() time.Time { return now }
	p, err := sim.New(o)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := p.History(context.Background(), "AAPL", marketdata.HistoryRequest{Start: sim.DefaultStart()}); err != nil {
			b.Fatal(err)
		}
	}
}

// A quote at a new instant each time: the intraday bridge's 17 draws.
func BenchmarkQuote(b *testing.B) {
	t := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	o := sim.Default("")
	o.Now = func() time.Time { return t }
	p, err := sim.New(o)
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		t = t.Add(time.Second)
		if _, err := p.Quote(context.Background(), "AAPL"); err != nil {
			b.Fatal(err)
		}
	}
}
