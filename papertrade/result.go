package papertrade

import (
	"fmt"
	"math"
	"time"
)

// Result is a finished backtest.
type Result struct {
	// Strategy names the strategy (with parameters when it is a Stringer).
	Strategy string `json:"strategy"`
	// Cash is the starting cash.
	Cash float64 `json:"cash"`
	// StartTime is the first bar's time.
	StartTime time.Time `json:"start_time"`
	// Equity is the account value at each bar's close.
	Equity []float64 `json:"equity"`
	// Drawdown is the fall from the running equity peak at each bar, as a
	// fraction (0.25 = 25% below the peak).
	Drawdown []float64 `json:"drawdown"`
	// Trades are the closed trades in closing order, then the trades still
	// open at the end (Open set, marked at the last close): with
	// Options.KeepOpen, or in Compat mode when the last bar's orders opened
	// one as backtesting.py's finalize step filled them. Open trades are
	// not in the trade statistics.
	Trades []Trade `json:"trades"`
	// Fills are every execution, in order.
	Fills []Fill `json:"fills"`
	// FirstBar is the first bar Strategy.Next saw (after indicator warm-up).
	FirstBar int `json:"first_bar"`
	// RejectedOrders counts orders cancelled for lack of funds.
	RejectedOrders int `json:"rejected_orders"`
	// Stats are the performance statistics.
	Stats Stats `json:"stats"`
}

// Summary implements portfolio.Reportable.
func (r *Result) Summary() string {
	s := r.Stats
	return fmt.Sprintf("%s: return %.2f%% (buy & hold %.2f%%), %d trades, win rate %.1f%%, max drawdown %.2f%%, Sharpe %.2f",
		r.Strategy, s.ReturnPct, s.BuyHoldReturnPct, s.NumTrades, nanZero(s.WinRatePct), s.MaxDrawdownPct, nanZero(s.SharpeRatio))
}

func nanZero(x float64) float64 {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return 0
	}
	return x
}

func strategyName(s Strategy) string {
	if st, ok := s.(fmt.Stringer); ok {
		return st.String()
	}
	return fmt.Sprintf("%T", s)
}

func (e *engine) result(s Strategy) *Result {
	start := e.start
	n := len(e.bars)
	dd := make([]float64, n)
	trades := e.closed
	// Trades still open: with KeepOpen, or entered by the orders
	// backtesting.py's finalize step fills on the last bar (Compat).
	if len(e.trades) > 0 {
		last := e.bars[n-1]
		for _, t := range e.trades {
			gross := t.size * (last.Close - t.entryPrice)
			trades = append(trades, Trade{
				Size: t.size, EntryBar: t.entryBar, ExitBar: -1,
				EntryTime: e.bars[t.entryBar].Time, EntryPrice: t.entryPrice, ExitPrice: last.Close,
				PnL: gross - t.entryFee, Commission: t.entryFee,
				ReturnPct: math.Copysign(1, t.size)*(last.Close/t.entryPrice-1) - t.entryFee/(math.Abs(t.size)*t.entryPrice),
				Duration:  last.Time.Sub(e.bars[t.entryBar].Time), Tag: t.tag, Open: true,
			})
		}
	}
	var closed []Trade
	for _, t := range trades {
		if !t.Open {
			closed = append(closed, t)
		}
	}
	res := &Result{
		Strategy:       strategyName(s),
		Cash:           e.opts.Cash,
		StartTime:      firstTime(e.bars),
		Equity:         e.equity,
		Drawdown:       dd,
		Trades:         trades,
		Fills:          e.fills,
		FirstBar:       start,
		RejectedOrders: e.rejected,
	}
	res.Stats = computeStats(e.bars, e.equity, closed, StatsOptions{
		WarmupBars:   start - 1,
		RiskFreeRate: e.opts.RiskFreeRate,
		Version:      e.opts.statsVersion(),
	}, dd)
	return res
}
