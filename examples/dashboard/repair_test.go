package main

import (
	"context"
	"net/http"
	"net/url"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// TestBrokenBooksStillShow: a stored withdrawal that no longer applies
// (written unchecked, as an older version or a hand edit could) does not
// take the portfolio down: the page and its JSON answer 200 with the rest
// of the books, name the transaction, and let the user fix it (an edit that
// still does not apply is refused) or delete it. Another user cannot touch
// it by its id.
func TestBrokenBooksStillShow(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.user(t, "rita", auth.RoleUser)
	mallory := e.user(t, "mallory", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", url.Values{})
	book := e.app.bookOf(mustUser(t, e, "rita"))
	_, err := book.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{{ID: "hand-1", Account: "savings", Kind: portfolio.TxWithdrawal,
			Time: mustTime(t, "2025-03-01"), Amount: decimal.NewFromInt(1_000_000), Currency: "EUR"}}}, nil
	})
	require.NoError(t, err)

	status, body, _ := e.get(t, c, "/portfolio")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Some transactions no longer apply")
	assert.Contains(t, body, "hand-1")
	assert.Contains(t, body, "insufficient funds")
	assert.Contains(t, body, "Brokerage", "the rest of the books is shown")
	status, api := portfolioAPI(t, e, c)
	require.Equal(t, http.StatusOK, status)
	assert.NotNil(t, api.Valuation)

	// Mallory, by the id.
	_, _, h := e.post(t, mallory, "/portfolio/transactions/delete", url.Values{"id": {"hand-1"}})
	assert.Contains(t, e.flashAt(t, mallory, h.Get("Location")), "no such transaction")
	_, _, h = e.post(t, mallory, "/portfolio/transactions/edit", url.Values{"id": {"hand-1"}, "amount": {"1"}})
	assert.Contains(t, e.flashAt(t, mallory, h.Get("Location")), "No such transaction")

	// A fix that still overdraws is refused and changes nothing.
	_, _, h = e.post(t, c, "/portfolio/transactions/edit", url.Values{"id": {"hand-1"}, "amount": {"999999"}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "was not changed")
	// Deleting the deposit the broker's buys are paid from is refused too.
	txs, err := book.Transactions(ctx)
	require.NoError(t, err)
	var deposit portfolio.Transaction
	for _, tx := range txs {
		if tx.Account == "broker" && tx.Kind == portfolio.TxDeposit {
			deposit = tx
			break
		}
	}
	_, _, h = e.post(t, c, "/portfolio/transactions/delete", url.Values{"id": {deposit.ID}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "would then not apply")
	// A fix that applies.
	_, _, h = e.post(t, c, "/portfolio/transactions/edit", url.Values{"id": {"hand-1"}, "amount": {"100"}, "date": {"2025-03-02"}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Changed transaction hand-1")
	_, err = portfolio.LoadLedger(ctx, book)
	require.NoError(t, err)
	_, body, _ = e.get(t, c, "/portfolio")
	assert.NotContains(t, body, "Some transactions no longer apply")
	_, _, h = e.post(t, c, "/portfolio/transactions/delete", url.Values{"id": {"hand-1"}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Deleted transaction hand-1")
	after, err := book.Transactions(ctx)
	require.NoError(t, err)
	assert.Len(t, after, len(txs)-1)
}
