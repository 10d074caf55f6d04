package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
)

// weekdayBars are daily bars on weekdays from from to to, volume 1 each.
func weekdayBars(from, to time.Time) marketdata.History {
	h := marketdata.History{Symbol: "XYZ", Currency: "USD"}
	for d := from; !d.After(to); d = d.AddDate(0, 0, 1) {
		if d.Weekday() != time.Saturday && d.Weekday() != time.Sunday {
			h.Bars = append(h.Bars, marketdata.Bar{Time: d, Open: 1, High: 1, Low: 1, Close: 1, Volume: 1})
		}
	}
	return h
}

var volumeBarRE = regexp.MustCompile(`<title>week \d+ of \d+: volume (\d+)</title>`)

// TestVolumeChartLeavesOutThePartialWeek: the last weekly bar is drawn
// only when its week is complete; a week still trading is named under the
// chart instead of showing as a short bar.
func TestVolumeChartLeavesOutThePartialWeek(t *testing.T) {
	mon := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)                         // a Monday
	wide := func(h string) string { return h[strings.Index(h, "chart-wide"):] } // the wide drawing
	partial := string(volumeChart(weekdayBars(mon, mon.AddDate(0, 0, 23))))     // to a Wednesday: 3 weeks and 3 days
	vols := volumeBarRE.FindAllStringSubmatch(wide(partial), -1)
	require.Len(t, vols, 3, "the three full weeks")
	for _, v := range vols {
		assert.Equal(t, "5", v[1])
	}
	assert.Contains(t, partial, "The current week (from 23 Nov, 3 of 5 trading days so far, volume 3) is not drawn until it is complete.")

	full := string(volumeChart(weekdayBars(mon, mon.AddDate(0, 0, 25)))) // to a Friday
	assert.Len(t, volumeBarRE.FindAllString(wide(full), -1), 4)
	assert.NotContains(t, full, "current week")
	assert.Contains(t, full, `rotate(-90)" text-anchor="middle" fill="#344054">volume</text>`, "the value axis is named")
}

// TestReturnsHistogramHasAValueAxis: the Statistics page's distribution
// of daily returns is a chart with a value axis (days, with ticks), a
// hover value per bucket and a line at 0 %.
func TestReturnsHistogramHasAValueAxis(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "stan", auth.RoleUser)
	_, body, _ := e.get(t, c, "/stats?symbol=AAPL")
	i := strings.Index(body, `aria-label="Distribution of daily returns of AAPL: days per return bucket"`)
	require.GreaterOrEqual(t, i, 0)
	svg := body[i : i+strings.Index(body[i:], "</svg>")]
	assert.Contains(t, svg, `rotate(-90)" text-anchor="middle" fill="#344054">days</text>`)
	ticks := regexp.MustCompile(`text-anchor="end" dominant-baseline="middle">(\d+)</text>`).FindAllStringSubmatch(svg, -1)
	require.GreaterOrEqual(t, len(ticks), 3, "tick labels on the value axis")
	assert.Equal(t, "0", ticks[0][1])
	assert.Regexp(t, `<title>\d+ days with a return from [-+]\d+\.\d\d% to [-+]\d+\.\d\d%</title>`, svg)
	assert.Contains(t, svg, ">0 %</text>")
}

// TestShortNumTellsTicksApart: the value axis's labels of ticks 200 apart
// differ (they all read "12k" in the PDF report of a 12,345.67 USD
// account).
func TestShortNumTellsTicksApart(t *testing.T) {
	for v, want := range map[float64]string{12000: "12k", 12200: "12.2k", 12400: "12.4k", 171983: "172k", 1500: "1.5k", 1.2e6: "1.2M", -25000: "-25k", 950: "950"} {
		assert.Equal(t, want, shortNum(v), "%v", v)
	}
}

// TestVolumeChartLeavesOutAShortFirstWeek: a history that starts in the
// middle of a week does not draw that week as a short bar either (three
// years of Bitcoin from a Saturday began with a two-day bar); the chart
// says it left it out.
func TestVolumeChartLeavesOutAShortFirstWeek(t *testing.T) {
	wed := time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC)
	h := weekdayBars(wed, wed.AddDate(0, 0, 16)) // Wed 4 to Fri 20 Nov: 3 days, then two full weeks
	html := string(volumeChart(h))
	vols := volumeBarRE.FindAllStringSubmatch(html[strings.Index(html, "chart-wide"):], -1)
	require.Len(t, vols, 2, "the two full weeks")
	for _, v := range vols {
		assert.Equal(t, "5", v[1])
	}
	assert.Contains(t, html, "The first week (from 4 Nov 2026, 3 of 5 trading days in this history, volume 3) is not drawn.")
	// A history from a Monday keeps its first week.
	mon := wed.AddDate(0, 0, -2)
	html = string(volumeChart(weekdayBars(mon, mon.AddDate(0, 0, 18))))
	assert.Len(t, volumeBarRE.FindAllStringSubmatch(html[strings.Index(html, "chart-wide"):], -1), 3)
	assert.NotContains(t, html, "first week")
}
