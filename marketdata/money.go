package marketdata

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/shopspring/decimal"
)

// SignificantDigits is how many significant digits a float64 price or rate
// keeps when it becomes a decimal (ToDecimal). Ten digits hold every digit
// a market quotes, from a coin at 1e-9 to Bitcoin in rials, plus the one
// a median of two quotes adds, and drop the binary noise a float64 carries
// past the 15th (189.92 is 189.919999999999987… as a float64).
const SignificantDigits = 10

// ToDecimal is the one place where a float64 from market data becomes
// money: f rounded to SignificantDigits significant digits (half to even on
// the float's exact binary value), so 189.92 is 189.92 and a median of
// 100.01 and 100.02 is 100.015. Aggregator.Price and Rate, BestGuess and
// HistoryPrices return it. NaN and ±Inf are ErrBadData, never a panic.
func ToDecimal(f float64) (decimal.Decimal, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return decimal.Decimal{}, fmt.Errorf("%w: %v is not a finite number", ErrBadData, f)
	}
	d, err := decimal.NewFromString(strconv.FormatFloat(f, 'g', SignificantDigits, 64))
	if err != nil { // cannot happen for a finite float
		return decimal.Decimal{}, fmt.Errorf("%w: %v: %w", ErrBadData, f, err)
	}
	return d, nil
}

// toDecimal is ToDecimal for a consensus: it refuses anything implausible
// (valid is ValidPrice or ValidRate) with ErrNoQuote.
func toDecimal(what string, f float64, valid func(float64) bool) (decimal.Decimal, error) {
	if !valid(f) {
		return decimal.Decimal{}, fmt.Errorf("%w for %s: value %g outside the plausible range", ErrNoQuote, what, f)
	}
	return ToDecimal(f)
}

// HistoryPrices answers prices and exchange rates at past times from daily
// bar histories, for valuations over time: it satisfies
// portfolio.PriceHistory (marketdata does not import portfolio). A symbol's
// price at t is the close of the last bar at or before t, the first bar's
// close when t is earlier than every bar; a rate from→to is the close of
// the pair's bars (FXSymbol); both become decimals through ToDecimal. Each
// series is fetched once, from a week before From, and kept for the
// value's life: make one per valuation (or per request), not one per
// process.
type HistoryPrices struct {
	src  HistoryProvider
	from time.Time

	mu     sync.Mutex
	series map[string]History
}

// NewHistoryPrices returns prices from src's daily bars since from (an
// Aggregator or any HistoryProvider).
func NewHistoryPrices(src HistoryProvider, from time.Time) *HistoryPrices {
	return &HistoryPrices{src: src, from: from, series: map[string]History{}}
}

func (h *HistoryPrices) get(ctx context.Context, symbol string) (History, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if s, ok := h.series[symbol]; ok {
		return s, nil
	}
	s, err := h.src.History(ctx, symbol, HistoryRequest{Start: h.from.AddDate(0, 0, -7), Interval: Daily})
	if err != nil {
		return s, err
	}
	if len(s.Bars) == 0 {
		return s, fmt.Errorf("%w: no history for %s", ErrNoQuote, symbol)
	}
	h.series[symbol] = s
	return s, nil
}

// closeAt is the close of the last bar at or before t (the first bar when
// t is earlier).
func closeAt(bars []Bar, t time.Time) float64 {
	i := sort.Search(len(bars), func(i int) bool { return bars[i].Time.After(t) })
	return bars[max(i-1, 0)].Close
}

// PriceAt returns symbol's price and currency at t (portfolio.PriceHistory).
func (h *HistoryPrices) PriceAt(ctx context.Context, symbol string, t time.Time) (decimal.Decimal, string, error) {
	s, err := h.get(ctx, symbol)
	if err != nil {
		return decimal.Decimal{}, "", err
	}
	d, err := toDecimal(symbol, closeAt(s.Bars, t), ValidPrice)
	return d, s.Currency, err
}

// RateAt returns the price of one unit of from in to at t
// (portfolio.PriceHistory); 1 when they are the same.
func (h *HistoryPrices) RateAt(ctx context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	s, err := h.get(ctx, FXSymbol(from, to))
	if err != nil {
		return decimal.Decimal{}, err
	}
	return toDecimal(FXSymbol(from, to), closeAt(s.Bars, t), ValidRate)
}
