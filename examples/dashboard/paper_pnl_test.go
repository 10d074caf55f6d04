package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
)

// TestPaperPnLChartIsTheBooksSeries: fills on different days in the
// paper book give a P&L chart on /paper and a pnl series in /api/paper
// whose points are the paper book's own performance series (value less
// the play money, day by day), while the user's real net worth stays
// what it was.
func TestPaperPnLChartIsTheBooksSeries(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.user(t, "pia", auth.RoleUser)
	u := mustUser(t, e, "pia")
	status, _, _ := e.post(t, c, "/portfolio/demo", url.Values{})
	require.Equal(t, http.StatusSeeOther, status)
	realBefore, err := e.app.performance(ctx, u.ID, e.app.bookOf(u), "USD")
	require.NoError(t, err)

	// A paper account opened 30 days ago that traded on three days since
	// (the library's account with its own clock, booking into the user's
	// paper book, as the dashboard's does today).
	today := time.Now().UTC().Truncate(24 * time.Hour)
	day := today.AddDate(0, 0, -30).Add(15 * time.Hour)
	st := e.app.paperBookOf(u)
	require.NoError(t, st.SaveAccount(ctx, portfolio.Account{ID: paperAccountID, Name: "Paper trading",
		Kind: portfolio.KindBrokerage, Currency: paperCurrency}))
	book, err := papertrade.OpenLedgerStore(ctx, st, 10*time.Second)
	require.NoError(t, err)
	acct, err := papertrade.NewAccount(ctx, papertrade.AccountOptions{ID: paperAccountID, Currency: paperCurrency,
		Quotes: e.app.agg, Book: book, Deposit: decimal.NewFromInt(paperDeposit), Now: func() time.Time { return day }})
	require.NoError(t, err)
	for _, f := range []struct {
		after int
		buy   bool
		sym   string
		qty   int64
	}{{2, true, "AAPL", 100}, {10, true, "MSFT", 40}, {8, false, "AAPL", 60}} {
		day = day.AddDate(0, 0, f.after)
		if f.buy {
			_, err = acct.Buy(ctx, f.sym, decimal.NewFromInt(f.qty))
		} else {
			_, err = acct.Sell(ctx, f.sym, decimal.NewFromInt(f.qty))
		}
		require.NoError(t, err)
	}

	status, body, _ := e.get(t, c, "/api/paper")
	require.Equal(t, http.StatusOK, status, body)
	var got struct {
		PnL []apiPnLPoint `json:"pnl"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))

	perf, err := e.app.performance(ctx, paperOwner(u), e.app.paperBookOf(u), paperCurrency)
	require.NoError(t, err)
	// The series from the day of the deposit (the day before, with
	// nothing in it, is not drawn) to today.
	var want []apiPnLPoint
	var deposits float64
	for _, p := range perf.Points {
		deposits += p.Flow
		if p.Value == 0 && deposits == 0 {
			continue
		}
		want = append(want, apiPnLPoint{Date: p.Time.Format(time.DateOnly), Value: floatMoney(p.Value, "USD"),
			NetDeposits: floatMoney(deposits, "USD"), PnL: floatMoney(p.Value-deposits, "USD")})
	}
	require.GreaterOrEqual(t, len(want), 30, "a point a day for a month")
	assert.Equal(t, want, got.PnL)
	assert.Equal(t, today.AddDate(0, 0, -30).Format(time.DateOnly), got.PnL[0].Date)
	assert.Equal(t, "100000", got.PnL[0].NetDeposits.Amount, "the play money is the only deposit")
	// The fills moved the P&L: it is not flat after the first buy.
	distinct := map[string]bool{}
	for _, p := range got.PnL {
		distinct[p.PnL.Amount] = true
	}
	assert.Greater(t, len(distinct), 3)

	// The page draws the same points: its hover values are the series'.
	status, page, _ := e.get(t, c, "/paper")
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, page, `aria-label="Paper-trading P&amp;L over time"`)
	wide := page[strings.Index(page, `chart-wide`):]
	hovers := regexp.MustCompile(`<title>(\d{4}-\d\d-\d\d): P&amp;L ([^<]+) USD</title>`).FindAllStringSubmatch(wide, -1)
	require.Len(t, hovers, len(want), "one hover target a day")
	for i, h := range hovers {
		p := pnlSeries(perf)[i]
		assert.Equal(t, want[i].Date, h[1])
		assert.Equal(t, signedNum(p.PnL), h[2])
	}

	// The real books: the same net worth, the same series.
	realAfter, err := e.app.performance(ctx, u.ID, e.app.bookOf(u), "USD")
	require.NoError(t, err)
	assert.Equal(t, realBefore.EndValue, realAfter.EndValue, "paper fills leave the net worth alone")
	assert.Equal(t, realBefore.NetFlows, realAfter.NetFlows)
	assert.Equal(t, len(realBefore.Points), len(realAfter.Points))
}
