package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/pdfexport"
	"github.com/finkit/finkit/portfolio"
)

//go:embed demo/transactions.csv
var demoCSV []byte

// demoAccountsCSV defines the accounts the demo transactions are booked
// into; `finkit portfolio import demo/transactions.csv` reads the same file.
//
//go:embed demo/accounts.csv
var demoAccountsCSV []byte

// demoAccounts parses demoAccountsCSV (a test checks that it parses).
func demoAccounts() ([]portfolio.Account, error) {
	return portfolio.ReadAccountsCSV(bytes.NewReader(demoAccountsCSV))
}

// baseCurrencies are offered for valuation.
var baseCurrencies = []string{"USD", "EUR", "NOK", "GBP"}

const maxImportBytes = 1 << 20

// bookOf is the store of the user's own books (owner: the user's id).
func (a *app) bookOf(u auth.User) portfolio.Store { return a.book(u.ID) }

// paperBookOf is the store of the user's paper trading, a book of its own
// (owner "<user id>/paper", where the store's migration put the paper
// accounts of before), so play money never counts in the user's net worth,
// returns or report.
func (a *app) paperBookOf(u auth.User) portfolio.Store { return a.book(paperOwner(u)) }

// paperOwner is the owner of the user's paper book.
func paperOwner(u auth.User) string { return u.ID + "/paper" }

// book is owner's store; its writes bump the owner's revision, which the
// cache reads (cache.go).
func (a *app) book(owner string) portfolio.Store { return a.pstore.Book(owner) }

// importFor books txs into the user's books through
// portfolio.BookTransactions: checked against the user's current books
// inside the store's write lock, all or nothing. It returns how many were
// new.
func (a *app) importFor(ctx context.Context, u auth.User, txs []portfolio.Transaction) (int, error) {
	added, err := portfolio.BookTransactions(ctx, a.bookOf(u), txs)
	return len(added), err
}

// portfolioView is the data of the portfolio page and the PDF report.
type portfolioView struct {
	User      string
	Base      string
	Bases     []string
	Generated time.Time
	Empty     bool
	Accounts  []accountRow
	Val       *portfolio.Valuation
	Lines     []string                 // every item through portfolio.Reportable.Summary()
	Realized  []portfolio.RealizedGain // the latest (booksView)
	Gains     int                      // realized gains in all
	Recent    []portfolio.Transaction  // the latest (booksView)
	Txs       int                      // transactions in all
	GainPct   float64
	PriceErr  string
	Perf      *portfolio.Performance
	PerfErr   string
	Problems  []problemRow // stored transactions that do not apply
	Period    string       // the value chart's period (charts.go)

	charts *chartMemo // the value charts drawn from Perf's series; may be nil
}

// ValueChart is the value chart of Perf over period (valueChart), drawn
// again only when its points changed.
func (v *portfolioView) ValueChart(period string) template.HTML {
	if v.charts == nil {
		return valueChart(v.Perf, period)
	}
	return v.charts.valueChart(v.Perf, period)
}

// problemRow is a stored transaction that does not apply, as the page
// shows it with its fix and delete forms.
type problemRow struct {
	Tx     portfolio.Transaction
	Reason string
	Date   string
}

func problemRows(ps []portfolio.Problem) []problemRow {
	rows := make([]problemRow, 0, len(ps))
	for _, p := range ps {
		rows = append(rows, problemRow{Tx: p.Transaction, Reason: p.Err.Error(), Date: p.Transaction.Time.Format(time.DateOnly)})
	}
	return rows
}

type accountRow struct {
	Account portfolio.Account
	Balance portfolio.Balance
}

func (a *app) buildPortfolio(ctx context.Context, u auth.User, base string) (*portfolioView, error) {
	books, err := a.books.ledger(ctx, u.ID, a.bookOf(u))
	if err != nil {
		return nil, err
	}
	ledger, problems := books.Ledger, books.Problems
	v := &portfolioView{User: u.Username, Base: base, Bases: baseCurrencies, Generated: time.Now().UTC(), Problems: problemRows(problems)}
	accts := ledger.Accounts()
	if len(accts) == 0 {
		v.Empty = true
		return v, nil
	}
	var items []portfolio.Reportable
	for _, ac := range accts {
		bal, err := ledger.Balance(ac.ID)
		if err != nil {
			return nil, err
		}
		v.Accounts = append(v.Accounts, accountRow{Account: ac, Balance: bal})
		items = append(items, ac, bal)
	}
	// Ask for every held symbol at once (one fan-out to all providers), so
	// the valuation below reads them from the aggregator's cache.
	var syms []string
	seen := map[string]bool{}
	for _, p := range ledger.Positions("") {
		if !seen[p.Symbol] {
			seen[p.Symbol] = true
			syms = append(syms, p.Symbol)
		}
	}
	if len(syms) > 0 {
		if _, err := a.agg.Quotes(ctx, syms); ctx.Err() != nil {
			return nil, ctx.Err()
		} else if err != nil {
			// A symbol no source knows (an imported "X/Y") must not
			// take the page down: the valuation below falls back.
			a.log.WarnContext(ctx, "quotes of the holdings unavailable", "error", err)
		}
	}
	val, err := ledger.Value(ctx, base, a.agg, a.agg)
	if err != nil {
		// Without market data, value at the last trade prices so the page
		// still shows the books.
		a.log.WarnContext(ctx, "live prices unavailable, valued at last trade prices", "error", err)
		v.PriceErr = err.Error()
		if val, err = ledger.Value(ctx, base, ledger.LastPrices(), a.agg); err != nil {
			return nil, err
		}
	}
	v.Val = val
	if in := val.NetInflow; !in.IsZero() {
		v.GainPct, _ = val.TotalGain.Div(in).Mul(decimalHundred).Float64()
	}
	items = append(items, val)
	for _, h := range val.Holdings {
		items = append(items, h)
	}
	for _, s := range val.ByClass {
		items = append(items, s)
	}
	for _, s := range val.ByCurrency {
		items = append(items, s)
	}
	for _, it := range items {
		v.Lines = append(v.Lines, it.Summary())
	}
	if perf, err := a.performance(ctx, u.ID, a.bookOf(u), base); ctx.Err() != nil {
		return nil, ctx.Err() // the client left: stop here
	} else if err != nil {
		a.log.InfoContext(ctx, "returns unavailable", "error", err)
		v.PerfErr = err.Error()
	} else {
		v.Perf, v.charts = perf, a.books.charts(u.ID, base)
	}
	v.Realized, v.Recent, v.Gains, v.Txs = books.Realized, books.Recent, books.Gains, books.Txs
	return v, nil
}

func pickBase(c *gin.Context) string {
	b := strings.ToUpper(c.Query("base"))
	for _, x := range baseCurrencies {
		if b == x {
			return b
		}
	}
	return "USD"
}

func (a *app) portfolioDemo(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	st := a.bookOf(u)
	have, err := st.Accounts(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	accts, err := demoAccounts()
	if err != nil {
		a.fail(c, fmt.Errorf("demo accounts: %w", err))
		return
	}
	// An account the user already has is left as it is: the demo's
	// transactions then apply to it or the demo is refused.
	for _, ac := range accts {
		if slices.ContainsFunc(have, func(h portfolio.Account) bool { return h.ID == ac.ID }) {
			continue
		}
		if err := st.SaveAccount(ctx, ac); err != nil {
			a.fail(c, err)
			return
		}
	}
	txs, err := portfolio.ReadCSV(bytes.NewReader(demoCSV))
	if err != nil {
		a.fail(c, fmt.Errorf("demo CSV: %w", err))
		return
	}
	n, err := a.importFor(ctx, u, txs)
	if err != nil {
		a.log.InfoContext(ctx, "demo portfolio refused", "error", err)
		flashFail(c, "/portfolio", "The demo portfolio does not fit your accounts "+
			"(it books into broker and crypto in USD, savings in EUR); nothing was booked.")
		return
	}
	if n == 0 {
		flashRedirect(c, "/portfolio", "The demo portfolio is already loaded.")
		return
	}
	flashRedirect(c, "/portfolio", fmt.Sprintf("Loaded the demo portfolio: 3 accounts, %d transactions.", n))
}

// portfolioImport imports an uploaded transaction CSV into the user's
// accounts.
func (a *app) portfolioImport(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, maxImportBytes+64<<10)
	fh, err := c.FormFile("file")
	if err != nil {
		flashFail(c, "/portfolio", "Choose a CSV file to import (at most 1 MiB).")
		return
	}
	f, err := fh.Open()
	if err != nil {
		a.fail(c, err)
		return
	}
	defer f.Close()
	txs, err := portfolio.ReadCSV(io.LimitReader(f, maxImportBytes))
	if err != nil {
		flashFail(c, "/portfolio", "Import failed: "+err.Error())
		return
	}
	n, err := a.importFor(ctx, u, txs)
	if err != nil {
		msg := err.Error()
		if errors.Is(err, portfolio.ErrUnknownAccount) {
			msg += " (load the demo portfolio first, or use the accounts broker, crypto and savings)"
		}
		flashFail(c, "/portfolio", "Import failed, nothing was booked: "+msg)
		return
	}
	flashRedirect(c, "/portfolio", fmt.Sprintf("Imported %d new transactions (%d already booked).", n, len(txs)-n))
}

func (a *app) renderReport(ctx context.Context, u auth.User, base string) ([]byte, error) {
	v, err := a.buildPortfolio(ctx, u, base)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := a.pages.byName["report"].ExecuteTemplate(&buf, "report", view{Title: "Portfolio report", Data: v}); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

func (a *app) portfolioReport(c *gin.Context) {
	html, err := a.renderReport(c.Request.Context(), currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "text/html; charset=utf-8", html)
}

// portfolioPDF renders the report and prints it with headless Chromium.
// The converter starts on first use; without Chromium the user gets a page
// saying how to install it.
func (a *app) portfolioPDF(c *gin.Context) {
	ctx := c.Request.Context()
	release, err := a.heavySlot(c)
	if err != nil {
		a.refuse(c, err)
		return
	}
	defer release()
	html, err := a.renderReport(ctx, currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	conv, err := a.pdf.get(ctx)
	if err != nil {
		a.log.WarnContext(ctx, "PDF export unavailable", "error", err)
		msg := message{Heading: "PDF export is not available", Text: "The PDF converter could not start: " + err.Error(),
			Link: "Back to the portfolio", LinkTo: "/portfolio"}
		if errors.Is(err, pdfexport.ErrNoBrowser) {
			msg.Text = "Saving as PDF needs Chromium, and none was found on this machine."
			msg.Hint = "Install it (Debian/Ubuntu: sudo apt-get install -y chromium) or set FINKIT_CHROME to the browser's path, then try again. The printable report works without it."
			msg.Link, msg.LinkTo = "Open the printable report", "/portfolio/report"
		}
		a.render(c, http.StatusServiceUnavailable, "message", view{Title: "PDF export", Data: msg})
		return
	}
	pdf, err := conv.ConvertHTML(ctx, string(html), pdfexport.PageOptions{
		Paper:           pdfexport.A4(),
		Margins:         pdfexport.UniformMargins(pdfexport.Millimeters(14)),
		PrintBackground: true,
		Title:           "finkit portfolio report",
		Timeout:         30 * time.Second,
	})
	if err != nil {
		a.fail(c, fmt.Errorf("PDF export: %w", err))
		return
	}
	c.Header("Content-Disposition", `attachment; filename="portfolio-`+time.Now().UTC().Format("2006-01-02")+`.pdf"`)
	c.Data(http.StatusOK, "application/pdf", pdf)
}

// lazyPDF starts the PDF converter (and with it Chromium) on first use.
// A failed start is not remembered, so installing Chromium later works
// without a restart.
type lazyPDF struct {
	opts   pdfexport.Options
	mu     sync.Mutex
	conv   *pdfexport.Converter
	closed bool
}

func (l *lazyPDF) get(ctx context.Context) (*pdfexport.Converter, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return nil, pdfexport.ErrClosed
	}
	if l.conv != nil {
		return l.conv, nil
	}
	conv, err := pdfexport.New(ctx, l.opts)
	if err != nil {
		return nil, err
	}
	l.conv = conv
	return conv, nil
}

func (l *lazyPDF) Close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.closed = true
	if l.conv == nil {
		return nil
	}
	return l.conv.Close()
}

// accountIDRE limits the user-chosen part of an account id.
var accountIDRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)

// portfolioAddAccount adds an account for the user, checked by the ledger
// (kind, currency, cost method, duplicates) before it is stored.
func (a *app) portfolioAddAccount(c *gin.Context) {
	acct, err := a.addAccount(c.Request.Context(), currentUser(c), accountForm{ID: c.PostForm("id"), Name: c.PostForm("name"),
		Kind: c.PostForm("kind"), Currency: c.PostForm("currency"), Cost: c.PostForm("cost")})
	if _, _, refused := statusOf(err); refused {
		flashFail(c, "/portfolio", err.Error())
		return
	} else if err != nil {
		a.fail(c, err)
		return
	}
	flashRedirect(c, "/portfolio", "Added the account "+acct.Name+" ("+acct.ID+"). Import transactions into it with the CSV form.")
}

// accountForm is a new account as the portfolio page's form and
// POST /api/accounts give it.
type accountForm struct{ ID, Name, Kind, Currency, Cost string }

// addAccount checks f (the id's form, then portfolio.AddAccount: kind,
// currency, cost method, and inside the store's write lock an id the
// stored books have) and stores the account. A refusal is a *limitError
// (statusOf) whose text is for the user.
func (a *app) addAccount(ctx context.Context, u auth.User, f accountForm) (portfolio.Account, error) {
	short := strings.ToLower(strings.TrimSpace(f.ID))
	if !accountIDRE.MatchString(short) {
		return portfolio.Account{}, badInput(http.StatusBadRequest, "Account ids are 1–32 characters: a-z, 0-9, '-' and '_'.")
	}
	acct := portfolio.Account{
		ID:         short,
		Name:       strings.TrimSpace(f.Name),
		Kind:       portfolio.AccountKind(f.Kind),
		Currency:   strings.ToUpper(strings.TrimSpace(f.Currency)),
		CostMethod: portfolio.CostMethod(f.Cost),
	}
	if acct.Name == "" {
		acct.Name = short
	}
	if len(acct.Name) > 64 {
		return portfolio.Account{}, badInput(http.StatusBadRequest, "The account name is too long (64 characters at most).")
	}
	acct, err := portfolio.AddAccount(ctx, a.bookOf(u), acct)
	if errors.Is(err, portfolio.ErrInvalidAccount) || errors.Is(err, portfolio.ErrDuplicateAccount) {
		return portfolio.Account{}, badInput(http.StatusBadRequest, "Account not added: %s", strings.TrimPrefix(err.Error(), "portfolio: "))
	}
	return acct, err
}

// portfolioDeleteTx deletes one of the user's transactions through
// portfolio.DeleteTransaction: refused, with the reason, when the books
// would no longer apply.
func (a *app) portfolioDeleteTx(c *gin.Context) {
	id := c.PostForm("id")
	if err := portfolio.DeleteTransaction(c.Request.Context(), a.bookOf(currentUser(c)), id); err != nil {
		a.txRefused(c, "Transaction "+id+" was not deleted: ", err)
		return
	}
	flashRedirect(c, txBack(c), "Deleted transaction "+id+".")
}

// portfolioEditTx changes the date and amounts of one of the user's
// transactions through portfolio.EditTransaction: refused, with the
// reason, when the books would not apply afterwards.
func (a *app) portfolioEditTx(c *gin.Context) {
	if txBack(c) == "/transactions" {
		a.transactionsEdit(c) // refusals next to the fields (transactions.go)
		return
	}
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
		flashFail(c, txBack(c), "No such transaction.")
		return
	}
	tx, err := editedTx(b.Transactions[i], c.PostForm)
	if err != nil {
		flashFail(c, txBack(c), "Transaction "+id+" was not changed: "+err.Error())
		return
	}
	if _, err := portfolio.EditTransaction(ctx, a.bookOf(u), tx); err != nil {
		a.txRefused(c, "Transaction "+id+" was not changed: ", err)
		return
	}
	flashRedirect(c, txBack(c), "Changed transaction "+id+".")
}

// editedTx is tx with the form's date, quantity, price, fee and amount
// (each kept when the field is absent); its error names the first field
// it cannot read (editTxFields has them all).
func editedTx(tx portfolio.Transaction, form func(string) string) (portfolio.Transaction, error) {
	tx, errs := editTxFields(tx, form)
	for _, f := range editFields {
		if msg, ok := errs[f]; ok {
			return tx, fmt.Errorf("%s %q: %s", f, strings.TrimSpace(form(f)), msg)
		}
	}
	return tx, nil
}

// txRefused answers an edit or delete the ledger refused with a flash of
// what plus editRefusal's plain reason; the error chain goes to the log
// with the request id. Any other error is the server failing.
func (a *app) txRefused(c *gin.Context, what string, err error) {
	if !txRefused(err) && !errors.Is(err, portfolio.ErrNotFound) {
		a.fail(c, err)
		return
	}
	a.log.InfoContext(c.Request.Context(), "transaction change refused", "error", err)
	flashFail(c, txBack(c), what+editRefusal(err)+".")
}
