package main

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// TestPortfolioTxRefusalPlain: an edit or delete refused on the portfolio
// page says so in a plain sentence (the flash showed the ledger's error
// chain: "… (portfolio: insufficient funds: cash …)"); the chain goes to
// the log line of the request, with its id.
func TestPortfolioTxRefusalPlain(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.user(t, "rita", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", url.Values{})
	book := e.app.bookOf(mustUser(t, e, "rita"))
	_, err := book.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{{ID: "hand-1", Account: "savings", Kind: portfolio.TxWithdrawal,
			Time: mustTime(t, "2025-03-01"), Amount: decimal.NewFromInt(1_000_000), Currency: "EUR"}}}, nil
	})
	require.NoError(t, err)
	txs, err := book.Transactions(ctx)
	require.NoError(t, err)
	var deposit string
	for _, tx := range txs {
		if tx.Account == "broker" && tx.Kind == portfolio.TxDeposit {
			deposit = tx.ID
			break
		}
	}
	require.NotEmpty(t, deposit)

	for _, tc := range []struct {
		path string
		form url.Values
		want string
	}{
		{"/portfolio/transactions/edit", url.Values{"id": {"hand-1"}, "amount": {"999999"}},
			"Transaction hand-1 was not changed: the withdrawal of 2025-03-01 would then not apply (not enough cash in the account)."},
		{"/portfolio/transactions/delete", url.Values{"id": {deposit}}, "would then not apply (not enough cash in the account)."},
		{"/portfolio/transactions/delete", url.Values{"id": {"nope"}}, "Transaction nope was not deleted: no such transaction."},
	} {
		status, _, h := e.post(t, c, tc.path, tc.form)
		require.Equal(t, http.StatusSeeOther, status)
		msg := e.flashAt(t, c, h.Get("Location"))
		assert.Contains(t, msg, tc.want)
		assert.True(t, strings.HasSuffix(msg, "."), "%q", msg)
		for _, internal := range []string{"portfolio:", "cash 0", "cash 12", "needs ", "id \"", "%!"} {
			assert.NotContains(t, msg, internal, "%s %v", tc.path, tc.form)
		}
		if tc.form.Get("id") == "nope" {
			continue
		}
		rid := h.Get("X-Request-ID")
		require.NotEmpty(t, rid)
		var logged bool
		for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
			var rec map[string]any
			if json.Unmarshal([]byte(line), &rec) != nil || rec["request_id"] != rid || rec["msg"] != "transaction change refused" {
				continue
			}
			logged = strings.Contains(rec["error"].(string), "portfolio: insufficient funds")
		}
		assert.True(t, logged, "the refusal's chain is logged with request id %s", rid)
	}
	after, err := book.Transactions(ctx)
	require.NoError(t, err)
	assert.Len(t, after, len(txs), "nothing changed")
}
