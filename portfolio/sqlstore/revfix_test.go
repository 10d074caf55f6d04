package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
)

// Review tests of the per-owner lock on PostgreSQL.

// pgPoolsWith opens two stores on one new PostgreSQL schema through pools
// of their own whose connections set the run-time parameters params.
func pgPoolsWith(t *testing.T, params map[string]string) (*sqlstore.Store, *sqlstore.Store, *sql.DB) {
	t.Helper()
	target := sqltest.PostgresURL(t)
	u, err := url.Parse(target)
	require.NoError(t, err)
	for k, v := range params {
		// pgx reads "+" literally: spaces as %20.
		u.RawQuery += "&" + url.PathEscape(k) + "=" + url.PathEscape(v)
	}
	var stores [2]*sqlstore.Store
	var db *sql.DB
	for i := range stores {
		db, err = sql.Open("pgx", u.String())
		require.NoError(t, err)
		t.Cleanup(func() { _ = db.Close() })
		stores[i], err = sqlstore.New(context.Background(), db, sqlstore.Options{Placeholder: sqlstore.Dollar})
		require.NoError(t, err)
	}
	return stores[0], stores[1], db
}

// TestRevfixRepeatableReadDefault: a database (or connection string) whose
// default isolation is REPEATABLE READ or SERIALIZABLE. A write of the
// book that waited for another's lock must decide on what that other
// stored, and queue rather than fail: the redefinition of an account the
// first write booked a transaction on is refused with ErrAccountInUse,
// a contested id with ErrDuplicateID, and racing writers of one book all
// succeed. (With the lock taken by a SELECT, the snapshot was taken
// before the wait: the second write failed with "could not serialize
// access due to concurrent update".)
func TestRevfixRepeatableReadDefault(t *testing.T) {
	for _, level := range []string{"repeatable read", "serializable"} {
		for _, lock := range []string{"book-lock", "table-lock"} {
			t.Run(level+"/"+lock, func(t *testing.T) {
				ctx := context.Background()
				s1, s2, _ := pgPoolsWith(t, map[string]string{"default_transaction_isolation": level})
				if lock == "table-lock" {
					// The lock of the tables before books had their own: the
					// reference, which passed.
					s1, s2 = sqlstore.WithTableLocks(s1), sqlstore.WithTableLocks(s2)
				}
				_, err := portfolio.AddAccount(ctx, s1.Book("ann"), portfolio.Account{ID: "a", Currency: "USD"})
				require.NoError(t, err)

				release, done := holdUpdate(t, s1.Book("ann"), []portfolio.Transaction{deposit("first", "1")})
				redefine, dup := make(chan error, 1), make(chan error, 1)
				go func() {
					redefine <- s2.Book("ann").SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "EUR"})
				}()
				go func() {
					_, err := s2.Book("ann").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
						return portfolio.Change{Add: []portfolio.Transaction{deposit("first", "2")}}, nil
					})
					dup <- err
				}()
				time.Sleep(300 * time.Millisecond)
				release()
				require.NoError(t, <-done)
				assert.ErrorIs(t, <-redefine, portfolio.ErrAccountInUse)
				assert.ErrorIs(t, <-dup, portfolio.ErrDuplicateID)
				accts, err := s2.Book("ann").Accounts(ctx)
				require.NoError(t, err)
				require.Len(t, accts, 1)
				assert.Equal(t, "USD", accts[0].Currency, "an account with transactions changed its currency")

				// Racing writers of one book through both pools.
				const writers, writes = 4, 5
				var wg sync.WaitGroup
				for w := range writers {
					s := []*sqlstore.Store{s1, s2}[w%2]
					wg.Go(func() {
						for i := range writes {
							_, err := s.Book("ann").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
								return portfolio.Change{Add: []portfolio.Transaction{deposit(fmt.Sprintf("w%d-%d", w, i), "1")}}, nil
							})
							assert.NoError(t, err)
						}
					})
				}
				wg.Wait()
				txs, err := s1.Book("ann").Transactions(ctx)
				require.NoError(t, err)
				assert.Len(t, txs, 1+writers*writes)
			})
		}
	}
}

// TestRevfixAccountNumbersRace: new accounts of one book added at once
// through two pools take distinct numbers, in the order they were
// created (the (owner, seq) index is not unique: a number taken twice
// would go unnoticed and leave the accounts' order undefined), and other
// owners' accounts do not share the book's numbering.
func TestRevfixAccountNumbersRace(t *testing.T) {
	ctx := context.Background()
	s1, s2, db := pgPoolsWith(t, nil)
	const n = 12
	var wg sync.WaitGroup
	for i := range n {
		s := []*sqlstore.Store{s1, s2}[i%2]
		wg.Go(func() {
			for _, o := range []string{"ann", "bob"} {
				_, err := portfolio.AddAccount(ctx, s.Book(o), portfolio.Account{ID: "acct" + strconv.Itoa(i), Currency: "USD"})
				assert.NoError(t, err)
			}
		})
	}
	wg.Wait()
	for _, o := range []string{"ann", "bob"} {
		var total, distinct, lo, hi int
		require.NoError(t, db.QueryRowContext(ctx, `SELECT COUNT(*), COUNT(DISTINCT seq), MIN(seq), MAX(seq) FROM portfolio_accounts WHERE owner = $1`, o).Scan(&total, &distinct, &lo, &hi))
		assert.Equal(t, n, total, o)
		assert.Equal(t, n, distinct, "%s: an account number taken twice", o)
		assert.Equal(t, []int{1, n}, []int{lo, hi}, "%s: numbered 1..n within the book", o)
	}
}

// TestRevfixLockKeyIsStable: the advisory lock key of a book is the same
// in every process and every version: a process computing another key
// for the book would not wait for this one's writers. A held key delays
// only the writers of its book (or of a book whose key collides), which
// then write as usual.
func TestRevfixLockKeyIsStable(t *testing.T) {
	assert.Equal(t, int64(0x4b9fcb366614069f), sqlstore.BookLockKey("ann"), "ann's key changed: processes of two versions would not exclude each other")
	assert.NotEqual(t, sqlstore.BookLockKey("ann"), sqlstore.BookLockKey("bob"))
	assert.NotEqual(t, sqlstore.BookLockKey(""), sqlstore.BookLockKey("ann"))

	ctx := context.Background()
	s1, _, db := pgPoolsWith(t, nil)
	for _, o := range []string{"ann", "bob"} {
		_, err := portfolio.AddAccount(ctx, s1.Book(o), portfolio.Account{ID: "a", Currency: "USD"})
		require.NoError(t, err)
	}
	// Another session holds ann's key, as a colliding owner's write would.
	conn, err := db.Conn(ctx)
	require.NoError(t, err)
	defer conn.Close()
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_lock($1)`, sqlstore.BookLockKey("ann"))
	require.NoError(t, err)
	annDone := make(chan error, 1)
	go func() {
		_, err := s1.Book("ann").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
			return portfolio.Change{Add: []portfolio.Transaction{deposit("ann-1", "1")}}, nil
		})
		annDone <- err
	}()
	wctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = s1.Book("bob").Update(wctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{deposit("bob-1", "1")}}, nil
	})
	require.NoError(t, err, "bob waited for ann's key")
	select {
	case err := <-annDone:
		t.Fatalf("ann's write did not wait for its key: %v", err)
	case <-time.After(300 * time.Millisecond):
	}
	_, err = conn.ExecContext(ctx, `SELECT pg_advisory_unlock($1)`, sqlstore.BookLockKey("ann"))
	require.NoError(t, err)
	require.NoError(t, <-annDone)
	txs, err := s1.Book("ann").Transactions(ctx)
	require.NoError(t, err)
	require.Len(t, txs, 1)
	assert.Equal(t, "ann-1", txs[0].ID)
}

// TestRevfixSequenceOnAnEmptyDatabase: on a new database the sequence
// starts at 1, and numbers stay above each other in the order of the
// book's writes.
func TestRevfixSequenceOnAnEmptyDatabase(t *testing.T) {
	ctx := context.Background()
	s1, _, db := pgPoolsWith(t, nil)
	_, err := portfolio.AddAccount(ctx, s1.Book("ann"), portfolio.Account{ID: "a", Currency: "USD"})
	require.NoError(t, err)
	for i := range 3 {
		_, err := s1.Book("ann").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
			return portfolio.Change{Add: []portfolio.Transaction{deposit("d"+strconv.Itoa(i), "1"), deposit("e"+strconv.Itoa(i), "1")}}, nil
		})
		require.NoError(t, err)
	}
	rows, err := db.QueryContext(ctx, `SELECT seq FROM portfolio_transactions ORDER BY id`)
	require.NoError(t, err)
	defer rows.Close()
	var seqs []int64
	for rows.Next() {
		var s int64
		require.NoError(t, rows.Scan(&s))
		seqs = append(seqs, s)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []int64{1, 3, 5, 2, 4, 6}, seqs, "d0 d1 d2 e0 e1 e2")
}

// TestRevfixSequenceBehindTheRows: a restore that brings the rows back but
// leaves the sequence behind them (a table-only dump, a COPY of rows):
// a write that draws a number already stored fails whole and changes
// nothing (the book, its revision), never overwriting or mixing books;
// once the sequence is set past the rows (setval, as the dump of the
// schema does), writes go on.
func TestRevfixSequenceBehindTheRows(t *testing.T) {
	ctx := context.Background()
	s1, _, db := pgPoolsWith(t, nil)
	for _, o := range []string{"ann", "bob"} {
		_, err := portfolio.AddAccount(ctx, s1.Book(o), portfolio.Account{ID: "a", Currency: "USD"})
		require.NoError(t, err)
		_, err = s1.Book(o).Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
			return portfolio.Change{Add: []portfolio.Transaction{deposit(o+"-1", "1"), deposit(o+"-2", "2")}}, nil
		})
		require.NoError(t, err)
	}
	_, err := db.ExecContext(ctx, `SELECT setval('portfolio_transactions_seq', 1, false)`)
	require.NoError(t, err)
	rev, err := s1.Book("bob").Revision(ctx)
	require.NoError(t, err)
	_, err = s1.Book("bob").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{deposit("bob-3", "3")}}, nil
	})
	require.Error(t, err, "a number taken by ann's first transaction")
	after, err := s1.Book("bob").Revision(ctx)
	require.NoError(t, err)
	assert.Equal(t, rev, after, "a failed write bumped the revision")
	for o, want := range map[string][]string{"ann": {"ann-1", "ann-2"}, "bob": {"bob-1", "bob-2"}} {
		txs, err := s1.Book(o).Transactions(ctx)
		require.NoError(t, err)
		var ids []string
		for _, tx := range txs {
			ids = append(ids, tx.ID)
		}
		assert.Equal(t, want, ids, o)
	}
	_, err = db.ExecContext(ctx, `SELECT setval('portfolio_transactions_seq', (SELECT MAX(seq) FROM portfolio_transactions))`)
	require.NoError(t, err)
	_, err = s1.Book("bob").Update(ctx, func(portfolio.Books) (portfolio.Change, error) {
		return portfolio.Change{Add: []portfolio.Transaction{deposit("bob-3", "3")}}, nil
	})
	require.NoError(t, err)
}
