package chart

import (
	"math"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestShortNum(t *testing.T) {
	for _, tc := range []struct {
		v, step float64
		want    string
	}{
		{12000, 0, "12k"}, {12200, 0, "12.2k"}, {171983, 0, "172k"}, {1500, 0, "1.5k"}, {1.2e6, 0, "1.2M"},
		{-25000, 0, "-25k"}, {950, 0, "950"}, {0, 0, "0"}, {0.126, 0, "0.13"}, {2.5e9, 0, "2.5B"},
		{3.15e6, 50e3, "3.15M"}, {3.2e6, 50e3, "3.2M"}, {3.25e6, 50e3, "3.25M"}, {3e6, 50e3, "3M"},
		{3.2e6, 100e3, "3.2M"}, {3.2e6, 200e3, "3.2M"}, {12000, 500, "12k"}, {12500, 500, "12.5k"},
		{10.5, 0.5, "10.5"}, {0.05, 0.01, "0.05"}, {-0.0001, 0.01, "0"},
		{1000, 50, "1k"}, {1050, 50, "1.05k"}, {math.NaN(), 0, "NaN"},
	} {
		assert.Equal(t, tc.want, ShortNum(tc.v, tc.step), "%v step %v", tc.v, tc.step)
	}
}

// TestTickLabelsDiffer: the value axis's labels written by ShortNum with
// the ticks' step are all different, over random domains of every
// magnitude (a portfolio of 3.1 to 3.3 million read "3.2M USD" twice:
// ticks 50k apart, written with one decimal).
func TestTickLabelsDiffer(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 6))
	check := func(lo, hi float64, n int) {
		ticks := NiceTicks(lo, hi, n)
		seen := map[string]float64{}
		for _, v := range ticks {
			l := tickLabel(ShortNum, nil, v, ticks)
			if prev, dup := seen[l]; dup {
				t.Fatalf("domain %v to %v, %d ticks: %v and %v both read %q", lo, hi, n, prev, v, l)
			}
			seen[l] = v
		}
	}
	check(3.1e6, 3.3e6, 5)
	for range 20000 {
		scale := math.Pow(10, rng.Float64()*12-3)
		lo := (rng.Float64()*2 - 0.5) * scale
		check(lo, lo+rng.Float64()*scale*rng.Float64(), 2+rng.IntN(8))
	}
}

// TestTimeChartTicksGetTheStep: a chart with Ticks writes its axis with
// them, and they tell the ticks apart; without, Format writes them.
func TestTimeChartTicksGetTheStep(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	s := Series{Name: "Value", Times: []time.Time{t0, t0.AddDate(0, 0, 1)}, Values: []float64{3.12e6, 3.28e6}}
	labels := regexp.MustCompile(`text-anchor="end" dominant-baseline="middle">([^<]*)</text>`)
	read := func(c TimeChart) []string {
		var out []string
		for _, m := range labels.FindAllStringSubmatch(string(c.SVG(Wide)), -1) {
			out = append(out, m[1])
		}
		return out
	}
	got := read(TimeChart{Series: []Series{s}, Ticks: func(v, step float64) string { return ShortNum(v, step) + " USD" }})
	require.GreaterOrEqual(t, len(got), 3)
	seen := map[string]bool{}
	for _, l := range got {
		assert.False(t, seen[l], "%q twice in %v", l, got)
		seen[l] = true
	}
	assert.Contains(t, got, "3.15M USD")
	plain := read(TimeChart{Series: []Series{s}, Format: func(v float64) string { return ShortNum(v, 0) }})
	assert.Len(t, plain, len(got))
	assert.Contains(t, plain, "3.2M", "Format alone rounds to one decimal")
	cols := Columns{Bars: []Bar{{Label: "a", Value: 1250}, {Label: "b", Value: 1300}}, Ticks: ShortNum}
	assert.NotRegexp(t, `>1\.3k</text>[^$]*>1\.3k</text>`, string(cols.SVG(Wide)))
}
