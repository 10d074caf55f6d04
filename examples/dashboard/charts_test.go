package main

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

func TestValueSeriesPeriods(t *testing.T) {
	end := time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC)
	var pts []portfolio.ValuePoint
	for d := 0; d <= 800; d++ {
		flow := 0.0
		if d == 0 || d == 400 {
			flow = 1000
		}
		pts = append(pts, portfolio.ValuePoint{Time: end.AddDate(0, 0, d-800), Value: 1000 + float64(d), Flow: flow})
	}
	perf := &portfolio.Performance{Base: "USD", Points: pts}
	for period, days := range map[string]int{"Max": 801, "1Y": 366, "YTD": 336, "1M": 31} {
		times, value, deposits := valueSeries(perf, period)
		require.Len(t, times, days, period)
		require.Len(t, value, days)
		assert.Equal(t, end, times[len(times)-1], period)
		assert.Equal(t, 2000.0, deposits[len(deposits)-1], "%s: both deposits counted, also those before the period", period)
	}
	times, _, deposits := valueSeries(perf, "Max")
	assert.Equal(t, 1000.0, deposits[0])
	assert.Equal(t, pts[0].Time, times[0])
	none, _, _ := valueSeries(nil, "1M")
	assert.Empty(t, none)
	assert.Equal(t, "Max", pickPeriod("bogus"))
	assert.Equal(t, "YTD", pickPeriod("ytd"))
}

var titleRE = regexp.MustCompile(`<title>`)

func TestChartsOnPages(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "charlie", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	_, all, _ := e.get(t, c, "/portfolio")
	_, month, _ := e.get(t, c, "/portfolio?period=1M")
	assert.Contains(t, month, `aria-current="true">1M</a>`)
	wide := func(body string) string {
		i := strings.Index(body, `<svg class="chart2 chart-wide"`)
		require.GreaterOrEqual(t, i, 0)
		return body[i : i+strings.Index(body[i:], "</svg>")]
	}
	assert.Less(t, len(titleRE.FindAllString(wide(month), -1)), len(titleRE.FindAllString(wide(all), -1)), "a month has fewer points")
	assert.Regexp(t, `<title>\d{4}-\d\d-\d\d: Value [\d,]+\.\d\d USD, Net deposits [\d,]+\.\d\d USD</title>`, wide(all), "hover values")
	assert.Contains(t, all, `aria-label="Allocation by currency"`)
	assert.NotContains(t, all, "Every item as one line")

	_, report, _ := e.get(t, c, "/portfolio/report")
	assert.Contains(t, report, `<svg class="chart2 chart-wide"`)
	assert.NotContains(t, report, "<h2>Summary</h2>")

	_, bt, _ := e.get(t, c, "/backtest?run=1&mc=on")
	for _, want := range []string{`aria-label="Equity curve against buy and hold"`, "Buy &amp; hold", `aria-label="Drawdown"`,
		`aria-label="Monte Carlo outcomes: paths per return bucket"`, "paths returned", "Risk of ruin</dt>", "enter long"} {
		assert.Contains(t, bt, want)
	}
	_, st, _ := e.get(t, c, "/stats?symbol=AAPL")
	for _, want := range []string{"SMA 50", "SMA 200", `aria-label="Weekly volume of AAPL"`} {
		assert.Contains(t, st, want)
	}
}

func TestOverviewHome(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "olga", auth.RoleUser)
	_, body, _ := e.get(t, c, "/")
	assert.Contains(t, body, "Your books are empty")
	e.post(t, c, "/portfolio/demo", nil)
	_, body, _ = e.get(t, c, "/")
	for _, want := range []string{`id="net-worth"`, "Today", "Top movers today", `aria-label="Portfolio value and net deposits, 1M"`, "AAPL 40 sh @", "broker cash"} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "The packages", "no list of Go packages for a logged-in user")
	_, body, _ = e.get(t, e.client(t), "/")
	assert.Contains(t, body, "Create an account")
}

// The performance series starts on the day before the first transaction
// with nothing in it; the value chart must not draw that empty day (it
// drew a line rising from 0 to the first deposit).
func TestValueSeriesStartsAtFirstDeposit(t *testing.T) {
	ctx := t.Context()
	l, err := portfolio.NewLedger(portfolio.Account{ID: "a", Currency: "USD"})
	require.NoError(t, err)
	day := time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	require.NoError(t, l.Apply(portfolio.Transaction{ID: "d1", Account: "a", Kind: portfolio.TxDeposit, Time: day, Amount: decimal.NewFromInt(1000)}))
	perf, err := l.Performance(ctx, portfolio.PerformanceOptions{Base: "USD", History: l.TradeHistory(), To: day.AddDate(0, 0, 5)})
	require.NoError(t, err)
	require.NotEmpty(t, perf.Points)
	times, value, deposits := valueSeries(perf, "Max")
	require.NotEmpty(t, times)
	assert.Equal(t, day, times[0], "the chart starts on the first deposit's day")
	assert.Equal(t, 1000.0, value[0])
	assert.Equal(t, 1000.0, deposits[0])
	assert.Equal(t, 6, len(times))
}
