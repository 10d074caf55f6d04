package main

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// TestLongListsShowTheLatest: the portfolio page lists the latest
// realized gains and transactions and says so, with a link to all of
// them (the transactions page filters and pages); short books show
// everything and no such line.
func TestLongListsShowTheLatest(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "trader", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	_, page, _ := e.get(t, c, "/portfolio")
	assert.NotContains(t, page, "realized gains. <a")
	assert.Contains(t, page, `<a href="/transactions">All transactions</a>`, "the demo has more than the 12 recent ones")

	var csv strings.Builder
	csv.WriteString("date,account,kind,symbol,quantity,price,amount,note\n")
	for i := range 30 { // 30 round trips: 30 lots closed
		fmt.Fprintf(&csv, "2026-02-%02d,broker,buy,AAPL,1,200,,\n2026-02-%02d,broker,sell,AAPL,1,201,,\n", i%28+1, i%28+1)
	}
	msg := e.importRows(t, c, csv.String())
	require.Contains(t, msg, "Imported 60 new", msg)
	status, page, _ := e.get(t, c, "/portfolio")
	require.Equal(t, http.StatusOK, status)
	r, _ := e.currentRender(t, "trader")
	require.Greater(t, r.view.Gains, realizedShown)
	assert.Len(t, r.view.Realized, realizedShown)
	assert.Contains(t, page, fmt.Sprintf(`The latest %d of %d realized gains. <a href="/transactions?kind=sell">All sales</a>`, realizedShown, r.view.Gains))
	assert.Contains(t, page, fmt.Sprintf(`The latest %d of %d. <a href="/transactions">All transactions</a>`, recentShown, r.view.Txs))
	_, sales, _ := e.get(t, c, "/transactions?kind=sell")
	assert.Contains(t, sales, "AAPL")
}

// TestLongListCountsAsNumbers: the counts of the lists' lines are written
// as the page writes its other figures, with thousands separators ("The
// latest 12 of 1,040"; it was "of 1040").
func TestLongListCountsAsNumbers(t *testing.T) {
	p, err := loadPages()
	require.NoError(t, err)
	for _, n := range []struct {
		txs, gains int
		want       []string
	}{
		{1040, 12_345, []string{"The latest 0 of 1,040. ", "The latest 1 of 12,345 realized gains."}},
		{999, 26, []string{"The latest 0 of 999. ", "The latest 1 of 26 realized gains."}},
	} {
		v := &portfolioView{Base: "USD", Bases: baseCurrencies, Txs: n.txs, Gains: n.gains,
			Val: &portfolio.Valuation{Base: "USD"}, Realized: []portfolio.RealizedGain{{Symbol: "AAPL"}}}
		var buf strings.Builder
		require.NoError(t, p.byName["portfolio"].ExecuteTemplate(&buf, "content", view{Data: v}))
		for _, w := range n.want {
			assert.Contains(t, buf.String(), w)
		}
	}
}
