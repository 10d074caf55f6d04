package chart

import (
	"encoding/xml"
	"io"
	"math"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNiceTicks(t *testing.T) {
	for _, tc := range []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{0, 10, 6, []float64{0, 2, 4, 6, 8, 10}},
		{3, 97, 5, []float64{0, 50, 100}},
		{71734.36, 171983.14, 5, []float64{50000, 100000, 150000, 200000}},
		{-0.37, 0, 4, []float64{-0.4, -0.2, 0}},
		{5, 5, 3, []float64{4.5, 5, 5.5}}, // flat: ±5 %, rounded out
		{0, 0, 3, []float64{-1, 0, 1}},
		{10, 0, 3, []float64{0, 5, 10}}, // reversed
	} {
		got := NiceTicks(tc.lo, tc.hi, tc.n)
		require.Len(t, got, len(tc.want), "%v..%v: %v", tc.lo, tc.hi, got)
		for i := range got {
			assert.InDelta(t, tc.want[i], got[i], 1e-9, "%v..%v: %v", tc.lo, tc.hi, got)
		}
	}
	// Properties over many domains: the ticks cover the domain, are evenly
	// spaced, and there are not many more than asked for.
	for _, d := range [][2]float64{{0.001, 0.0013}, {-5e9, 7e9}, {1, 1e6}, {-3, -2.9}, {99.5, 100.5}} {
		got := NiceTicks(d[0], d[1], 5)
		assert.LessOrEqual(t, got[0], d[0])
		assert.GreaterOrEqual(t, got[len(got)-1], d[1])
		assert.LessOrEqual(t, len(got), 12, "%v", got)
		step := got[1] - got[0]
		for i := 1; i < len(got); i++ {
			assert.InDelta(t, step, got[i]-got[i-1], math.Abs(step)*1e-6)
		}
	}
	for _, bad := range [][2]float64{{math.NaN(), 1}, {math.Inf(-1), math.Inf(1)}} {
		got := NiceTicks(bad[0], bad[1], 4)
		assert.GreaterOrEqual(t, len(got), 2)
		for _, v := range got {
			assert.True(t, finite(v))
		}
	}
}

func TestScale(t *testing.T) {
	s := Scale{D0: 0, D1: 10, R0: 100, R1: 0} // y grows downwards
	assert.Equal(t, 100.0, s.At(0))
	assert.Equal(t, 0.0, s.At(10))
	assert.Equal(t, 50.0, s.At(5))
	assert.Equal(t, 50.0, Scale{D0: 3, D1: 3, R0: 0, R1: 100}.At(3), "zero-width domain: the middle")
}

func TestTimeTicks(t *testing.T) {
	day := func(y int, m time.Month, d int) time.Time { return time.Date(y, m, d, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		from, to time.Time
		n        int
		first    string
		unit     string
	}{
		{day(2023, 12, 4), day(2026, 12, 2), 6, "Jan 2024", "half years"},
		{day(2016, 3, 4), day(2026, 12, 2), 6, "2020", "five years"},
		{day(2022, 3, 4), day(2026, 12, 2), 6, "2023", "years"},
		{day(2026, 1, 15), day(2026, 12, 2), 6, "Apr 2026", "quarters"},
		{day(2026, 11, 2), day(2026, 12, 2), 6, "2 Nov", "weeks"},
		{day(2026, 11, 28), day(2026, 12, 2), 6, "28 Nov", "days"},
	} {
		got := TimeTicks(tc.from, tc.to, tc.n)
		require.NotEmpty(t, got, tc.unit)
		assert.Equal(t, tc.first, got[0].Label, "%s: %v", tc.unit, got)
		assert.LessOrEqual(t, len(got), tc.n+1, "%s: %v", tc.unit, got)
		for i, tk := range got {
			assert.False(t, tk.Time.Before(tc.from) || tk.Time.After(tc.to), "%s: tick %v outside", tc.unit, tk.Time)
			if i > 0 {
				assert.True(t, tk.Time.After(got[i-1].Time))
			}
		}
	}
	one := TimeTicks(day(2026, 1, 1), day(2026, 1, 1), 5)
	assert.Len(t, one, 1)
}

// parse checks the SVG is well-formed XML and returns its text.
func parse(t *testing.T, svg string) {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(svg))
	for {
		_, err := d.Token()
		if err == io.EOF {
			return
		}
		require.NoError(t, err, svg)
	}
}

var numRE = regexp.MustCompile(`-?\d+(?:\.\d+)?`)

// coords returns every number inside the x/y attributes and every
// coordinate the paths pass through.
func coordsOf(t *testing.T, svg string) []float64 {
	var out []float64
	for _, m := range regexp.MustCompile(` (?:cx|cy|x|y|x1|x2|y1|y2)="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		for _, n := range numRE.FindAllString(m[1], -1) {
			f, _ := strconv.ParseFloat(n, 64)
			out = append(out, f)
		}
	}
	for _, m := range regexp.MustCompile(`<path d="([^"]*)"`).FindAllStringSubmatch(svg, -1) {
		for _, p := range pathPoints(t, m[1]) {
			out = append(out, p.x, p.y)
		}
	}
	return out
}

// linesOf returns the points each line of svg passes through (the
// stroked paths: not the areas under them or the markers).
func linesOf(t *testing.T, svg string) [][]point {
	var out [][]point
	for _, m := range regexp.MustCompile(`<path d="([^"]*)" fill="none"`).FindAllStringSubmatch(svg, -1) {
		out = append(out, pathPoints(t, m[1]))
	}
	return out
}

// pathPoints reads the path data the chart writes (M, V, H, L, l with
// implicit repeats, h, Z) as the absolute points it passes through, the
// way an SVG renderer does: an independent reading of relativeLine.
func pathPoints(t *testing.T, d string) []point {
	t.Helper()
	tok := regexp.MustCompile(`[MmLlHhVvZz]|-?(?:\d+\.?\d*|\.\d+)`).FindAllString(d, -1)
	var out []point
	var cur point
	cmd := byte(0)
	num := func(i *int) float64 {
		*i++
		require.Less(t, *i, len(tok), "path %q ends inside a command", d)
		f, err := strconv.ParseFloat(tok[*i], 64)
		require.NoError(t, err, "path %q", d)
		return f
	}
	for i := 0; i < len(tok); i++ {
		if c := tok[i][0]; strings.ContainsRune("MmLlHhVvZz", rune(c)) {
			cmd = c
			if c == 'Z' || c == 'z' {
				continue
			}
		} else {
			i-- // an implicit repeat of the last command
		}
		switch cmd {
		case 'M', 'L':
			cur = point{num(&i), num(&i)}
		case 'l':
			cur = point{cur.x + num(&i), cur.y + num(&i)}
		case 'H':
			cur.x = num(&i)
		case 'h':
			cur.x += num(&i)
		case 'V':
			cur.y = num(&i)
		default:
			t.Fatalf("path %q: command %q", d, cmd)
		}
		out = append(out, cur)
	}
	return out
}

func TestTimeChartEdgeCases(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	days := func(n int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = t0.AddDate(0, 0, i)
		}
		return out
	}
	for name, c := range map[string]TimeChart{
		"empty":       {Title: "empty"},
		"no values":   {Series: []Series{{Times: days(3), Values: nil}}},
		"all NaN":     {Series: []Series{{Times: days(2), Values: []float64{math.NaN(), math.Inf(1)}}}},
		"one point":   {Series: []Series{{Times: days(1), Values: []float64{42}}}},
		"flat":        {Series: []Series{{Times: days(3), Values: []float64{7, 7, 7}, Area: true}}},
		"gap":         {Series: []Series{{Times: days(5), Values: []float64{1, 2, math.NaN(), 4, 5}}}},
		"short times": {Series: []Series{{Times: days(2), Values: []float64{1, 2, 3, 4}}}},
		"markers":     {Series: []Series{{Times: days(3), Values: []float64{1, 3, 2}}}, Markers: []Marker{{Time: t0, Value: 1, Label: "buy <1>", Up: true}, {Time: t0, Value: math.NaN()}}},
	} {
		for _, s := range []Size{Narrow, Wide} {
			svg := string(c.SVG(s))
			parse(t, svg)
			assert.NotContains(t, svg, "NaN", name)
			assert.NotContains(t, svg, "Inf", name)
			for _, v := range coordsOf(t, svg) {
				assert.True(t, v >= -1 && v <= float64(max(s.W, s.H))+1, "%s: coordinate %v outside the drawing", name, v)
			}
			switch name {
			case "empty", "no values", "all NaN":
				assert.Contains(t, svg, "No data", name)
			case "one point":
				assert.Contains(t, svg, "<circle cx=", name)
				assert.Contains(t, svg, "<title>2026-01-01: 42.00</title>")
			case "gap":
				assert.Len(t, linesOf(t, svg), 2, "a NaN splits the line")
			case "markers":
				assert.Contains(t, svg, "<title>buy &lt;1&gt;</title>")
			}
		}
	}
}

func TestTimeChartPlacesPoints(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	c := TimeChart{Series: []Series{{Times: []time.Time{t0, t0.AddDate(0, 0, 10)}, Values: []float64{0, 10}}}}
	s := Size{W: 200, H: 100}
	svg := string(c.SVG(s))
	lines := linesOf(t, svg)
	require.Len(t, lines, 1)
	// First point at the plot's bottom-left, last at its top-right (the
	// ticks 0..10 bound the domain exactly).
	assert.Equal(t, []point{{58, 74}, {188, 12}}, lines[0])
	assert.Contains(t, svg, `>10.00</text>`)
	assert.Contains(t, svg, `>0.00</text>`)
}

func TestColumnsAndRows(t *testing.T) {
	cols := Columns{Title: "outcomes", Bars: []Bar{{Label: "-10%", Value: 3, Color: Red}, {Label: "0%", Value: 0}, {Label: "+10%", Value: 12, Hover: "12 paths"}, {Label: "x", Value: math.NaN()}},
		Marks: []Mark{{At: 1, Label: "0 %"}}}
	svg := string(cols.SVG(Wide))
	parse(t, svg)
	assert.Equal(t, 3, strings.Count(svg, "<rect"), "one rect per finite bar")
	assert.Contains(t, svg, "<title>12 paths</title>")
	assert.Contains(t, svg, "<title>-10%: 3</title>")
	assert.NotContains(t, svg, "NaN")
	empty := string(Columns{}.SVG(Narrow))
	assert.Contains(t, empty, "No data")

	rows := string(Rows{Bars: []Bar{{Label: "stock", Value: 0.6}, {Label: "cash", Value: 0.4}, {Label: "bad", Value: math.NaN()}}}.HTML())
	parse(t, rows)
	assert.Contains(t, rows, "60.0%")
	assert.NotContains(t, rows, "NaN%")
	assert.Contains(t, string(Rows{}.HTML()), "No data")
}

// TestTimeLabelsStayInside: a time tick at the right edge of the plot (a
// single day's chart ends on a round day) is written ending at the edge,
// not centred past it, at both sizes.
func TestTimeLabelsStayInside(t *testing.T) {
	day := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	c := TimeChart{Series: []Series{{Times: []time.Time{day}, Values: []float64{-1.35}}}}
	label := regexp.MustCompile(`<text x="([\d.]+)" y="\d+" text-anchor="(middle|end)">(\d+ [A-Z][a-z]+)</text>`)
	for _, s := range []Size{Narrow, Wide} {
		svg := string(c.SVG(s))
		ls := label.FindAllStringSubmatch(svg, -1)
		require.NotEmpty(t, ls, svg)
		for _, l := range ls {
			x, err := strconv.ParseFloat(l[1], 64)
			require.NoError(t, err)
			right := x
			if l[2] == "middle" {
				right = x + float64(len(l[3]))*fontSize*0.3
			}
			assert.LessOrEqual(t, right, float64(s.W), "%v: %q ends outside the drawing", s, l[3])
		}
		assert.Contains(t, svg, `text-anchor="end">3 Dec</text>`, "%v: the last day's label ends at the edge", s)
	}
}
