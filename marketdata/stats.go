package marketdata

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// Period is a look-back window for price changes.
type Period int

// Look-back periods, in Stats.Periods order.
const (
	Period1D Period = iota
	Period1W
	Period1M
	Period3M
	Period6M
	PeriodYTD
	Period1Y
	Period3Y
	Period5Y
	PeriodMax
	NumPeriods // number of periods
)

var periodNames = [NumPeriods]string{"1D", "1W", "1M", "3M", "6M", "YTD", "1Y", "3Y", "5Y", "Max"}

// String returns "1D", "1W", … "Max".
func (p Period) String() string {
	if p < 0 || p >= NumPeriods {
		return fmt.Sprintf("Period(%d)", int(p))
	}
	return periodNames[p]
}

// PeriodChange is the price change over one period: from the close of the
// last bar on or before the period's start date to the last close.
type PeriodChange struct {
	Period    Period    `json:"period"`
	OK        bool      `json:"ok"` // false when the series is too short for the period
	From      time.Time `json:"from"`
	FromClose float64   `json:"from_close"`
	Change    float64   `json:"change"`     // last − from
	ChangePct float64   `json:"change_pct"` // Change / FromClose × 100
}

// StatsOptions tune Analyze.
type StatsOptions struct {
	RiskFree    float64 // annual risk-free rate for Sharpe, e.g. 0.03
	TradingDays int     // bars per year for annualizing; default TradingDaysPerYear of the bars (365 or 252)
	AdjClose    bool    // use AdjClose instead of Close (when set on every bar)
}

// Stats answers "how much did it go up or down?" for a bar series. All
// values are finite; ratios that do not exist for the series (a period
// longer than the history, Sharpe of a flat series) are zero with a flag.
type Stats struct {
	Bars       int       `json:"bars"`
	First      time.Time `json:"first"`
	Last       time.Time `json:"last"`
	FirstClose float64   `json:"first_close"`
	LastClose  float64   `json:"last_close"`
	PrevClose  float64   `json:"prev_close"`
	Change     float64   `json:"change"`     // last − previous close
	ChangePct  float64   `json:"change_pct"` // in percent

	Periods [NumPeriods]PeriodChange `json:"periods"`

	UpDays   int     `json:"up_days"`
	DownDays int     `json:"down_days"`
	FlatDays int     `json:"flat_days"`
	UpPct    float64 `json:"up_pct"`   // up days / (bars − 1) × 100
	AvgGain  float64 `json:"avg_gain"` // mean simple return of up days (fraction)
	AvgLoss  float64 `json:"avg_loss"` // mean simple return of down days (fraction, negative)

	MaxGain     float64   `json:"max_gain"` // largest daily simple return
	MaxGainDate time.Time `json:"max_gain_date"`
	MaxLoss     float64   `json:"max_loss"` // most negative daily simple return
	MaxLossDate time.Time `json:"max_loss_date"`

	LongestUp      int       `json:"longest_up"` // consecutive up days
	LongestUpEnd   time.Time `json:"longest_up_end"`
	LongestDown    int       `json:"longest_down"`
	LongestDownEnd time.Time `json:"longest_down_end"`

	MeanReturn float64 `json:"mean_return"` // mean daily simple return
	StdDev     float64 `json:"std_dev"`     // sample standard deviation of daily simple returns
	Volatility float64 `json:"volatility"`  // StdDev × √TradingDays: annualised over the asset's trading days
	// TradingDays is the number of bars a year Volatility and Sharpe are
	// annualised with: StatsOptions.TradingDays, or TradingDaysPerYear.
	TradingDays int `json:"trading_days"`

	MaxDrawdown  float64   `json:"max_drawdown"` // largest peak-to-trough fall, as a positive fraction
	DrawdownPeak time.Time `json:"drawdown_peak"`
	DrawdownLow  time.Time `json:"drawdown_trough"`
	Recovery     time.Time `json:"recovery"`  // first close back at the peak; zero if not recovered
	Recovered    bool      `json:"recovered"` // the series closed at or above the peak again

	Years  float64 `json:"years"`  // calendar years from first to last bar
	CAGR   float64 `json:"cagr"`   // compound annual growth rate (fraction); 0 when Years < 1/12
	Sharpe float64 `json:"sharpe"` // annualized; 0 when Flat
	Flat   bool    `json:"flat"`   // every daily return is the same (zero deviation)
}

// Trading days a year: a market that trades on weekdays, one that trades
// every day (crypto).
const (
	WeekdaysPerYear = 252
	AllDaysPerYear  = 365
)

// TradingDaysPerYear returns the trading days a year of a daily series
// with weekendBars of its bars on a Saturday or Sunday: AllDaysPerYear when
// they are more than 60 % of the 2/7 of a series that trades every day,
// WeekdaysPerYear otherwise. It is backtesting.py's rule, and the one
// definition of annualisation here: Analyze's volatility and Sharpe and
// papertrade's statistics both use it, so the volatility of Bitcoin is
// annualised over 365 days in both.
func TradingDaysPerYear(weekendBars, bars int) int {
	if bars > 0 && float64(weekendBars)/float64(bars) > 2.0/7*0.6 {
		return AllDaysPerYear
	}
	return WeekdaysPerYear
}

// weekendBars counts the bars dated on a Saturday or Sunday.
func weekendBars(bars []Bar) int {
	n := 0
	for i := range bars {
		if wd := bars[i].Time.Weekday(); wd == time.Saturday || wd == time.Sunday {
			n++
		}
	}
	return n
}

func (o StatsOptions) price(b *Bar) float64 {
	if o.AdjClose {
		return b.AdjClose
	}
	return b.Close
}

// Analyze computes Stats over bars (oldest first, at least two). It returns
// ErrTooFewBars or ErrBadData (non-positive or non-finite price, times not
// ascending) instead of producing NaN. It does not allocate.
func Analyze(bars []Bar, opts StatsOptions) (Stats, error) {
	var s Stats
	n := len(bars)
	if n < 2 {
		return s, fmt.Errorf("%w: need 2 bars for statistics, have %d", ErrTooFewBars, n)
	}
	if math.IsNaN(opts.RiskFree) || math.IsInf(opts.RiskFree, 0) || opts.RiskFree <= -1 {
		return s, fmt.Errorf("%w: risk-free rate %v", ErrBadData, opts.RiskFree)
	}
	days := opts.TradingDays
	if days <= 0 {
		days = TradingDaysPerYear(weekendBars(bars), n)
	}
	s.TradingDays = days
	s.Bars = n
	s.First, s.Last = bars[0].Time, bars[n-1].Time
	prev := opts.price(&bars[0])
	if !(prev > 0) || math.IsInf(prev, 0) {
		return Stats{}, fmt.Errorf("%w: price %v at %s", ErrBadData, prev, bars[0].Time.Format(time.DateOnly))
	}
	s.FirstClose = prev

	var sum, gainSum, lossSum float64
	var shift, shifted, sumSq float64 // for the variance of returns in the same pass
	upRun, downRun := 0, 0
	peak, peakIdx := prev, 0
	troughIdx, ddPeakIdx := -1, 0
	s.MaxGain, s.MaxLoss = math.Inf(-1), math.Inf(1)
	for i := 1; i < n; i++ {
		b := &bars[i]
		c := opts.price(b)
		if !(c > 0) || math.IsInf(c, 0) {
			return Stats{}, fmt.Errorf("%w: price %v at %s", ErrBadData, c, b.Time.Format(time.DateOnly))
		}
		if !b.Time.After(bars[i-1].Time) {
			return Stats{}, fmt.Errorf("%w: bar %d at %s not after %s", ErrBadData, i, b.Time.Format(time.DateOnly), bars[i-1].Time.Format(time.DateOnly))
		}
		r := c/prev - 1
		sum += r
		if i == 1 {
			shift = r
		}
		d := r - shift
		shifted += d
		sumSq += d * d
		// Branch-free counting: up and down days alternate unpredictably.
		up, down := b2i(c > prev), b2i(c < prev)
		s.UpDays += up
		s.DownDays += down
		gainSum += r * float64(up)
		lossSum += r * float64(down)
		upRun = (upRun + 1) * up
		downRun = (downRun + 1) * down
		if upRun > s.LongestUp {
			s.LongestUp, s.LongestUpEnd = upRun, b.Time
		}
		if downRun > s.LongestDown {
			s.LongestDown, s.LongestDownEnd = downRun, b.Time
		}
		if r > s.MaxGain {
			s.MaxGain, s.MaxGainDate = r, b.Time
		}
		if r < s.MaxLoss {
			s.MaxLoss, s.MaxLossDate = r, b.Time
		}
		if c > peak {
			peak, peakIdx = c, i
		} else if peak-c > s.MaxDrawdown*peak { // cheap test; divide only on a new maximum
			s.MaxDrawdown, ddPeakIdx, troughIdx = (peak-c)/peak, peakIdx, i
		}
		prev = c
	}
	m := float64(n - 1)
	s.FlatDays = n - 1 - s.UpDays - s.DownDays
	s.MeanReturn = sum / m
	if n > 2 {
		// Shifted sums (shift = first return) keep the one-pass variance
		// accurate: returns are small and close to each other.
		v := (sumSq - shifted*shifted/m) / (m - 1)
		s.StdDev = math.Sqrt(math.Max(v, 0))
	}
	// A series whose returns are all equal has zero deviation up to rounding.
	s.Flat = s.StdDev <= 1e-12*math.Max(1, math.Abs(s.MeanReturn))
	if s.Flat {
		s.StdDev = 0
	}
	if !isFinite(s.MeanReturn) || !isFinite(s.StdDev) || !isFinite(s.MaxGain) {
		return Stats{}, fmt.Errorf("%w: price moves too extreme for finite statistics", ErrBadData)
	}
	ann := math.Sqrt(float64(days))
	s.Volatility = s.StdDev * ann
	if !s.Flat {
		s.Sharpe = (s.MeanReturn - opts.RiskFree/float64(days)) / s.StdDev * ann
	}
	s.UpPct = float64(s.UpDays) / m * 100
	if s.UpDays > 0 {
		s.AvgGain = gainSum / float64(s.UpDays)
	}
	if s.DownDays > 0 {
		s.AvgLoss = lossSum / float64(s.DownDays)
	}
	if troughIdx >= 0 {
		s.DrawdownPeak, s.DrawdownLow = bars[ddPeakIdx].Time, bars[troughIdx].Time
		pk := opts.price(&bars[ddPeakIdx])
		for i := troughIdx + 1; i < n; i++ {
			if opts.price(&bars[i]) >= pk {
				s.Recovery, s.Recovered = bars[i].Time, true
				break
			}
		}
	}

	last := prev
	s.LastClose = last
	s.PrevClose = opts.price(&bars[n-2])
	s.Change = last - s.PrevClose
	s.ChangePct = s.Change / s.PrevClose * 100
	s.Years = s.Last.Sub(s.First).Hours() / 24 / 365.25
	if s.Years >= 1.0/12 {
		s.CAGR = math.Pow(last/s.FirstClose, 1/s.Years) - 1
		if math.IsInf(s.CAGR, 0) || math.IsNaN(s.CAGR) {
			s.CAGR = 0
		}
	}

	end := s.Last
	for p := Period(0); p < NumPeriods; p++ {
		pc := PeriodChange{Period: p}
		idx := -1
		switch p {
		case Period1D:
			idx = n - 2
		case PeriodMax:
			idx = 0
		case PeriodYTD:
			jan1 := time.Date(end.Year(), 1, 1, 0, 0, 0, 0, end.Location())
			idx = lastBefore(bars, jan1) // strictly before 1 January
		default:
			idx = lastOnOrBefore(bars, periodStart(p, end))
		}
		if idx >= 0 && idx < n-1 {
			pc.OK = true
			pc.From = bars[idx].Time
			pc.FromClose = opts.price(&bars[idx])
			pc.Change = last - pc.FromClose
			pc.ChangePct = pc.Change / pc.FromClose * 100
		}
		s.Periods[p] = pc
	}
	if !s.finite() {
		return Stats{}, fmt.Errorf("%w: price moves too extreme for finite statistics", ErrBadData)
	}
	return s, nil
}

// finite reports whether every float field of s is finite: valid prices
// far apart (1e-300 then 1e300) can still overflow a ratio or a percentage.
func (s *Stats) finite() bool {
	ok := isFinite(s.FirstClose) && isFinite(s.LastClose) && isFinite(s.PrevClose) &&
		isFinite(s.Change) && isFinite(s.ChangePct) && isFinite(s.UpPct) &&
		isFinite(s.AvgGain) && isFinite(s.AvgLoss) && isFinite(s.MaxGain) && isFinite(s.MaxLoss) &&
		isFinite(s.MeanReturn) && isFinite(s.StdDev) && isFinite(s.Volatility) &&
		isFinite(s.MaxDrawdown) && isFinite(s.Years) && isFinite(s.CAGR) && isFinite(s.Sharpe)
	for i := range s.Periods {
		pc := &s.Periods[i]
		ok = ok && isFinite(pc.FromClose) && isFinite(pc.Change) && isFinite(pc.ChangePct)
	}
	return ok
}

// periodStart returns the start date of a calendar look-back period.
func periodStart(p Period, end time.Time) time.Time {
	switch p {
	case Period1W:
		return end.AddDate(0, 0, -7)
	case Period1M:
		return end.AddDate(0, -1, 0)
	case Period3M:
		return end.AddDate(0, -3, 0)
	case Period6M:
		return end.AddDate(0, -6, 0)
	case Period1Y:
		return end.AddDate(-1, 0, 0)
	case Period3Y:
		return end.AddDate(-3, 0, 0)
	case Period5Y:
		return end.AddDate(-5, 0, 0)
	}
	return end
}

// lastOnOrBefore returns the index of the last bar with Time ≤ t, or -1.
func lastOnOrBefore(bars []Bar, t time.Time) int {
	lo, hi := 0, len(bars) // first index with Time > t
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if !bars[mid].Time.After(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// lastBefore returns the index of the last bar with Time < t, or -1.
func lastBefore(bars []Bar, t time.Time) int {
	lo, hi := 0, len(bars) // first index with Time ≥ t
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if bars[mid].Time.Before(t) {
			lo = mid + 1
		} else {
			hi = mid
		}
	}
	return lo - 1
}

// Summary implements portfolio.Reportable.
func (s Stats) Summary() string {
	return fmt.Sprintf("%d bars %s..%s: last %s (%+.2f%%), %d up / %d down days (%.1f%% up), vol %.1f%%, max drawdown %.1f%%, CAGR %.2f%%",
		s.Bars, s.First.Format(time.DateOnly), s.Last.Format(time.DateOnly), formatPrice(s.LastClose), s.ChangePct,
		s.UpDays, s.DownDays, s.UpPct, s.Volatility*100, s.MaxDrawdown*100, s.CAGR*100)
}

// Table renders the period changes as an aligned text table.
func (s Stats) Table() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%-6s %-10s %12s %12s %9s\n", "period", "from", "from close", "change", "change %")
	for _, pc := range s.Periods {
		if !pc.OK {
			fmt.Fprintf(&b, "%-6s %-10s %12s %12s %9s\n", pc.Period, "-", "-", "-", "-")
			continue
		}
		fmt.Fprintf(&b, "%-6s %-10s %12.4f %+12.4f %+8.2f%%\n", pc.Period, pc.From.Format(time.DateOnly), pc.FromClose, pc.Change, pc.ChangePct)
	}
	return b.String()
}

func isFinite(f float64) bool { return !math.IsNaN(f) && !math.IsInf(f, 0) }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
