package main

import (
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestTransactionsByHandInChromium: a user books a deposit and a buy by
// hand, sees the holding, its value and the value chart on the portfolio
// page, then deletes the buy from the transactions table.
func TestTransactionsByHandInChromium(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "handy", auth.RoleUser)
	e.post(t, c, "/portfolio/accounts", url.Values{"id": {"brk"}, "name": {"Broker"}, "kind": {"brokerage"}, "currency": {"USD"}, "cost": {"fifo"}})
	b := newBrowser(t, e, 2*time.Minute)
	b.login(t, e, c)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(1366, 900)))
	book := func(name string, fields map[string]string) {
		b.open(t, "/transactions")
		steps := []chromedp.Action[chromedp.Void]{}
		for k, v := range fields {
			steps = append(steps, chromedp.SetValue(chromedp.CSS(`#add-transaction [name="`+k+`"]`), v))
		}
		steps = append(steps, chromedp.Click(chromedp.CSS(`#add-transaction button`)), chromedp.WaitVisible(chromedp.CSS(".flash.ok")))
		b.do(t, name, steps...)
	}
	book("deposit", map[string]string{"kind": "deposit", "date": "2025-01-02", "amount": "5000"})
	book("buy", map[string]string{"kind": "buy", "date": "2025-01-06", "symbol": "AAPL", "quantity": "10", "price": "240", "fee": "1"})

	b.open(t, "/portfolio")
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, text, "AAPL")
	require.Contains(t, text, "Value over time")
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#value-chart svg.chart-wide polyline').length`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, n, 1, "the value chart has a line (screenshot: %s)", b.screenshot(t, "FAIL-value-chart"))

	b.open(t, "/transactions?kind=buy")
	b.do(t, "delete",
		chromedp.Click(chromedp.CSS(`#tx-table details.tx-edit summary`)),
		chromedp.Click(chromedp.CSS(`#tx-table form[action="/portfolio/transactions/delete"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	msg, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(".flash.ok span:last-child")))
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(msg, "Deleted transaction"), msg)
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#tx-table tbody tr').length`))
	require.NoError(t, err)
	require.Equal(t, 1, rows, "the deposit is left")
}
