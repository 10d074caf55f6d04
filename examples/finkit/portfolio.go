package main

import (
	"cmp"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/finkit/finkit/auth"
	authsql "github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/examples/internal/appdb"
)

// portfolioDefaultDB is the dashboard's SQLite file.
const portfolioDefaultDB = "data/finkit.db"

// runPortfolio implements `finkit portfolio import FILE.csv | report | export`.
func runPortfolio(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand: import, report or export")
	}
	switch args[0] {
	case "import":
		return runPortfolioImport(ctx, e, args[1:])
	case "report":
		return runPortfolioReport(ctx, e, args[1:])
	case "export":
		return runPortfolioExport(ctx, e, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprintln(e.stderr, "usage: finkit portfolio import FILE.csv [--db PATH] [--user NAME] [--currency CCY] | report [--db PATH] [--user NAME] [--base CCY] [--json] | export [--db PATH] [--user NAME]")
		return nil
	default:
		return usageErrorf("unknown subcommand %q: want import, report or export", args[0])
	}
}

// portfolioOpen opens (creating when create is set) the SQLite file, or the
// PostgreSQL server of a postgres:// URL, and the book to work on in its
// portfolio store: the dashboard user's books for a non-empty user, else
// the CLI's own default book. The caller closes the *sql.DB.
func portfolioOpen(ctx context.Context, path string, create bool, user string) (*sql.DB, portfolio.Store, error) {
	if !appdb.IsURL(path) { // a server has nothing to create
		if !create {
			if _, err := os.Stat(path); err != nil {
				return nil, nil, fmt.Errorf("database %s: %w (import a CSV file first)", path, err)
			}
		} else if dir := filepath.Dir(path); dir != "." {
			if err := os.MkdirAll(dir, 0o755); err != nil {
				return nil, nil, err
			}
		}
	}
	db, err := appdb.Open(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", appdb.Name(path), err)
	}
	shelf, err := sqlstore.New(ctx, db.DB, db.Portfolio())
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	if user == "" {
		return db.DB, shelf, nil
	}
	owner, err := dashboardOwner(ctx, db, user)
	if err != nil {
		_ = db.Close()
		return nil, nil, err
	}
	return db.DB, shelf.Book(owner), nil
}

// dashboardOwner is the owner of a dashboard user's books: the user's id,
// found by name in the dashboard's user store on the same database.
func dashboardOwner(ctx context.Context, db *appdb.DB, name string) (string, error) {
	users, err := authsql.New(ctx, db.DB, db.Auth())
	if err != nil {
		return "", err
	}
	defer users.Close()
	norm, err := auth.NormalizeUsername(name)
	if err != nil {
		return "", usageErrorf("--user %q: %v", name, err)
	}
	u, err := users.UserByUsername(ctx, norm)
	if errors.Is(err, auth.ErrNotFound) {
		return "", fmt.Errorf("--user %q: no such dashboard user", name)
	}
	if err != nil {
		return "", err
	}
	return u.ID, nil
}

// userFlag adds --user to fs.
func userFlag(fs *flag.FlagSet) *string {
	return fs.String("user", "", "work on this dashboard user's books (default: the CLI's own book)")
}

// interleaveFlags moves flags after positional arguments to the front, so
// `import FILE --db X` works like `import --db X FILE`.
func interleaveFlags(args []string) []string {
	var flags, pos []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if strings.HasPrefix(a, "-") && a != "-" {
			flags = append(flags, a)
			if !strings.Contains(a, "=") && i+1 < len(args) && a != "--json" && a != "-json" {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, a)
	}
	return append(flags, pos...)
}

func runPortfolioImport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("portfolio import", e)
	dbPath := fs.String("db", appdb.FromEnv(portfolioDefaultDB), "SQLite database file (the dashboard's) or postgres:// URL")
	ccy := fs.String("currency", "NOK", "currency of accounts created by the import when their rows name none")
	user := userFlag(fs)
	if err := parseFlags(fs, interleaveFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one FILE.csv")
	}
	f, err := os.Open(fs.Arg(0))
	if err != nil {
		return err
	}
	defer f.Close()
	txs, err := portfolio.ReadCSV(f)
	if err != nil {
		return fmt.Errorf("%s: %w", fs.Arg(0), err)
	}
	db, store, err := portfolioOpen(ctx, *dbPath, true, *user)
	if err != nil {
		return err
	}
	defer db.Close()
	ledger, err := portfolio.LoadLedger(ctx, store)
	if err != nil {
		return err
	}
	// Accounts the file names but the database does not have are created:
	// brokerage, FIFO, in the currency of their first row without an FX
	// rate (or --currency).
	var created []portfolio.Account
	for _, tx := range txs {
		if _, err := ledger.Account(tx.Account); err == nil || slices.ContainsFunc(created, func(a portfolio.Account) bool { return a.ID == tx.Account }) {
			continue
		}
		c := *ccy
		for _, t := range txs {
			if t.Account == tx.Account && t.Currency != "" && t.FXRate.IsZero() {
				c = t.Currency
				break
			}
		}
		created = append(created, portfolio.Account{ID: tx.Account, Name: tx.Account, Kind: portfolio.KindBrokerage, Currency: strings.ToUpper(c)})
	}
	for _, a := range created {
		if err := ledger.AddAccount(a); err != nil {
			return err
		}
	}
	// A dry run first, so that no account is created for a file that does
	// not apply; BookTransactions then checks again against the books as
	// they are inside the store's write lock.
	if _, err := ledger.Import(txs); err != nil {
		return fmt.Errorf("%s: nothing imported: %w", fs.Arg(0), err)
	}
	for _, a := range created {
		if err := store.SaveAccount(ctx, a); err != nil {
			return err
		}
	}
	added, err := portfolio.BookTransactions(ctx, store, txs)
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", fs.Arg(0), err)
	}
	n := len(added)
	e.log.Info("portfolio import", "file", fs.Arg(0), "rows", len(txs), "new", n, "accounts_created", len(created))
	_, err = fmt.Fprintf(e.stdout, "imported %d new transactions (%d already present) from %s into %s\n", n, len(txs)-n, fs.Arg(0), appdb.Name(*dbPath))
	return err
}

func runPortfolioExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("portfolio export", e)
	dbPath := fs.String("db", appdb.FromEnv(portfolioDefaultDB), "SQLite database file (the dashboard's) or postgres:// URL")
	user := userFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("export takes no arguments; it writes CSV to stdout")
	}
	db, store, err := portfolioOpen(ctx, *dbPath, false, *user)
	if err != nil {
		return err
	}
	defer db.Close()
	txs, err := store.Transactions(ctx)
	if err != nil {
		return err
	}
	return portfolio.WriteCSV(e.stdout, txs)
}

// portfolioReport is the JSON form of `finkit portfolio report`.
type portfolioReport struct {
	Accounts       []portfolio.Account      `json:"accounts"`
	Valuation      *portfolio.Valuation     `json:"valuation"`
	Performance    *portfolio.Performance   `json:"performance,omitempty"`
	RealizedByYear map[string]string        `json:"realized_by_year"`
	Balances       []portfolio.Balance      `json:"balances"`
	Priced         string                   `json:"priced"`
	Realized       []portfolio.RealizedGain `json:"realized"`
}

func runPortfolioReport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("portfolio report", e)
	dbPath := fs.String("db", appdb.FromEnv(portfolioDefaultDB), "SQLite database file (the dashboard's) or postgres:// URL")
	base := fs.String("base", "", "currency to report in (default: the first account's)")
	asJSON := fs.Bool("json", false, "print JSON")
	user := userFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("report takes no arguments")
	}
	db, store, err := portfolioOpen(ctx, *dbPath, false, *user)
	if err != nil {
		return err
	}
	defer db.Close()
	ledger, err := portfolio.LoadLedger(ctx, store)
	if err != nil {
		return err
	}
	accts := ledger.Accounts()
	if len(accts) == 0 {
		return errors.New("the portfolio is empty: import a CSV file first")
	}
	if *base == "" {
		*base = accts[0].Currency
	}
	*base = strings.ToUpper(*base)
	// No market data here: every holding is marked at its last trade and
	// currencies at the last FX rate seen in the transactions.
	hist := ledger.TradeHistory()
	now := time.Now()
	val, err := ledger.Value(ctx, *base, ledger.LastPrices(), portfolio.RatesAt(hist, now))
	if err != nil {
		return err
	}
	rep := portfolioReport{Accounts: accts, Valuation: val, RealizedByYear: map[string]string{}, Priced: "last trade price in the ledger", Realized: ledger.Realized("")}
	if rep.Realized == nil {
		rep.Realized = []portfolio.RealizedGain{}
	}
	// Realized gains per tax year, each account's converted to the base.
	rates := portfolio.RatesAt(hist, now)
	byYear := map[int]decimal.Decimal{}
	for _, a := range accts {
		r := decimal.NewFromInt(1)
		if a.Currency != *base {
			if r, err = rates.Rate(ctx, a.Currency, *base); err != nil {
				return err
			}
		}
		for y, g := range ledger.RealizedByYear(a.ID) {
			byYear[y] = byYear[y].Add(g.Mul(r))
		}
	}
	for y, g := range byYear {
		rep.RealizedByYear[fmt.Sprint(y)] = portfolio.FormatMoney(g, *base)
	}
	for _, a := range accts {
		b, err := ledger.Balance(a.ID)
		if err != nil {
			return err
		}
		rep.Balances = append(rep.Balances, b)
	}
	perf, err := ledger.Performance(ctx, portfolio.PerformanceOptions{Base: *base, History: hist})
	if err != nil {
		e.log.Warn("portfolio performance unavailable", "err", err)
	} else {
		rep.Performance = perf
	}
	if *asJSON {
		return writeJSON(e.stdout, rep)
	}
	return printPortfolioReport(e.stdout, &rep)
}

// printPortfolioReport writes the human form: aligned sections, each line
// an item's Summary().
func printPortfolioReport(w io.Writer, rep *portfolioReport) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	v := rep.Valuation
	pct := func(f float64) string { return fmt.Sprintf("%5.1f%%", f*100) }
	fmt.Fprintf(tw, "ACCOUNTS\t\n")
	for i, a := range rep.Accounts {
		fmt.Fprintf(tw, "  %s\t%s\n", a.Summary(), rep.Balances[i].Summary())
	}
	fmt.Fprintf(tw, "\t\nHOLDINGS (priced at the %s)\tWEIGHT\n", rep.Priced)
	holdings := slices.Clone(v.Holdings)
	slices.SortStableFunc(holdings, func(a, b portfolio.Holding) int { return cmp.Compare(b.Weight, a.Weight) })
	for _, h := range holdings {
		fmt.Fprintf(tw, "  %s\t%s\n", h.Summary(), pct(h.Weight))
	}
	for _, c := range v.Cash {
		fmt.Fprintf(tw, "  %s\t%s\n", c.Summary(), pct(c.Weight))
	}
	for _, sec := range []struct {
		name   string
		slices []portfolio.Slice
	}{{"BY ASSET CLASS", v.ByClass}, {"BY CURRENCY", v.ByCurrency}, {"BY ACCOUNT", v.ByAccount}} {
		fmt.Fprintf(tw, "\t\n%s\t\n", sec.name)
		for _, s := range sec.slices {
			fmt.Fprintf(tw, "  %s\t\n", s.Summary())
		}
	}
	fmt.Fprintf(tw, "\t\nRESULT (%s)\t\n", v.Base)
	for _, row := range [][2]string{
		{"total value", portfolio.FormatMoney(v.Total, v.Base)},
		{"net deposits", portfolio.FormatMoney(v.NetInflow, v.Base)},
		{"total gain", portfolio.FormatMoney(v.TotalGain, v.Base)},
		{"  unrealized", portfolio.FormatMoney(v.Unrealized, v.Base)},
		{"  realized", portfolio.FormatMoney(v.Realized, v.Base)},
		{"  income", portfolio.FormatMoney(v.Income, v.Base)},
		{"  fees and taxes", portfolio.FormatMoney(v.Costs.Neg(), v.Base)},
		{"capital gain", portfolio.FormatMoney(v.CapitalGain, v.Base)},
		{"currency effect", portfolio.FormatMoney(v.CurrencyEffect, v.Base)},
	} {
		fmt.Fprintf(tw, "  %s\t%s\n", row[0], row[1])
	}
	if p := rep.Performance; p != nil {
		fmt.Fprintf(tw, "\t\nPERFORMANCE\t\n  %s\t\n", p.Summary())
		if p.XIRRError != "" {
			fmt.Fprintf(tw, "  XIRR unavailable: %s\t\n", p.XIRRError)
		}
	}
	if len(rep.RealizedByYear) > 0 {
		fmt.Fprintf(tw, "\t\nREALIZED BY YEAR\t\n")
		years := make([]string, 0, len(rep.RealizedByYear))
		for y := range rep.RealizedByYear {
			years = append(years, y)
		}
		slices.Sort(years)
		for _, y := range years {
			fmt.Fprintf(tw, "  %s\t%s\n", y, rep.RealizedByYear[y])
		}
	}
	return tw.Flush()
}
