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
	prices map[string][]mark
	rates  map[string][]mark // "FROM/TO"
}

type mark struct {
	t   time.Time
	v   decimal.Decimal
	ccy string
}

func newTestHistory() *testHistory {
	return &testHistory{prices: map[string][]mark{}, rates: map[string][]mark{}}
}

// price marks symbol at v ccy from the start of date on.
func (h *testHistory) price(symbol, date, v, ccy string) *testHistory {
	h.prices[symbol] = insertMark(h.prices[symbol], mark{day(date), d(v), ccy})
	return h
}

// rate marks the pair ("EUR/USD") at v from the start of date on.
func (h *testHistory) rate(pair, date, v string) *testHistory {
	h.rates[pair] = insertMark(h.rates[pair], mark{day(date), d(v), ""})
	return h
}

func insertMark(ms []mark, m mark) []mark {
	i, _ := slices.BinarySearchFunc(ms, m.t, func(x mark, t time.Time) int { return x.t.Compare(t) })
	return slices.Insert(ms, i, m)
}

func at(ms []mark, t time.Time) (mark, bool) {
	if len(ms) == 0 {
		return mark{}, false
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
	m, ok := at(h.prices[symbol], t)
	if !ok {
		return decimal.Decimal{}, "", fmt.Errorf("%w: %s", ErrNoPrice, symbol)
	}
	return m.v, m.ccy, nil
}

func (h *testHistory) RateAt(_ context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	if from == to {
		return decimal.NewFromInt(1), nil
	}
	if m, ok := at(h.rates[from+"/"+to], t); ok {
		return m.v, nil
	}
	if m, ok := at(h.rates[to+"/"+from], t); ok {
		return decimal.NewFromInt(1).DivRound(m.v, 16), nil
	}
	return decimal.Decimal{}, fmt.Errorf("%w: %s/%s", ErrNoPrice, from, to)
}
