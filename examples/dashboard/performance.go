package main

import (
	"context"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

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
		History: marketdata.NewHistoryPrices(a.history0, txs[0].Time),
		To:      time.Now().UTC(),
	})
}
