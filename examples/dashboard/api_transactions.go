package main

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/portfolio"
)

// /api/transactions: the transactions page as JSON. Listing, paging and
// filters are the page's (transactionsData); a new transaction is read by
// parseTxForm and booked through portfolio.BookTransactions, an edit goes
// through editedTx and portfolio.EditTransaction, a delete through
// portfolio.DeleteTransaction: each checked against the user's books in
// the store's write lock, and a refused write changes nothing.

type apiTx struct {
	ID       string    `json:"id"`
	Account  string    `json:"account"`
	Kind     string    `json:"kind"`
	Time     time.Time `json:"time"`
	Date     string    `json:"date"`
	Symbol   string    `json:"symbol"`
	Quantity string    `json:"quantity"`
	Price    money     `json:"price"`
	Fee      money     `json:"fee"`
	Tax      money     `json:"tax"`
	Amount   money     `json:"amount"`
	FXRate   string    `json:"fx_rate"`
	Note     string    `json:"note"`
}

func apiTxOf(t portfolio.Transaction) apiTx {
	return apiTx{ID: t.ID, Account: t.Account, Kind: string(t.Kind), Time: t.Time, Date: t.Time.Format(time.DateOnly),
		Symbol: t.Symbol, Quantity: t.Quantity.String(), Price: moneyOf(t.Price, t.Currency), Fee: moneyOf(t.Fee, t.Currency),
		Tax: moneyOf(t.Tax, t.Currency), Amount: moneyOf(t.Amount, t.Currency), FXRate: t.FXRate.String(), Note: t.Note}
}

type apiTxList struct {
	Transactions []apiTx `json:"transactions"` // newest first
	Total        int     `json:"total"`        // matching the filters
	Page         int     `json:"page"`
	Pages        int     `json:"pages"`
	PerPage      int     `json:"per_page"`
}

// apiTransactions is GET /api/transactions?account=&kind=&symbol=&page=.
func (a *app) apiTransactions(c *gin.Context) {
	v, err := a.transactionsData(c, txForm{})
	if err != nil {
		a.fail(c, err)
		return
	}
	out := apiTxList{Transactions: make([]apiTx, 0, len(v.Rows)), Total: v.Total, Page: v.Page, Pages: v.Last, PerPage: txPageSize}
	for _, t := range v.Rows {
		out.Transactions = append(out.Transactions, apiTxOf(t))
	}
	c.JSON(http.StatusOK, out)
}

// apiTxReq is a transaction as POST /api/transactions takes it: the
// transactions page's form fields, numbers as decimal strings.
type apiTxReq struct {
	Account  string `json:"account"`
	Kind     string `json:"kind"`
	Date     string `json:"date"` // YYYY-MM-DD
	Symbol   string `json:"symbol"`
	Quantity string `json:"quantity"`
	Price    string `json:"price"`
	Fee      string `json:"fee"`
	Tax      string `json:"tax"`
	Currency string `json:"currency"`
	FXRate   string `json:"fx_rate"`
	Amount   string `json:"amount"`
	Note     string `json:"note"`
}

// apiFieldErrors is a 400 naming each refused field.
type apiFieldErrors struct {
	apiError
	Fields map[string]string `json:"fields"`
}

// apiAddTransaction is POST /api/transactions: 201 with the booked
// transaction; 400 with a message per refused field; 422 with the
// ledger's reason when the books would not apply with it.
func (a *app) apiAddTransaction(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	var req apiTxReq
	if !bindJSON(c, &req) {
		return
	}
	form := txForm{Account: req.Account, Kind: req.Kind, Date: req.Date, Symbol: strings.TrimSpace(req.Symbol),
		Quantity: req.Quantity, Price: req.Price, Fee: req.Fee, Tax: req.Tax, Currency: strings.TrimSpace(req.Currency),
		FXRate: req.FXRate, Amount: req.Amount, Note: strings.TrimSpace(req.Note), Errs: map[string]string{}}
	accts, err := a.bookOf(u).Accounts(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	tx, ok := parseTxForm(form, accts)
	if !ok {
		c.AbortWithStatusJSON(http.StatusBadRequest, apiFieldErrors{Fields: form.Errs,
			apiError: apiError{Error: "bad_request", Message: "The transaction was not booked: check the named fields."}})
		return
	}
	tx.ID = newTxID()
	booked, err := portfolio.BookTransactions(ctx, a.bookOf(u), []portfolio.Transaction{tx})
	if err != nil {
		a.apiTxRefused(c, err, "The transaction was not booked: the books would not apply with it: ")
		return
	}
	if len(booked) == 1 {
		tx = booked[0]
	}
	c.JSON(http.StatusCreated, apiTxOf(tx))
}

// apiTxRefused answers a refused write (422 with the ledger's reason, 404
// for an unknown transaction) or fails.
func (a *app) apiTxRefused(c *gin.Context, err error, prefix string) {
	switch {
	case errors.Is(err, portfolio.ErrNotFound):
		apiRefuse(c, http.StatusNotFound, "not_found", "No such transaction.")
	case txRefused(err):
		a.log.InfoContext(c.Request.Context(), "transaction write refused", "error", err)
		apiRefuse(c, http.StatusUnprocessableEntity, "unprocessable", prefix+apiLedgerReason(err)+".")
	default:
		a.fail(c, err)
	}
}

// apiTxEdit is what PUT /api/transactions/{id} changes: the fields the
// edit forms take; an absent or empty field is kept.
type apiTxEdit struct {
	Date     string `json:"date"`
	Quantity string `json:"quantity"`
	Price    string `json:"price"`
	Fee      string `json:"fee"`
	Amount   string `json:"amount"`
}

// apiEditTransaction is PUT /api/transactions/{id}: 200 with the
// transaction as booked; 422 when the books would not apply afterwards
// (nothing changed).
func (a *app) apiEditTransaction(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	var req apiTxEdit
	if !bindJSON(c, &req) {
		return
	}
	b, err := portfolio.ReadBooks(ctx, a.bookOf(u))
	if err != nil {
		a.fail(c, err)
		return
	}
	i := slices.IndexFunc(b.Transactions, func(t portfolio.Transaction) bool { return t.ID == c.Param("id") })
	if i < 0 {
		apiRefuse(c, http.StatusNotFound, "not_found", "No such transaction.")
		return
	}
	fields := map[string]string{"date": req.Date, "quantity": req.Quantity, "price": req.Price, "fee": req.Fee, "amount": req.Amount}
	tx, err := editedTx(b.Transactions[i], func(k string) string { return fields[k] })
	if err != nil {
		apiRefuse(c, http.StatusBadRequest, "bad_request", "The transaction was not changed: "+err.Error()+".")
		return
	}
	booked, err := portfolio.EditTransaction(ctx, a.bookOf(u), tx)
	if err != nil {
		a.apiTxRefused(c, err, "The transaction was not changed: ")
		return
	}
	c.JSON(http.StatusOK, apiTxOf(booked))
}

// apiDeleteTransaction is DELETE /api/transactions/{id}: 204; 422 when
// the books would not apply without it (nothing deleted).
func (a *app) apiDeleteTransaction(c *gin.Context) {
	if err := portfolio.DeleteTransaction(c.Request.Context(), a.bookOf(currentUser(c)), c.Param("id")); err != nil {
		a.apiTxRefused(c, err, "The transaction was not deleted: ")
		return
	}
	c.Status(http.StatusNoContent)
}

// apiLedgerReason says why the ledger refused a write, as a sentence
// without the error chain: the reason, the ledger's figures when it gave
// them ("cash 6,965.85 USD, needs 10,000.00 USD"), and for books that
// would not apply, which stored transaction would not.
func apiLedgerReason(err error) string {
	r := ledgerRefusal(err)
	if r == nil {
		return "the books would not apply"
	}
	reason := r.text
	msg := err.Error()
	if i := strings.LastIndex(msg, r.err.Error()+": "); i >= 0 {
		if detail := msg[i+len(r.err.Error())+2:]; detail != "" && !strings.Contains(detail, ": ") {
			reason += " (" + detail + ")"
		}
	}
	var be *portfolio.BooksError
	if errors.As(err, &be) {
		p := be.Problems[0].Transaction
		reason = fmt.Sprintf("then transaction %s of %s would not apply: %s", p.ID, p.Time.Format(time.DateOnly), reason)
	}
	return reason
}

type apiAccount struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Kind       string `json:"kind"`
	Currency   string `json:"currency"`
	CostMethod string `json:"cost_method"`
}

func apiAccountOf(ac portfolio.Account) apiAccount {
	return apiAccount{ID: ac.ID, Name: ac.Name, Kind: string(ac.Kind), Currency: ac.Currency, CostMethod: string(ac.CostMethod)}
}

// apiAccounts is GET /api/accounts: the user's accounts (paper trading's
// is in its own book, not here).
func (a *app) apiAccounts(c *gin.Context) {
	accts, err := a.bookOf(currentUser(c)).Accounts(c.Request.Context())
	if err != nil {
		a.fail(c, err)
		return
	}
	out := make([]apiAccount, 0, len(accts))
	for _, ac := range accts {
		out = append(out, apiAccountOf(ac))
	}
	c.JSON(http.StatusOK, gin.H{"accounts": out})
}

// apiAddAccount is POST /api/accounts, checked as the portfolio page's
// form is (addAccount): 201 with the account, 400 with the reason.
func (a *app) apiAddAccount(c *gin.Context) {
	var req struct {
		ID         string `json:"id"`
		Name       string `json:"name"`
		Kind       string `json:"kind"`
		Currency   string `json:"currency"`
		CostMethod string `json:"cost_method"`
	}
	if !bindJSON(c, &req) {
		return
	}
	acct, err := a.addAccount(c.Request.Context(), currentUser(c),
		accountForm{ID: req.ID, Name: req.Name, Kind: req.Kind, Currency: req.Currency, Cost: req.CostMethod})
	if err != nil {
		a.apiLimited(c, err)
		return
	}
	c.JSON(http.StatusCreated, apiAccountOf(acct))
}
