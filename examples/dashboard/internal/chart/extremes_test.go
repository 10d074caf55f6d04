package chart

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSimplifiedLinesAtExtremes: at extreme but finite values (huge,
// tiny, a jump of 1e15 after zeros, a lone spike in a thousand flat days,
// negatives, gaps of NaN and Inf) the drawn lines are well-formed paths
// inside the drawing and pass within the tolerance (and the tenth they
// are rounded to) of every day's point. The hover columns name the
// spike's day (it was a column every few days, the spike in none) and
// the last day (today's figures), with their exact figures.
func TestSimplifiedLinesAtExtremes(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	days := func(n int) []time.Time {
		out := make([]time.Time, n)
		for i := range out {
			out[i] = t0.AddDate(0, 0, i)
		}
		return out
	}
	spike := make([]float64, 1000)
	for i := range spike {
		spike[i] = 1e6
	}
	spike[617] = 1e6 + 1
	for name, vals := range map[string][]float64{
		"huge":      {1e300, -1e300, 1e300},
		"huge flat": {1e300, 1e300 * (1 + 1e-15), 1e300},
		"tiny":      {1e-300, 2e-300, 1e-300},
		"jump":      {0, 0, 1e15, 0, 0, 1},
		"negative":  {-5, -5, -5, -5},
		"gaps":      {math.NaN(), 3, 4, math.Inf(-1), 2, 2, math.Inf(1)},
		"one":       {42},
		"spike":     spike,
	} {
		c := TimeChart{Series: []Series{{Name: "V", Times: days(len(vals)), Values: vals, Area: true}}}
		for _, s := range []Size{Narrow, Wide} {
			svg := string(c.SVG(s))
			parse(t, svg)
			require.False(t, strings.Contains(svg, "NaN") || strings.Contains(svg, "Inf"), "%s %v", name, s)
			for _, v := range coordsOf(t, svg) {
				assert.True(t, v >= -1 && v <= float64(max(s.W, s.H))+1, "%s: coordinate %v outside the drawing", name, v)
			}
			t0, t1, v0, v1, ok := c.domain()
			require.True(t, ok)
			if t1 == t0 {
				continue // one point: a dot
			}
			yt := NiceTicks(v0, v1, yTickCount(s))
			x := Scale{D0: t0, D1: t1, R0: padLeft, R1: float64(s.W - padRight)}
			y := Scale{D0: yt[0], D1: yt[len(yt)-1], R0: float64(s.H - padBottom), R1: padTop}
			lines := linesOf(t, svg)
			for _, seg := range segments(c.Series[0]) {
				if len(seg) < 2 {
					continue
				}
				require.NotEmpty(t, lines, name)
				line := lines[0]
				lines = lines[1:]
				for _, i := range seg {
					p := point{x.At(unix(c.Series[0].Times[i])), y.At(vals[i])}
					assert.LessOrEqual(t, offLine(p, line), tolerance+0.08, "%s %v day %d", name, s, i)
				}
			}
			if name == "spike" {
				assert.True(t, strings.Contains(svg, "<title>2027-09-10: V 1000001.00</title>"), "the spike's day has its hover column")
				assert.True(t, strings.Contains(svg, "<title>2028-09-26: V 1000000.00</title>"), "the last day has its hover column")
			}
		}
	}
}
