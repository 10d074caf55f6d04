package main

import (
	"cmp"
	"context"
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
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/examples/internal/appdb"
)

// portfolioDefaultDB is the dashboard's SQLite file.
const portfolioDefaultDB = "data/finkit.db"

// runPortfolio implements `finkit portfolio account | import | report | export`.
func runPortfolio(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand: account, import, report or export")
	}
	switch args[0] {
	case "account":
		return runPortfolioAccount(ctx, e, args[1:])
	case "import":
		return runPortfolioImport(ctx, e, args[1:])
	case "report":
		return runPortfolioReport(ctx, e, args[1:])
	case "export":
		return runPortfolioExport(ctx, e, args[1:])
	case "-h", "-help", "--help":
		cmd, _ := lookup("portfolio")
		fmt.Fprintf(e.stdout, "usage: finkit portfolio %s\n\n%s.\n\nRun `finkit help portfolio SUBCOMMAND` for its flags.\n", cmd.args, upperFirst(cmd.summary))
		return flag.ErrHelp
	default:
		return usageErrorf("unknown subcommand %q: want account, import, report or export", args[0])
	}
}

// portfolioOpen opens (creating when create is set) the SQLite file, or the
// PostgreSQL server of a postgres:// URL, and the book to work on in its
// portfolio store: the dashboard user's books for a non-empty user, else
// the CLI's own default book. The caller defers closeAll, which closes the
// store (its prepared statement) and then the database (its pool); on an
// error nothing stays open.
func portfolioOpen(ctx context.Context, path string, create bool, user string) (store portfolio.Store, closeAll func(), err error) {
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
	closeAll = func() {
		_ = shelf.Close()
		_ = db.Close()
	}
	if user == "" {
		return shelf, closeAll, nil
	}
	owner, err := dashboardOwner(ctx, db, user)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	return shelf.Book(owner), closeAll, nil
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
	acctFile := fs.String("accounts", "", "accounts file defining the accounts the transactions name (default: accounts.csv next to FILE.csv, when there is one)")
	user := userFlag(fs)
	if err := parseFlags(fs, interleaveFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one FILE.csv")
	}
	txs, err := readTransactionsFile(fs.Arg(0))
	if err != nil {
		return err
	}
	declared, err := readAccountsFile(*acctFile, fs.Arg(0))
	if err != nil {
		return err
	}
	store, closeDB, err := portfolioOpen(ctx, *dbPath, true, *user)
	if err != nil {
		return err
	}
	defer closeDB()
	// A declared account the store already has must match it (a currency,
	// cost method or short/margin rule cannot change under existing
	// transactions); the rest are created, but only once the whole file
	// applies.
	created, err := accountsToCreate(ctx, store, declared, txs)
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", fs.Arg(0), err)
	}
	ledger, err := portfolio.LoadLedger(ctx, store)
	if err != nil {
		return err
	}
	for _, a := range created {
		if err := ledger.AddAccount(a); err != nil {
			return err
		}
	}
	if _, err := ledger.Import(txs); err != nil { // a dry run before anything is stored
		return fmt.Errorf("%s: nothing imported: %w", fs.Arg(0), err)
	}
	// The accounts and the transactions are stored together, checked
	// again inside the store's write lock.
	created, added, err := portfolio.BookWithAccounts(ctx, store, created, txs)
	if err != nil {
		return fmt.Errorf("%s: nothing imported: %w", fs.Arg(0), err)
	}
	n := len(added)
	e.log.Info("portfolio import", "file", fs.Arg(0), "rows", len(txs), "new", n, "accounts_created", len(created))
	_, err = fmt.Fprintf(e.stdout, "Imported %d new transactions (%d already present) from %s into %s; %s created.\n", n, len(txs)-n, fs.Arg(0), appdb.Name(*dbPath), plural(len(created), "account"))
	return err
}

func readTransactionsFile(path string) ([]portfolio.Transaction, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	txs, err := portfolio.ReadCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return txs, nil
}

// readAccountsFile reads the accounts file named by --accounts, or else
// accounts.csv beside the transactions file when it exists (as `portfolio
// export --accounts` writes it), or nothing.
func readAccountsFile(path, txFile string) ([]portfolio.Account, error) {
	if path == "" {
		path = filepath.Join(filepath.Dir(txFile), "accounts.csv")
		if _, err := os.Stat(path); err != nil {
			return nil, nil
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	accts, err := portfolio.ReadAccountsCSV(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return accts, nil
}

// accountsToCreate checks declared accounts against the store and returns
// those to create. Every account the transactions name must exist or be
// declared: an undeclared one is an error naming it, never a guess.
func accountsToCreate(ctx context.Context, store portfolio.Store, declared []portfolio.Account, txs []portfolio.Transaction) ([]portfolio.Account, error) {
	have, err := store.Accounts(ctx)
	if err != nil {
		return nil, err
	}
	byID := map[string]portfolio.Account{}
	for _, a := range have {
		byID[a.ID] = a
	}
	var created []portfolio.Account
	for _, d := range declared {
		if h, ok := byID[d.ID]; ok {
			if h.Currency != d.Currency || h.CostMethod != d.CostMethod || h.Kind != d.Kind {
				return nil, fmt.Errorf("account %q is %s %s %s here but %s %s %s in the accounts file", d.ID, h.Kind, h.Currency, h.CostMethod, d.Kind, d.Currency, d.CostMethod)
			}
			if h.AllowShort != d.AllowShort || h.AllowMargin != d.AllowMargin {
				return nil, fmt.Errorf("account %q allows short %t, margin %t here but short %t, margin %t in the accounts file", d.ID, h.AllowShort, h.AllowMargin, d.AllowShort, d.AllowMargin)
			}
			continue
		}
		byID[d.ID] = d
		created = append(created, d)
	}
	var missing []string
	for _, tx := range txs {
		if _, ok := byID[tx.Account]; !ok && !slices.Contains(missing, tx.Account) {
			missing = append(missing, tx.Account)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("undeclared accounts %s: declare them with `finkit portfolio account add ID --currency CCY` or in an accounts file (--accounts)", strings.Join(missing, ", "))
	}
	return created, nil
}

func runPortfolioExport(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("portfolio export", e)
	dbPath := fs.String("db", appdb.FromEnv(portfolioDefaultDB), "SQLite database file (the dashboard's) or postgres:// URL")
	acctFile := fs.String("accounts", "", "also write the account definitions to this file (import reads accounts.csv beside the transactions)")
	user := userFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("export takes no arguments; it writes CSV to stdout")
	}
	store, closeDB, err := portfolioOpen(ctx, *dbPath, false, *user)
	if err != nil {
		return err
	}
	defer closeDB()
	txs, err := store.Transactions(ctx)
	if err != nil {
		return err
	}
	if *acctFile != "" {
		accts, err := store.Accounts(ctx)
		if err != nil {
			return err
		}
		if err := writeFileAtomic(*acctFile, func(w io.Writer) error { return portfolio.WriteAccountsCSV(w, accts) }); err != nil {
			return err
		}
	}
	return portfolio.WriteCSV(e.stdout, txs)
}

// writeFileAtomic writes path through a temporary file renamed into place.
func writeFileAtomic(path string, write func(io.Writer) error) error {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return err
	}
	err = write(f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		_ = os.Remove(f.Name())
	}
	return err
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
	md := mdFlags{now: e.now}
	md.register(fs, "sim")
	user := userFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	asJSON := &md.asJSON
	if fs.NArg() != 0 {
		return usageErrorf("report takes no arguments")
	}
	store, closeDB, err := portfolioOpen(ctx, *dbPath, false, *user)
	if err != nil {
		return err
	}
	defer closeDB()
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
	pr, err := reportPricing(ctx, &md, ledger)
	if err != nil {
		return err
	}
	defer pr.close()
	val, err := ledger.Value(ctx, *base, pr.prices, pr.rates)
	if err != nil {
		return err
	}
	rep := portfolioReport{Accounts: accts, Valuation: val, RealizedByYear: map[string]string{}, Priced: pr.label, Realized: ledger.Realized("")}
	if rep.Realized == nil {
		rep.Realized = []portfolio.RealizedGain{}
	}
	// Realized gains per tax year, each account's converted to the base.
	rates := pr.rates
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
	var perf *portfolio.Performance
	err = portfolio.ErrNotEnoughData // no source of daily history
	if pr.history != nil {
		perf, err = ledger.Performance(ctx, portfolio.PerformanceOptions{Base: *base, History: pr.history})
	}
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

// pricing is how a report values holdings and converts currencies. The
// caller defers close, which stops the aggregator behind it (its
// background refreshes).
type pricing struct {
	prices  portfolio.PriceSource
	rates   portfolio.RateSource
	history portfolio.PriceHistory
	label   string
	close   func()
}

// reportPricing prices through the market-data aggregator over --providers
// (the simulated market by default, so it works offline; real providers by
// name), or with --providers none at the last trade price and FX rate in
// the ledger itself.
func reportPricing(ctx context.Context, md *mdFlags, ledger *portfolio.Ledger) (pricing, error) {
	if strings.EqualFold(strings.TrimSpace(md.providers), "none") {
		hist := ledger.TradeHistory()
		return pricing{prices: ledger.LastPrices(), rates: portfolio.RatesAt(hist, time.Now()), history: hist, label: "last trade price in the ledger", close: func() {}}, nil
	}
	agg, err := newAggregator(md)
	if err != nil {
		return pricing{}, err
	}
	pr := pricing{prices: agg, rates: agg, label: "market price from " + md.providers, close: func() { _ = agg.Close() }}
	ps, err := buildProviders(md)
	if err != nil {
		pr.close()
		return pricing{}, err
	}
	for _, p := range ps { // returns are measured on the first source with daily history
		if h, ok := p.(marketdata.HistoryProvider); ok {
			from := time.Now()
			if txs := ledger.Transactions(); len(txs) > 0 {
				from = txs[0].Time
			}
			pr.history = marketdata.NewHistoryPrices(h, from)
			break
		}
	}
	return pr, nil
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
