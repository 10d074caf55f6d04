package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// twoInstances starts two dashboards on one database (SQLite file or
// PostgreSQL schema) and one data directory (the same auth.key), as two
// instances behind one address.
func twoInstances(t *testing.T, b sqltest.Backend) (a, other *testEnv, db string) {
	t.Helper()
	db, dir := b.Target(t), t.TempDir()
	a = newTestEnvWith(t, config{dataDir: dir, db: db})
	other = newTestEnvWith(t, config{dataDir: dir, db: db})
	return a, other, db
}

// login logs name in on e and returns its client.
func (e *testEnv) login(t *testing.T, name string) *http.Client {
	t.Helper()
	c := e.client(t)
	status, _, _ := e.post(t, c, "/login", url.Values{"username": {name}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, status)
	return c
}

// TestCacheFollowsWritesOfOtherInstances: B's cached books follow every
// write made through A (the account form, the CSV import, an edit, a
// delete) and through the CLI binary on the same database, at the next
// read, and B's cached performance equals a fresh computation over the
// stored books. The cache asks the store's per-owner revision; with the
// old in-process counter B served its first reading until a restart.
func TestCacheFollowsWritesOfOtherInstances(t *testing.T) {
	cli := buildCLI(t)
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		a, other, db := twoInstances(t, b)
		_, err := a.app.auth.Register(ctx, auth.RegisterRequest{Username: "shared", Password: testPassword, Role: auth.RoleUser})
		require.NoError(t, err)
		ca, cb := a.login(t, "shared"), other.login(t, "shared")

		in, _ := other.netInflow(t, cb) // B caches the empty books
		assert.True(t, in.IsZero())
		status, _, _ := a.post(t, ca, "/portfolio/accounts", url.Values{"id": {"main"}, "kind": {"brokerage"}, "currency": {"USD"}})
		require.Equal(t, http.StatusSeeOther, status)
		_, summary := other.netInflow(t, cb)
		assert.Contains(t, fmt.Sprint(summary), "main", "B sees A's new account")

		a.importRows(t, ca, "date,account,kind,symbol,quantity,price,amount,note\n2025-01-02,main,deposit,,,,1000,first\n2025-01-03,main,buy,AAPL,2,150,,shares\n")
		in, _ = other.netInflow(t, cb)
		assert.Equal(t, "1000", in.String(), "B sees A's import")

		status, _, _ = a.post(t, ca, "/portfolio/transactions/edit", url.Values{"id": {firstTxID(t, a, "shared")}, "amount": {"1200"}})
		require.Equal(t, http.StatusSeeOther, status)
		in, _ = other.netInflow(t, cb)
		assert.Equal(t, "1200", in.String(), "B sees A's edit")

		csv := filepath.Join(t.TempDir(), "more.csv")
		require.NoError(t, os.WriteFile(csv, []byte("date,account,kind,amount,note\n2025-02-03,main,deposit,34.5,from the CLI\n"), 0o600))
		out, err := exec.Command(cli, "portfolio", "import", "--db", db, "--user", "shared", csv).CombinedOutput()
		require.NoError(t, err, "%s", out)
		in, _ = other.netInflow(t, cb)
		assert.Equal(t, "1234.5", in.String(), "B sees the CLI's import")
		in, _ = a.netInflow(t, ca)
		assert.Equal(t, "1234.5", in.String(), "A sees the CLI's import")

		// B's cached figures are those of the books as stored.
		u, err := other.app.authStore.UserByUsername(ctx, "shared")
		require.NoError(t, err)
		st := other.app.bookOf(u)
		got, err := other.app.books.performance(ctx, u.ID, st, "USD")
		require.NoError(t, err)
		l, err := portfolio.LoadLedger(ctx, st)
		require.NoError(t, err)
		other.app.books.mu.Lock()
		hist := other.app.books.owners[u.ID].series["USD"].hist
		other.app.books.mu.Unlock()
		want, err := l.Performance(ctx, portfolio.PerformanceOptions{Base: "USD", History: hist, To: time.Now().UTC()})
		require.NoError(t, err)
		assert.Equal(t, want.TWR, got.TWR)
		assert.Equal(t, want.XIRR, got.XIRR)
		assert.Equal(t, want.EndValue, got.EndValue)
		assert.Equal(t, len(want.Points), len(got.Points))
	})
}

// firstTxID is the id of the earliest transaction of user's books.
func firstTxID(t *testing.T, e *testEnv, user string) string {
	t.Helper()
	u, err := e.app.authStore.UserByUsername(context.Background(), user)
	require.NoError(t, err)
	txs, err := e.app.bookOf(u).Transactions(context.Background())
	require.NoError(t, err)
	require.NotEmpty(t, txs)
	return txs[0].ID
}

// buildCLI builds the finkit CLI of this checkout.
func buildCLI(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "finkit")
	out, err := exec.Command("go", "build", "-o", bin, "../finkit").CombinedOutput()
	require.NoError(t, err, "build finkit: %s", out)
	return bin
}

// TestRacingAccountAdds: requests on two instances add, at once, an
// account with one id and each its own currency. Exactly one is added and
// stored as reported; every other request is told the id is taken. (The
// old addAccount checked the books and then saved outside the store's
// write lock: several requests were told "added" and the stored account
// was whichever saved last.)
func TestRacingAccountAdds(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		a, other, _ := twoInstances(t, b)
		u, err := a.app.auth.Register(ctx, auth.RegisterRequest{Username: "racer", Password: testPassword, Role: auth.RoleUser})
		require.NoError(t, err)
		currencies := []string{"USD", "EUR", "NOK", "GBP", "SEK", "DKK", "CHF", "JPY", "AUD", "CAD", "NZD", "PLN"}
		added := make([]portfolio.Account, len(currencies))
		errs := make([]error, len(currencies))
		var wg sync.WaitGroup
		start := make(chan struct{})
		for i, ccy := range currencies {
			e := []*testEnv{a, other}[i%2]
			wg.Go(func() {
				<-start
				added[i], errs[i] = e.app.addAccount(ctx, u, accountForm{ID: "same", Kind: "bank", Currency: ccy})
			})
		}
		close(start)
		wg.Wait()
		winner := -1
		for i, err := range errs {
			if err == nil {
				assert.Equal(t, -1, winner, "two requests were told the account was added: %s and %s", currencies[max(winner, 0)], currencies[i])
				winner = i
				continue
			}
			status, _, refused := statusOf(err)
			assert.True(t, refused, "%v", err)
			assert.Equal(t, http.StatusBadRequest, status)
			assert.Contains(t, err.Error(), "duplicate account")
		}
		require.NotEqual(t, -1, winner)
		stored, err := other.app.bookOf(u).Accounts(ctx)
		require.NoError(t, err)
		require.Len(t, stored, 1)
		assert.Equal(t, added[winner], stored[0], "the stored account is the one reported added")
	})
}

// processRevisions is the cache's old source of revisions for the
// benchmark's baseline: a counter in this process (writes elsewhere go
// unseen).
type processRevisions struct{}

func (processRevisions) Revision(context.Context, string) (uint64, error) { return 0, nil }

// BenchmarkBooksCacheHit is what a request pays for cached books of 1,000
// transactions: the store's revision check (one primary-key read) against
// the old in-process counter, on SQLite and PostgreSQL in one run.
func BenchmarkBooksCacheHit(b *testing.B) {
	for _, sb := range sqltest.Backends() {
		b.Run(sb.Name, func(b *testing.B) {
			ctx := context.Background()
			opts := sqlstore.Options{Placeholder: sqlstore.Question}
			if sb.Dialect == sqlmigrate.Postgres {
				opts.Placeholder = sqlstore.Dollar
			}
			shelf, err := sqlstore.New(ctx, sb.Open(b), opts)
			require.NoError(b, err)
			book := shelf.Book("ann")
			require.NoError(b, book.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
			txs := make([]portfolio.Transaction, 1000)
			for i := range txs {
				txs[i] = portfolio.Transaction{ID: fmt.Sprint("t", i), Account: "a", Kind: portfolio.TxDeposit,
					Time: time.Date(2023, 1, 1, i, 0, 0, 0, time.UTC), Amount: decimal.NewFromInt(1), Currency: "USD"}
			}
			_, err = portfolio.BookTransactions(ctx, book, txs)
			require.NoError(b, err)
			for name, revs := range map[string]revisions{"store revision": storeRevisions{shelf}, "in-process counter": processRevisions{}} {
				b.Run(name, func(b *testing.B) {
					c := newBookCache(revs, nil)
					_, err := c.ledger(ctx, "ann", book)
					require.NoError(b, err)
					b.ReportAllocs()
					for b.Loop() {
						if _, err := c.ledger(ctx, "ann", book); err != nil {
							b.Fatal(err)
						}
					}
					require.Equal(b, int64(1), c.loads.Load(), "served from the cache")
				})
			}
		})
	}
}
