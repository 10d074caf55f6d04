package main

import (
	"errors"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/papertrade"
)

// /api/stats, /api/backtest and /api/montecarlo: the statistics and
// backtest pages' results as JSON, computed by the same functions.

// num is an analytics float for JSON: nil (null) when it is undefined
// (NaN or infinite: a profit factor without losing trades).
func num(f float64) *float64 {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	f = math.Round(f*1e6) / 1e6
	return &f
}

type apiStats struct {
	Symbol     string          `json:"symbol"`
	Currency   string          `json:"currency"`
	Provider   string          `json:"provider"`
	Bars       int             `json:"bars"`
	First      time.Time       `json:"first"`
	Last       time.Time       `json:"last"`
	LastClose  string          `json:"last_close"`
	PrevClose  string          `json:"prev_close"`
	ChangePct  *float64        `json:"change_pct"`
	Periods    []apiPeriod     `json:"periods"`
	UpDays     int             `json:"up_days"`
	DownDays   int             `json:"down_days"`
	UpPct      *float64        `json:"up_pct"`
	Volatility *float64        `json:"volatility_pct"` // annualized
	MaxDrawdn  *float64        `json:"max_drawdown_pct"`
	CAGR       *float64        `json:"cagr_pct"`
	Sharpe     *float64        `json:"sharpe"`
	RSI14      *float64        `json:"rsi14"`
	SMA50      *string         `json:"sma50"`
	SMA200     *string         `json:"sma200"`
	Histogram  []apiReturnsBin `json:"returns_histogram"`
	Summary    string          `json:"summary"`
}

type apiPeriod struct {
	Period    string   `json:"period"`
	OK        bool     `json:"ok"`
	From      string   `json:"from_close"`
	ChangePct *float64 `json:"change_pct"`
}

type apiReturnsBin struct {
	LoPct float64 `json:"lo_pct"`
	HiPct float64 `json:"hi_pct"`
	Count int     `json:"count"`
}

// apiStats is the statistics page of one symbol (GET /api/stats?symbol=).
func (a *app) apiStats(c *gin.Context) {
	sym := strings.ToUpper(strings.TrimSpace(c.DefaultQuery("symbol", defaultStatSym)))
	h, err := a.history(c, sym)
	switch {
	case errors.Is(err, marketdata.ErrNotFound) || errors.Is(err, marketdata.ErrInvalidSymbol):
		apiRefuse(c, http.StatusNotFound, "not_found", "There is no price history for "+sym+".")
		return
	case err != nil:
		a.log.WarnContext(c.Request.Context(), "history unavailable", "symbol", sym, "error", err)
		apiRefuse(c, http.StatusBadGateway, "unavailable", "The price history of "+sym+" is unavailable right now. Try again in a moment.")
		return
	}
	st, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{RiskFree: 0.03})
	if err != nil {
		apiRefuse(c, http.StatusUnprocessableEntity, "unprocessable", "There is not enough price history of "+sym+" for statistics.")
		return
	}
	out := apiStats{Symbol: sym, Currency: h.Currency, Provider: h.Provider, Bars: st.Bars, First: st.First, Last: st.Last,
		LastClose: decimalText(st.LastClose), PrevClose: decimalText(st.PrevClose), ChangePct: num(st.ChangePct),
		UpDays: st.UpDays, DownDays: st.DownDays, UpPct: num(st.UpPct), Volatility: num(st.Volatility * 100),
		MaxDrawdn: num(st.MaxDrawdown * 100), CAGR: num(st.CAGR * 100), Sharpe: num(st.Sharpe),
		Summary: st.Summary(), Periods: []apiPeriod{}, Histogram: []apiReturnsBin{}}
	for _, p := range st.Periods {
		ap := apiPeriod{Period: p.Period.String(), OK: p.OK}
		if p.OK {
			ap.From, ap.ChangePct = decimalText(p.FromClose), num(p.ChangePct)
		}
		out.Periods = append(out.Periods, ap)
	}
	closes := marketdata.Closes(nil, h.Bars, false)
	if r, err := marketdata.RSI(nil, closes, 14); err == nil && len(r) > 0 {
		out.RSI14 = num(r[len(r)-1])
	}
	out.SMA50, out.SMA200 = lastSMA(closes, 50), lastSMA(closes, 200)
	if rets, err := marketdata.Returns(nil, closes); err == nil {
		if hg, err := marketdata.ReturnHistogram(rets, 21); err == nil {
			for i, n := range hg.Counts {
				out.Histogram = append(out.Histogram, apiReturnsBin{LoPct: *num(hg.Edges[i] * 100), HiPct: *num(hg.Edges[i+1] * 100), Count: n})
			}
		}
	}
	c.JSON(http.StatusOK, out)
}

// lastSMA is the latest n-bar moving average as a price, nil when the
// series is shorter.
func lastSMA(closes []float64, n int) *string {
	s, err := marketdata.SMA(nil, closes, n)
	if err != nil || len(s) == 0 || math.IsNaN(s[len(s)-1]) {
		return nil
	}
	p := decimalText(s[len(s)-1])
	return &p
}

type apiBacktest struct {
	Symbol     string          `json:"symbol"`
	Strategy   string          `json:"strategy"`
	Currency   string          `json:"currency"`
	Cash       money           `json:"cash"`
	Bars       int             `json:"bars"`
	Start      time.Time       `json:"start"`
	End        time.Time       `json:"end"`
	Stats      apiBacktestStat `json:"stats"`
	Equity     []string        `json:"equity"` // the account value at each bar's close
	Trades     []apiTrade      `json:"trades"`
	ElapsedMS  float64         `json:"elapsed_ms"`
	MonteCarlo *apiMonteCarlo  `json:"monte_carlo,omitempty"`
}

type apiBacktestStat struct {
	ReturnPct           *float64 `json:"return_pct"`
	BuyHoldReturnPct    *float64 `json:"buy_hold_return_pct"`
	ReturnAnnPct        *float64 `json:"return_ann_pct"`
	CAGRPct             *float64 `json:"cagr_pct"`
	FinalEquity         money    `json:"final_equity"`
	PeakEquity          money    `json:"peak_equity"`
	Commissions         money    `json:"commissions"`
	VolatilityAnnPct    *float64 `json:"volatility_ann_pct"`
	Sharpe              *float64 `json:"sharpe"`
	Sortino             *float64 `json:"sortino"`
	Calmar              *float64 `json:"calmar"`
	MaxDrawdownPct      *float64 `json:"max_drawdown_pct"`
	MaxDrawdownDuration float64  `json:"max_drawdown_duration_ms"`
	ExposurePct         *float64 `json:"exposure_pct"`
	Trades              int      `json:"trades"`
	WinRatePct          *float64 `json:"win_rate_pct"`
	BestTradePct        *float64 `json:"best_trade_pct"`
	WorstTradePct       *float64 `json:"worst_trade_pct"`
	ProfitFactor        *float64 `json:"profit_factor"`
	SQN                 *float64 `json:"sqn"`
}

type apiTrade struct {
	Size       float64   `json:"size"` // units, negative for shorts
	EntryTime  time.Time `json:"entry_time"`
	ExitTime   time.Time `json:"exit_time"`
	EntryPrice string    `json:"entry_price"`
	ExitPrice  string    `json:"exit_price"`
	PnL        money     `json:"pnl"`
	ReturnPct  *float64  `json:"return_pct"`
	DurationMS float64   `json:"duration_ms"`
	Open       bool      `json:"open"`
}

type apiMonteCarlo struct {
	Paths        int           `json:"paths"`
	BarsPerPath  int           `json:"bars_per_path"`
	Seed         uint64        `json:"seed"`
	ReturnPct    apiDist       `json:"return_pct"`
	BuyHoldPct   apiDist       `json:"buy_hold_return_pct"`
	MaxDrawdown  apiDist       `json:"max_drawdown_pct"`
	ProbProfit   *float64      `json:"prob_profit"`
	ProbBeatBH   *float64      `json:"prob_beat_buy_hold"`
	RiskOfRuin   *float64      `json:"risk_of_ruin"`
	RuinLevel    *float64      `json:"ruin_level"`
	Histogram    []apiMCBin    `json:"histogram"`
	Verdict      string        `json:"verdict"`
	Definitions  mcDefinitions `json:"definitions"`
	ElapsedMSSim float64       `json:"elapsed_ms"`
}

type apiDist struct {
	Mean   *float64 `json:"mean"`
	Median *float64 `json:"median"`
	P5     *float64 `json:"p5"`
	P95    *float64 `json:"p95"`
}

type apiMCBin struct {
	LoPct *float64 `json:"lo_pct"`
	HiPct *float64 `json:"hi_pct"`
	Count int      `json:"count"`
}

// mcDefinitions says what the Monte Carlo figures mean, as the page does.
type mcDefinitions struct {
	ProbProfit string `json:"prob_profit"`
	ProbBeatBH string `json:"prob_beat_buy_hold"`
	RiskOfRuin string `json:"risk_of_ruin"`
}

// apiRunBacktest runs the backtest the query asks for, as the backtest
// page does (same fields, validation, limits and library calls).
func (a *app) apiRunBacktest(c *gin.Context, monteCarlo bool) (*backtestView, time.Duration, bool) {
	f := backtestFormOf(c)
	f.MonteCarlo = monteCarlo
	v := backtestView{Form: f}
	start := time.Now()
	if err := a.runBacktest(c, &v); err != nil {
		a.apiLimited(c, err)
		return nil, 0, false
	}
	return &v, time.Since(start), true
}

// apiBacktest is GET /api/backtest: one backtest over a symbol's history.
func (a *app) apiBacktest(c *gin.Context) {
	v, elapsed, ok := a.apiRunBacktest(c, false)
	if !ok {
		return
	}
	c.JSON(http.StatusOK, newAPIBacktest(v, elapsed))
}

// apiMonteCarlo is GET /api/montecarlo: the backtest and its Monte Carlo
// run over simulated paths, with the verdict.
func (a *app) apiMonteCarlo(c *gin.Context) {
	v, elapsed, ok := a.apiRunBacktest(c, true)
	if !ok {
		return
	}
	out := newAPIBacktest(v, elapsed)
	out.MonteCarlo = newAPIMonteCarlo(v.MC, elapsed)
	c.JSON(http.StatusOK, out)
}

func newAPIBacktest(v *backtestView, elapsed time.Duration) apiBacktest {
	r, cur := v.Result, v.Currency
	s := r.Stats
	out := apiBacktest{Symbol: v.Form.Symbol, Strategy: r.Strategy, Currency: cur, Cash: floatMoney(r.Cash, cur), Bars: v.Bars,
		Start: s.Start, End: s.End, ElapsedMS: millis(elapsed), Equity: make([]string, 0, len(r.Equity)), Trades: []apiTrade{},
		Stats: apiBacktestStat{ReturnPct: num(s.ReturnPct), BuyHoldReturnPct: num(s.BuyHoldReturnPct), ReturnAnnPct: num(s.ReturnAnnPct),
			CAGRPct: num(s.CAGRPct), FinalEquity: floatMoney(s.EquityFinal, cur), PeakEquity: floatMoney(s.EquityPeak, cur),
			Commissions: floatMoney(s.Commissions, cur), VolatilityAnnPct: num(s.VolatilityAnnPct), Sharpe: num(s.SharpeRatio),
			Sortino: num(s.SortinoRatio), Calmar: num(s.CalmarRatio), MaxDrawdownPct: num(s.MaxDrawdownPct),
			MaxDrawdownDuration: millis(s.MaxDrawdownDuration), ExposurePct: num(s.ExposurePct), Trades: s.NumTrades,
			WinRatePct: num(s.WinRatePct), BestTradePct: num(s.BestTradePct), WorstTradePct: num(s.WorstTradePct),
			ProfitFactor: num(s.ProfitFactor), SQN: num(s.SQN)}}
	for _, e := range r.Equity {
		out.Equity = append(out.Equity, decimalText(e))
	}
	for _, t := range r.Trades {
		out.Trades = append(out.Trades, apiTrade{Size: t.Size, EntryTime: t.EntryTime, ExitTime: t.ExitTime,
			EntryPrice: decimalText(t.EntryPrice), ExitPrice: decimalText(t.ExitPrice), PnL: floatMoney(t.PnL, cur),
			ReturnPct: num(t.ReturnPct * 100), DurationMS: millis(t.Duration), Open: t.Open})
	}
	return out
}

func newAPIMonteCarlo(mc *papertrade.MonteCarloResult, elapsed time.Duration) *apiMonteCarlo {
	dist := func(d papertrade.Distribution) apiDist {
		return apiDist{Mean: num(d.Mean), Median: num(d.Median), P5: num(d.P5), P95: num(d.P95)}
	}
	out := &apiMonteCarlo{Paths: mc.Paths, BarsPerPath: mc.BarsPerPath, Seed: mc.Seed, ReturnPct: dist(mc.Return),
		BuyHoldPct: dist(mc.BuyHoldReturn), MaxDrawdown: dist(mc.MaxDrawdown), ProbProfit: num(mc.ProbProfit),
		ProbBeatBH: num(mc.ProbBeatBH), RiskOfRuin: num(mc.RiskOfRuin), RuinLevel: num(mc.RuinLevel),
		Histogram: make([]apiMCBin, 0, len(mc.Histogram)), Verdict: mc.Verdict, ElapsedMSSim: millis(elapsed),
		Definitions: mcDefinitions{
			ProbProfit: "the share of simulated paths on which the strategy ended with more than its starting cash",
			ProbBeatBH: "the share of simulated paths on which the strategy ended above buying and holding on the same path, " +
				"run by the same engine with the same commission and spread (so buy and hold never beats itself)",
			RiskOfRuin: "the share of simulated paths on which the account fell to the ruin level (a fraction of the starting cash) at some point",
		}}
	for _, b := range mc.Histogram {
		out.Histogram = append(out.Histogram, apiMCBin{LoPct: num(b.Lo), HiPct: num(b.Hi), Count: b.Count})
	}
	return out
}
