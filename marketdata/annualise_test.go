package marketdata_test

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

func TestTradingDaysPerYear(t *testing.T) {
	for _, c := range []struct{ weekend, bars, want int }{
		{0, 0, 252}, {0, 500, 252}, {2, 7, 365}, {200, 700, 365},
		{17, 100, 252}, // 17 % of bars on weekends: below 0.6 × 2/7 ≈ 17.14 %
		{18, 100, 365},
	} {
		assert.Equal(t, c.want, marketdata.TradingDaysPerYear(c.weekend, c.bars), "%d of %d", c.weekend, c.bars)
	}
}

// Analyze annualises a series that trades every day over 365 days and a
// weekday series over 252, unless told otherwise.
func TestAnalyzeAnnualisesOverTheSeriesDays(t *testing.T) {
	mk := func(everyDay bool) []marketdata.Bar {
		var bars []marketdata.Bar
		p := 100.0
		for d := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC); len(bars) < 300; d = d.AddDate(0, 0, 1) {
			if wd := d.Weekday(); !everyDay && (wd == time.Saturday || wd == time.Sunday) {
				continue
			}
			p *= 1 + 0.01*math.Sin(float64(len(bars))*1.7)
			bars = append(bars, marketdata.Bar{Time: d, Open: p, High: p, Low: p, Close: p, AdjClose: p})
		}
		return bars
	}
	for _, c := range []struct {
		everyDay bool
		opts     marketdata.StatsOptions
		want     int
	}{{true, marketdata.StatsOptions{}, 365}, {false, marketdata.StatsOptions{}, 252}, {true, marketdata.StatsOptions{TradingDays: 252}, 252}} {
		st, err := marketdata.Analyze(mk(c.everyDay), c.opts)
		require.NoError(t, err)
		assert.Equal(t, c.want, st.TradingDays)
		assert.InEpsilon(t, st.StdDev*math.Sqrt(float64(c.want)), st.Volatility, 1e-12)
	}
}
