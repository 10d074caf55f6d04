// Package chart draws the dashboard's charts as inline SVG on the server:
// line charts over time (several series, an optional filled area, trade
// markers) and bar charts (histograms, allocations), with axes, tick
// labels and a <title> on every point or bar that browsers show on hover.
// The SVG needs no script and no stylesheet (colours are attributes), so
// it renders the same in the page and in the PDF report.
//
// Geometry is plain float64: NaN and ±Inf values are gaps, an empty chart
// says "No data", a single point or a flat series gets a domain around its
// value.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
	"time"
)

// Palette colours, in the dashboard's style.
const (
	Blue  = "#2f5bea"
	Green = "#12805c"
	Red   = "#c4322b"
	Grey  = "#98a2b3"
	Amber = "#d97706"
)

// Size is a chart's drawing size in SVG units (about pixels at 1:1).
type Size struct{ W, H int }

// The two sizes a responsive chart is drawn at: one for phones, one for
// wider screens and print.
var (
	Narrow = Size{360, 240}
	Wide   = Size{820, 300}
)

// Series is one line of a time chart.
type Series struct {
	Name   string
	Times  []time.Time
	Values []float64 // NaN or ±Inf: a gap
	Color  string
	Area   bool // fill between the line and the bottom of the plot
	Dashed bool
}

// Marker is a point of interest on a time chart (a buy, a sell).
type Marker struct {
	Time  time.Time
	Value float64
	Label string // the hover text
	Color string
	Up    bool // a triangle pointing up (buy) or down (sell)
}

// TimeChart is a line chart over time.
type TimeChart struct {
	Title   string // for screen readers (aria-label)
	Series  []Series
	Markers []Marker
	Format  func(float64) string // tick values; default %.2f
	Hover   func(float64) string // hover values; default Format
	// ZeroBased includes 0 in the value axis (drawdowns, P&L).
	ZeroBased bool
}

// margins of the plot inside the drawing, in SVG units.
const (
	padLeft   = 58
	padRight  = 12
	padTop    = 12
	padBottom = 26
	fontSize  = 11
)

// maxHoverPoints bounds the hover targets per series (one every few
// points on long series) to keep the markup small.
const maxHoverPoints = 160

// Responsive returns the chart drawn at both sizes; the stylesheet shows
// the one that fits (see .chart-narrow and .chart-wide).
func (c TimeChart) Responsive() template.HTML {
	return template.HTML(`<div class="chartbox">` + c.svg(Narrow, "chart-narrow") + c.svg(Wide, "chart-wide") + `</div>`)
}

// SVG returns the chart at one size.
func (c TimeChart) SVG(s Size) template.HTML { return template.HTML(c.svg(s, "")) }

func (c TimeChart) format(v float64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return fmt.Sprintf("%.2f", v)
}

// domain returns the time and value extents of every finite point.
func (c TimeChart) domain() (t0, t1, v0, v1 float64, ok bool) {
	t0, v0 = math.Inf(1), math.Inf(1)
	t1, v1 = math.Inf(-1), math.Inf(-1)
	for _, s := range c.Series {
		for i, v := range s.Values {
			if i >= len(s.Times) || !finite(v) {
				continue
			}
			t := unix(s.Times[i])
			t0, t1 = math.Min(t0, t), math.Max(t1, t)
			v0, v1 = math.Min(v0, v), math.Max(v1, v)
			ok = true
		}
	}
	for _, m := range c.Markers {
		if finite(m.Value) && ok {
			v0, v1 = math.Min(v0, m.Value), math.Max(v1, m.Value)
		}
	}
	if c.ZeroBased && ok {
		v0, v1 = math.Min(v0, 0), math.Max(v1, 0)
	}
	return t0, t1, v0, v1, ok
}

func unix(t time.Time) float64 { return float64(t.Unix()) }

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

func (c TimeChart) svg(s Size, class string) string {
	var b strings.Builder
	open(&b, s, class, c.Title)
	t0, t1, v0, v1, ok := c.domain()
	if !ok {
		noData(&b, s)
		return b.String()
	}
	yt := NiceTicks(v0, v1, yTickCount(s))
	lo, hi := yt[0], yt[len(yt)-1]
	if t1 == t0 { // one instant: a day either side
		t0, t1 = t0-86400, t1+86400
	}
	x := Scale{D0: t0, D1: t1, R0: padLeft, R1: float64(s.W - padRight)}
	y := Scale{D0: lo, D1: hi, R0: float64(s.H - padBottom), R1: padTop}
	for _, v := range yt {
		py := y.At(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e8f0"/>`, padLeft, s.W-padRight, py, py)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, py, esc(c.format(v)))
	}
	for _, tk := range TimeTicks(time.Unix(int64(t0), 0).UTC(), time.Unix(int64(t1), 0).UTC(), xTickCount(s)) {
		px := x.At(unix(tk.Time))
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="#c9d0dc"/>`, px, px, s.H-padBottom, s.H-padBottom+4)
		// A label would stick out of the drawing at its right edge: end it there.
		anchor, lx := "middle", px
		if half := float64(len(tk.Label)) * fontSize * 0.3; px+half > float64(s.W) {
			anchor, lx = "end", float64(s.W)-1
		}
		fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="%s">%s</text>`, lx, s.H-padBottom+16, anchor, esc(tk.Label))
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%d" y2="%d" stroke="#98a2b3"/>`, padLeft, s.W-padRight, s.H-padBottom, s.H-padBottom)
	hover := c.format
	if c.Hover != nil {
		hover = c.Hover
	}
	for _, sr := range c.Series {
		drawSeries(&b, sr, x, y, hover)
	}
	for _, m := range c.Markers {
		if !finite(m.Value) {
			continue
		}
		px, py := x.At(unix(m.Time)), y.At(m.Value)
		d := 6.0
		if !m.Up {
			d = -6
		}
		fmt.Fprintf(&b, `<path d="M%.1f %.1fl-5 %.1fh10z" fill="%s"><title>%s</title></path>`, px, py, d*1.4, color(m.Color, Blue), esc(m.Label))
	}
	legend(&b, c.Series, s)
	b.WriteString(`</svg>`)
	return b.String()
}

func yTickCount(s Size) int { return max(3, s.H/60) }
func xTickCount(s Size) int { return max(3, s.W/130) }

func open(b *strings.Builder, s Size, class, title string) {
	fmt.Fprintf(b, `<svg class="chart2 %s" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img" aria-label="%s" font-family="system-ui,sans-serif" font-size="%d" fill="#667085">`,
		class, s.W, s.H, esc(title), fontSize)
}

func noData(b *strings.Builder, s Size) {
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle">No data</text></svg>`, s.W/2, s.H/2)
}

func color(c, fallback string) string {
	if c == "" {
		return fallback
	}
	return c
}

func esc(s string) string { return template.HTMLEscapeString(s) }

// segments splits a series into runs of finite points (gaps at NaN).
func segments(sr Series) [][]int {
	var out [][]int
	var cur []int
	for i, v := range sr.Values {
		if i < len(sr.Times) && finite(v) {
			cur = append(cur, i)
			continue
		}
		if len(cur) > 0 {
			out = append(out, cur)
			cur = nil
		}
	}
	if len(cur) > 0 {
		out = append(out, cur)
	}
	return out
}

func drawSeries(b *strings.Builder, sr Series, x, y Scale, format func(float64) string) {
	col := color(sr.Color, Blue)
	dash := ""
	if sr.Dashed {
		dash = ` stroke-dasharray="5 4"`
	}
	bottom := y.R0
	for _, seg := range segments(sr) {
		var pts strings.Builder
		for _, i := range seg {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x.At(unix(sr.Times[i])), y.At(sr.Values[i]))
		}
		p := strings.TrimSpace(pts.String())
		if sr.Area && len(seg) > 1 {
			first, last := seg[0], seg[len(seg)-1]
			fmt.Fprintf(b, `<polygon points="%.1f,%.1f %s %.1f,%.1f" fill="%s" fill-opacity="0.10"/>`,
				x.At(unix(sr.Times[first])), bottom, p, x.At(unix(sr.Times[last])), bottom, col)
		}
		if len(seg) == 1 {
			i := seg[0]
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x.At(unix(sr.Times[i])), y.At(sr.Values[i]), col)
		} else {
			fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linejoin="round"%s/>`, p, col, dash)
		}
	}
	// Hover targets: a transparent dot with a title every few points.
	n := len(sr.Values)
	step := max(1, (n+maxHoverPoints-1)/maxHoverPoints)
	b.WriteString(`<g fill="transparent">`)
	for i := 0; i < n && i < len(sr.Times); i += step {
		if !finite(sr.Values[i]) {
			continue
		}
		label := sr.Times[i].Format("2006-01-02") + ": " + format(sr.Values[i])
		if sr.Name != "" {
			label = sr.Name + " " + label
		}
		fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="5"><title>%s</title></circle>`, x.At(unix(sr.Times[i])), y.At(sr.Values[i]), esc(label))
	}
	b.WriteString(`</g>`)
}

func legend(b *strings.Builder, ss []Series, s Size) {
	named := 0
	for _, sr := range ss {
		if sr.Name != "" {
			named++
		}
	}
	if named < 2 {
		return
	}
	px := float64(padLeft + 8)
	for _, sr := range ss {
		if sr.Name == "" {
			continue
		}
		fmt.Fprintf(b, `<rect x="%.1f" y="%d" width="10" height="3" fill="%s"/><text x="%.1f" y="%d" fill="#344054">%s</text>`,
			px, padTop+4, color(sr.Color, Blue), px+14, padTop+8, esc(sr.Name))
		px += 14 + float64(len(sr.Name))*6.5 + 14
	}
	_ = s
}

// Scale maps a domain [D0, D1] linearly onto a range [R0, R1]. A domain of
// zero width maps to the middle of the range.
type Scale struct{ D0, D1, R0, R1 float64 }

// At returns the range position of v.
func (s Scale) At(v float64) float64 {
	if s.D1 == s.D0 {
		return (s.R0 + s.R1) / 2
	}
	return s.R0 + (v-s.D0)/(s.D1-s.D0)*(s.R1-s.R0)
}

// NiceTicks returns about n round tick values (steps of 1, 2 or 5 times a
// power of ten) whose first is at or below lo and whose last is at or
// above hi. A flat or non-finite domain gets ticks around its value (or
// around 0).
func NiceTicks(lo, hi float64, n int) []float64 {
	if !finite(lo) || !finite(hi) {
		lo, hi = 0, 1
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	if hi == lo {
		d := math.Abs(lo) * 0.05
		if d == 0 {
			d = 1
		}
		lo, hi = lo-d, hi+d
	}
	n = max(n, 2)
	step := niceStep((hi - lo) / float64(n-1))
	start := math.Floor(lo/step) * step
	end := math.Ceil(hi/step) * step
	var ticks []float64
	for i := 0; ; i++ {
		v := start + float64(i)*step
		if math.Abs(v) < step*1e-9 {
			v = 0 // no "-0"
		}
		ticks = append(ticks, v)
		if v >= end-step*1e-9 || i > 100 {
			break
		}
	}
	if len(ticks) < 2 {
		ticks = append(ticks, start+step)
	}
	return ticks
}

// niceStep rounds a raw step up to 1, 2 or 5 times a power of ten.
func niceStep(raw float64) float64 {
	exp := math.Floor(math.Log10(raw))
	base := math.Pow(10, exp)
	f := raw / base
	switch {
	case f <= 1:
		return base
	case f <= 2:
		return 2 * base
	case f <= 5:
		return 5 * base
	}
	return 10 * base
}

// TimeTick is a labelled instant on a time axis.
type TimeTick struct {
	Time  time.Time
	Label string
}

// TimeTicks returns at most about n ticks between from and to on round
// dates: days, weeks, months, quarters or years, whichever gives n or
// fewer.
func TimeTicks(from, to time.Time, n int) []TimeTick {
	if !to.After(from) {
		return []TimeTick{{from, from.Format("2 Jan 2006")}}
	}
	n = max(n, 2)
	span := to.Sub(from)
	type unit struct {
		months, days int
		format       string
	}
	units := []unit{{0, 1, "2 Jan"}, {0, 7, "2 Jan"}, {1, 0, "Jan 2006"}, {3, 0, "Jan 2006"}, {6, 0, "Jan 2006"}, {12, 0, "2006"}, {60, 0, "2006"}}
	u := units[len(units)-1]
	for _, c := range units {
		approx := time.Duration(c.days)*24*time.Hour + time.Duration(c.months)*30*24*time.Hour
		if int(span/approx) <= n {
			u = c
			break
		}
	}
	// The first round instant at or after from.
	var t time.Time
	if u.months == 0 {
		t = time.Date(from.Year(), from.Month(), from.Day(), 0, 0, 0, 0, time.UTC)
		if t.Before(from) {
			t = t.AddDate(0, 0, 1)
		}
		if u.days == 7 { // Mondays
			for t.Weekday() != time.Monday {
				t = t.AddDate(0, 0, 1)
			}
		}
	} else {
		m := (int(from.Month()) - 1) / u.months * u.months
		t = time.Date(from.Year(), time.Month(m+1), 1, 0, 0, 0, 0, time.UTC)
		if u.months >= 12 {
			t = time.Date(from.Year()/(u.months/12)*(u.months/12), 1, 1, 0, 0, 0, 0, time.UTC)
		}
		for t.Before(from) {
			t = t.AddDate(0, u.months, 0)
		}
	}
	var out []TimeTick
	for !t.After(to) && len(out) < 4*n {
		out = append(out, TimeTick{t, t.Format(u.format)})
		t = t.AddDate(0, u.months, u.days)
	}
	return out
}
