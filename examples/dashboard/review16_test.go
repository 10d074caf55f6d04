package main

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// A symbol the market data cannot look up (booked by hand or imported)
// made the home page, the portfolio and the report answer 500 for good:
// the price prefetch failed the whole page. The form refuses such a symbol
// next to the field; an imported one is valued at its last trade price.
func TestUnpriceableSymbolDoesNotBreakThePages(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "sym", auth.RoleUser)
	_, _, h := e.post(t, c, "/portfolio/accounts", url.Values{"id": {"brk"}, "name": {"Broker"}, "kind": {"brokerage"}, "currency": {"USD"}, "cost": {"fifo"}})
	require.Contains(t, e.flashAt(t, c, h.Get("Location")), "Added the account")
	status, _, _ := e.post(t, c, "/transactions", url.Values{"account": {"brk"}, "kind": {"deposit"}, "date": {"2026-01-05"}, "amount": {"1000"}})
	require.Equal(t, http.StatusSeeOther, status)
	status, body, _ := e.post(t, c, "/transactions", url.Values{"account": {"brk"}, "kind": {"buy"}, "date": {"2026-01-06"},
		"symbol": {`<b>x</b>"'`}, "quantity": {"1"}, "price": {"10"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, `<span class="field-error" role="alert">Not a market symbol`)

	msg := e.importRows(t, c, "date,account,kind,symbol,quantity,price,fee,tax,currency,fx_rate,amount,note\n"+
		"2026-01-07,brk,buy,X/Y,1,10,0,0,USD,,,\n")
	require.Contains(t, msg, "1", msg)
	for _, p := range []string{"/", "/portfolio", "/portfolio/report", "/transactions"} {
		status, body, _ := e.get(t, c, p)
		assert.Equal(t, http.StatusOK, status, "%s: %s", p, body)
	}
}

// Attacks on the transaction forms: another user's id on edit and delete
// changes nothing, a cross-site form post is refused, and the back field
// cannot send the user to another site.
func TestTransactionFormsAttacks(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "victim", auth.RoleUser)
	u := mustUser(t, e, "victim")
	_, _, _ = e.post(t, c, "/portfolio/accounts", url.Values{"id": {"brk"}, "name": {"Broker"}, "kind": {"brokerage"}, "currency": {"USD"}, "cost": {"fifo"}})
	status, _, _ := e.post(t, c, "/transactions", url.Values{"account": {"brk"}, "kind": {"deposit"}, "date": {"2026-01-05"}, "amount": {"1000"}})
	require.Equal(t, http.StatusSeeOther, status)
	b, err := portfolio.ReadBooks(t.Context(), e.app.bookOf(u))
	require.NoError(t, err)
	require.Len(t, b.Transactions, 1)
	id := b.Transactions[0].ID

	other := e.user(t, "attacker", auth.RoleUser)
	_, _, _ = e.post(t, other, "/portfolio/accounts", url.Values{"id": {"brk"}, "name": {"Broker"}, "kind": {"brokerage"}, "currency": {"USD"}, "cost": {"fifo"}})
	status, _, h := e.post(t, other, "/portfolio/transactions/edit", url.Values{"id": {id}, "amount": {"1"}, "back": {"/transactions"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.NotContains(t, e.flashAt(t, other, h.Get("Location")), "Changed transaction")
	status, _, h = e.post(t, c, "/portfolio/transactions/delete", url.Values{"id": {"nope"}, "back": {"https://evil.example/x"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.True(t, strings.HasPrefix(h.Get("Location"), "/") && !strings.HasPrefix(h.Get("Location"), "//"), h.Get("Location"))
	after, err := portfolio.ReadBooks(t.Context(), e.app.bookOf(u))
	require.NoError(t, err)
	require.Len(t, after.Transactions, 1)
	assert.Equal(t, "1000", after.Transactions[0].Amount.String(), "the attacker's edit changed nothing")

	for _, p := range []string{"/transactions", "/portfolio/transactions/delete", "/account/sessions/revoke", "/account/totp/enroll"} {
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+p, strings.NewReader(url.Values{"id": {id}, "kind": {"deposit"}, "account": {"brk"}, "amount": {"5"}, "date": {"2026-01-06"}}.Encode()))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Origin", "https://evil.example")
		req.Header.Set("Sec-Fetch-Site", "cross-site")
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusForbidden, resp.StatusCode, p)
	}
	final, err := portfolio.ReadBooks(t.Context(), e.app.bookOf(u))
	require.NoError(t, err)
	assert.Len(t, final.Transactions, 1, "no cross-site write landed")
}
