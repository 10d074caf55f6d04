package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

// The transactions page: the user's books as a paged table filtered by
// account, kind and symbol, a form that books any kind of transaction by
// hand (checked like an import: all or nothing against the current
// books), edit and delete through portfolio.EditTransaction and
// DeleteTransaction (portfolio.go), and the filtered rows as CSV.

const txPageSize = 25

// txKinds are every kind the ledger books, in the form's order.
var txKinds = []portfolio.TxKind{portfolio.TxDeposit, portfolio.TxWithdrawal, portfolio.TxBuy, portfolio.TxSell,
	portfolio.TxDividend, portfolio.TxInterest, portfolio.TxFee, portfolio.TxTax,
	portfolio.TxTransferIn, portfolio.TxTransferOut, portfolio.TxSplit}

type txFilter struct{ Account, Kind, Symbol string }

func (f txFilter) match(t portfolio.Transaction) bool {
	return (f.Account == "" || t.Account == f.Account) && (f.Kind == "" || string(t.Kind) == f.Kind) &&
		(f.Symbol == "" || strings.EqualFold(t.Symbol, f.Symbol))
}

func (f txFilter) query() string {
	v := url.Values{}
	for k, s := range map[string]string{"account": f.Account, "kind": f.Kind, "symbol": f.Symbol} {
		if s != "" {
			v.Set(k, s)
		}
	}
	return v.Encode()
}

// txForm is the add form's fields as typed, and the message of each field
// that was refused.
type txForm struct {
	Account, Kind, Date, Symbol, Quantity, Price, Fee, Tax, Currency, FXRate, Amount, Note string
	Errs                                                                                   map[string]string
}

type transactionsView struct {
	Accounts   []portfolio.Account
	Kinds      []portfolio.TxKind
	Filter     txFilter
	Query      template.URL // the filter as a query (url.Values.Encode: safe in a link)
	Rows       []portfolio.Transaction
	Total      int
	Page, Last int
	Form       txForm
	FormError  string
	Edit       *txEdit // a refused edit, shown in its row
}

func (a *app) transactionsData(c *gin.Context, form txForm) (*transactionsView, error) {
	ctx := c.Request.Context()
	b, err := portfolio.ReadBooks(ctx, a.bookOf(currentUser(c)))
	if err != nil {
		return nil, err
	}
	f := txFilter{Account: c.Query("account"), Kind: c.Query("kind"), Symbol: strings.TrimSpace(c.Query("symbol"))}
	v := &transactionsView{Accounts: b.Accounts, Kinds: txKinds, Filter: f, Query: template.URL(f.query()), Form: form}
	var rows []portfolio.Transaction
	for _, t := range b.Transactions {
		if f.match(t) {
			rows = append(rows, t)
		}
	}
	sort.SliceStable(rows, func(i, j int) bool { return rows[i].Time.After(rows[j].Time) })
	v.Total = len(rows)
	v.Last = max(1, (len(rows)+txPageSize-1)/txPageSize)
	v.Page, _ = strconv.Atoi(c.DefaultQuery("page", "1"))
	v.Page = min(max(v.Page, 1), v.Last)
	from := (v.Page - 1) * txPageSize
	v.Rows = rows[from:min(from+txPageSize, len(rows))]
	if v.Form.Date == "" {
		v.Form.Date = time.Now().UTC().Format(time.DateOnly)
	}
	return v, nil
}

func (a *app) transactionsPage(c *gin.Context) {
	v, err := a.transactionsData(c, txForm{Kind: string(portfolio.TxBuy)})
	if err != nil {
		a.fail(c, err)
		return
	}
	a.render(c, http.StatusOK, "transactions", view{Title: "Transactions", Active: "transactions", Data: v})
}

// transactionsCSV answers the filtered transactions in finkit's CSV format.
func (a *app) transactionsCSV(c *gin.Context) {
	b, err := portfolio.ReadBooks(c.Request.Context(), a.bookOf(currentUser(c)))
	if err != nil {
		a.fail(c, err)
		return
	}
	f := txFilter{Account: c.Query("account"), Kind: c.Query("kind"), Symbol: strings.TrimSpace(c.Query("symbol"))}
	var rows []portfolio.Transaction
	for _, t := range b.Transactions {
		if f.match(t) {
			rows = append(rows, t)
		}
	}
	c.Header("Content-Type", "text/csv; charset=utf-8")
	c.Header("Content-Disposition", `attachment; filename="transactions-`+time.Now().UTC().Format(time.DateOnly)+`.csv"`)
	if err := portfolio.WriteCSV(c.Writer, rows); err != nil {
		a.log.WarnContext(c.Request.Context(), "CSV export cut short", "error", err)
	}
}

// parseTxForm reads the add form into a transaction; each field it cannot
// read gets a message in form.Errs.
func parseTxForm(form txForm, accts []portfolio.Account) (portfolio.Transaction, bool) {
	tx := portfolio.Transaction{Account: form.Account, Kind: portfolio.TxKind(form.Kind), Symbol: strings.ToUpper(form.Symbol),
		Currency: strings.ToUpper(form.Currency), Note: form.Note}
	i := slices.IndexFunc(accts, func(a portfolio.Account) bool { return a.ID == form.Account })
	if i < 0 {
		form.Errs["account"] = "Choose one of your accounts."
	} else if tx.Currency == "" {
		tx.Currency = accts[i].Currency
	}
	if !slices.Contains(txKinds, tx.Kind) {
		form.Errs["kind"] = "Choose a kind."
	}
	if d, err := time.Parse(time.DateOnly, strings.TrimSpace(form.Date)); err != nil {
		form.Errs["date"] = "Give the date as YYYY-MM-DD."
	} else {
		tx.Time = d.Add(12 * time.Hour) // midday UTC: the same day everywhere
	}
	for _, f := range []struct {
		name, raw string
		dst       *decimal.Decimal
	}{{"quantity", form.Quantity, &tx.Quantity}, {"price", form.Price, &tx.Price}, {"fee", form.Fee, &tx.Fee},
		{"tax", form.Tax, &tx.Tax}, {"fx_rate", form.FXRate, &tx.FXRate}, {"amount", form.Amount, &tx.Amount}} {
		raw := strings.ReplaceAll(strings.TrimSpace(f.raw), ",", "")
		if raw == "" {
			continue
		}
		d, err := decimal.NewFromString(raw)
		if err != nil {
			form.Errs[f.name] = "Not a number."
			continue
		}
		if d.IsNegative() {
			form.Errs[f.name] = "Must not be negative."
			continue
		}
		*f.dst = d
	}
	switch tx.Kind {
	case portfolio.TxBuy, portfolio.TxSell, portfolio.TxSplit, portfolio.TxTransferIn, portfolio.TxTransferOut:
		if tx.Symbol == "" && tx.Kind != portfolio.TxTransferIn && tx.Kind != portfolio.TxTransferOut {
			form.Errs["symbol"] = "A " + string(tx.Kind) + " needs a symbol."
		} else if _, err := marketdata.ParseSymbol(tx.Symbol); tx.Symbol != "" && err != nil {
			form.Errs["symbol"] = "Not a market symbol: letters, digits and . - = ^ _ (AAPL, EQNR.OL, BTC-USD)."
		}
	default:
		if tx.Amount.IsZero() && form.Errs["amount"] == "" {
			form.Errs["amount"] = "A " + string(tx.Kind) + " needs an amount."
		}
	}
	if (tx.Kind == portfolio.TxBuy || tx.Kind == portfolio.TxSell) && tx.Quantity.IsZero() && form.Errs["quantity"] == "" {
		form.Errs["quantity"] = "Give the number of units."
	}
	if len(form.Note) > 200 {
		form.Errs["note"] = "At most 200 characters."
	}
	return tx, len(form.Errs) == 0
}

func newTxID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "m-" + hex.EncodeToString(b)
}

// transactionsAdd books one transaction typed by hand.
func (a *app) transactionsAdd(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	form := txForm{Account: c.PostForm("account"), Kind: c.PostForm("kind"), Date: c.PostForm("date"), Symbol: strings.TrimSpace(c.PostForm("symbol")),
		Quantity: c.PostForm("quantity"), Price: c.PostForm("price"), Fee: c.PostForm("fee"), Tax: c.PostForm("tax"),
		Currency: strings.TrimSpace(c.PostForm("currency")), FXRate: c.PostForm("fx_rate"), Amount: c.PostForm("amount"),
		Note: strings.TrimSpace(c.PostForm("note")), Errs: map[string]string{}}
	refuse := func(msg string) {
		v, err := a.transactionsData(c, form)
		if err != nil {
			a.fail(c, err)
			return
		}
		v.FormError = msg
		a.render(c, http.StatusBadRequest, "transactions", view{Title: "Transactions", Active: "transactions",
			Error: "The transaction was not booked. " + msg, Data: v})
	}
	b, err := portfolio.ReadBooks(ctx, a.bookOf(u))
	if err != nil {
		a.fail(c, err)
		return
	}
	tx, ok := parseTxForm(form, b.Accounts)
	if !ok {
		refuse("Check the marked fields.")
		return
	}
	tx.ID = newTxID()
	if _, err := a.importFor(ctx, u, []portfolio.Transaction{tx}); err != nil {
		if !txRefused(err) {
			a.fail(c, err)
			return
		}
		a.log.InfoContext(ctx, "manual transaction refused", "error", err)
		refuse("The books would not apply with it: " + txReason(err) + ".")
		return
	}
	flashRedirect(c, "/transactions", "Booked: "+tx.Summary()+".")
}

// txRefused reports whether err is the ledger refusing a write (the books
// would not apply with it), not the server failing.
func txRefused(err error) bool {
	var be *portfolio.BooksError
	return errors.As(err, &be) || ledgerRefusal(err) != nil
}

// ledgerRefusals are the ledger's reasons to refuse a transaction, each
// as a user reads it.
var ledgerRefusals = []struct {
	err  error
	text string
}{
	{portfolio.ErrInsufficientFunds, "not enough cash in the account"},
	{portfolio.ErrInsufficientHoldings, "more units than the account holds"},
	{portfolio.ErrInvalidTransaction, "the transaction is incomplete (kind, date or symbol)"},
	{portfolio.ErrUnknownAccount, "no such account"},
	{portfolio.ErrInvalidQuantity, "the quantity must be positive"},
	{portfolio.ErrInvalidPrice, "the price must not be negative"},
	{portfolio.ErrInvalidAmount, "the amount must be positive (fee, tax and FX rate not negative)"},
	{portfolio.ErrCurrencyMismatch, "the currency differs from the account's or the position's (give an FX rate)"},
	{portfolio.ErrUnmatchedTransfer, "the transfer in matches no transfer out of that day"},
	{portfolio.ErrNoPosition, "the account holds no such position"},
	{portfolio.ErrDuplicateID, "a transaction with that id is already booked"},
}

// ledgerRefusal is the ledger's reason in err, or nil when err is none of
// them.
func ledgerRefusal(err error) *struct {
	err  error
	text string
} {
	for i := range ledgerRefusals {
		if errors.Is(err, ledgerRefusals[i].err) {
			return &ledgerRefusals[i]
		}
	}
	return nil
}

// txReason is the ledger's reason for refusing a transaction, without the
// package prefix of its error.
func txReason(err error) string {
	var be *portfolio.BooksError
	if errors.As(err, &be) && len(be.Problems) > 0 {
		err = be.Problems[0].Err
	}
	return strings.TrimPrefix(err.Error(), "portfolio: ")
}

// txBack is where an edit or delete form returns to: the transactions page
// when it came from there, else the portfolio.
func txBack(c *gin.Context) string {
	if c.PostForm("back") == "/transactions" {
		return "/transactions"
	}
	return "/portfolio"
}

// editFields are the fields of a transaction's edit form, in its order.
var editFields = []string{"date", "quantity", "price", "fee", "amount"}

// editTxFields is tx with the edit form's date, quantity, price, fee and
// amount (each kept when the field is absent or empty), and a message for
// each field it cannot read.
func editTxFields(tx portfolio.Transaction, form func(string) string) (portfolio.Transaction, map[string]string) {
	errs := map[string]string{}
	if d := strings.TrimSpace(form("date")); d != "" {
		if day, err := time.Parse(time.DateOnly, d); err != nil {
			errs["date"] = "Give the date as YYYY-MM-DD."
		} else {
			y, m, dd := day.Date()
			tx.Time = time.Date(y, m, dd, tx.Time.Hour(), tx.Time.Minute(), tx.Time.Second(), tx.Time.Nanosecond(), tx.Time.Location())
		}
	}
	for _, f := range []struct {
		name string
		dst  *decimal.Decimal
	}{{"quantity", &tx.Quantity}, {"price", &tx.Price}, {"fee", &tx.Fee}, {"amount", &tx.Amount}} {
		raw := strings.TrimSpace(form(f.name))
		if raw == "" {
			continue
		}
		d, err := decimal.NewFromString(raw)
		if err != nil {
			errs[f.name] = "Not a number."
			continue
		}
		*f.dst = d
	}
	return tx, errs
}

// txEdit is a refused edit as typed, shown again in its row's form with a
// message next to each field (Errs) or for the whole edit (Error).
type txEdit struct {
	ID                                 string
	Date, Quantity, Price, Fee, Amount string
	Errs                               map[string]string
	Error                              string
}

// EditOf is the refused edit of the row id, or nil.
func (v *transactionsView) EditOf(id string) *txEdit {
	if v.Edit != nil && v.Edit.ID == id {
		return v.Edit
	}
	return nil
}

// editRefusalField is the field a ledger refusal of an edit is about,
// when one is: the quantity of a sale of more than is held, the amount
// of a withdrawal of more than there is, and so on.
func editRefusalField(err error, changed []string) string {
	switch {
	case errors.Is(err, portfolio.ErrInsufficientHoldings), errors.Is(err, portfolio.ErrInvalidQuantity):
		return "quantity"
	case errors.Is(err, portfolio.ErrInvalidPrice):
		return "price"
	case errors.Is(err, portfolio.ErrInvalidAmount):
		return "amount"
	case errors.Is(err, portfolio.ErrUnmatchedTransfer):
		return "date"
	}
	if len(changed) == 1 { // the one field changed made the books fail
		return changed[0]
	}
	return ""
}

// transactionsEdit is an edit from the transactions page: applied through
// portfolio.EditTransaction, or refused with the page shown again (400),
// the row's form open with what was typed and each message next to its
// field; nothing is changed.
func (a *app) transactionsEdit(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	id := c.PostForm("id")
	b, err := portfolio.ReadBooks(ctx, a.bookOf(u))
	if err != nil {
		a.fail(c, err)
		return
	}
	i := slices.IndexFunc(b.Transactions, func(t portfolio.Transaction) bool { return t.ID == id })
	if i < 0 {
		flashFail(c, "/transactions", "No such transaction.")
		return
	}
	old := b.Transactions[i]
	tx, errs := editTxFields(old, c.PostForm)
	ed := &txEdit{ID: id, Date: c.PostForm("date"), Quantity: c.PostForm("quantity"), Price: c.PostForm("price"),
		Fee: c.PostForm("fee"), Amount: c.PostForm("amount"), Errs: errs}
	if len(errs) == 0 {
		_, err = portfolio.EditTransaction(ctx, a.bookOf(u), tx)
		if err == nil {
			back := "/transactions"
			if q := c.Request.URL.Query().Encode(); q != "" {
				back += "?" + q
			}
			flashRedirect(c, back, "Changed transaction "+id+".")
			return
		}
		if !txRefused(err) && !errors.Is(err, portfolio.ErrNotFound) {
			a.fail(c, err)
			return
		}
		a.log.InfoContext(ctx, "transaction edit refused", "error", err)
		msg := "Not changed: " + editRefusal(err) + "."
		if f := editRefusalField(err, changedFields(old, tx)); f != "" {
			errs[f] = msg
		} else {
			ed.Error = msg
		}
	}
	v, err := a.transactionsData(c, txForm{Kind: string(portfolio.TxBuy)})
	if err != nil {
		a.fail(c, err)
		return
	}
	v.Edit = ed
	a.render(c, http.StatusBadRequest, "transactions", view{Title: "Transactions", Active: "transactions", Data: v})
}

// editRefusal says in plain words why the ledger refused an edit: which
// transaction would then not apply, and why (no error chain).
func editRefusal(err error) string {
	why := "the books would not apply"
	var be *portfolio.BooksError
	if errors.As(err, &be) && len(be.Problems) > 0 {
		p := be.Problems[0]
		if r := ledgerRefusal(p.Err); r != nil {
			why = r.text
		}
		return fmt.Sprintf("the %s of %s would then not apply (%s)", p.Transaction.Kind, p.Transaction.Time.Format(time.DateOnly), why)
	}
	if errors.Is(err, portfolio.ErrNotFound) {
		return "no such transaction"
	}
	if r := ledgerRefusal(err); r != nil {
		why = r.text
	}
	return why
}

// changedFields are the edit form's fields in which b differs from a.
func changedFields(a, b portfolio.Transaction) []string {
	var out []string
	if !a.Time.Equal(b.Time) {
		out = append(out, "date")
	}
	for _, f := range []struct {
		name string
		x, y decimal.Decimal
	}{{"quantity", a.Quantity, b.Quantity}, {"price", a.Price, b.Price}, {"fee", a.Fee, b.Fee}, {"amount", a.Amount, b.Amount}} {
		if !f.x.Equal(f.y) {
			out = append(out, f.name)
		}
	}
	return out
}
