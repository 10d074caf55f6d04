package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// pgStores opens two stores on one new PostgreSQL schema through pools of
// their own, as two processes would.
func pgStores(t *testing.T) (*sqlstore.Store, *sqlstore.Store) {
	t.Helper()
	for _, b := range sqltest.Backends() {
		if b.Name == "postgres" {
			return twoPools(t, b)
		}
	}
	t.Fatal("no postgres backend")
	return nil, nil
}

// holdUpdate starts an Update of book whose change waits for release, and
// returns once the Update is inside its transaction (it has read the
// books under its lock); done receives its result.
func holdUpdate(t *testing.T, book portfolio.Store, add []portfolio.Transaction) (release func(), done <-chan error) {
	t.Helper()
	inside, hold, out := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		_, err := book.Update(context.Background(), func(portfolio.Books) (portfolio.Change, error) {
			close(inside)
			<-hold
			return portfolio.Change{Add: add}, nil
		})
		out <- err
	}()
	select {
	case <-inside:
	case err := <-out:
		t.Fatalf("the held Update ended early: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("the held Update never got its lock")
	}
	var once sync.Once
	release = func() { once.Do(func() { close(hold) }) }
	t.Cleanup(release)
	return release, out
}

func deposit(id, amount string) portfolio.Transaction {
	return portfolio.Transaction{ID: id, Account: "a", Kind: portfolio.TxDeposit, Time: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC),
		Amount: decimal.RequireFromString(amount), Currency: "USD"}
}

// TestPostgresOwnersWriteConcurrently: on PostgreSQL a write of one owner
// held open inside its transaction does not keep another owner's writes
// (an import, a new account, an edit) waiting, also through another pool.
func TestPostgresOwnersWriteConcurrently(t *testing.T) {
	ctx := context.Background()
	s1, s2 := pgStores(t)
	for _, o := range []string{"ann", "bob"} {
		_, err := portfolio.AddAccount(ctx, s1.Book(o), portfolio.Account{ID: "a", Currency: "USD"})
		require.NoError(t, err)
	}
	release, done := holdUpdate(t, s1.Book("ann"), []portfolio.Transaction{deposit("ann-1", "10")})

	bob := s2.Book("bob")
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	n, err := bob.Update(wctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{deposit("bob-1", "20"), deposit("bob-2", "30")}}, nil
	})
	require.NoError(t, err, "bob's import waited for ann's open write")
	assert.Equal(t, 2, n)
	_, err = portfolio.AddAccount(wctx, bob, portfolio.Account{ID: "b", Currency: "EUR"})
	require.NoError(t, err, "bob's new account waited for ann's open write")
	require.NoError(t, s1.Book("bob").SaveAccount(wctx, portfolio.Account{ID: "a", Name: "Main", Currency: "USD"}), "same pool as ann's write")

	release()
	require.NoError(t, <-done)
	for o, want := range map[string][]string{"ann": {"ann-1"}, "bob": {"bob-1", "bob-2"}} {
		txs, err := s2.Book(o).Transactions(ctx)
		require.NoError(t, err)
		var ids []string
		for _, tx := range txs {
			ids = append(ids, tx.ID)
		}
		assert.Equal(t, want, ids, o)
	}
	accts, err := bob.Accounts(ctx)
	require.NoError(t, err)
	require.Len(t, accts, 2)
	assert.Equal(t, []string{"a", "b"}, []string{accts[0].ID, accts[1].ID}, "accounts keep their creation order")
	assert.Equal(t, "Main", accts[0].Name)
}

// TestPostgresSameOwnerWritesSerialize: a second write of the same owner,
// through another pool, waits for the first to end, then sees what it
// stored: a contested id is refused whole, and each write bumped the
// revision once.
func TestPostgresSameOwnerWritesSerialize(t *testing.T) {
	ctx := context.Background()
	s1, s2 := pgStores(t)
	_, err := portfolio.AddAccount(ctx, s1.Book("ann"), portfolio.Account{ID: "a", Currency: "USD"})
	require.NoError(t, err)
	r0, err := s1.Book("ann").Revision(ctx)
	require.NoError(t, err)

	release, done := holdUpdate(t, s1.Book("ann"), []portfolio.Transaction{deposit("first", "1"), deposit("contested", "2")})
	second := make(chan error, 1)
	go func() {
		_, err := s2.Book("ann").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
			return portfolio.Change{Add: []portfolio.Transaction{deposit("second", "3"), deposit("contested", "4")}}, nil
		})
		second <- err
	}()
	select {
	case err := <-second:
		t.Fatalf("the second write of ann did not wait for the first: %v", err)
	case <-time.After(500 * time.Millisecond):
	}
	release()
	require.NoError(t, <-done)
	require.ErrorIs(t, <-second, portfolio.ErrDuplicateID, "the second write sees the first's transactions")

	txs, err := s2.Book("ann").Transactions(ctx)
	require.NoError(t, err)
	require.Len(t, txs, 2)
	assert.Equal(t, "first", txs[0].ID)
	assert.Equal(t, "2", txs[1].Amount.String(), "the first write's contested transaction, not the second's")
	r1, err := s2.Book("ann").Revision(ctx)
	require.NoError(t, err)
	assert.Equal(t, r0+1, r1, "one stored write, one bump")
}

// TestPostgresOwnersRacingWrites: many owners' writers at once, through two
// pools: every write succeeds (no two take one sequence number), each book
// holds exactly its own transactions in the order they were booked, and
// its revision counts its writes.
func TestPostgresOwnersRacingWrites(t *testing.T) {
	ctx := context.Background()
	s1, s2 := pgStores(t)
	const owners, writes = 8, 15
	for o := range owners {
		_, err := portfolio.AddAccount(ctx, s1.Book("o"+strconv.Itoa(o)), portfolio.Account{ID: "a", Currency: "USD"})
		require.NoError(t, err)
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make(chan error, owners*writes)
	for o := range owners {
		for _, s := range []*sqlstore.Store{s1, s2} {
			book := s.Book("o" + strconv.Itoa(o))
			wg.Go(func() {
				<-start
				for w := range writes {
					// Writers of one owner race for the same ids: each
					// id is stored once, the other write is refused.
					id := fmt.Sprintf("o%d-w%d", o, w)
					_, err := book.Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
						tx := deposit(id, "1")
						tx.Time = tx.Time.Add(time.Duration(w) * time.Minute)
						return portfolio.Change{Add: []portfolio.Transaction{tx}}, nil
					})
					if err != nil && !assert.ErrorIs(t, err, portfolio.ErrDuplicateID) {
						errs <- err
					}
				}
			})
		}
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for o := range owners {
		book := s2.Book("o" + strconv.Itoa(o))
		txs, err := book.Transactions(ctx)
		require.NoError(t, err)
		require.Len(t, txs, writes)
		for w, tx := range txs {
			assert.Equal(t, fmt.Sprintf("o%d-w%d", o, w), tx.ID)
		}
		rev, err := book.Revision(ctx)
		require.NoError(t, err)
		def, err := s2.Revision(ctx)
		require.NoError(t, err)
		assert.Equal(t, uint64(1+writes), rev-def, "o%d: the account and one bump per stored write", o)
	}
}

// TestPostgresSequenceAfterStoredNumbers: on a database whose transactions
// were numbered before migration 0005, the sequence starts after them, so
// a new transaction of the same time sorts after the stored ones and no
// number is taken twice.
func TestPostgresSequenceAfterStoredNumbers(t *testing.T) {
	ctx := context.Background()
	var db *sql.DB
	for _, b := range sqltest.Backends() {
		if b.Name == "postgres" {
			db = b.Open(t)
		}
	}
	old := fstest.MapFS{}
	for _, name := range []string{"0001_init.sql", "0002_owners.sql", "0003_book_state.sql", "0004_revisions.sql"} {
		body, err := os.ReadFile("migrations/" + name)
		require.NoError(t, err)
		old[name] = &fstest.MapFile{Data: body}
	}
	require.NoError(t, sqlmigrate.Apply(ctx, db, old, sqlmigrate.Options{Table: "portfolio_schema_migrations", Dialect: sqlmigrate.Postgres,
		Expand: func(body string) string { return strings.ReplaceAll(body, "INSTR(", "STRPOS(") }}))
	_, err := db.ExecContext(ctx, `INSERT INTO portfolio_accounts (owner, id, seq, name, kind, currency, cost_method, allow_short, allow_margin)
		VALUES ('ann', 'a', 1, 'a', 'brokerage', 'USD', 'fifo', 0, 0), ('bob', 'a', 2, 'a', 'brokerage', 'USD', 'fifo', 0, 0)`)
	require.NoError(t, err)
	for i, seq := range []int{7, 500} {
		_, err := db.ExecContext(ctx, `INSERT INTO portfolio_transactions (seq, owner, id, account, kind, time_unix, time_text, symbol, quantity, price, fee, tax, amount, currency, fx_rate, note)
			VALUES ($1, $2, $3, 'a', 'deposit', $4, $5, '', '0', '0', '0', '0', '5', 'USD', '0', '')`,
			seq, []string{"ann", "bob"}[i], fmt.Sprintf("old-%d", seq), deposit("", "1").Time.UnixNano(), deposit("", "1").Time.Format(time.RFC3339Nano))
		require.NoError(t, err)
	}
	s, err := sqlstore.New(ctx, db, sqlstore.Options{Placeholder: sqlstore.Dollar})
	require.NoError(t, err)
	n, err := s.Book("ann").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{deposit("new-1", "1"), deposit("new-2", "2")}}, nil
	})
	require.NoError(t, err)
	require.Equal(t, 2, n)
	txs, err := s.Book("ann").Transactions(ctx)
	require.NoError(t, err)
	var ids []string
	for _, tx := range txs {
		ids = append(ids, tx.ID)
	}
	assert.Equal(t, []string{"old-7", "new-1", "new-2"}, ids, "same time: in the order stored")
	var lowest int64
	require.NoError(t, db.QueryRowContext(ctx, `SELECT MIN(seq) FROM portfolio_transactions WHERE id LIKE 'new-%'`).Scan(&lowest))
	assert.Greater(t, lowest, int64(500), "the sequence starts after every stored number")
}
