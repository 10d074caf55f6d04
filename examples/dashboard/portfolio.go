package main

import (
	"bytes"
	"context"
	_ "embed"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
	"sort"
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

// demoAccounts are the accounts the demo transactions are booked into.
var demoAccounts = []portfolio.Account{
	{ID: "broker", Name: "Brokerage", Kind: portfolio.KindBrokerage, Currency: "USD", CostMethod: portfolio.FIFO},
	{ID: "crypto", Name: "Crypto wallet", Kind: portfolio.KindCrypto, Currency: "USD", CostMethod: portfolio.FIFO},
	{ID: "savings", Name: "Savings (EUR)", Kind: portfolio.KindBank, Currency: "EUR"},
}

// baseCurrencies are offered for valuation.
var baseCurrencies = []string{"USD", "EUR", "NOK", "GBP"}

const maxImportBytes = 1 << 20

// userPrefix is how the dashboard keeps users' books apart in the one
// shared portfolio store: portfolio.Store has no owner column, so every
// account id and transaction id of a user starts with this prefix.
func userPrefix(userID string) string { return "u." + userID + "/" }

// displayAccount strips the per-user prefix from an account id.
func displayAccount(id string) string {
	if strings.HasPrefix(id, "u.") {
		if _, rest, ok := strings.Cut(id, "/"); ok {
			return rest
		}
	}
	return id
}

// userStore is the view of the shared portfolio.Store that holds one user's
// accounts and transactions.
type userStore struct {
	portfolio.Store
	prefix string
}

func (s userStore) Accounts(ctx context.Context) ([]portfolio.Account, error) {
	all, err := s.Store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	var mine []portfolio.Account
	for _, a := range all {
		if strings.HasPrefix(a.ID, s.prefix) {
			mine = append(mine, a)
		}
	}
	return mine, nil
}

func (s userStore) SaveAccount(ctx context.Context, a portfolio.Account) error {
	if !strings.HasPrefix(a.ID, s.prefix) {
		return fmt.Errorf("%w: account %q is not the user's", portfolio.ErrInvalidAccount, a.ID)
	}
	return s.Store.SaveAccount(ctx, a)
}

func (s userStore) Transactions(ctx context.Context) ([]portfolio.Transaction, error) {
	all, err := s.Store.Transactions(ctx)
	if err != nil {
		return nil, err
	}
	var mine []portfolio.Transaction
	for _, t := range all {
		if strings.HasPrefix(t.Account, s.prefix) {
			mine = append(mine, t)
		}
	}
	return mine, nil
}

func (s userStore) AddTransactions(ctx context.Context, txs []portfolio.Transaction) (int, error) {
	if err := s.mine(txs); err != nil {
		return 0, err
	}
	return s.Store.AddTransactions(ctx, txs)
}

// AddTransactionsChecked hands batch the user's books only and stores what
// it returns if it is all the user's.
func (s userStore) AddTransactionsChecked(ctx context.Context, batch func(portfolio.Books) ([]portfolio.Transaction, error)) (int, error) {
	return s.Store.AddTransactionsChecked(ctx, func(all portfolio.Books) ([]portfolio.Transaction, error) {
		var b portfolio.Books
		b.Stocks = all.Stocks
		for _, a := range all.Accounts {
			if strings.HasPrefix(a.ID, s.prefix) {
				b.Accounts = append(b.Accounts, a)
			}
		}
		for _, t := range all.Transactions {
			if strings.HasPrefix(t.Account, s.prefix) {
				b.Transactions = append(b.Transactions, t)
			}
		}
		txs, err := batch(b)
		if err != nil {
			return nil, err
		}
		return txs, s.mine(txs)
	})
}

// mine fails unless every transaction is booked to the user's accounts
// under the user's ids.
func (s userStore) mine(txs []portfolio.Transaction) error {
	for _, t := range txs {
		// Ids are global too: imports prefix them, papertrade's contain
		// the (prefixed) account id.
		if !strings.HasPrefix(t.Account, s.prefix) || !strings.Contains(t.ID, s.prefix) {
			return fmt.Errorf("%w: transaction %q is not the user's", portfolio.ErrUnknownAccount, t.ID)
		}
	}
	return nil
}

func (a *app) storeFor(u auth.User) userStore {
	return userStore{Store: a.pstore, prefix: userPrefix(u.ID)}
}

// importFor books txs (account ids without the user prefix) for the user
// through portfolio.BookTransactions: checked against the user's current
// books inside the store's write lock, all or nothing. It returns how many
// were new.
func (a *app) importFor(ctx context.Context, u auth.User, txs []portfolio.Transaction) (int, error) {
	st := a.storeFor(u)
	prefixed := make([]portfolio.Transaction, len(txs))
	for i, t := range txs {
		t.Account = st.prefix + t.Account
		t.ID = st.prefix + t.ID
		prefixed[i] = t
	}
	added, err := portfolio.BookTransactions(ctx, st, prefixed)
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
	Lines     []string // every item through portfolio.Reportable.Summary()
	Realized  []portfolio.RealizedGain
	Recent    []portfolio.Transaction
	GainPct   float64
	PriceErr  string
	Perf      *portfolio.Performance
	PerfErr   string
}

type accountRow struct {
	Account portfolio.Account
	Balance portfolio.Balance
	Short   string
}

func (a *app) buildPortfolio(ctx context.Context, u auth.User, base string) (*portfolioView, error) {
	st := a.storeFor(u)
	ledger, err := portfolio.LoadLedger(ctx, st)
	if err != nil {
		return nil, err
	}
	v := &portfolioView{User: u.Username, Base: base, Bases: baseCurrencies, Generated: time.Now().UTC()}
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
		v.Accounts = append(v.Accounts, accountRow{Account: ac, Balance: bal, Short: displayAccount(ac.ID)})
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
		if _, err := a.agg.Quotes(ctx, syms); err != nil {
			return nil, err
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
		v.Lines = append(v.Lines, strings.ReplaceAll(it.Summary(), st.prefix, ""))
	}
	if perf, err := a.performance(ctx, ledger, base); ctx.Err() != nil {
		return nil, ctx.Err() // the client left: stop here
	} else if err != nil {
		a.log.InfoContext(ctx, "returns unavailable", "error", err)
		v.PerfErr = strings.ReplaceAll(err.Error(), st.prefix, "")
	} else {
		v.Perf = perf
	}
	v.Realized = ledger.Realized("")
	txs := ledger.Transactions()
	sort.SliceStable(txs, func(i, j int) bool { return txs[i].Time.After(txs[j].Time) })
	if len(txs) > 12 {
		txs = txs[:12]
	}
	v.Recent = txs
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

func (a *app) portfolioPage(c *gin.Context) {
	v, err := a.buildPortfolio(c.Request.Context(), currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	a.render(c, http.StatusOK, "portfolio", view{Title: "Portfolio", Active: "portfolio", Data: v})
}

func (a *app) portfolioJSON(c *gin.Context) {
	v, err := a.buildPortfolio(c.Request.Context(), currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, gin.H{"base": v.Base, "valuation": v.Val, "summary": v.Lines})
}

func (a *app) portfolioDemo(c *gin.Context) {
	ctx := c.Request.Context()
	u := currentUser(c)
	st := a.storeFor(u)
	have, err := st.Accounts(ctx)
	if err != nil {
		a.fail(c, err)
		return
	}
	// An account the user already has is left as it is: the demo's
	// transactions then apply to it or the demo is refused.
	for _, ac := range demoAccounts {
		ac.ID = st.prefix + ac.ID
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
// accounts (the account column names an account without the user prefix).
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
		msg := strings.ReplaceAll(err.Error(), userPrefix(u.ID), "")
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
	ctx := c.Request.Context()
	u := currentUser(c)
	short := strings.ToLower(strings.TrimSpace(c.PostForm("id")))
	if !accountIDRE.MatchString(short) {
		flashFail(c, "/portfolio", "Account ids are 1–32 characters: a-z, 0-9, '-' and '_'.")
		return
	}
	st := a.storeFor(u)
	acct := portfolio.Account{
		ID:         st.prefix + short,
		Name:       strings.TrimSpace(c.PostForm("name")),
		Kind:       portfolio.AccountKind(c.PostForm("kind")),
		Currency:   strings.ToUpper(strings.TrimSpace(c.PostForm("currency"))),
		CostMethod: portfolio.CostMethod(c.PostForm("cost")),
	}
	if acct.Name == "" {
		acct.Name = short
	}
	if len(acct.Name) > 64 {
		flashFail(c, "/portfolio", "The account name is too long (64 characters at most).")
		return
	}
	ledger, err := portfolio.LoadLedger(ctx, st)
	if err != nil {
		a.fail(c, err)
		return
	}
	if err := ledger.AddAccount(acct); err != nil {
		msg := strings.ReplaceAll(err.Error(), st.prefix, "")
		flashFail(c, "/portfolio", "Account not added: "+msg)
		return
	}
	if err := st.SaveAccount(ctx, acct); err != nil {
		a.fail(c, err)
		return
	}
	flashRedirect(c, "/portfolio", "Added the account "+acct.Name+" ("+short+"). Import transactions into it with the CSV form.")
}
