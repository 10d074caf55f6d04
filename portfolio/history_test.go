package portfolio

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/shopspring/decimal"
)

// testHistory is a PriceHistory from explicit daily marks: the latest mark
// at or before t (the first mark before any); rates are looked up as
// given or inverted.
type testHistory struct {
	prices map[string][]histMark
	rates  map[string][]histMark // "FROM/TO"
}

type histMark struct {
	t   time.Time
	v   decimal.Decimal
	ccy string
}

func newTestHistory() *testHistory {
	return &testHistory{prices: map[string][]histMark{}, rates: map[string][]histMark{}}
}

// price marks symbol at v ccy from the start of date on.
func (h *testHistory) price(symbol, date, v, ccy string) *testHistory {
	h.prices[symbol] = insertMark(h.prices[symbol], histMark{day(date), d(v), ccy})
	return h
}

// rate marks the pair ("EUR/USD") at v from the start of date on.
func (h *testHistory) rate(pair, date, v string) *testHistory {
	h.rates[pair] = insertMark(h.rates[pair], histMark{day(date), d(v), ""})
	return h
}

func insertMark(ms []histMark, m histMark) []histMark {
	i, _ := slices.BinarySearchFunc(ms, m.t, func(x histMark, t time.Time) int { return x.t.Compare(t) })
	return slices.Insert(ms, i, m)
}

func markAt(ms []histMark, t time.Time) (histMark, bool) {
	if len(ms) == 0 {
		return histMark{}, false
	}
	best := ms[0]
	for _, m := range ms {
		if m.t.After(t) {
			break
		}
		best = m
	}
	return best, true
}

func (h *testHistory) PriceAt(_ context.Context, symbol string, t time.Time) (decimal.Decimal, string, error) {
	m, ok := markAt(h.prices[symbol], t)
	if !ok {
		return decimal.Decimal{}, "", fmt.Errorf("%w: %s", ErrNoPrice, symbol)
	}
	return m.v, m.ccy, nil
}

func (h *testHistory) RateAt(_ context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	if m, ok := markAt(h.rates[from+"/"+to], t); ok {
		return m.v, nil
	}
	if m, ok := markAt(h.rates[to+"/"+from], t); ok {
		return decimal.NewFromInt(1).DivRound(m.v, 16), nil
	}
	return decimal.Decimal{}, fmt.Errorf("%w: %s/%s", ErrNoPrice, from, to)
}
