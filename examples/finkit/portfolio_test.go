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

func portfolioEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out, &errOut
}

func TestPortfolioCommand(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "tx.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(portfolioCSV), 0o600))
	db := filepath.Join(dir, "data", "finkit.db")

	e, out, _ := portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", csvPath, "--db", db}))
	assert.Contains(t, out.String(), "imported 6 new transactions (0 already present)")

	// Importing the same file again adds nothing.
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", "--db", db, csvPath}))
	assert.Contains(t, out.String(), "imported 0 new transactions (6 already present)")

	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"report", "--db", db}))
	text := out.String()
	assert.Contains(t, text, "EQNR.OL 100 sh @ 312.40 NOK = 31,240.00 NOK")
	assert.Contains(t, text, "AAPL 11 sh @ 194.03 USD = 2,134.33 USD")
	assert.Contains(t, text, "TWR")
	assert.Contains(t, text, "REALIZED BY YEAR")

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

	// Export → import into a fresh database gives the same transactions.
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"export", "--db", db}))
	exported := out.String()
	txs, err := portfolio.ReadCSV(strings.NewReader(exported))
	require.NoError(t, err)
	assert.Len(t, txs, 6)
	exportPath := filepath.Join(dir, "export.csv")
	require.NoError(t, os.WriteFile(exportPath, []byte(exported), 0o600))
	db2 := filepath.Join(dir, "second.db")
	e, _, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"import", exportPath, "--db", db2}))
	e, out, _ = portfolioEnv()
	require.NoError(t, runPortfolio(ctx, e, []string{"export", "--db", db2}))
	assert.Equal(t, exported, out.String())
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
