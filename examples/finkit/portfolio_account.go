package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"

	"github.com/finkit/finkit/portfolio"

	"github.com/finkit/finkit/examples/internal/appdb"
)

// runPortfolioAccount implements `finkit portfolio account add | list`.
func runPortfolioAccount(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usageErrorf("missing subcommand: account add or account list")
	}
	switch args[0] {
	case "add":
		return runAccountAdd(ctx, e, args[1:])
	case "list":
		return runAccountList(ctx, e, args[1:])
	case "-h", "-help", "--help":
		fmt.Fprintf(e.stdout, "usage: finkit portfolio account add ID --currency CCY [--kind K] [--cost fifo|average] | account list\n\nRun `finkit help portfolio account add` (or list) for its flags.\n")
		return flag.ErrHelp
	default:
		return usageErrorf("unknown subcommand %q: want account add or account list", args[0])
	}
}

func runAccountAdd(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("portfolio account add", e)
	dbPath := fs.String("db", appdb.FromEnv(portfolioDefaultDB), "SQLite database file (the dashboard's) or postgres:// URL")
	name := fs.String("name", "", "display name (default: the id)")
	kind := fs.String("kind", "brokerage", "brokerage, bank, crypto or cash")
	ccy := fs.String("currency", "", "the account's currency, such as USD (required)")
	cost := fs.String("cost", "fifo", "cost basis method: fifo or average")
	short := fs.Bool("allow-short", false, "allow selling what the account does not hold")
	margin := fs.Bool("allow-margin", false, "allow cash to go negative (a credit line or margin loan)")
	user := userFlag(fs)
	if err := parseFlags(fs, interleaveFlags(args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("want exactly one account ID")
	}
	if *ccy == "" {
		return usageErrorf("--currency is required")
	}
	a := portfolio.Account{ID: fs.Arg(0), Name: *name, Kind: portfolio.AccountKind(strings.ToLower(*kind)),
		Currency: strings.ToUpper(*ccy), CostMethod: portfolio.CostMethod(strings.ToLower(*cost)), AllowShort: *short, AllowMargin: *margin}
	if a.Name == "" {
		a.Name = a.ID
	}
	if err := new(portfolio.Ledger).AddAccount(a); err != nil { // validates as the store will
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	store, closeDB, err := portfolioOpen(ctx, *dbPath, true, *user)
	if err != nil {
		return err
	}
	defer closeDB()
	have, err := store.Accounts(ctx)
	if err != nil {
		return err
	}
	for _, h := range have {
		if h.ID == a.ID {
			return fmt.Errorf("account %q exists already (%s, %s)", a.ID, h.Kind, h.Currency)
		}
	}
	if err := store.SaveAccount(ctx, a); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "Added account %s (%s, %s, cost %s).\n", a.ID, a.Kind, a.Currency, a.CostMethod)
	return err
}

func runAccountList(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("portfolio account list", e)
	dbPath := fs.String("db", appdb.FromEnv(portfolioDefaultDB), "SQLite database file (the dashboard's) or postgres:// URL")
	asJSON := fs.Bool("json", false, "print JSON")
	user := userFlag(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("account list takes no arguments")
	}
	store, closeDB, err := portfolioOpen(ctx, *dbPath, false, *user)
	if err != nil {
		return err
	}
	defer closeDB()
	accts, err := store.Accounts(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if accts == nil {
			accts = []portfolio.Account{}
		}
		return writeJSON(e.stdout, accts)
	}
	if len(accts) == 0 {
		return errors.New("no accounts: add one with `finkit portfolio account add ID --currency CCY`")
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tNAME\tKIND\tCURRENCY\tCOST")
	for _, a := range accts {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", a.ID, a.Name, a.Kind, a.Currency, a.CostMethod)
	}
	return tw.Flush()
}
