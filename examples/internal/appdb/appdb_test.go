package appdb_test

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	authsql "github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/examples/internal/appdb"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	portfoliosql "github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/finkit/finkit/securechat"
	chatsql "github.com/finkit/finkit/securechat/sqlstore"
)

const childEnv = "FINKIT_APPDB_CHILD"

// startApp is what each app does at start: open the database and create
// the three stores on it (migrating a new file), then write once to each.
func startApp(ctx context.Context, target, name string) error {
	db, err := appdb.Open(ctx, target)
	if err != nil {
		return err
	}
	defer db.Close()
	as, err := authsql.New(ctx, db.DB, db.Auth())
	if err != nil {
		return fmt.Errorf("auth store: %w", err)
	}
	defer as.Close()
	ps, err := portfoliosql.New(ctx, db.DB, db.Portfolio())
	if err != nil {
		return fmt.Errorf("portfolio store: %w", err)
	}
	cs, err := chatsql.New(ctx, db.DB, db.Chat())
	if err != nil {
		return fmt.Errorf("chat store: %w", err)
	}
	defer cs.Close()
	now := time.Now()
	if err := as.CreateUser(ctx, auth.User{ID: name, Username: name, Role: auth.RoleUser, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}); err != nil {
		return err
	}
	if err := ps.SaveAccount(ctx, portfolio.Account{ID: name, Currency: "USD"}); err != nil {
		return err
	}
	if _, err := portfolio.BookTransactions(ctx, ps, []portfolio.Transaction{{ID: name, Account: name, Kind: portfolio.TxDeposit, Time: now, Amount: decimal.NewFromInt(1), Currency: "USD"}}); err != nil {
		return err
	}
	_, err = cs.Enqueue(ctx, "inbox", securechat.StoredEnvelope{Sender: securechat.PeerID(name), Envelope: []byte(name)}, securechat.EnqueueLimits{})
	return err
}

// TestMultiProcessFreshStart starts several real processes (this test
// binary again) on one new database at once, released together from a
// barrier, 20 rounds, on a SQLite file and on a PostgreSQL schema: every
// start succeeds, every migration is applied once, and every process's
// writes are there.
func TestMultiProcessFreshStart(t *testing.T) {
	if target := os.Getenv(childEnv); target != "" {
		child(target)
		return
	}
	if testing.Short() {
		t.Skip("starts 80 processes per database")
	}
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		const rounds, procs = 20, 4
		failedRounds := 0
		for round := range rounds {
			target := b.Target(t)
			errs := runAtBarrier(t, target, procs)
			if len(errs) > 0 {
				failedRounds++
				t.Errorf("round %d: %d of %d starts failed: %s", round, len(errs), procs, strings.Join(errs, "; "))
				continue
			}
			checkFresh(t, target, procs)
		}
		assert.Zero(t, failedRounds, "rounds with a failed start")
	})
}

// child waits for the barrier on stdin, starts the app and exits.
func child(target string) {
	fmt.Println("ready")
	_, _ = io.ReadFull(os.Stdin, make([]byte, 1))
	if err := startApp(context.Background(), target, fmt.Sprintf("p%d", os.Getpid())); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// runAtBarrier starts procs children on path, releases them at once and
// returns the errors of those that failed.
func runAtBarrier(t *testing.T, path string, procs int) []string {
	t.Helper()
	type proc struct {
		cmd    *exec.Cmd
		stdin  io.WriteCloser
		stderr strings.Builder
	}
	ps := make([]*proc, procs)
	for i := range ps {
		p := &proc{cmd: exec.Command(os.Args[0], "-test.run=^TestMultiProcessFreshStart$")}
		p.cmd.Env = append(os.Environ(), childEnv+"="+path)
		p.cmd.Stderr = &p.stderr
		var err error
		p.stdin, err = p.cmd.StdinPipe()
		require.NoError(t, err)
		out, err := p.cmd.StdoutPipe()
		require.NoError(t, err)
		require.NoError(t, p.cmd.Start())
		line, err := bufio.NewReader(out).ReadString('\n')
		require.NoError(t, err, "child %d did not get ready", i)
		require.Equal(t, "ready\n", line)
		ps[i] = p
	}
	for _, p := range ps { // the barrier: all are waiting; release them
		_, _ = p.stdin.Write([]byte{1})
	}
	var mu sync.Mutex
	var errs []string
	var wg sync.WaitGroup
	for _, p := range ps {
		wg.Go(func() {
			if err := p.cmd.Wait(); err != nil {
				mu.Lock()
				errs = append(errs, strings.TrimSpace(p.stderr.String())+" ("+err.Error()+")")
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// checkFresh checks the database the children made: intact and in WAL
// (SQLite), each migration recorded once, each child's rows present.
func checkFresh(t *testing.T, target string, procs int) {
	t.Helper()
	ctx := context.Background()
	db, err := appdb.Open(ctx, target)
	require.NoError(t, err)
	defer db.Close()
	if !db.Postgres {
		var check, mode string
		require.NoError(t, db.QueryRowContext(ctx, `PRAGMA integrity_check`).Scan(&check))
		assert.Equal(t, "ok", check)
		require.NoError(t, db.QueryRowContext(ctx, `PRAGMA journal_mode`).Scan(&mode))
		assert.Equal(t, "wal", mode)
	}
	for _, table := range []string{"auth_schema_migrations", "portfolio_schema_migrations", "chat_schema_migrations"} {
		var n, distinct int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT version) FROM `+table).Scan(&n, &distinct))
		assert.Equal(t, distinct, n, "%s: each migration once", table)
		assert.NotZero(t, n, table)
	}
	for _, table := range []string{"auth_users", "portfolio_accounts", "portfolio_transactions", "chat_mailbox"} {
		var n int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*) FROM `+table).Scan(&n))
		assert.Equal(t, procs, n, table)
	}
}

func TestName(t *testing.T) {
	assert.Equal(t, "data/finkit.db", appdb.Name("data/finkit.db"))
	assert.Equal(t, "postgres://kim@db:5432/finkit", appdb.Name("postgres://kim:secret@db:5432/finkit"))
	assert.Equal(t, "postgresql://db/finkit", appdb.Name("postgresql://db/finkit"))
}

func TestOpenRejectsBadInput(t *testing.T) {
	ctx := context.Background()
	_, err := appdb.Open(ctx, "")
	require.Error(t, err)
	_, err = appdb.Open(ctx, filepath.Join(t.TempDir(), "x.db?mode=ro"))
	require.Error(t, err)
}

// TestConcurrentWritersAcrossStores is the dashboard under load: the three
// stores on one database opened by Open, 20 writers of 25 mixed writes
// (CSV imports, paper-trading fills, recovery codes, sessions, chat
// messages). None may fail.
func TestConcurrentWritersAcrossStores(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		db, err := appdb.Open(ctx, b.Target(t))
		require.NoError(t, err)
		defer db.Close()
		as, err := authsql.New(ctx, db.DB, db.Auth())
		require.NoError(t, err)
		defer as.Close()
		ps, err := portfoliosql.New(ctx, db.DB, db.Portfolio())
		require.NoError(t, err)
		cs, err := chatsql.New(ctx, db.DB, db.Chat())
		require.NoError(t, err)
		defer cs.Close()
		now := time.Now()
		require.NoError(t, ps.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}))
		const writers, ops = 20, 25
		for w := range writers {
			id := fmt.Sprintf("u%d", w)
			require.NoError(t, as.CreateUser(ctx, auth.User{ID: id, Username: id, Role: auth.RoleUser, PasswordHash: "x", CreatedAt: now, UpdatedAt: now}))
		}
		var mu sync.Mutex
		var failures []string
		start := make(chan struct{})
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				<-start
				uid := fmt.Sprintf("u%d", w)
				for op := range ops {
					var err error
					switch op % 4 {
					case 0:
						_, err = portfolio.BookTransactions(ctx, ps, []portfolio.Transaction{{ID: fmt.Sprintf("%s-%d", uid, op), Account: "a",
							Kind: portfolio.TxDeposit, Time: now, Amount: decimal.NewFromInt(1), Currency: "USD"}})
					case 1:
						h := make([]byte, 32)
						h[0], h[1] = byte(w), byte(op)
						err = as.ReplaceRecoveryCodes(ctx, uid, [][]byte{h})
					case 2:
						th := make([]byte, 32)
						th[0], th[1] = byte(w), byte(op)
						err = as.CreateSession(ctx, auth.Session{ID: fmt.Sprintf("%s-s%d", uid, op), TokenHash: th, UserID: uid,
							CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour)})
					case 3:
						_, err = cs.Enqueue(ctx, securechat.PeerID(uid), securechat.StoredEnvelope{Sender: "x", Envelope: []byte("m")}, securechat.EnqueueLimits{})
					}
					if err != nil {
						mu.Lock()
						failures = append(failures, err.Error())
						mu.Unlock()
					}
				}
			})
		}
		close(start)
		wg.Wait()
		assert.Empty(t, failures, "%d of %d writes failed", len(failures), writers*ops)
	})
}
