package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const portfolioCSV = `date,account,kind,symbol,quantity,price,fee,currency,fx_rate,amount,note
2024-01-02,nordnet,deposit,,,,,NOK,,100000,salary
2024-01-03,nordnet,buy,EQNR.OL,120,299.80,29,NOK,,,
2024-01-03,nordnet,buy,AAPL,10,185.64,1,USD,10.25,,
2024-02-15,nordnet,dividend,EQNR.OL,,,,NOK,,420.5,Q4
2024-03-01,nordnet,sell,EQNR.OL,20,312.40,29,NOK,,,
2024-06-03,nordnet,buy,AAPL,1,194.03,1,USD,10.61,,
`

const portfolioAccounts = `id,name,kind,currency,cost_method
nordnet,Nordnet,brokerage,NOK,average
`

func portfolioEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out, &errOut
}

func TestPortfolioCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "tx.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(portfolioCSV), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(portfolioAccounts), 0o600))
	db := filepath.Join(dir, "data", "finkit.db")

	// The accounts file beside the transactions declares the account.
	e, out, _ := portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", csvPath, "--db", db}))
	assert.Contains(t, out.String(), "Imported 6 new transactions (0 already present)")
	assert.Contains(t, out.String(), "1 account created")

	// Importing the same file again adds nothing.
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", "--db", db, csvPath}))
	assert.Contains(t, out.String(), "Imported 0 new transactions (6 already present)")

	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"account", "list", "--db", db}))
	assert.Regexp(t, `nordnet\s+Nordnet\s+brokerage\s+NOK\s+average`, out.String())

	// Offline, from the ledger alone: last trade prices, exactly.
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"report", "--db", db, "--providers", "none"}))
	text := out.String()
	assert.Contains(t, text, "EQNR.OL 100 sh @ 312.40 NOK = 31,240.00 NOK")
	assert.Contains(t, text, "AAPL 11 sh @ 194.03 USD = 2,134.33 USD")
	assert.Contains(t, text, "TWR")
	assert.Contains(t, text, "REALIZED BY YEAR")

	// By default through the market-data aggregator (the simulated market),
	// which also converts to a currency the transactions never name.
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"report", "--db", db, "--base", "gbp"}))
	text = out.String()
	assert.Contains(t, text, "priced at the market price from sim")
	assert.Contains(t, text, "RESULT (GBP)")
	assert.NotContains(t, text, "EQNR.OL 100 sh @ 312.40 NOK", "not the last trade price")

	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"report", "--db", db, "--base", "usd", "--json"}))
	var rep struct {
		Valuation struct {
			Base     string `json:"base"`
			Holdings []struct {
				Symbol string `json:"symbol"`
			} `json:"holdings"`
		} `json:"valuation"`
		Performance struct {
			TWR float64 `json:"twr"`
		} `json:"performance"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &rep))
	assert.Equal(t, "USD", rep.Valuation.Base)
	assert.Len(t, rep.Valuation.Holdings, 2)

	// Export → import into a fresh database gives the same accounts and
	// transactions.
	exportDir := t.TempDir()
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"export", "--db", db, "--accounts", filepath.Join(exportDir, "accounts.csv")}))
	exported := out.String()
	txs, err := portfolio.ReadCSV(strings.NewReader(exported))
	require.NoError(t, err)
	assert.Len(t, txs, 6)
	exportPath := filepath.Join(exportDir, "export.csv")
	require.NoError(t, os.WriteFile(exportPath, []byte(exported), 0o600))
	db2 := filepath.Join(dir, "second.db")
	e, _, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", exportPath, "--db", db2}))
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"export", "--db", db2}))
	assert.Equal(t, exported, out.String())
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"account", "list", "--db", db2, "--json"}))
	var accts []portfolio.Account
	require.NoError(t, json.Unmarshal(out.Bytes(), &accts))
	assert.Equal(t, []portfolio.Account{{ID: "nordnet", Name: "Nordnet", Kind: portfolio.KindBrokerage, Currency: "NOK", CostMethod: portfolio.AverageCost}}, accts)
}

func TestPortfolioAccounts(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "finkit.db")
	csvPath := filepath.Join(dir, "tx.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(portfolioCSV), 0o600))

	// Nothing is guessed: an undeclared account is named and nothing stored.
	e, _, _ := portfolioEnv()
	err := runPortfolio(ctx, e, []string{"import", csvPath, "--db", db})
	require.ErrorContains(t, err, "undeclared accounts nordnet")

	e, out, _ := portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"account", "add", "nordnet", "--currency", "nok", "--db", db}))
	assert.Equal(t, "Added account nordnet (brokerage, NOK, cost fifo).\n", out.String())
	e, _, _ = portfolioEnv()
	require.ErrorContains(t, runPortfolio(ctx, e, []string{"account", "add", "nordnet", "--currency", "USD", "--db", db}), "exists already")
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", csvPath, "--db", db}))
	assert.Contains(t, out.String(), "0 accounts created")

	// An accounts file that disagrees with the stored account is refused.
	other := filepath.Join(dir, "other.csv")
	require.NoError(t, os.WriteFile(other, []byte("id,currency,cost_method\nnordnet,NOK,average\n"), 0o600))
	e, _, _ = portfolioEnv()
	err = runPortfolio(ctx, e, []string{"import", "--accounts", other, csvPath, "--db", db})
	require.ErrorContains(t, err, `account "nordnet" is brokerage NOK fifo here but brokerage NOK average in the accounts file`)

	for _, args := range [][]string{
		{"account"}, {"account", "remove", "x"}, {"account", "add"}, {"account", "add", "x"},
		{"account", "add", "x", "--currency", "dollars"}, {"account", "add", "x", "--currency", "USD", "--cost", "lifo"},
		{"account", "add", "x", "--currency", "USD", "--kind", "pension"},
	} {
		e, _, _ := portfolioEnv()
		assert.ErrorIs(t, runPortfolio(ctx, e, append(args, "--db", db)), errUsage, "%v", args)
	}
}

func TestPortfolioCommandErrors(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "finkit.db")
	bad := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(bad, []byte("date,account,kind,quantity\n2024-01-01,a,buy,1\n2024-01-02,a,buy,abc\n"), 0o600))
	e, _, _ := portfolioEnv()
	err := runPortfolio(ctx, e, []string{"import", bad, "--db", db})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `line 3, column quantity: "abc" is not a number`)

	// A file that parses but does not apply imports nothing.
	oversell := filepath.Join(dir, "oversell.csv")
	require.NoError(t, os.WriteFile(oversell, []byte("date,account,kind,symbol,quantity,price,amount\n2024-01-01,a,deposit,,,,100\n2024-01-02,a,sell,X,1,10,\n"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte("id,currency\na,NOK\n"), 0o600))
	err = runPortfolio(ctx, e, []string{"import", oversell, "--db", db})
	require.ErrorIs(t, err, portfolio.ErrInsufficientHoldings)
	e, out, _ := portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"export", "--db", db}))
	assert.Equal(t, "id,date,account,kind,symbol,quantity,price,amount,fee,tax,currency,fx_rate,note\n", out.String())

	for _, args := range [][]string{nil, {"frobnicate"}, {"import"}, {"export", "extra"}, {"report", "--bogus"}} {
		err := runPortfolio(ctx, e, args)
		require.ErrorIs(t, err, errUsage, "%v", args)
	}
	err = runPortfolio(ctx, e, []string{"report", "--db", filepath.Join(dir, "missing.db")})
	require.Error(t, err)
}

// An accounts file that changes whether a stored account may go short or
// on margin is refused, as a changed currency or cost method is: the file
// would otherwise claim a rule the books do not follow, silently.
func TestPortfolioAccountsFileRedefinesFlags(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	db := filepath.Join(dir, "finkit.db")
	csvPath := filepath.Join(dir, "tx.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(portfolioCSV), 0o600))
	e, _, _ := portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"account", "add", "nordnet", "--currency", "NOK", "--db", db}))
	for _, def := range []string{"nordnet,NOK,fifo,true,false", "nordnet,NOK,fifo,false,true"} {
		f := filepath.Join(dir, "accounts.csv")
		require.NoError(t, os.WriteFile(f, []byte("id,currency,cost_method,allow_short,allow_margin\n"+def+"\n"), 0o600))
		e, _, _ := portfolioEnv()
		err := runPortfolio(ctx, e, []string{"import", csvPath, "--db", db})
		require.Error(t, err, def)
		assert.Contains(t, err.Error(), `account "nordnet"`, def)
		assert.Contains(t, err.Error(), "nothing imported", def)
	}
	store, closeDB, err := portfolioOpen(ctx, db, false, "")
	require.NoError(t, err)
	defer closeDB()
	txs, err := store.Transactions(ctx)
	require.NoError(t, err)
	assert.Empty(t, txs)
}
