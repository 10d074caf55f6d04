package papertrade

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
)

// Stats are a backtest's performance statistics, defined as in
// backtesting.py 0.6.6's _stats.py (see the package documentation).
// Percentages are in percent (12.5 means 12.5%). Undefined figures (no
// trades, no drawdown, no period return) are NaN, and null in JSON; an
// undefined duration (trade durations without trades, drawdown durations
// without a drawdown) is 0 here, and NaN in Table and null in JSON.
type Stats struct {
	Start               time.Time
	End                 time.Time
	Duration            time.Duration
	ExposurePct         float64 // share of bars with an open position
	EquityFinal         float64
	EquityPeak          float64
	Commissions         float64
	ReturnPct           float64
	BuyHoldReturnPct    float64 // long-only, from the first bar the strategy could trade
	ReturnAnnPct        float64 // geometric mean daily return, annualized
	VolatilityAnnPct    float64 // sd of a year's compounded daily returns, √((σ²+(1+g)²)^N − (1+g)^2N), not σ√N as marketdata.Stats.Volatility
	CAGRPct             float64
	SharpeRatio         float64
	SortinoRatio        float64
	CalmarRatio         float64
	AlphaPct            float64 // Jensen's alpha against buy & hold
	Beta                float64
	MaxDrawdownPct      float64 // negative
	AvgDrawdownPct      float64 // negative
	MaxDrawdownDuration time.Duration
	AvgDrawdownDuration time.Duration
	NumTrades           int
	WinRatePct          float64
	BestTradePct        float64
	WorstTradePct       float64
	AvgTradePct         float64 // geometric mean of trade returns
	MaxTradeDuration    time.Duration
	AvgTradeDuration    time.Duration
	ProfitFactor        float64
	ExpectancyPct       float64
	SQN                 float64
	KellyCriterion      float64
}

type statField struct {
	label string
	key   string
	v     any
}

func (s Stats) fields() []statField {
	days := func(d time.Duration) float64 { return d.Hours() / 24 }
	// Durations have no NaN: undefined ones (no trades, no drawdown) are
	// zero in Stats and NaN here, so null in JSON.
	tradeDays := func(d time.Duration) float64 {
		if s.NumTrades == 0 {
			return math.NaN()
		}
		return days(d)
	}
	ddDays := func(d time.Duration) float64 {
		if math.IsNaN(s.AvgDrawdownPct) {
			return math.NaN()
		}
		return days(d)
	}
	return []statField{
		{"Start", "start", s.Start},
		{"End", "end", s.End},
		{"Duration", "duration_days", days(s.Duration)},
		{"Exposure Time [%]", "exposure_time_pct", s.ExposurePct},
		{"Equity Final [$]", "equity_final", s.EquityFinal},
		{"Equity Peak [$]", "equity_peak", s.EquityPeak},
		{"Commissions [$]", "commissions", s.Commissions},
		{"Return [%]", "return_pct", s.ReturnPct},
		{"Buy & Hold Return [%]", "buy_hold_return_pct", s.BuyHoldReturnPct},
		{"Return (Ann.) [%]", "return_ann_pct", s.ReturnAnnPct},
		{"Volatility (Ann.) [%]", "volatility_ann_pct", s.VolatilityAnnPct},
		{"CAGR [%]", "cagr_pct", s.CAGRPct},
		{"Sharpe Ratio", "sharpe_ratio", s.SharpeRatio},
		{"Sortino Ratio", "sortino_ratio", s.SortinoRatio},
		{"Calmar Ratio", "calmar_ratio", s.CalmarRatio},
		{"Alpha [%]", "alpha_pct", s.AlphaPct},
		{"Beta", "beta", s.Beta},
		{"Max. Drawdown [%]", "max_drawdown_pct", s.MaxDrawdownPct},
		{"Avg. Drawdown [%]", "avg_drawdown_pct", s.AvgDrawdownPct},
		{"Max. Drawdown Duration", "max_drawdown_duration_days", ddDays(s.MaxDrawdownDuration)},
		{"Avg. Drawdown Duration", "avg_drawdown_duration_days", ddDays(s.AvgDrawdownDuration)},
		{"# Trades", "num_trades", s.NumTrades},
		{"Win Rate [%]", "win_rate_pct", s.WinRatePct},
		{"Best Trade [%]", "best_trade_pct", s.BestTradePct},
		{"Worst Trade [%]", "worst_trade_pct", s.WorstTradePct},
		{"Avg. Trade [%]", "avg_trade_pct", s.AvgTradePct},
		{"Max. Trade Duration", "max_trade_duration_days", tradeDays(s.MaxTradeDuration)},
		{"Avg. Trade Duration", "avg_trade_duration_days", tradeDays(s.AvgTradeDuration)},
		{"Profit Factor", "profit_factor", s.ProfitFactor},
		{"Expectancy [%]", "expectancy_pct", s.ExpectancyPct},
		{"SQN", "sqn", s.SQN},
		{"Kelly Criterion", "kelly_criterion", s.KellyCriterion},
	}
}

// MarshalJSON writes the statistics with stable snake_case keys in a fixed
// order; durations are in days, NaN and infinities are null.
func (s Stats) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, f := range s.fields() {
		if i > 0 {
			buf.WriteByte(',')
		}
		buf.WriteString(strconv.Quote(f.key))
		buf.WriteByte(':')
		switch v := f.v.(type) {
		case float64:
			if math.IsNaN(v) || math.IsInf(v, 0) {
				buf.WriteString("null")
			} else {
				buf.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
			}
		default:
			b, err := json.Marshal(v)
			if err != nil {
				return nil, err
			}
			buf.Write(b)
		}
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

// Table formats the statistics as an aligned two-column table, like
// backtesting.py prints them.
func (s Stats) Table() string {
	var b strings.Builder
	for _, f := range s.fields() {
		var v string
		switch x := f.v.(type) {
		case time.Time:
			v = x.Format("2006-01-02 15:04:05")
		case int:
			v = strconv.Itoa(x)
		case float64:
			if strings.Contains(f.key, "days") {
				v = formatDays(x)
			} else {
				v = strconv.FormatFloat(x, 'f', 6, 64)
			}
		}
		fmt.Fprintf(&b, "%-24s %20s\n", f.label, v)
	}
	return b.String()
}

func formatDays(d float64) string {
	if math.IsNaN(d) {
		return "NaN"
	}
	whole := math.Floor(d)
	rest := time.Duration((d - whole) * 24 * float64(time.Hour)).Round(time.Second)
	h := int(rest.Hours())
	m := int(rest.Minutes()) % 60
	sec := int(rest.Seconds()) % 60
	return fmt.Sprintf("%.0f days %02d:%02d:%02d", whole, h, m, sec)
}

// StatsOptions tune ComputeStats.
type StatsOptions struct {
	// WarmupBars is the index of the first bar on which every indicator had
	// a value; buy & hold is measured from its close.
	WarmupBars int
	// RiskFreeRate is the annual risk-free rate (0.02 = 2%).
	RiskFreeRate float64
	// Version selects the backtesting.py release whose definitions are
	// followed: "" or "0.6.6" (the current release), or "0.6.5", which
	// counts the undefined first period return as a 0 return in the
	// geometric mean (moving Return (Ann.), volatility, Sharpe, Sortino and
	// Calmar by about 5e-4) and computes CAGR over 252- (or 365-) day
	// "years".
	Version string
}

// backtesting.py releases that StatsOptions.Version and
// Options.CompatVersion name.
const (
	BacktestingPy066 = "0.6.6"
	BacktestingPy065 = "0.6.5"
)

func validStatsVersion(v string) bool {
	return v == "" || v == BacktestingPy066 || v == BacktestingPy065
}

// ComputeStats computes the statistics of an equity curve (one value per
// bar) and its closed trades, with backtesting.py's definitions (of the
// release opts.Version names; an unknown version counts as the current
// one).
func ComputeStats(bars []Bar, equity []float64, trades []Trade, opts StatsOptions) Stats {
	return computeStats(bars, equity, trades, opts, nil)
}

// drawdowns returns 1 - equity / running peak for each bar.
func drawdowns(equity []float64) []float64 {
	dd := make([]float64, len(equity))
	peak := math.Inf(-1)
	for i, v := range equity {
		if v > peak {
			peak = v
		}
		dd[i] = 1 - v/peak
	}
	return dd
}

// drawdownSummary is what drawdownCurve finds besides the curve.
type drawdownSummary struct {
	equityPeak float64 // slices.Max(equity)
	maxDD      float64 // slices.Max(dd)
	durs       []time.Duration
	peaks      []float64
}

// drawdownCurve fills dd with 1 - equity / running peak (what drawdowns
// returns) and computes in the same pass the largest equity (NaN-propagating
// like slices.Max), the largest drawdown, and each drawdown period's
// duration and depth exactly as drawdownPeriods(dd, bars) would.
func drawdownCurve(equity []float64, bars []Bar, dd []float64) drawdownSummary {
	n := len(equity)
	dd = dd[:n]
	var ds drawdownSummary
	if n == 0 {
		return ds
	}
	peak := math.Inf(-1)
	eqMax, ddMax := equity[0], math.Inf(-1)
	zero := -1    // last index with dd == 0, -1 before the first
	segMax := 0.0 // max of dd since zero
	for i, v := range equity {
		if v > peak {
			peak = v
		}
		d := 1 - v/peak
		dd[i] = d
		eqMax = max(eqMax, v)
		ddMax = max(ddMax, d)
		if d == 0 {
			if zero >= 0 && i > zero+1 {
				ds.durs = append(ds.durs, bars[i].Time.Sub(bars[zero].Time))
				ds.peaks = append(ds.peaks, max(segMax, d))
			}
			zero, segMax = i, d
			continue
		}
		segMax = max(segMax, d)
	}
	// A drawdown still open at the end runs to the last bar.
	if last := n - 1; zero >= 0 && zero != last && last > zero+1 {
		ds.durs = append(ds.durs, bars[last].Time.Sub(bars[zero].Time))
		ds.peaks = append(ds.peaks, segMax)
	}
	ds.equityPeak, ds.maxDD = eqMax, ddMax
	return ds
}

// computeStats is ComputeStats with a buffer for the drawdown curve, which
// it fills (nil or the wrong length: it allocates one).
func computeStats(bars []Bar, equity []float64, trades []Trade, opts StatsOptions, dd []float64) Stats {
	n := len(bars)
	var s Stats
	if n == 0 || len(equity) != n {
		return s
	}
	period := dataPeriod(bars)
	s.Start, s.End = bars[0].Time, bars[n-1].Time
	s.Duration = s.End.Sub(s.Start)

	// Drawdown: the curve, its maximum, the equity peak and the drawdown
	// periods in one pass.
	if len(dd) != n {
		dd = make([]float64, n)
	}
	ds := drawdownCurve(equity, bars, dd)
	durs, peaks := ds.durs, ds.peaks

	s.ExposurePct = float64(exposedBars(trades, n)) / float64(n) * 100
	s.EquityFinal = equity[n-1]
	s.EquityPeak = ds.equityPeak
	for _, t := range trades {
		s.Commissions += t.Commission
	}
	s.ReturnPct = (equity[n-1] - equity[0]) / equity[0] * 100
	first := min(max(opts.WarmupBars, 0), n-1)
	c0, c1 := bars[first].Close, bars[n-1].Close
	s.BuyHoldReturnPct = (c1 - c0) / c0 * 100

	// Annualized figures from period (daily/weekly/…) returns.
	freqDays := int(period / (24 * time.Hour))
	rs := returnStats(bars, equity, freqDays)
	haveWeekends := marketdata.TradingDaysPerYear(rs.weekend, n) == marketdata.AllDaysPerYear
	annual := 252.0
	switch {
	case freqDays == 7:
		annual = 52
	case freqDays == 31:
		annual = 12
	case freqDays == 365:
		annual = 1
	case haveWeekends:
		annual = 365
	}
	v065 := opts.Version == BacktestingPy065
	g := rs.geoMean // 0.6.6: over the period returns there are
	if v065 {
		g = rs.geoMean065
	}
	annRet := math.Pow(1+g, annual) - 1
	s.ReturnAnnPct = annRet * 100
	v := rs.variance
	s.VolatilityAnnPct = math.Sqrt(math.Pow(v+(1+g)*(1+g), annual)-math.Pow(1+g, 2*annual)) * 100
	// pandas' Timedelta.days + .seconds / 86400: whole seconds.
	d := s.Duration
	years := (float64(d/(24*time.Hour)) + float64(d%(24*time.Hour)/time.Second)/86400) / 365.25
	if v065 {
		years *= 365.25 / annual
	}
	s.CAGRPct = math.NaN()
	if years > 0 {
		s.CAGRPct = (math.Pow(s.EquityFinal/equity[0], 1/years) - 1) * 100
	}
	rf := opts.RiskFreeRate
	s.SharpeRatio = nanDiv(s.ReturnAnnPct-rf*100, s.VolatilityAnnPct)
	down := rs.downside
	s.SortinoRatio = (annRet - rf) / (math.Sqrt(down) * math.Sqrt(annual))
	maxDD := ds.maxDD
	s.CalmarRatio = nanDiv(annRet, maxDD)

	// Alpha and beta against buy & hold, from per-bar log returns (summed
	// by returnStats).
	s.Beta = rs.beta
	s.AlphaPct = s.ReturnPct - rf*100 - s.Beta*(s.BuyHoldReturnPct-rf*100)
	s.MaxDrawdownPct = -maxDD * 100
	s.AvgDrawdownPct = math.NaN()
	if len(peaks) > 0 {
		s.AvgDrawdownPct = -mean(peaks) * 100
		s.MaxDrawdownDuration = ceilTo(slices.Max(durs), period)
		var sum float64
		for _, d := range durs {
			sum += float64(d)
		}
		s.AvgDrawdownDuration = ceilTo(time.Duration(sum/float64(len(durs))), period)
	}

	// Trades.
	s.NumTrades = len(trades)
	nan := math.NaN()
	s.WinRatePct, s.BestTradePct, s.WorstTradePct, s.AvgTradePct = nan, nan, nan, nan
	s.ProfitFactor, s.ExpectancyPct, s.SQN, s.KellyCriterion = nan, nan, nan, nan
	if len(trades) == 0 {
		return s
	}
	pl := make([]float64, len(trades))
	tr := make([]float64, len(trades))
	var maxDur time.Duration
	var sumDur float64
	for i, t := range trades {
		pl[i], tr[i] = t.PnL, t.ReturnPct
		maxDur = max(maxDur, t.Duration)
		sumDur += float64(t.Duration)
	}
	wins := 0
	var winSum, lossSum, posRet, negRet float64
	losses := 0
	for i := range pl {
		if pl[i] > 0 {
			wins++
			winSum += pl[i]
		} else if pl[i] < 0 {
			losses++
			lossSum += pl[i]
		}
		if tr[i] > 0 {
			posRet += tr[i]
		} else if tr[i] < 0 {
			negRet += tr[i]
		}
	}
	winRate := float64(wins) / float64(len(pl))
	s.WinRatePct = winRate * 100
	s.BestTradePct = slices.Max(tr) * 100
	s.WorstTradePct = slices.Min(tr) * 100
	s.AvgTradePct = geometricMean(tr) * 100
	s.MaxTradeDuration = ceilTo(maxDur, period)
	s.AvgTradeDuration = ceilTo(time.Duration(sumDur/float64(len(trades))), period)
	s.ProfitFactor = nanDiv(posRet, math.Abs(negRet))
	s.ExpectancyPct = mean(tr) * 100
	s.SQN = math.Sqrt(float64(len(pl))) * mean(pl) / nonZero(math.Sqrt(variance(pl, 1)))
	avgWin, avgLoss := nan, nan
	if wins > 0 {
		avgWin = winSum / float64(wins)
	}
	if losses > 0 {
		avgLoss = -lossSum / float64(losses)
	}
	s.KellyCriterion = winRate - (1-winRate)/(avgWin/avgLoss)
	return s
}

func nanDiv(a, b float64) float64 {
	if b == 0 {
		return math.NaN()
	}
	return a / b
}

func nonZero(x float64) float64 {
	if x == 0 {
		return math.NaN()
	}
	return x
}

func mean(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// variance skips NaN values, like pandas.
func variance(xs []float64, ddof int) float64 {
	var s float64
	k := 0
	for _, x := range xs {
		if !math.IsNaN(x) {
			s += x
			k++
		}
	}
	if k-ddof <= 0 {
		return math.NaN()
	}
	m := s / float64(k)
	var ss float64
	for _, x := range xs {
		if !math.IsNaN(x) {
			ss += (x - m) * (x - m)
		}
	}
	return ss / float64(k-ddof)
}

// geometricMean is backtesting.py's: NaN counts as a 0 return, any return
// of -100% or worse gives 0.
func geometricMean(rets []float64) float64 {
	if len(rets) == 0 {
		return math.NaN()
	}
	// exp(mean(log(1+r))) computed as the n-th root of the product, kept
	// in range with Frexp: one logarithm instead of one per return.
	prod, exp := 1.0, 0
	for i, r := range rets {
		if math.IsNaN(r) {
			continue
		}
		if 1+r <= 0 {
			return 0
		}
		prod *= 1 + r
		if i&63 == 63 {
			f, e := math.Frexp(prod)
			prod, exp = f, exp+e
		}
	}
	logProd := math.Log(prod) + float64(exp)*math.Ln2
	return math.Exp(logProd/float64(len(rets))) - 1
}

// dataPeriod is the median spacing of the last 100 bar times.
func dataPeriod(bars []Bar) time.Duration {
	b := bars[max(0, len(bars)-100):]
	if len(b) < 2 {
		return 24 * time.Hour
	}
	d := make([]time.Duration, len(b)-1)
	for i := 1; i < len(b); i++ {
		d[i-1] = b[i].Time.Sub(b[i-1].Time)
	}
	slices.Sort(d)
	m := len(d) / 2
	if len(d)%2 == 1 {
		return d[m]
	}
	return (d[m-1] + d[m]) / 2
}

// exposedBars counts the bars on which at least one closed trade was open
// (entry and exit bars included).
func exposedBars(trades []Trade, n int) int {
	type span struct{ a, b int }
	spans := make([]span, 0, len(trades))
	for _, t := range trades {
		if t.ExitBar >= 0 {
			spans = append(spans, span{max(t.EntryBar, 0), min(t.ExitBar, n-1)})
		}
	}
	slices.SortFunc(spans, func(x, y span) int { return x.a - y.a })
	count, end := 0, -1
	for _, sp := range spans {
		if sp.b <= end {
			continue
		}
		count += sp.b - max(sp.a, end+1) + 1
		end = sp.b
	}
	return count
}

// ceilTo rounds d up to the resolution of period: its smallest non-zero
// unit (days, hours, minutes, seconds), as pandas' Timedelta.ceil does.
func ceilTo(d, period time.Duration) time.Duration {
	unit := time.Nanosecond
	for _, u := range []time.Duration{24 * time.Hour, time.Hour, time.Minute, time.Second, time.Millisecond, time.Microsecond} {
		if period%u == 0 {
			unit = u
			break
		}
	}
	if r := d % unit; r != 0 {
		d += unit - r
	}
	return d
}

// dayNumber is the calendar day of t (in t's own zone) as days since
// 1970-01-01.
func dayNumber(t time.Time) int64 {
	sec := t.Unix()
	if t.Location() != time.UTC {
		_, off := t.Zone()
		sec += int64(off)
	}
	d := sec / 86400
	if sec%86400 < 0 {
		d--
	}
	return d
}

// periodKey groups a time into the resampling bucket of freqDays.
func periodKey(t time.Time, freqDays int) int64 {
	switch freqDays {
	case 7: // weeks ending Sunday; 1970-01-01 was a Thursday
		d := dayNumber(t)
		wd := ((d+4)%7 + 7) % 7 // 0 = Sunday
		return d + (7-wd)%7
	case 31:
		y, m, _ := t.Date()
		return int64(y*12 + int(m))
	case 365:
		return int64(t.Year())
	}
	return dayNumber(t)
}

// returnFigures are the statistics of period returns and per-bar log
// returns that returnStats computes in one pass.
type returnFigures struct {
	geoMean    float64 // geometricMean of the non-NaN rets (0.6.6), NaN without any
	geoMean065 float64 // geometricMean(rets), rets[0] being NaN (0.6.5)
	variance   float64 // variance(rets[1:], 1)
	downside   float64 // mean of min(r, 0)² over the non-NaN rets, NaN without any
	beta       float64 // of per-bar equity log returns on close log returns
	weekend    int     // bars on a Saturday or Sunday
}

// returnStats computes in one pass over bars and equity, without storing
// them, what periodReturns' returns give to geometricMean, variance and the
// downside deviation, and the sums for beta. Returns are processed in the
// same order with the same arithmetic, except the variance, which uses sums
// shifted by the first return (accurate: returns vary much more than their
// mean).
func returnStats(bars []Bar, equity []float64, freqDays int) returnFigures {
	var f returnFigures
	n := len(bars)
	// Period returns: the last equity of each period over the last equity
	// of the one before.
	var prevKey, prevDay int64
	wd := int64(0)
	periods := 0         // periods closed so far
	var prevLast float64 // last equity of the period before the current one
	cur := 0.0           // last equity of the current period
	prod, exp := 1.0, 0  // geometric mean: product of 1+r, kept in range
	ruined := false      // a return of -100% or worse: geometric mean 0
	var shift, sd, sd2 float64
	k := 0 // non-NaN returns
	var down float64
	// Beta: sums of per-bar log returns, shifted by the first ones so that
	// a market whose returns are all equal sums to exactly zero variance.
	var sx, sy, sxy, syy float64
	var x0, y0, ymin, ymax float64
	beta := n > 2
	for i := 0; i < n+1 && n > 0; i++ {
		// At i == n, close the last period.
		closed := i == n
		if i < n {
			t := bars[i].Time
			d := dayNumber(t)
			switch {
			case i > 0 && d == prevDay:
			case i > 0 && d == prevDay+1:
				if wd++; wd == 7 {
					wd = 0
				}
			default:
				wd = ((d+4)%7 + 7) % 7 // 0 = Sunday; 1970-01-01 was a Thursday
			}
			prevDay = d
			if wd == 0 || wd == 6 {
				f.weekend++
			}
			var key int64
			switch freqDays {
			case 7: // weeks ending Sunday
				key = d + (7-wd)%7
			case 31, 365:
				key = periodKey(t, freqDays)
			default:
				key = d
			}
			closed = i > 0 && key != prevKey
			prevKey = key
			if beta && i > 0 {
				// Beta's per-bar log returns: centred near zero, so one
				// pass of sums is accurate.
				x, y := logRatio2(equity[i], equity[i-1], bars[i].Close, bars[i-1].Close)
				if i == 1 {
					x0, y0, ymin, ymax = x, y, y, y
				}
				ymin, ymax = min(ymin, y), max(ymax, y)
				x, y = x-x0, y-y0
				sx += x
				sy += y
				sxy += x * y
				syy += y * y
			}
		}
		if closed {
			if periods > 0 {
				// Return number periods of rets (rets[0] is NaN).
				r := cur/prevLast - 1
				if !math.IsNaN(r) {
					if !ruined {
						if 1+r <= 0 {
							ruined = true
						} else {
							prod *= 1 + r
							if periods&63 == 63 {
								fr, e := math.Frexp(prod)
								prod, exp = fr, exp+e
							}
						}
					}
					if k == 0 {
						shift = r
					}
					k++
					dr := r - shift
					sd += dr
					sd2 += dr * dr
					m := math.Min(r, 0)
					down += m * m
				}
			}
			periods++
			prevLast = cur
		}
		if i < n {
			cur = equity[i]
		}
	}
	// periods is now len(rets), the first (NaN) included; k counts the
	// returns that are not NaN.
	logProd := math.Log(prod) + float64(exp)*math.Ln2
	f.geoMean065 = math.NaN()
	if periods > 0 {
		f.geoMean065 = 0
		if !ruined {
			f.geoMean065 = math.Exp(logProd/float64(periods)) - 1
		}
	}
	f.geoMean, f.downside = math.NaN(), math.NaN()
	if k > 0 {
		f.geoMean = 0
		if !ruined {
			f.geoMean = math.Exp(logProd/float64(k)) - 1
		}
		f.downside = down / float64(k)
	}
	f.variance = math.NaN()
	if k > 1 {
		f.variance = (sd2 - sd*sd/float64(k)) / float64(k-1)
	}

	f.beta = math.NaN()
	// Market returns all equal (to rounding): no variance to regress on.
	if beta && ymax-ymin > 1e-9*max(math.Abs(ymin), math.Abs(ymax)) {
		m := float64(n - 1)
		f.beta = (sxy - sx*sy/m) / (syy - sy*sy/m)
	}
	return f
}

// logRatio is log(a / b), for the per-bar log returns beta needs (two per
// bar: the logarithms were most of a Run's statistics time). When a / b is
// within [0.8, 1.25], as per-bar returns nearly always are, it is
// 2·atanh(s) with s = (a-b)/(a+b) (a-b is exact there) summed as a series
// in s², which converges fast for |s| < 1/9: about twice as fast as
// math.Log and at least as accurate, since it does not round a / b first
// (TestLogRatioAccuracy checks it to 2 ulps against 200-bit arithmetic).
// Other ratios, and NaN, zero, negative or infinite inputs, go to
// math.Log(a / b).
func logRatio(a, b float64) float64 {
	if a > 0.8*b && a < 1.25*b {
		s := (a - b) / (a + b)
		z := s * s
		// Terms up to s¹⁷: the next is below 2⁻⁵³ of the sum.
		p := 1.0 / 17
		p = p*z + 1.0/15
		p = p*z + 1.0/13
		p = p*z + 1.0/11
		p = p*z + 1.0/9
		p = p*z + 1.0/7
		p = p*z + 1.0/5
		p = p*z + 1.0/3
		return 2*s + 2*s*z*p
	}
	return math.Log(a / b)
}

// logRatio2 is (logRatio(a, b), logRatio(c, d)) with the two series
// evaluated side by side, so their divisions and multiplications overlap.
func logRatio2(a, b, c, d float64) (float64, float64) {
	if !(a > 0.8*b && a < 1.25*b && c > 0.8*d && c < 1.25*d) {
		return logRatio(a, b), logRatio(c, d)
	}
	s, t := (a-b)/(a+b), (c-d)/(c+d)
	z, w := s*s, t*t
	p, q := 1.0/17, 1.0/17
	p, q = p*z+1.0/15, q*w+1.0/15
	p, q = p*z+1.0/13, q*w+1.0/13
	p, q = p*z+1.0/11, q*w+1.0/11
	p, q = p*z+1.0/9, q*w+1.0/9
	p, q = p*z+1.0/7, q*w+1.0/7
	p, q = p*z+1.0/5, q*w+1.0/5
	p, q = p*z+1.0/3, q*w+1.0/3
	return 2*s + 2*s*z*p, 2*t + 2*t*w*q
}

// periodReturns resamples equity to the last value of each period and
// returns the percentage changes, the first being NaN, and how many bars
// fall on a weekend.
func periodReturns(bars []Bar, equity []float64, freqDays int) ([]float64, int) {
	last := make([]float64, 0, len(bars)/max(1, freqDays)+1)
	var prevKey int64
	weekend := 0
	for i := range bars {
		t := bars[i].Time
		d := dayNumber(t)
		wd := ((d+4)%7 + 7) % 7 // 0 = Sunday; 1970-01-01 was a Thursday
		if wd == 0 || wd == 6 {
			weekend++
		}
		var k int64
		switch freqDays {
		case 7: // weeks ending Sunday
			k = d + (7-wd)%7
		case 31, 365:
			k = periodKey(t, freqDays)
		default:
			k = d
		}
		if i == 0 || k != prevKey {
			last = append(last, equity[i])
			prevKey = k
		} else {
			last[len(last)-1] = equity[i]
		}
	}
	rets := make([]float64, len(last))
	rets[0] = math.NaN()
	for i := 1; i < len(last); i++ {
		rets[i] = last[i]/last[i-1] - 1
	}
	return rets, weekend
}

// drawdownPeriods finds each drawdown (from a peak to the next recovery or
// the end) and returns its duration and deepest drawdown.
func drawdownPeriods(dd []float64, bars []Bar) ([]time.Duration, []float64) {
	var idx []int
	for i, v := range dd {
		if v == 0 {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 || idx[len(idx)-1] != len(dd)-1 {
		idx = append(idx, len(dd)-1)
	}
	var durs []time.Duration
	var peaks []float64
	for k := 1; k < len(idx); k++ {
		prev, cur := idx[k-1], idx[k]
		if cur <= prev+1 {
			continue
		}
		durs = append(durs, bars[cur].Time.Sub(bars[prev].Time))
		peaks = append(peaks, slices.Max(dd[prev:cur+1]))
	}
	return durs, peaks
}
