package main

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

var txRowRE = regexp.MustCompile(`<tr data-id="([^"]+)">`)

func TestTransactionsByHand(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "hand", auth.RoleUser)
	u := mustUser(t, e, "hand")
	_, _, h := e.post(t, c, "/portfolio/accounts", url.Values{"id": {"brk"}, "name": {"Broker"}, "kind": {"brokerage"}, "currency": {"USD"}, "cost": {"fifo"}})
	require.Contains(t, e.flashAt(t, c, h.Get("Location")), "Added the account")
	count := func() int {
		b, err := portfolio.ReadBooks(t.Context(), e.app.bookOf(u))
		require.NoError(t, err)
		return len(b.Transactions)
	}
	add := func(v url.Values) (int, string) {
		v.Set("account", "brk")
		if v.Get("date") == "" {
			v.Set("date", "2026-01-05")
		}
		status, body, h := e.post(t, c, "/transactions", v)
		if status == http.StatusSeeOther {
			return status, e.flashAt(t, c, h.Get("Location"))
		}
		return status, body
	}

	// Field errors next to the fields, nothing booked.
	status, body := add(url.Values{"kind": {"deposit"}, "amount": {"abc"}, "date": {"5 Jan"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `<span class="field-error" role="alert">Not a number.</span>`)
	assert.Contains(t, body, `Give the date as YYYY-MM-DD.`)
	assert.Contains(t, body, `value="abc"`, "the form keeps what was typed")
	status, body = add(url.Values{"kind": {"buy"}, "quantity": {"2"}, "price": {"100"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "A buy needs a symbol.")
	require.Zero(t, count())

	status, msg := add(url.Values{"kind": {"deposit"}, "amount": {"1,000"}})
	require.Equal(t, http.StatusSeeOther, status, msg)
	assert.Contains(t, msg, "Booked:")
	// The ledger refuses what would not apply; nothing changes.
	status, body = add(url.Values{"kind": {"withdrawal"}, "amount": {"5000"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "would not apply")
	assert.Contains(t, body, "insufficient funds")
	status, msg = add(url.Values{"kind": {"buy"}, "symbol": {"aapl"}, "quantity": {"2"}, "price": {"100"}, "fee": {"1"}, "date": {"2026-01-06"}})
	require.Equal(t, http.StatusSeeOther, status, msg)
	status, body = add(url.Values{"kind": {"sell"}, "symbol": {"AAPL"}, "quantity": {"5"}, "price": {"110"}, "date": {"2026-01-07"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "insufficient holdings")
	require.Equal(t, 2, count())

	// The table, a filter, the CSV.
	_, body, _ = e.get(t, c, "/transactions")
	ids := txRowRE.FindAllStringSubmatch(body, -1)
	require.Len(t, ids, 2)
	buyID, depositID := ids[0][1], ids[1][1] // newest first
	_, body, _ = e.get(t, c, "/transactions?kind=buy")
	assert.Len(t, txRowRE.FindAllString(body, -1), 1)
	// The filtered page's links keep the filter: the CSV export and the
	// edit form (html/template escaped "kind=buy" to "kind%3dbuy", which
	// the server read as no filter at all).
	assert.Contains(t, body, `href="/transactions.csv?kind=buy"`)
	assert.Contains(t, body, `action="/portfolio/transactions/edit?kind=buy&amp;page=1"`)
	status, csv, hh := e.get(t, c, "/transactions.csv?kind=deposit")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, hh.Get("Content-Type"), "text/csv")
	txs, err := portfolio.ReadCSV(strings.NewReader(csv))
	require.NoError(t, err, csv)
	require.Len(t, txs, 1)
	assert.Equal(t, "1000", txs[0].Amount.String())

	// An edit that would leave the buy unpaid is refused and changes
	// nothing; the page comes back with the row's form open, what was
	// typed kept and the reason next to the field, not in a banner.
	status, body, _ = e.post(t, c, "/portfolio/transactions/edit?kind=deposit&page=1", url.Values{"id": {depositID}, "amount": {"10"}, "back": {"/transactions"}})
	require.Equal(t, http.StatusBadRequest, status)
	assert.NotContains(t, body, `class="flash error"`)
	assert.Regexp(t, `<details class="tx-edit" open>`, body)
	assert.Regexp(t, `<input name="amount" value="10" inputmode="decimal" aria-invalid="true"><span class="field-error" role="alert">Not changed: the buy of 2026-01-06 would then not apply \(not enough cash in the account\)\.</span>`, body)
	assert.Len(t, txRowRE.FindAllString(body, -1), 1, "the filter of the page is kept")
	// A field that is no number is marked where it is, the others keep
	// what was typed.
	status, body, _ = e.post(t, c, "/portfolio/transactions/edit", url.Values{"id": {depositID}, "amount": {"lots"}, "date": {"5 Jan"}, "fee": {"2"}, "back": {"/transactions"}})
	require.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `value="lots" inputmode="decimal" aria-invalid="true"><span class="field-error" role="alert">Not a number.</span>`)
	assert.Contains(t, body, `value="5 Jan" aria-invalid="true"><span class="field-error" role="alert">Give the date as YYYY-MM-DD.</span>`)
	assert.Contains(t, body, `<input name="fee" value="2" inputmode="decimal">`)
	// From the portfolio page an edit is still refused with a message.
	status, _, h = e.post(t, c, "/portfolio/transactions/edit", url.Values{"id": {depositID}, "amount": {"10"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "was not changed")
	b, err := portfolio.ReadBooks(t.Context(), e.app.bookOf(u))
	require.NoError(t, err)
	for _, tx := range b.Transactions {
		if tx.ID == depositID {
			assert.Equal(t, "1000", tx.Amount.String())
		}
	}
	status, _, h = e.post(t, c, "/portfolio/transactions/edit", url.Values{"id": {depositID}, "amount": {"1500"}, "back": {"/transactions"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Changed transaction")
	status, _, h = e.post(t, c, "/portfolio/transactions/delete", url.Values{"id": {buyID}, "back": {"/transactions"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Deleted transaction")
	require.Equal(t, 1, count())

	// Another user sees none of it.
	other := e.user(t, "other-hand", auth.RoleUser)
	_, body, _ = e.get(t, other, "/transactions")
	assert.Empty(t, txRowRE.FindAllString(body, -1))
	status, _, h = e.post(t, other, "/portfolio/transactions/delete", url.Values{"id": {depositID}, "back": {"/transactions"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, other, h.Get("Location")), "not deleted")
	require.Equal(t, 1, count())
}
