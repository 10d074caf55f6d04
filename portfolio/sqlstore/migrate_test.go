package sqlstore_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// legacyBooks is testdata/dashboard-v1.json: each user's books as the
// dashboard read them before owners existed.
type legacyBooks map[string]struct {
	UserID   string `json:"user_id"`
	Prefix   string `json:"prefix"`
	Accounts []struct {
		portfolio.Account
		Cash      string
		Positions map[string]string
	} `json:"accounts"`
	Transactions []portfolio.Transaction `json:"transactions"`
}

// TestMigrateDashboardV1 opens a database the dashboard wrote before books
// had owners (testdata/dashboard-v1.md says how it was made), on SQLite as
// it is and on PostgreSQL with its rows copied into the old schema, and
// finds every user's books intact in the user's own book, the paper
// account in the user's paper book, and the CLI's rows in the default book.
func TestMigrateDashboardV1(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		var db *sql.DB
		opts := sqlstore.Options{}
		if b.Dialect == sqlmigrate.Postgres {
			opts.Placeholder = sqlstore.Dollar
			db = b.Open(t)
			copyLegacy(t, db)
		} else {
			db = openCopy(t, "testdata/dashboard-v1.db")
		}
		s, err := sqlstore.New(ctx, db, opts)
		require.NoError(t, err)
		checkLegacyBooks(t, s)
	})
}

func checkLegacyBooks(t *testing.T, s *sqlstore.Store) {
	ctx := context.Background()
	raw, err := os.ReadFile("testdata/dashboard-v1.json")
	require.NoError(t, err)
	var want legacyBooks
	require.NoError(t, json.Unmarshal(raw, &want))
	require.Len(t, want, 3)
	for name, w := range want {
		real, paper := s.Book(w.UserID), s.Book(w.UserID+"/paper")
		lr, err := portfolio.LoadLedger(ctx, real)
		require.NoError(t, err, name)
		lp, err := portfolio.LoadLedger(ctx, paper)
		require.NoError(t, err, name)
		var nReal, nPaper int
		for _, wa := range w.Accounts {
			id := strings.TrimPrefix(wa.ID, w.Prefix)
			l := lr
			if id == "paper" {
				l = lp
				nPaper++
			} else {
				nReal++
			}
			got, err := l.Account(id)
			require.NoError(t, err, "%s: account %s", name, id)
			wa.Account.ID = id
			assert.Equal(t, wa.Account, got)
			cash, err := l.Cash(id)
			require.NoError(t, err)
			assert.Equal(t, wa.Cash, cash.String(), "%s %s cash", name, id)
			pos := map[string]string{}
			for _, p := range l.Positions(id) {
				pos[p.Symbol] = p.Quantity.String()
			}
			assert.Equal(t, wa.Positions, pos, "%s %s positions", name, id)
		}
		assert.Len(t, lr.Accounts(), nReal, name)
		assert.Len(t, lp.Accounts(), nPaper, name)
		// Every transaction, its prefix gone, in the book of its account.
		got := append(lr.Transactions(), lp.Transactions()...)
		require.Len(t, got, len(w.Transactions), name)
		byID := map[string]portfolio.Transaction{}
		for _, tx := range got {
			byID[tx.ID] = tx
		}
		for _, tx := range w.Transactions {
			tx.ID = strings.ReplaceAll(tx.ID, w.Prefix, "")
			tx.Account = strings.TrimPrefix(tx.Account, w.Prefix)
			assert.True(t, portfolio.SameTransaction(tx, byID[tx.ID]), "%s: %+v vs %+v", name, tx, byID[tx.ID])
		}
		stocks, err := real.Stocks(ctx)
		require.NoError(t, err)
		assert.Len(t, stocks, 23, "the shared instruments")
	}
	// The CLI's book.
	l, err := portfolio.LoadLedger(ctx, s)
	require.NoError(t, err)
	require.Len(t, l.Accounts(), 1)
	assert.Equal(t, "cli", l.Accounts()[0].ID)
	cash, _ := l.Cash("cli")
	assert.Equal(t, "700", cash.String())
	// Bob's x1 and alice's x1 are both there, apart.
	a, err := s.Book(want["alice"].UserID).Transactions(ctx)
	require.NoError(t, err)
	bb, err := s.Book(want["bob"].UserID).Transactions(ctx)
	require.NoError(t, err)
	var ax, bx portfolio.Transaction
	for _, tx := range a {
		if tx.ID == "x1" {
			ax = tx
		}
	}
	for _, tx := range bb {
		if tx.ID == "x1" {
			bx = tx
		}
	}
	assert.Equal(t, portfolio.TxBuy, ax.Kind)
	assert.Equal(t, portfolio.TxDeposit, bx.Kind)
}

// openCopy opens a copy of the SQLite file at path.
func openCopy(t *testing.T, path string) *sql.DB {
	t.Helper()
	src, err := os.Open(path)
	require.NoError(t, err)
	defer src.Close()
	dst := filepath.Join(t.TempDir(), "finkit.db")
	f, err := os.Create(dst)
	require.NoError(t, err)
	_, err = io.Copy(f, src)
	require.NoError(t, err)
	require.NoError(t, f.Close())
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(dst))
	require.NoError(t, err)
	t.Cleanup(func() { _ = db.Close() })
	return db
}

// copyLegacy creates the schema of before owners (migration 0001 only) in
// pg and copies the fixture's portfolio rows into it.
func copyLegacy(t *testing.T, pg *sql.DB) {
	t.Helper()
	ctx := context.Background()
	init, err := os.ReadFile("migrations/0001_init.sql")
	require.NoError(t, err)
	require.NoError(t, sqlmigrate.Apply(ctx, pg, fstest.MapFS{"0001_init.sql": {Data: init}},
		sqlmigrate.Options{Table: "portfolio_schema_migrations", Dialect: sqlmigrate.Postgres}))
	src := openCopy(t, "testdata/dashboard-v1.db")
	for _, table := range []struct{ name, cols string }{
		{"portfolio_accounts", "id, seq, name, kind, currency, cost_method, allow_short, allow_margin"},
		{"portfolio_stocks", "symbol, name, exchange, currency, class"},
		{"portfolio_transactions", "seq, id, account, kind, time_unix, time_text, symbol, quantity, price, fee, tax, amount, currency, fx_rate, note"},
	} {
		rows, err := src.QueryContext(ctx, `SELECT `+table.cols+` FROM `+table.name+` ORDER BY 1`)
		require.NoError(t, err)
		n := len(strings.Split(table.cols, ","))
		ins := sqlmigrate.Postgres.Rebind(`INSERT INTO ` + table.name + ` (` + table.cols + `) VALUES (` + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + `)`)
		for rows.Next() {
			vals := make([]any, n)
			ptrs := make([]any, n)
			for i := range vals {
				ptrs[i] = &vals[i]
			}
			require.NoError(t, rows.Scan(ptrs...))
			_, err := pg.ExecContext(ctx, ins, vals...)
			require.NoError(t, err)
		}
		require.NoError(t, rows.Err())
		rows.Close()
	}
}
