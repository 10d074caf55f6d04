package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"flag"
	"io"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestCommandsCloseTheirDatabase: every command that opens the database
// closes it, and every store on it, before it returns, on its success and
// on its error paths. On SQLite the last connection to close checkpoints
// the WAL and removes the -wal and -shm files, so a file left behind is a
// connection left open; on PostgreSQL the command's backends (found by
// the application_name of its URL) must be gone.
func TestCommandsCloseTheirDatabase(t *testing.T) {
	t.Setenv("FINKIT_AUDIT_LOG", filepath.Join(t.TempDir(), "audit.log"))
	dir := t.TempDir()
	csvPath := filepath.Join(dir, "tx.csv")
	require.NoError(t, os.WriteFile(csvPath, []byte(portfolioCSV), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "accounts.csv"), []byte(portfolioAccounts), 0o600))
	badCSV := filepath.Join(dir, "bad.csv")
	require.NoError(t, os.WriteFile(badCSV, []byte("date,account,kind\n2024-01-02,nowhere,deposit\n"), 0o600))

	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		target := b.Target(t)
		closed := func(t *testing.T, what string) {
			t.Helper()
			for _, f := range []string{target + "-wal", target + "-shm"} {
				_, err := os.Stat(f)
				assert.True(t, os.IsNotExist(err), "%s left %s behind: a connection is still open", what, filepath.Base(f))
			}
		}
		if b.Name == "postgres" {
			target, closed = pgTracked(t, target)
		}
		type step struct {
			args    []string
			stdin   string
			wantErr string
		}
		for _, s := range []step{
			{args: []string{"user", "add", "--db", target, "alice"}, stdin: "a sufficiently long passphrase\n"},
			{args: []string{"user", "add", "--db", target, "alice"}, stdin: "a sufficiently long passphrase\n", wantErr: "taken"},
			{args: []string{"user", "list", "--db", target}},
			{args: []string{"user", "set-role", "--db", target, "alice", "admin"}},
			{args: []string{"user", "set-role", "--db", target, "nobody", "admin"}, wantErr: "not found"},
			{args: []string{"portfolio", "account", "add", "nordnet", "--currency", "NOK", "--cost", "average", "--db", target}},
			{args: []string{"portfolio", "account", "add", "nordnet", "--currency", "NOK", "--cost", "average", "--db", target}, wantErr: "exists already"},
			{args: []string{"portfolio", "account", "list", "--db", target}},
			{args: []string{"portfolio", "account", "list", "--db", target, "--user", "alice"}, wantErr: "no accounts"},
			{args: []string{"portfolio", "account", "list", "--db", target, "--user", "nobody"}, wantErr: "no such dashboard user"},
			{args: []string{"portfolio", "import", csvPath, "--db", target}},
			{args: []string{"portfolio", "import", badCSV, "--db", target}, wantErr: "bad.csv"},
			{args: []string{"portfolio", "import", csvPath, "--db", target, "--user", "alice"}},
			{args: []string{"portfolio", "import", csvPath, "--db", target, "--user", "nobody"}, wantErr: "no such dashboard user"},
			{args: []string{"portfolio", "report", "--db", target, "--user", "alice"}},
			{args: []string{"portfolio", "export", "--db", target}},
			{args: []string{"portfolio", "export", "--db", target, "--user", "nobody"}, wantErr: "no such dashboard user"},
		} {
			var out, errOut bytes.Buffer
			e := &env{stdin: strings.NewReader(s.stdin), stdout: &out, stderr: &errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: time.Now}
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			cmd, _ := lookup(s.args[0])
			err := cmd.run(ctx, e, s.args[1:])
			cancel()
			what := strings.Join(s.args[:min(len(s.args), 3)], " ")
			if s.wantErr != "" {
				require.ErrorContains(t, err, s.wantErr, what)
			} else {
				require.NoError(t, err, "%s: %s", what, errOut.String())
			}
			closed(t, what)
		}
	})
}

// pgTracked returns target with an application_name of its own and a
// check that no connection of that name is open on the server.
func pgTracked(t *testing.T, target string) (string, func(*testing.T, string)) {
	t.Helper()
	u, err := url.Parse(target)
	require.NoError(t, err)
	var b [6]byte
	_, _ = rand.Read(b[:])
	app := "finkit-cli-" + hex.EncodeToString(b[:])
	q := u.Query()
	q.Set("application_name", app)
	u.RawQuery = q.Encode()
	admin, err := sql.Open("pgx", os.Getenv(sqltest.EnvPostgres))
	require.NoError(t, err)
	t.Cleanup(func() { _ = admin.Close() })
	return u.String(), func(t *testing.T, what string) {
		t.Helper()
		// A closed connection's backend exits a moment after the client
		// hung up.
		var n int
		for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
			require.NoError(t, admin.QueryRow(`SELECT count(*) FROM pg_stat_activity WHERE application_name = $1`, app).Scan(&n))
			if n == 0 || time.Now().After(deadline) {
				break
			}
		}
		assert.Zero(t, n, "%s left %d connections open", what, n)
	}
}

// TestPortfolioOpenClosesTheStore: the close portfolioOpen returns closes
// the store (its prepared statement), not only the database under it.
func TestPortfolioOpenClosesTheStore(t *testing.T) {
	ctx := context.Background()
	target := filepath.Join(t.TempDir(), "finkit.db")
	store, closeDB, err := portfolioOpen(ctx, target, true, "")
	require.NoError(t, err)
	_, err = store.Revision(ctx)
	require.NoError(t, err)
	closeDB()
	_, err = store.Revision(ctx)
	require.ErrorContains(t, err, "statement is closed")
}

// TestReportPricingClosesTheAggregator: the close a report's pricing
// returns stops the market-data aggregator behind it; the report defers
// it.
func TestReportPricingClosesTheAggregator(t *testing.T) {
	ctx := context.Background()
	md := mdFlags{now: time.Now}
	fs := flag.NewFlagSet("report", flag.ContinueOnError)
	md.register(fs, "sim")
	require.NoError(t, fs.Parse(nil))
	pr, err := reportPricing(ctx, &md, new(portfolio.Ledger))
	require.NoError(t, err)
	agg, ok := pr.prices.(*marketdata.Aggregator)
	require.True(t, ok)
	_, err = agg.Quotes(ctx, []string{"AAPL"})
	require.NoError(t, err)
	pr.close()
	_, err = agg.Quotes(ctx, []string{"AAPL"})
	require.ErrorIs(t, err, marketdata.ErrClosed)
}
