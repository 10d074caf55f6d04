package chart

import (
	"fmt"
	"math"
	"math/rand/v2"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// walk is a random walk of n days from 2024-01-01, with a jump on day
// n/3, and a step series beside it (a deposit every 30 days): the
// portfolio chart's shapes.
func walk(r *rand.Rand, n int) (times []time.Time, value, deposits []float64) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	v, dep := 3.2e6, 3.2e6
	for i := range n {
		times = append(times, t0.AddDate(0, 0, i))
		v += r.NormFloat64() * 4000
		if i == n/3 {
			v += 5e4
		}
		if i%30 == 29 {
			dep += 1000
		}
		value, deposits = append(value, v), append(deposits, dep)
	}
	return times, value, deposits
}

// offLine is how far p lies from the polyline line.
func offLine(p point, line []point) float64 {
	d := math.Inf(1)
	for i := 1; i < len(line); i++ {
		d = math.Min(d, distance(p, line[i-1], line[i]))
	}
	if len(line) == 1 {
		d = math.Hypot(p.x-line[0].x, p.y-line[0].y)
	}
	return d
}

// TestSimplifyKeepsTheShape: on random lines, the simplified line keeps
// the first and last point, and passes within the tolerance of every
// point it left out, between its neighbours that stayed; a flat line is
// its two ends, a spike stays.
func TestSimplifyKeepsTheShape(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for trial := range 300 {
		n := 2 + r.IntN(400)
		pts := make([]point, n)
		x, y := 0.0, 100.0
		for i := range pts {
			x += r.Float64() * 2
			if r.IntN(10) > 0 {
				y += r.NormFloat64() * float64(trial%5)
			}
			pts[i] = point{x, y}
		}
		tol := []float64{0.05, 0.25, 1, 3}[trial%4]
		out := simplify(pts, tol)
		require.GreaterOrEqual(t, len(out), min(n, 2))
		assert.Equal(t, pts[0], out[0])
		assert.Equal(t, pts[n-1], out[len(out)-1])
		k := 0 // out[k] is pts[j] for the last kept j
		for _, p := range pts {
			if k+1 < len(out) && p == out[k+1] {
				k++
				continue
			}
			if p == out[k] {
				continue
			}
			require.Less(t, k+1, len(out))
			assert.LessOrEqual(t, distance(p, out[k], out[k+1]), tol+1e-9, "trial %d: %v left out", trial, p)
		}
	}
	flat := []point{{0, 5}, {1, 5}, {2, 5}, {3, 5}}
	assert.Equal(t, []point{{0, 5}, {3, 5}}, simplify(flat, 0.25))
	spike := []point{{0, 5}, {1, 5}, {2, 1}, {3, 5}, {4, 5}}
	assert.Equal(t, []point{{0, 5}, {1, 5}, {2, 1}, {3, 5}, {4, 5}}, simplify(spike, 0.25))
}

// TestRelativeLineIsExact: read back as an SVG renderer reads it, the
// relative path passes through every point rounded to a tenth, exactly:
// no rounding error adds up along a long line.
func TestRelativeLineIsExact(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 200 {
		n := 2 + r.IntN(2000)
		pts := make([]point, n)
		for i := range pts {
			pts[i] = point{58 + r.Float64()*750, 12 + r.Float64()*262}
		}
		d := "M" + tenths(pts[0].x) + " " + tenths(pts[0].y) + relativeLine(pts)
		got := pathPoints(t, d)
		require.Len(t, got, n)
		for i, p := range got {
			assert.InDelta(t, float64(round10(pts[i].x))/10, p.x, 1e-9, "point %d of %d", i, n)
			assert.InDelta(t, float64(round10(pts[i].y))/10, p.y, 1e-9, "point %d of %d", i, n)
		}
	}
}

func TestTenths(t *testing.T) {
	for n, want := range map[int64]string{0: "0", 7: ".7", -3: "-.3", 12: "1.2", -20: "-2", 2085: "208.5", -10: "-1", 10: "1"} {
		assert.Equal(t, want, tenths10(n), "%d tenths", n)
	}
	assert.Equal(t, "208.5", tenths(208.46))
	assert.Equal(t, "-.1", tenths(-0.06))
}

var bandRE = regexp.MustCompile(`<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"><title>([^<]*)</title></rect>`)

// TestHoverBands: pointing anywhere over the plot shows a day's figures
// of every line: the hover targets are columns, side by side within the
// plot, at most one every minHoverGap units, each titled with its date
// and each series' value that day; a short series has one a day.
func TestHoverBands(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	times, value, deposits := walk(r, 1100)
	value[500] = math.NaN() // a gap in one line
	c := TimeChart{Series: []Series{{Name: "Value", Times: times, Values: value, Area: true}, {Name: "Net deposits", Times: times, Values: deposits, Dashed: true}},
		Format: func(v float64) string { return fmt.Sprintf("%.2f", v) }}
	for _, s := range []Size{Narrow, Wide} {
		svg := string(c.SVG(s))
		parse(t, svg)
		bands := bandRE.FindAllStringSubmatch(svg, -1)
		plot := float64(s.W - padLeft - padRight)
		require.NotEmpty(t, bands)
		assert.LessOrEqual(t, len(bands), int(plot/minHoverGap)+1, "%v", s)
		assert.GreaterOrEqual(t, len(bands), int(plot/minHoverGap)/2, "%v", s)
		prevEnd := float64(padLeft)
		byDate := map[string]int{}
		for i, tm := range times {
			byDate[tm.Format(time.DateOnly)] = i
		}
		for _, b := range bands {
			var x, w float64
			_, _ = fmt.Sscan(b[1], &x)
			_, _ = fmt.Sscan(b[3], &w)
			assert.GreaterOrEqual(t, x, prevEnd-0.15, "%v: bands overlap", s)
			assert.LessOrEqual(t, x+w, float64(s.W-padRight)+0.15, "%v: band past the plot", s)
			prevEnd = x + w
			date, rest, ok := strings.Cut(b[5], ": ")
			require.True(t, ok, b[5])
			i, ok := byDate[date]
			require.True(t, ok, b[5])
			want := fmt.Sprintf("Value %.2f, Net deposits %.2f", value[i], deposits[i])
			if math.IsNaN(value[i]) {
				want = fmt.Sprintf("Net deposits %.2f", deposits[i])
			}
			assert.Equal(t, want, rest)
		}
	}
	short := TimeChart{Series: []Series{{Name: "P&L", Times: times[:10], Values: value[:10]}}}
	svg := string(short.SVG(Wide))
	assert.Len(t, bandRE.FindAllStringSubmatch(svg, -1), 10, "one a day")
	assert.Contains(t, svg, "<title>2024-01-01: P&amp;L ")
	none := TimeChart{Series: []Series{{Times: times[:3], Values: []float64{math.NaN(), 1, math.NaN()}}}}
	assert.Len(t, bandRE.FindAllStringSubmatch(string(none.SVG(Wide)), -1), 1, "no band where no line has a value")
}

// TestLongSeriesDrawnSmall: three years of days (the portfolio chart of
// 1,000 transactions) drawn at both sizes were 140 KB of the page's 160
// (a point per day and line in absolute coordinates, a polygon repeating
// them, 640 hover dots); they are now under 50 KB, and each line still
// passes within the tolerance (and the tenth it is rounded to) of every
// day's point.
func TestLongSeriesDrawnSmall(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 8))
	times, value, deposits := walk(r, 1100)
	c := TimeChart{Series: []Series{{Name: "Value", Times: times, Values: value, Area: true}, {Name: "Net deposits", Times: times, Values: deposits, Dashed: true}},
		Format: func(v float64) string { return fmt.Sprintf("%.0fk USD", v/1000) },
		Hover:  func(v float64) string { return fmt.Sprintf("%.2f USD", v) }}
	html := string(c.Responsive())
	assert.Less(t, len(html), 50_000)
	for _, s := range []Size{Narrow, Wide} {
		svg := string(c.SVG(s))
		t0, t1, v0, v1, ok := c.domain()
		require.True(t, ok)
		yt := NiceTicks(v0, v1, yTickCount(s))
		x := Scale{D0: t0, D1: t1, R0: padLeft, R1: float64(s.W - padRight)}
		y := Scale{D0: yt[0], D1: yt[len(yt)-1], R0: float64(s.H - padBottom), R1: padTop}
		lines := linesOf(t, svg)
		require.Len(t, lines, 2)
		for k, vals := range [][]float64{value, deposits} {
			for i, v := range vals {
				p := point{x.At(unix(times[i])), y.At(v)}
				assert.LessOrEqual(t, offLine(p, lines[k]), tolerance+0.08, "%v line %d day %d", s, k, i)
			}
		}
	}
}
