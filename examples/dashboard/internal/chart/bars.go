package chart

import (
	"fmt"
	"html/template"
	"math"
	"strings"
)

// Bar is one bar of a bar chart.
type Bar struct {
	Label string  // under the bar (column charts) or before it (rows)
	Value float64 // NaN or ±Inf: no bar
	Hover string  // the <title>; default "Label: value"
	Color string
}

// Columns is a vertical bar chart (a histogram) with a value axis.
type Columns struct {
	Title  string
	Bars   []Bar
	Format func(float64) string // axis and hover values; default %.0f
	// Ticks, when set, writes the value axis's labels instead of Format
	// (see TimeChart.Ticks).
	Ticks func(v, step float64) string
	// Marks are vertical reference lines at a bar index plus a fraction
	// (0.5 = the bar's middle), e.g. "0 %" or a median.
	Marks []Mark
	// YTitle names the value axis ("days", "paths"), written along it.
	YTitle string
}

// Mark is a labelled vertical line on a column chart.
type Mark struct {
	At    float64 // bar position: 0 is the left edge of the first bar
	Label string
	Color string
}

func (c Columns) format(v float64) string {
	if c.Format != nil {
		return c.Format(v)
	}
	return fmt.Sprintf("%.0f", v)
}

// Responsive returns the chart at both sizes (see TimeChart.Responsive).
func (c Columns) Responsive() template.HTML {
	return template.HTML(`<div class="chartbox">` + c.svg(Narrow, "chart-narrow") + c.svg(Wide, "chart-wide") + `</div>`)
}

// SVG returns the chart at one size.
func (c Columns) SVG(s Size) template.HTML { return template.HTML(c.svg(s, "")) }

func (c Columns) svg(s Size, class string) string {
	var b strings.Builder
	open(&b, s, class, c.Title)
	lo, hi, ok := 0.0, 0.0, false
	for _, br := range c.Bars {
		if finite(br.Value) {
			lo, hi, ok = math.Min(lo, br.Value), math.Max(hi, br.Value), true
		}
	}
	if !ok {
		noData(&b, s)
		return b.String()
	}
	yt := NiceTicks(lo, hi, yTickCount(s))
	y := Scale{D0: yt[0], D1: yt[len(yt)-1], R0: float64(s.H - padBottom), R1: padTop}
	for _, v := range yt {
		py := y.At(v)
		fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#e4e8f0"/>`, padLeft, s.W-padRight, py, py)
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle">%s</text>`, padLeft-6, py, esc(tickLabel(c.Ticks, c.format, v, yt)))
	}
	if c.YTitle != "" {
		fmt.Fprintf(&b, `<text transform="translate(11 %.1f) rotate(-90)" text-anchor="middle" fill="#344054">%s</text>`,
			(y.R0+y.R1)/2, esc(c.YTitle))
	}
	n := len(c.Bars)
	x := Scale{D0: 0, D1: float64(n), R0: padLeft, R1: float64(s.W - padRight)}
	bw := (x.R1 - x.R0) / float64(n)
	gap := math.Min(2, bw*0.15)
	zero := y.At(0)
	lastLabel := math.Inf(-1) // labels at least 36 units apart
	for i, br := range c.Bars {
		x0 := x.At(float64(i))
		if finite(br.Value) {
			top := y.At(br.Value)
			h := math.Abs(zero - top)
			hover := br.Hover
			if hover == "" {
				hover = br.Label + ": " + c.format(br.Value)
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s</title></rect>`,
				x0+gap/2, math.Min(top, zero), math.Max(bw-gap, 0.5), math.Max(h, 0.5), color(br.Color, Blue), esc(hover))
		}
		if br.Label != "" && x0+bw/2-lastLabel >= 36 {
			lastLabel = x0 + bw/2
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle">%s</text>`, x0+bw/2, s.H-padBottom+16, esc(br.Label))
		}
	}
	fmt.Fprintf(&b, `<line x1="%d" x2="%d" y1="%.1f" y2="%.1f" stroke="#98a2b3"/>`, padLeft, s.W-padRight, zero, zero)
	for i, m := range c.Marks {
		if !finite(m.At) {
			continue
		}
		px := x.At(m.At)
		// Labels step down so that marks close together stay legible.
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%d" y2="%d" stroke="%s" stroke-dasharray="4 3"/><text x="%.1f" y="%d" fill="%s">%s</text>`,
			px, px, padTop, s.H-padBottom, color(m.Color, Grey), px+4, padTop+10+14*i, color(m.Color, Grey), esc(m.Label))
	}
	b.WriteString(`</svg>`)
	return b.String()
}

// Rows is a horizontal bar chart of shares of a whole (allocation): a row
// per bar with its label, a bar as long as its share of the largest and
// the value text.
type Rows struct {
	Title  string
	Bars   []Bar
	Format func(float64) string // the value text; default %.1f%% of a fraction
}

// HTML returns the chart: one SVG whose height follows the number of rows.
func (r Rows) HTML() template.HTML {
	const rowH, w, labelW, valueW = 26, 360, 110, 64
	format := r.Format
	if format == nil {
		format = func(v float64) string { return fmt.Sprintf("%.1f%%", v*100) }
	}
	h := max(rowH, rowH*len(r.Bars))
	var b strings.Builder
	open(&b, Size{w, h}, "chart-rows", r.Title)
	top := 0.0
	for _, br := range r.Bars {
		if finite(br.Value) {
			top = math.Max(top, br.Value)
		}
	}
	if len(r.Bars) == 0 {
		noData(&b, Size{w, h})
		return template.HTML(b.String())
	}
	x := Scale{D0: 0, D1: top, R0: labelW, R1: w - valueW}
	for i, br := range r.Bars {
		cy := float64(i*rowH) + rowH/2
		text := "—"
		if finite(br.Value) {
			text = format(br.Value)
		}
		hover := br.Hover
		if hover == "" {
			hover = br.Label + ": " + text
		}
		fmt.Fprintf(&b, `<g><title>%s</title><text x="0" y="%.1f" dominant-baseline="middle" fill="#1c2333">%s</text>`, esc(hover), cy, esc(br.Label))
		fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%d" height="8" rx="4" fill="#edf0f6"/>`, labelW, cy-4, w-valueW-labelW)
		if finite(br.Value) && br.Value > 0 && top > 0 {
			fmt.Fprintf(&b, `<rect x="%d" y="%.1f" width="%.1f" height="8" rx="4" fill="%s"/>`, labelW, cy-4, math.Max(x.At(br.Value)-labelW, 1), color(br.Color, Blue))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%.1f" text-anchor="end" dominant-baseline="middle" fill="#1c2333">%s</text></g>`, w, cy, esc(text))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}
