package main

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strings"
	"time"

	svg "github.com/finkit/finkit/examples/dashboard/internal/chart"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
)

// The pages' charts, built from the views' data by template functions
// (see funcs in render.go) with the chart package (imported as svg).

// valuePeriods are the value chart's periods, in the selector's order.
var valuePeriods = []string{"1M", "YTD", "1Y", "Max"}

// pickPeriod returns the period asked for, "Max" by default.
func pickPeriod(p string) string {
	for _, x := range valuePeriods {
		if strings.EqualFold(p, x) {
			return x
		}
	}
	return "Max"
}

// periodStart is the first day a period shows, ending at end.
func periodStart(period string, end time.Time) time.Time {
	switch period {
	case "1M":
		return end.AddDate(0, -1, 0)
	case "YTD":
		return time.Date(end.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	case "1Y":
		return end.AddDate(-1, 0, 0)
	}
	return time.Time{}
}

// valueSeries returns the portfolio's daily value and its net deposits
// (the running sum of external flows) within the period.
func valueSeries(perf *portfolio.Performance, period string) (times []time.Time, value, deposits []float64) {
	if perf == nil || len(perf.Points) == 0 {
		return nil, nil, nil
	}
	from := periodStart(period, perf.Points[len(perf.Points)-1].Time)
	pts := perf.Points
	// The series starts on the day before the first transaction with
	// nothing in it: the chart starts when there is something to show.
	for len(pts) > 1 && pts[0].Value == 0 && pts[0].Flow == 0 {
		pts = pts[1:]
	}
	var sum float64
	for i, p := range pts {
		if i == 0 && p.Flow == 0 {
			sum = p.Value // the start: what was put in before it
		} else {
			sum += p.Flow
		}
		if p.Time.Before(from) {
			continue
		}
		times = append(times, p.Time)
		value = append(value, p.Value)
		deposits = append(deposits, sum)
	}
	return times, value, deposits
}

// moneyTicks writes a money axis's tick labels (svg.ShortNum with the
// ticks' step).
func moneyTicks(base string) func(v, step float64) string {
	return func(v, step float64) string { return svg.ShortNum(v, step) + " " + base }
}

// shortNum writes 171983 as "172k", 12400 as "12.4k" and 1.2e6 as "1.2M"
// (svg.ShortNum of a value alone).
func shortNum(v float64) string { return svg.ShortNum(v, 0) }

func trimZero(s string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	return s
}

// valueChart is the portfolio's value and net deposits over the period.
func valueChart(perf *portfolio.Performance, period string) template.HTML {
	times, value, deposits := valueSeries(perf, period)
	base := ""
	if perf != nil {
		base = perf.Base
	}
	hover := func(v float64) string { return fmtNum(v, 2) + " " + base }
	return svg.TimeChart{
		Title: "Portfolio value and net deposits, " + period,
		Series: []svg.Series{
			{Name: "Value", Times: times, Values: value, Color: svg.Blue, Area: true},
			{Name: "Net deposits", Times: times, Values: deposits, Color: svg.Grey, Dashed: true},
		},
		Ticks: moneyTicks(base),
		Hover: hover,
	}.Responsive()
}

// allocationRows draws slices of a valuation (by class, currency or
// account) as horizontal bars of their weight.
func allocationRows(title string, slices []portfolio.Slice) template.HTML {
	bars := make([]svg.Bar, 0, len(slices))
	for _, s := range slices {
		bars = append(bars, svg.Bar{Label: s.Key, Value: s.Weight,
			Hover: fmt.Sprintf("%s: %s (%.1f%%)", s.Key, portfolio.FormatMoney(s.Value, s.Base), s.Weight*100)})
	}
	return svg.Rows{Title: title, Bars: bars}.HTML()
}

// equityChart is a backtest's equity with buy and hold of the same cash
// and a marker at every trade's entry and exit.
func equityChart(v backtestView) template.HTML {
	if v.Result == nil {
		return ""
	}
	res := v.Result
	times := v.Times
	if len(times) != len(res.Equity) {
		times = make([]time.Time, len(res.Equity))
		for i := range times {
			times[i] = res.StartTime.AddDate(0, 0, i)
		}
	}
	var bh []float64
	if len(v.Closes) == len(res.Equity) && len(v.Closes) > 0 && v.Closes[0] > 0 {
		for _, c := range v.Closes {
			bh = append(bh, res.Cash*c/v.Closes[0])
		}
	}
	var marks []svg.Marker
	for _, tr := range res.Trades {
		if tr.EntryBar >= 0 && tr.EntryBar < len(res.Equity) {
			marks = append(marks, svg.Marker{Time: times[tr.EntryBar], Value: res.Equity[tr.EntryBar], Up: tr.Size > 0, Color: svg.Green,
				Label: fmt.Sprintf("%s: enter %s %s @ %.2f", times[tr.EntryBar].Format("2006-01-02"), side(tr.Size), shortNum(math.Abs(tr.Size)), tr.EntryPrice)})
		}
		if !tr.Open && tr.ExitBar >= 0 && tr.ExitBar < len(res.Equity) {
			marks = append(marks, svg.Marker{Time: times[tr.ExitBar], Value: res.Equity[tr.ExitBar], Up: tr.Size < 0, Color: svg.Red,
				Label: fmt.Sprintf("%s: exit @ %.2f, P&L %.2f", times[tr.ExitBar].Format("2006-01-02"), tr.ExitPrice, tr.PnL)})
		}
	}
	return svg.TimeChart{
		Title: "Equity curve against buy and hold",
		Series: []svg.Series{
			{Name: "Strategy", Times: times, Values: res.Equity, Color: svg.Blue, Area: true},
			{Name: "Buy & hold", Times: times, Values: bh, Color: svg.Grey, Dashed: true},
		},
		Markers: marks,
		Format:  shortNum,
		Ticks:   svg.ShortNum,
		Hover:   func(f float64) string { return fmtNum(f, 2) },
	}.Responsive()
}

func side(size float64) string {
	if size < 0 {
		return "short"
	}
	return "long"
}

// drawdownChart is a backtest's fall from the running equity peak, in %.
func drawdownChart(v backtestView) template.HTML {
	if v.Result == nil {
		return ""
	}
	res := v.Result
	times := v.Times
	if len(times) != len(res.Drawdown) {
		return ""
	}
	dd := make([]float64, len(res.Drawdown))
	for i, d := range res.Drawdown {
		dd[i] = -d * 100
	}
	return svg.TimeChart{Title: "Drawdown", ZeroBased: true,
		Series: []svg.Series{{Name: "Drawdown", Times: times, Values: dd, Color: svg.Red, Area: true}},
		Format: func(f float64) string { return trimZero(fmt.Sprintf("%.1f", f)) + "%" }}.Responsive()
}

// mcHistogram is the Monte Carlo runs' distribution of returns: bars left
// of 0 % red, right of it green, a line at 0 % and at the median.
func mcHistogram(mc *papertrade.MonteCarloResult) template.HTML {
	if mc == nil {
		return ""
	}
	bars := make([]svg.Bar, 0, len(mc.Histogram))
	var marks []svg.Mark
	for i, b := range mc.Histogram {
		col := svg.Green
		if b.Hi <= 0 {
			col = svg.Red
		}
		bars = append(bars, svg.Bar{Label: trimZero(fmt.Sprintf("%.0f", b.Lo)) + "%", Value: float64(b.Count), Color: col,
			Hover: fmt.Sprintf("%d paths returned %.1f%% to %.1f%%", b.Count, b.Lo, b.Hi)})
		if b.Lo <= 0 && 0 < b.Hi && b.Hi > b.Lo {
			marks = append(marks, svg.Mark{At: float64(i) + (0-b.Lo)/(b.Hi-b.Lo), Label: "0 %", Color: "#344054"})
		}
		if m := mc.Return.Median; b.Lo <= m && m < b.Hi && b.Hi > b.Lo {
			marks = append(marks, svg.Mark{At: float64(i) + (m-b.Lo)/(b.Hi-b.Lo), Label: "median", Color: svg.Blue})
		}
	}
	return svg.Columns{Title: "Monte Carlo outcomes: paths per return bucket", Bars: bars, Marks: marks}.Responsive()
}

// priceChart is a symbol's close with its 50- and 200-day moving averages.
func priceChart(h marketdata.History) template.HTML {
	times := make([]time.Time, len(h.Bars))
	for i, b := range h.Bars {
		times[i] = b.Time
	}
	closes := marketdata.Closes(nil, h.Bars, false)
	series := []svg.Series{{Name: "Close", Times: times, Values: closes, Color: svg.Blue, Area: true}}
	for _, ma := range []struct {
		n   int
		col string
	}{{50, svg.Amber}, {200, "#7c3aed"}} {
		if s, err := marketdata.SMA(nil, closes, ma.n); err == nil {
			series = append(series, svg.Series{Name: fmt.Sprintf("SMA %d", ma.n), Times: times[len(times)-len(s):], Values: s, Color: ma.col})
		}
	}
	return svg.TimeChart{Title: "Price of " + h.Symbol + " with moving averages", Series: series, Format: shortNum, Ticks: svg.ShortNum,
		Hover: func(f float64) string { return fmtNum(f, 2) + " " + h.Currency }}.Responsive()
}

// volumeChart is a symbol's daily volume, summed by week to stay legible.
// The last week is drawn only when it is complete (as many trading days
// as the longest week of the history, or a Sunday past); a week still
// trading is said in a line under the chart, with its volume so far.
func volumeChart(h marketdata.History) template.HTML {
	var bars []svg.Bar
	var starts []time.Time
	var days []int
	for _, b := range h.Bars {
		y, w := b.Time.ISOWeek()
		start := b.Time.AddDate(0, 0, -int((b.Time.Weekday()+6)%7))
		if len(bars) == 0 || !start.Equal(starts[len(starts)-1]) {
			bars = append(bars, svg.Bar{Label: "", Color: "#98a2b3"})
			starts = append(starts, start)
			days = append(days, 0)
		}
		last := &bars[len(bars)-1]
		last.Value += b.Volume
		days[len(days)-1]++
		last.Hover = fmt.Sprintf("week %d of %d: volume %s", w, y, shortNum(last.Value))
	}
	note := ""
	if n := len(bars); n > 1 {
		full := slices.Max(days[:n-1])
		lastBar := h.Bars[len(h.Bars)-1].Time
		if days[n-1] < full && lastBar.Before(starts[n-1].AddDate(0, 0, 6)) {
			note = fmt.Sprintf(`<p class="muted small">The current week (from %s, %d of %d trading days so far, volume %s) is not drawn until it is complete.</p>`,
				starts[n-1].Format("2 Jan"), days[n-1], full, shortNum(bars[n-1].Value))
			bars, starts, days = bars[:n-1], starts[:n-1], days[:n-1]
		}
	}
	// A history that starts after a week's first day has a short first
	// week too (the statistics' three years of Bitcoin start on a Saturday).
	if n := len(bars); n > 1 && days[0] < slices.Max(days[1:]) && h.Bars[0].Time.After(starts[0]) {
		note = fmt.Sprintf(`<p class="muted small">The first week (from %s, %d of %d trading days in this history, volume %s) is not drawn.</p>`,
			h.Bars[0].Time.Format("2 Jan 2006"), days[0], slices.Max(days[1:]), shortNum(bars[0].Value)) + note
		bars, starts = bars[1:], starts[1:]
	}
	// Label the first week of each quarter with its month.
	for i := range bars {
		if i == 0 || (starts[i].Month()-1)/3 != (starts[i-1].Month()-1)/3 {
			bars[i].Label = starts[i].Format("Jan 06")
		}
	}
	return svg.Columns{Title: "Weekly volume of " + h.Symbol, Bars: bars, Format: shortNum, Ticks: svg.ShortNum, YTitle: "volume"}.Responsive() + template.HTML(note)
}

// pnlPoint is one day of a book's profit and loss: its value less the net
// deposits up to that day (the play money, for the paper book).
type pnlPoint struct {
	Time     time.Time
	Value    float64
	Deposits float64
	PnL      float64
}

// pnlSeries is the daily P&L of a book from its performance series (the
// same points the value chart draws).
func pnlSeries(perf *portfolio.Performance) []pnlPoint {
	times, value, deposits := valueSeries(perf, "Max")
	out := make([]pnlPoint, len(times))
	for i := range times {
		out[i] = pnlPoint{Time: times[i], Value: value[i], Deposits: deposits[i], PnL: value[i] - deposits[i]}
	}
	return out
}

// pnlChart draws a P&L series in base: above zero green, below red (the
// line's colour follows the last day), with the zero line in the axis.
func pnlChart(title string, pts []pnlPoint, base string) template.HTML {
	times := make([]time.Time, len(pts))
	pnl := make([]float64, len(pts))
	for i, p := range pts {
		times[i], pnl[i] = p.Time, p.PnL
	}
	col := svg.Green
	if len(pnl) > 0 && pnl[len(pnl)-1] < 0 {
		col = svg.Red
	}
	return svg.TimeChart{
		Title:     title,
		Series:    []svg.Series{{Name: "P&L", Times: times, Values: pnl, Color: col, Area: true}},
		Ticks:     moneyTicks(base),
		Hover:     func(v float64) string { return signedNum(v) + " " + base },
		ZeroBased: true,
	}.Responsive()
}

// signedNum is fmtNum with a sign: "+1,234.50", "−12.00".
func signedNum(v float64) string {
	switch {
	case v > 0:
		return "+" + fmtNum(v, 2)
	case v < 0:
		return "−" + fmtNum(-v, 2)
	}
	return fmtNum(0, 2)
}

// ReturnsChart is the distribution of the symbol's daily returns: a bar
// per bucket (days on the value axis), red below 0 %, green above, with
// a line at 0 %.
func (v statsView) ReturnsChart() template.HTML {
	bars := make([]svg.Bar, 0, len(v.Hist20))
	var marks []svg.Mark
	for i, h := range v.Hist20 {
		col := "#4fb386"
		if h.Neg {
			col = "#e0736c"
		}
		bars = append(bars, svg.Bar{Label: h.Label, Value: float64(h.Count), Color: col,
			Hover: fmt.Sprintf("%d days with a return from %+.2f%% to %+.2f%%", h.Count, h.Lo, h.Hi)})
		if h.Lo <= 0 && 0 < h.Hi {
			marks = append(marks, svg.Mark{At: float64(i) + (0-h.Lo)/(h.Hi-h.Lo), Label: "0 %", Color: "#344054"})
		}
	}
	return svg.Columns{Title: "Distribution of daily returns of " + v.Hist.Symbol + ": days per return bucket",
		Bars: bars, Marks: marks, YTitle: "days"}.Responsive()
}
