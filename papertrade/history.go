package papertrade

import (
	"fmt"

	"github.com/finkit/finkit/marketdata"
	"github.com/shopspring/decimal"
)

// FromHistory converts a marketdata history into bars for a backtest. The
// last bar is dropped when it is still trading (History.Live). With adjusted
// true, each bar's open, high, low and close are scaled by AdjClose/Close,
// so splits and dividends do not show up as price jumps. The result is
// validated (ValidateBars). It is the one conversion from marketdata bars:
// apps use it rather than copying fields, so that a still-trading bar never
// enters a backtest and a bad bar is an error.
func FromHistory(h marketdata.History, adjusted bool) ([]Bar, error) {
	src := h.Bars
	if h.Live && len(src) > 0 {
		src = src[:len(src)-1]
	}
	bars := make([]Bar, len(src))
	for i, b := range src {
		if adjusted && b.AdjClose > 0 && b.Close > 0 {
			k := b.AdjClose / b.Close
			b.Open, b.High, b.Low, b.Close = b.Open*k, b.High*k, b.Low*k, b.Close*k
			b.AdjClose = b.Close
		}
		bars[i] = b
	}
	if err := ValidateBars(bars); err != nil {
		return nil, fmt.Errorf("%s history: %w", h.Symbol, err)
	}
	return bars, nil
}

// Holdings replays the fills in exact decimal arithmetic and returns the
// cash and the net position (units) at the end of the backtest: the money
// view of the float64 engine, as a ledger would book it before rounding.
func (r *Result) Holdings() (cash, position decimal.Decimal) {
	cash = toDecimal(r.Cash)
	for _, f := range r.Fills {
		q := toDecimal(f.Quantity)
		cash = cash.Sub(q.Mul(toDecimal(f.Price))).Sub(toDecimal(f.Fee))
		position = position.Add(q)
	}
	return cash, position
}
