// Package chart draws the dashboard's charts as inline SVG on the server:
// line charts over time (several series, an optional filled area, trade
// markers) and bar charts (histograms, allocations), with axes, tick
// labels and a <title> that browsers show on hover: on every bar, and on
// a time chart's columns (a day's figures of every line). The SVG needs
// no script and no stylesheet (colours are attributes), so it renders the
// same in the page and in the PDF report.
//
// A time chart's lines are as small as their drawing allows: points the
// line passes within a quarter unit of anyway are left out (a series of
// more days than the plot has pixels keeps its turns), and the rest are
// written as one relative path, so three years of days at both sizes are
// about 40 KB, not 140.
//
// Geometry is plain float64: NaN and ±Inf values are gaps, an empty chart
// says "No data", a single point or a flat series gets a domain around its
// value.
package chart

import (
	"fmt"
	"html/template"
	"math"
	"slices"
	"strconv"
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
	// Ticks, when set, writes the value axis's labels instead of Format,
	// given the step between neighbouring ticks (ShortNum).
	Ticks func(v, step float64) string
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
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, py, esc(tickLabel(c.Ticks, c.format, v, yt)))
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
		drawSeries(&b, sr, x, y)
	}
	hoverBands(&b, c.Series, x, y, hover)
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

func drawSeries(b *strings.Builder, sr Series, x, y Scale) {
	col := color(sr.Color, Blue)
	dash := ""
	if sr.Dashed {
		dash = ` stroke-dasharray="5 4"`
	}
	bottom := y.R0
	for _, seg := range segments(sr) {
		if len(seg) == 1 {
			i := seg[0]
			fmt.Fprintf(b, `<circle cx="%.1f" cy="%.1f" r="3" fill="%s"/>`, x.At(unix(sr.Times[i])), y.At(sr.Values[i]), col)
			continue
		}
		pts := make([]point, len(seg))
		for j, i := range seg {
			pts[j] = point{x.At(unix(sr.Times[i])), y.At(sr.Values[i])}
		}
		pts = simplify(pts, tolerance)
		first := pts[0]
		rel := relativeLine(pts)
		if sr.Area {
			fmt.Fprintf(b, `<path d="M%s %sV%s%sV%sZ" fill="%s" fill-opacity="0.10"/>`,
				tenths(first.x), tenths(bottom), tenths(first.y), rel, tenths(bottom), col)
		}
		fmt.Fprintf(b, `<path d="M%s %s%s" fill="none" stroke="%s" stroke-width="1.8" stroke-linejoin="round"%s/>`,
			tenths(first.x), tenths(first.y), rel, col, dash)
	}
}

// hoverBands writes the hover targets of a time chart: transparent
// columns over the plot, at most one every minHoverGap units, each titled
// with its instant and every series' value there, so that pointing
// anywhere above a day shows its figures (not only on a dot of one line).
func hoverBands(b *strings.Builder, ss []Series, x, y Scale, format func(float64) string) {
	var ref []time.Time // the longest series' instants
	for _, sr := range ss {
		if len(sr.Times) > len(ref) {
			ref = sr.Times
		}
	}
	width := math.Abs(x.R1 - x.R0)
	n := len(ref)
	step := max(1, int(math.Ceil(float64(n)*minHoverGap/width)))
	var idx []int
	for start := 0; start < n; start += step {
		if i, ok := hoverPick(ss, ref, start, min(n, start+step), y); ok {
			idx = append(idx, i)
		}
	}
	if len(idx) == 0 {
		return
	}
	b.WriteString(`<g fill="transparent">`)
	top, h := math.Min(y.R0, y.R1), math.Abs(y.R0-y.R1)
	for k, i := range idx {
		px := x.At(unix(ref[i]))
		lo, hi := math.Max(x.R0, px-minHoverGap/2), math.Min(x.R1, px+minHoverGap/2)
		if k > 0 {
			lo = math.Max(lo, (px+x.At(unix(ref[idx[k-1]])))/2)
		}
		if k+1 < len(idx) {
			hi = math.Min(hi, (px+x.At(unix(ref[idx[k+1]])))/2)
		}
		label, _ := hoverLabel(ss, ref[i], format)
		fmt.Fprintf(b, `<rect x="%.1f" y="%.0f" width="%.1f" height="%.0f"><title>%s</title></rect>`,
			lo, top, math.Max(hi-lo, 1), h, esc(label))
	}
	b.WriteString(`</g>`)
}

// hoverPick returns the instant of ref[start:end] (one hover column's
// days) whose column it is: the last day of the chart when it is among
// them (today's figures), else the day drawn farthest from the days
// around it (summed over the lines, in SVG units), so that a one-day
// spike the line draws can be pointed at and read; the first day with a
// value when they are all alike. ok is false when no line has a value
// on any of them.
func hoverPick(ss []Series, ref []time.Time, start, end int, y Scale) (int, bool) {
	mean := make([]float64, len(ss)) // of each line over the days, drawn
	for k, sr := range ss {
		var sum float64
		var m int
		for j := start; j < end; j++ {
			if v, ok := valueAt(sr, ref[j]); ok {
				sum += y.At(v)
				m++
			}
		}
		mean[k] = sum / float64(max(m, 1))
	}
	best, bestScore := -1, -1.0
	for i := start; i < end; i++ {
		score, found := 0.0, false
		for k, sr := range ss {
			if v, ok := valueAt(sr, ref[i]); ok {
				score += math.Abs(y.At(v) - mean[k])
				found = true
			}
		}
		switch {
		case !found:
		case i == len(ref)-1:
			return i, true
		case score > bestScore+1e-9:
			best, bestScore = i, score
		}
	}
	return best, best >= 0
}

// valueAt is sr's finite value at instant t.
func valueAt(sr Series, t time.Time) (float64, bool) {
	i, found := slices.BinarySearchFunc(sr.Times, t, func(a, b time.Time) int { return a.Compare(b) })
	if !found || i >= len(sr.Values) || !finite(sr.Values[i]) {
		return 0, false
	}
	return sr.Values[i], true
}

// minHoverGap is the narrowest hover column, in SVG units: a long series
// gets one target every few points (a wide chart about 125, a narrow one
// about 48) instead of one per point and line.
const minHoverGap = 6

// hoverLabel is the title of instant t: its date, then each series' name
// and value there ("2026-01-02: Value 1,234.00 USD, Net deposits 1,000.00
// USD"; an unnamed single series gives "2026-01-02: 42.00"). ok is false
// when no series has a finite value at t.
func hoverLabel(ss []Series, t time.Time, format func(float64) string) (string, bool) {
	var parts []string
	for _, sr := range ss {
		val, ok := valueAt(sr, t)
		if !ok {
			continue
		}
		v := format(val)
		if sr.Name != "" {
			v = sr.Name + " " + v
		}
		parts = append(parts, v)
	}
	if len(parts) == 0 {
		return "", false
	}
	return t.Format("2006-01-02") + ": " + strings.Join(parts, ", "), true
}

// tolerance is how far, in SVG units, a drawn line may pass from a point
// it leaves out (simplify): a third of a pixel on a wide chart at its
// usual size, below what the 1.8-unit stroke shows.
const tolerance = 0.25

type point struct{ x, y float64 }

// simplify returns the points of the line through pts that it cannot
// leave out without passing farther than tol from one of them
// (Ramer-Douglas-Peucker): a flat stretch is two points, a series of more
// days than the plot has pixels keeps the turns a reader sees. The first
// and the last point always stay.
func simplify(pts []point, tol float64) []point {
	if len(pts) < 3 {
		return pts
	}
	keep := make([]bool, len(pts))
	keep[0], keep[len(pts)-1] = true, true
	type span struct{ a, b int }
	stack := []span{{0, len(pts) - 1}}
	for len(stack) > 0 {
		sp := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		far, farD := -1, tol
		for i := sp.a + 1; i < sp.b; i++ {
			if d := distance(pts[i], pts[sp.a], pts[sp.b]); d > farD {
				far, farD = i, d
			}
		}
		if far < 0 {
			continue
		}
		keep[far] = true
		stack = append(stack, span{sp.a, far}, span{far, sp.b})
	}
	out := make([]point, 0, len(pts))
	for i, k := range keep {
		if k {
			out = append(out, pts[i])
		}
	}
	return out
}

// distance is how far p lies from the segment a-b.
func distance(p, a, b point) float64 {
	dx, dy := b.x-a.x, b.y-a.y
	l2 := dx*dx + dy*dy
	if l2 == 0 {
		return math.Hypot(p.x-a.x, p.y-a.y)
	}
	t := math.Max(0, math.Min(1, ((p.x-a.x)*dx+(p.y-a.y)*dy)/l2))
	return math.Hypot(p.x-(a.x+t*dx), p.y-(a.y+t*dy))
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

// relativeLine writes the line from pts[0] through the rest as one
// relative lineto ("l.7-.3 .7 0 ..."), about half the bytes of absolute
// coordinates. Every point is rounded to a tenth of a unit first and the
// steps are between rounded points, so no rounding error adds up along
// the line: the path passes through each point as %.1f would place it.
func relativeLine(pts []point) string {
	var b strings.Builder
	b.Grow(len(pts) * 7)
	b.WriteByte('l')
	px, py := round10(pts[0].x), round10(pts[0].y)
	for i, p := range pts[1:] {
		x, y := round10(p.x), round10(p.y)
		dx, dy := tenths10(x-px), tenths10(y-py)
		if i > 0 && dx[0] != '-' {
			b.WriteByte(' ')
		}
		b.WriteString(dx)
		if dy[0] != '-' {
			b.WriteByte(' ')
		}
		b.WriteString(dy)
		px, py = x, y
	}
	return b.String()
}

// round10 is v in tenths of a unit, rounded.
func round10(v float64) int64 { return int64(math.Round(v * 10)) }

// tenths writes v rounded to a tenth, as short as SVG reads it.
func tenths(v float64) string { return tenths10(round10(v)) }

// tenths10 writes n tenths as a number without a trailing ".0" or a
// leading zero: 7 → ".7", -3 → "-.3", 12 → "1.2", -20 → "-2".
func tenths10(n int64) string {
	sign := ""
	if n < 0 {
		sign, n = "-", -n
	}
	whole, frac := n/10, n%10
	switch {
	case frac == 0:
		return sign + strconv.FormatInt(whole, 10)
	case whole == 0:
		return sign + "." + strconv.FormatInt(frac, 10)
	}
	return sign + strconv.FormatInt(whole, 10) + "." + strconv.FormatInt(frac, 10)
}

// tickLabel is the label of tick v among ticks (NiceTicks' answer, at
// least two evenly spaced): ticks given their step when set, else format.
func tickLabel(ticks func(v, step float64) string, format func(float64) string, v float64, all []float64) string {
	if ticks == nil {
		return format(v)
	}
	return ticks(v, all[1]-all[0])
}

// ShortNum writes v for an axis label, thousands as k, millions as M and
// billions as B: 171983 as "172k", 12400 as "12.4k", 1.2e6 as "1.2M", 950
// as "950", 0.126 as "0.13". It keeps one decimal of its unit (two below
// 10), or as many as step, the distance between neighbouring ticks, needs
// for them to read differently: ticks 50k apart read "3.15M" and "3.2M",
// not "3.2M" twice. A step of 0 (a value alone) needs none.
func ShortNum(v, step float64) string {
	unit, suffix, decimals := 1.0, "", 2
	switch a := math.Abs(v); {
	case a >= 1e9:
		unit, suffix, decimals = 1e9, "B", 1
	case a >= 1e6:
		unit, suffix, decimals = 1e6, "M", 1
	case a >= 1e3:
		unit, suffix, decimals = 1e3, "k", 1
	case a >= 10 || a == 0:
		decimals = 0
	}
	if step > 0 && finite(step) {
		// The decimals that write step in the unit (steps are 1, 2 or 5
		// times a power of ten), at most 9.
		need := math.Ceil(-math.Log10(step/unit) - 1e-9)
		decimals = max(decimals, int(min(need, 9)))
	}
	s := strconv.FormatFloat(v/unit, 'f', decimals, 64)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if s == "-0" {
		s = "0"
	}
	return s + suffix
}
