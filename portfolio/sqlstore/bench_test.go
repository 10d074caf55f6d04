package sqlstore_test

import (
	"context"
	"database/sql"
	"strconv"
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
