package main

import (
	"html"
	"math"
	"net/http"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/papertrade"
)

// defined returns the terms a page defines in its footnotes (<dt>) and
// the texts of its title attributes.
func defined(page string) (terms map[string]bool, titles []string) {
	terms = map[string]bool{}
	for _, m := range regexp.MustCompile(`<dt>([^<]+)</dt>`).FindAllStringSubmatch(page, -1) {
		terms[html.UnescapeString(m[1])] = true
	}
	for _, m := range regexp.MustCompile(`title="([^"]+)"`).FindAllStringSubmatch(page, -1) {
		titles = append(titles, html.UnescapeString(m[1]))
	}
	return terms, titles
}

// Every figure of the backtest, Monte Carlo and statistics pages is
// defined where it is shown: a footnote term for each statistic row
// (or the row it belongs to), P(profit), P(beat buy & hold), risk of
// ruin and exposure, and the volatility with the days it is annualised
// over.
func TestFiguresAreDefinedWhereShown(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "fig", "user")
	status, page, _ := e.get(t, c, "/backtest?run=1&symbol=AAPL&strategy=smacross&mc=on&cash=10000&commission=0.2")
	require.Equal(t, http.StatusOK, status)
	terms, _ := defined(page)
	// Figures that a neighbouring definition covers, or that are counts
	// and amounts of the starting cash's own currency.
	covered := map[string]string{"Final equity": "", "Peak equity": "", "Trades": "",
		"Max drawdown duration": "Max drawdown", "Best trade": "Win rate", "Worst trade": "Win rate"}
	for _, r := range statRows(papertrade.Stats{ReturnPct: math.NaN()}) {
		by, ok := covered[r.Name]
		switch {
		case !ok:
			assert.True(t, terms[r.Name], "the backtest page does not define %q", r.Name)
		case by != "":
			assert.True(t, terms[by], "%q is covered by %q, which is not defined", r.Name, by)
		}
	}
	for _, term := range []string{"P(profit)", "P(beat buy & hold)", "Risk of ruin", "Exposure"} {
		assert.True(t, terms[term], "the Monte Carlo section does not define %q", term)
	}

	// Buy and hold paying commission never "beats" buy and hold: the
	// Monte Carlo measures it against the same engine's buy and hold, with
	// the same costs, on each path.
	var mc struct {
		MonteCarlo struct {
			ProbBeatBH *float64 `json:"prob_beat_buy_hold"`
		} `json:"monte_carlo"`
	}
	getJSON(t, e, c, "/api/montecarlo?symbol=BTC-USD&strategy=buyhold&commission=0.2&cash=10000", &mc)
	require.NotNil(t, mc.MonteCarlo.ProbBeatBH)
	assert.Zero(t, *mc.MonteCarlo.ProbBeatBH)

	status, page, _ = e.get(t, c, "/stats?symbol=BTC-USD")
	require.Equal(t, http.StatusOK, status)
	terms, titles := defined(page)
	for _, term := range []string{"Volatility (annual)", "Sharpe", "Max drawdown", "CAGR", "RSI(14)", "SMA(n)"} {
		assert.True(t, terms[term], "the statistics page does not define %q", term)
	}
	assert.Contains(t, page, "√365 days", "Bitcoin's volatility is annualised over 365 days, and says so")
	assert.True(t, strings.Contains(strings.Join(titles, "\n"), "× √365"))

	// The portfolio's figures carry their definition (a tooltip) but the
	// plain amounts.
	status, _, _ = e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	for _, path := range []string{"/portfolio", "/"} {
		_, page, _ = e.get(t, c, path)
		kpis := regexp.MustCompile(`<div class="kpi"( title="[^"]+")?><div class="k">([^<]+)</div>`).FindAllStringSubmatch(page, -1)
		require.NotEmpty(t, kpis, path)
		for _, k := range kpis {
			switch html.UnescapeString(k[2]) {
			case "Total value", "Securities", "Cash":
			default:
				assert.NotEmpty(t, k[1], "%s: %q has no definition", path, k[2])
			}
		}
	}
}
