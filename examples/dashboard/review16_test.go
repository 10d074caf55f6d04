package main

import (
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
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
	status, _, h := e.post(t, c, "/transactions", url.Values{"account": {"brk"}, "kind": {"deposit"}, "date": {"2026-01-05"}, "amount": {"1000"}})
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
