package sqlstore_test

import (
	"context"
	"database/sql"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/shopspring/decimal"
)

// BenchmarkAddTransactions stores 10,000 transactions in one Update into a
// fresh database (one op = the whole batch), then reads them back: SQLite
// and PostgreSQL (with FINKIT_TEST_POSTGRES) in one run.
func BenchmarkAddTransactions(b *testing.B) {
	for _, sb := range sqltest.Backends() {
		b.Run(sb.Name, func(b *testing.B) {
			opts := sqlstore.Options{Placeholder: sqlstore.Question}
			if sb.Dialect == sqlmigrate.Postgres {
				opts.Placeholder = sqlstore.Dollar
			}
			benchAdd(b, func(b *testing.B) *sql.DB { return sb.Open(b) }, opts)
		})
	}
}

func benchAdd(b *testing.B, open func(*testing.B) *sql.DB, opts sqlstore.Options) {
	const n = 10_000
	txs := make([]portfolio.Transaction, n)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range txs {
		txs[i] = portfolio.Transaction{ID: "t" + strconv.Itoa(i), Account: "a", Kind: portfolio.TxBuy, Time: t0.Add(time.Duration(i) * time.Minute),
			Symbol: "SYM" + strconv.Itoa(i%100), Quantity: decimal.NewFromInt(int64(1 + i%7)), Price: decimal.New(int64(10000+i), -2), Currency: "USD"}
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		s, err := sqlstore.New(ctx, open(b), opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.Update(ctx, func(portfolio.Books) (portfolio.Change, error) { return portfolio.Change{Add: txs}, nil }); err != nil {
			b.Fatal(err)
		}
		got, err := s.Transactions(ctx)
		if err != nil || len(got) != n {
			b.Fatal(err)
		}
	}
}

// benchBackends runs f as sub-benchmark "sqlite" and "postgres" (with
// FINKIT_TEST_POSTGRES; skipped without it) on a new, migrated store.
func benchBackends(b *testing.B, f func(b *testing.B, s *sqlstore.Store)) {
	for _, sb := range sqltest.Backends() {
		b.Run(sb.Name, func(b *testing.B) {
			opts := sqlstore.Options{Placeholder: sqlstore.Question}
			if sb.Dialect == sqlmigrate.Postgres {
				opts.Placeholder = sqlstore.Dollar
			}
			s, err := sqlstore.New(context.Background(), sb.Open(b), opts)
			if err != nil {
				b.Fatal(err)
			}
			f(b, s)
		})
	}
}

// benchTxs returns n buys in account "a" with ids prefix0 … prefix(n-1).
func benchTxs(prefix string, n int) []portfolio.Transaction {
	txs := make([]portfolio.Transaction, n)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range txs {
		txs[i] = portfolio.Transaction{ID: prefix + strconv.Itoa(i), Account: "a", Kind: portfolio.TxBuy, Time: t0.Add(time.Duration(i) * time.Minute),
			Symbol: "SYM" + strconv.Itoa(i%50), Quantity: decimal.NewFromInt(int64(1 + i%7)), Price: decimal.New(int64(10000+i), -2), Currency: "USD"}
	}
	return txs
}

// newBook returns the book of owner with account "a" and the given
// transactions stored.
func newBook(b *testing.B, s *sqlstore.Store, owner string, txs []portfolio.Transaction) portfolio.Store {
	ctx := context.Background()
	book := s.Book(owner)
	if err := book.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}); err != nil {
		b.Fatal(err)
	}
	if len(txs) > 0 {
		if _, err := book.Update(ctx, func(portfolio.Books) (portfolio.Change, error) { return portfolio.Change{Add: txs}, nil }); err != nil {
			b.Fatal(err)
		}
	}
	return book
}

// BenchmarkImport1000 books an import of 1,000 transactions in one
// Store.Update into a user's empty book (one op = one import; each op a
// new user of the same database), on SQLite and PostgreSQL in one run;
// reported as imports/s and transactions/s.
func BenchmarkImport1000(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *sqlstore.Store) {
		ctx := context.Background()
		txs := benchTxs("t", 1000)
		i := 0
		for b.Loop() {
			b.StopTimer()
			book := newBook(b, s, "import"+strconv.Itoa(i), nil)
			i++
			b.StartTimer()
			n, err := book.Update(ctx, func(portfolio.Books) (portfolio.Change, error) { return portfolio.Change{Add: txs}, nil })
			if err != nil || n != len(txs) {
				b.Fatal(n, err)
			}
		}
		b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "imports/s")
		b.ReportMetric(float64(b.N*len(txs))/b.Elapsed().Seconds(), "transactions/s")
	})
}

// BenchmarkSmallWrites books one transaction per Store.Update (a hand-typed
// transaction) into books of 32 users holding 100 transactions each, from
// one writer and from parallel writers (each op a user in turn), on SQLite
// and PostgreSQL in one run; reported as writes/s.
func BenchmarkSmallWrites(b *testing.B) {
	benchBackends(b, func(b *testing.B, s *sqlstore.Store) {
		const users = 32
		books := make([]portfolio.Store, users)
		for u := range books {
			books[u] = newBook(b, s, "small"+strconv.Itoa(u), benchTxs("seed", 100))
		}
		var next atomic.Int64
		write := func() error {
			i := next.Add(1)
			tx := benchTxs("w"+strconv.FormatInt(i, 10)+"-", 1)
			_, err := books[i%users].Update(context.Background(), func(portfolio.Books) (portfolio.Change, error) {
				return portfolio.Change{Add: tx}, nil
			})
			return err
		}
		b.Run("serial", func(b *testing.B) {
			for b.Loop() {
				if err := write(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
		b.Run("parallel", func(b *testing.B) {
			b.SetParallelism(4)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if err := write(); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	})
}

// BenchmarkOwnerWriters: parallel writers on PostgreSQL (with
// FINKIT_TEST_POSTGRES), each booking one transaction per Store.Update
// into a book of its own (16 writers per GOMAXPROCS, books seeded with
// 100 transactions), with each book's advisory lock ("book-lock", the store)
// and with the table locks the store took before ("table-lock", the
// baseline: LOCK TABLE … IN SHARE ROW EXCLUSIVE MODE, all owners' writers
// in one queue), in one run on one database; reported as writes/s.
func BenchmarkOwnerWriters(b *testing.B) {
	var pg sqltest.Backend
	for _, sb := range sqltest.Backends() {
		if sb.Dialect == sqlmigrate.Postgres {
			pg = sb
		}
	}
	db := pg.Open(b)
	s, err := sqlstore.New(context.Background(), db, sqlstore.Options{Placeholder: sqlstore.Dollar})
	if err != nil {
		b.Fatal(err)
	}
	const parallelism = 16
	writers := parallelism * runtime.GOMAXPROCS(0)
	for _, v := range []struct {
		name  string
		store *sqlstore.Store
	}{{"table-lock", sqlstore.WithTableLocks(s)}, {"book-lock", s}} {
		var op, run atomic.Int64
		b.Run(v.name, func(b *testing.B) {
			// New books for every run, so each starts from the same
			// size.
			r := strconv.FormatInt(run.Add(1), 10)
			books := make([]portfolio.Store, writers)
			for w := range books {
				books[w] = newBook(b, v.store, v.name+"-"+r+"-"+strconv.Itoa(w), benchTxs("seed", 100))
			}
			b.ResetTimer()
			var next atomic.Int64
			b.SetParallelism(parallelism)
			b.RunParallel(func(pb *testing.PB) {
				book := books[int(next.Add(1)-1)%writers]
				for pb.Next() {
					tx := benchTxs("w"+strconv.FormatInt(op.Add(1), 10)+"-", 1)
					if _, err := book.Update(context.Background(), func(portfolio.Books) (portfolio.Change, error) {
						return portfolio.Change{Add: tx}, nil
					}); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "writes/s")
		})
	}
}
