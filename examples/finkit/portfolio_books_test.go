package main

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestPortfolioUserBooks runs the portfolio commands on a dashboard
// database written before books had owners
// (portfolio/sqlstore/testdata/dashboard-v1.md): --user NAME works on that
// user's books only, without it on the CLI's own book, and nothing printed
// carries the old "u.<id>/" prefixes or another user's data.
func TestPortfolioUserBooks(t *testing.T) {
	ctx := context.Background()
	db := filepath.Join(t.TempDir(), "finkit.db")
	src, err := os.Open(filepath.Join("..", "..", "portfolio", "sqlstore", "testdata", "dashboard-v1.db"))
	require.NoError(t, err)
	dst, err := os.Create(db)
	require.NoError(t, err)
	_, err = io.Copy(dst, src)
	require.NoError(t, err)
	require.NoError(t, dst.Close())
	src.Close()

	run := func(args ...string) (string, error) {
		e, out, _ := portfolioEnv()
		err := runPortfolio(ctx, e, append(args, "--db", db))
		return out.String(), err
	}
	alice, err := run("report", "--user", "alice")
	require.NoError(t, err)
	assert.Contains(t, alice, "Brokerage (brokerage, USD, fifo)")
	assert.Contains(t, alice, "TSLA")
	assert.NotContains(t, alice, "Paper trading", "paper play money is in its own book")
	assert.NotContains(t, alice, "Bob")
	bob, err := run("export", "--user", "BOB")
	require.NoError(t, err)
	assert.Contains(t, bob, "x1,")
	assert.Contains(t, bob, "EQNR.OL")
	assert.NotContains(t, bob, "TSLA")
	own, err := run("report")
	require.NoError(t, err)
	assert.Contains(t, own, "cli cash 700.00 EUR")
	assert.NotContains(t, own, "Brokerage")
	for _, out := range []string{alice, bob, own} {
		assert.NotContains(t, out, "u.")
	}
	_, err = run("report", "--user", "nobody")
	assert.ErrorContains(t, err, "no such dashboard user")
	// carol has no books yet.
	_, err = run("report", "--user", "carol")
	assert.ErrorContains(t, err, "empty")
}
