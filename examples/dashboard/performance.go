package main

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

// simHistory is a portfolio.PriceHistory over the simulator's daily bars:
// a symbol's price at t is the close of the last bar on or before t, a rate
// the close of the currency pair's bar. Series are fetched once per value
// (one per request) and kept in memory.
type simHistory struct {
	src  marketdata.HistoryProvider
	from time.Time

	mu     sync.Mutex
	series map[string]marketdata.History
}

func newSimHistory(src marketdata.HistoryProvider, from time.Time) *simHistory {
	return &simHistory{src: src, from: from, series: map[string]marketdata.History{}}
}

func (h *simHistory) get(ctx context.Context, symbol string) (marketdata.History, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.series[symbol]; ok {
		return s, nil
	}
	s, err := h.src.History(ctx, symbol, marketdata.HistoryRequest{Start: h.from.AddDate(0, 0, -7), Interval: marketdata.Daily})
	if err != nil {
		return s, err
	}
	if len(s.Bars) == 0 {
		return s, fmt.Errorf("%w: no history for %s", portfolio.ErrNoPrice, symbol)
	}
	h.series[symbol] = s
	return s, nil
}

// closeAt returns the close of the last bar at or before t (the first bar
// when t is earlier).
func closeAt(bars []marketdata.Bar, t time.Time) float64 {
	i := sort.Search(len(bars), func(i int) bool { return bars[i].Time.After(t) })
	if i == 0 {
		return bars[0].Close
	}
	return bars[i-1].Close
}

// PriceAt implements portfolio.PriceHistory.
func (h *simHistory) PriceAt(ctx context.Context, symbol string, t time.Time) (decimal.Decimal, string, error) {
	s, err := h.get(ctx, symbol)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	return decimal.NewFromFloat(closeAt(s.Bars, t)).Round(4), s.Currency, nil
}

// RateAt implements portfolio.PriceHistory.
func (h *simHistory) RateAt(ctx context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	s, err := h.get(ctx, marketdata.FXSymbol(from, to))
	if err != nil {
		return decimal.Decimal{}, err
	}
	return decimal.NewFromFloat(closeAt(s.Bars, t)).Round(6), nil
}

// performance measures the ledger's time- and money-weighted returns since
// inception against simulated daily history. Errors are shown, not fatal.
func (a *app) performance(ctx context.Context, ledger *portfolio.Ledger, base string) (*portfolio.Performance, error) {
	txs := ledger.Transactions()
	if len(txs) == 0 {
		return nil, portfolio.ErrNotEnoughData
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return ledger.Performance(ctx, portfolio.PerformanceOptions{
		Base:    base,
		History: newSimHistory(a.history0, txs[0].Time),
		To:      time.Now().UTC(),
	})
}
