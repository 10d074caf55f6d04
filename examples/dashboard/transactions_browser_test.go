package main

import (
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"
)

// TestTransactionsByHandInChromium: a new user registers through the
// page, adds an account, books a deposit and a buy by hand, sees the
// holding, its value and the value chart on the portfolio page, edits the
// deposit (refused next to its field when it would leave the buy unpaid,
// then changed) and deletes the buy from the transactions table.
func TestTransactionsByHandInChromium(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e, 2*time.Minute)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(1366, 900)))
	b.open(t, "/register")
	b.do(t, "register",
		chromedp.SendKeys(chromedp.CSS(`input[name="username"]`), "handy"),
		chromedp.SendKeys(chromedp.CSS(`input[name="password"]`), testPassword),
		chromedp.SendKeys(chromedp.CSS(`input[name="confirm"]`), testPassword),
		chromedp.Click(chromedp.CSS(`form[action="/register"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	b.open(t, "/portfolio") // the welcome is read: the next flash is the account's
	b.do(t, "account",
		chromedp.SendKeys(chromedp.CSS(`form[action="/portfolio/accounts"] input[name="id"]`), "brk"),
		chromedp.SendKeys(chromedp.CSS(`form[action="/portfolio/accounts"] input[name="name"]`), "Broker"),
		chromedp.Click(chromedp.CSS(`form[action="/portfolio/accounts"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
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
	n, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#value-chart svg.chart-wide path[fill="none"]').length`))
	require.NoError(t, err)
	b.require(t, n >= 1, "value-chart", "the value chart has no line")

	// An edit that would leave the buy unpaid: refused in its row, the
	// typed amount kept and the reason next to it; then a good one.
	b.open(t, "/transactions?kind=deposit")
	b.do(t, "edit refused",
		chromedp.Click(chromedp.CSS(`#tx-table details.tx-edit summary`)),
		chromedp.SetValue(chromedp.CSS(`#tx-table details.tx-edit input[name="amount"]`), "100"),
		chromedp.Click(chromedp.CSS(`#tx-table details.tx-edit form.stack button`)),
		chromedp.WaitVisible(chromedp.CSS(`#tx-table details.tx-edit[open] input[name="amount"][aria-invalid="true"] + .field-error`)),
	)
	why, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`#tx-table input[name="amount"] + .field-error`)))
	require.NoError(t, err)
	b.require(t, strings.Contains(why, "would then not apply (not enough cash in the account)"), "edit-refused", "the refusal reads %q", why)
	typed, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll("#tx-table input[name=amount]")).map(i => i.value).join(",")`))
	require.NoError(t, err)
	require.Equal(t, "100", typed)
	banners, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('.flash.error').length`))
	require.NoError(t, err)
	require.Zero(t, banners, "the refusal is next to the field, not a banner")
	if keepShots() {
		t.Logf("edit refused: %s", b.screenshot(t, "transactions-edit-refused"))
	}
	b.do(t, "edit",
		chromedp.SetValue(chromedp.CSS(`#tx-table details.tx-edit input[name="amount"]`), "6000"),
		chromedp.Click(chromedp.CSS(`#tx-table details.tx-edit form.stack button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	amount, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(`#tx-table tbody tr td:nth-child(8)`)))
	require.NoError(t, err)
	require.Equal(t, "6,000.00 USD", amount)

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
