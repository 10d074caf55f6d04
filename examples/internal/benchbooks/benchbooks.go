// Package benchbooks generates the large books the dashboard's benchmarks
// use (loadbench's 1,000-transaction user, the first-request benchmark):
// a transaction a day over some years in the demo's broker and crypto
// accounts, priced at the simulator's daily closes.
package benchbooks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

// CSV generates n transactions, one a day over the years before now,
// in the demo's broker (USD stocks) and crypto accounts, priced at the
// simulator's daily closes (the history the dashboard values them with):
// two opening deposits, then buys, sells of what earlier rows bought,
// dividends on holdings and monthly-ish deposits. It is the same file for
// the same n and now.
func CSV(ctx context.Context, n int, years int, now time.Time) ([]byte, error) {
	if n < 2 {
		return nil, errors.New("at least 2 transactions")
	}
	start := now.AddDate(-years, 0, 1).Truncate(24 * time.Hour)
	src, err := sim.New(sim.Default("sim-history"))
	if err != nil {
		return nil, err
	}
	stocks := []string{"AAPL", "MSFT", "NVDA", "SPY"}
	coins := []string{"BTC-USD", "ETH-USD"}
	bars := map[string][]marketdata.Bar{}
	for _, sym := range append(append([]string{}, stocks...), coins...) {
		h, err := src.History(ctx, sym, marketdata.HistoryRequest{Start: start.AddDate(0, 0, -7), End: now, Interval: marketdata.Daily})
		if err != nil {
			return nil, fmt.Errorf("history %s: %w", sym, err)
		}
		if len(h.Bars) == 0 {
			return nil, fmt.Errorf("no history for %s", sym)
		}
		bars[sym] = h.Bars
	}
	closeAt := func(sym string, t time.Time) float64 {
		b := bars[sym]
		i := sort.Search(len(b), func(i int) bool { return b[i].Time.After(t) })
		return b[max(i-1, 0)].Close
	}
	var out bytes.Buffer
	out.WriteString("date,account,kind,symbol,quantity,price,fee,tax,currency,fx_rate,amount,note\n")
	row := func(t time.Time, acct, kind, sym, qty, price, fee, amount string, i int) {
		fmt.Fprintf(&out, "%s,%s,%s,%s,%s,%s,%s,,,,%s,bench %d\n", t.Format(time.DateOnly), acct, kind, sym, qty, price, fee, amount, i)
	}
	row(start, "broker", "deposit", "", "", "", "", "3000000", 0)
	row(start, "crypto", "deposit", "", "", "", "", "200000", 1)
	held := map[string]int{} // shares, or thousandths of a coin
	r := rand.New(rand.NewPCG(1, 2))
	days := int(now.Sub(start).Hours() / 24)
	for i := 2; i < n; i++ {
		t := start.AddDate(0, 0, i*days/n)
		sym := stocks[r.IntN(len(stocks))]
		price := fmt.Sprintf("%.2f", closeAt(sym, t))
		switch x := r.Float64(); {
		case x < 0.20 && held[sym] > 0: // sell part of a holding
			q := 1 + r.IntN(held[sym])
			held[sym] -= q
			row(t, "broker", "sell", sym, fmt.Sprint(q), price, "1", "", i)
		case x < 0.28 && held[sym] > 0:
			row(t, "broker", "dividend", sym, fmt.Sprint(held[sym]), "0.25", "", "", i)
		case x < 0.38: // a coin
			coin := coins[r.IntN(len(coins))]
			cp := fmt.Sprintf("%.2f", closeAt(coin, t))
			if held[coin] > 0 && r.IntN(3) == 0 {
				q := 1 + r.IntN(held[coin])
				held[coin] -= q
				row(t, "crypto", "sell", coin, fmt.Sprintf("%.3f", float64(q)/1000), cp, "1", "", i)
				continue
			}
			q := 1 + r.IntN(20)
			held[coin] += q
			row(t, "crypto", "buy", coin, fmt.Sprintf("%.3f", float64(q)/1000), cp, "1", "", i)
		case x < 0.43:
			row(t, "broker", "deposit", "", "", "", "", "1000", i)
		default:
			q := 1 + r.IntN(10)
			held[sym] += q
			row(t, "broker", "buy", sym, fmt.Sprint(q), price, "1", "", i)
		}
	}
	return out.Bytes(), nil
}
