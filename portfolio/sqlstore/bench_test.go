package sqlstore_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/shopspring/decimal"
)

// BenchmarkAddTransactions stores 10,000 transactions in one call into a
// fresh SQLite file (one op = the whole batch), then reads them back.
func BenchmarkAddTransactions(b *testing.B) {
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
		s, err := sqlstore.New(ctx, openDB(b), sqlstore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		if err := s.SaveAccount(ctx, portfolio.Account{ID: "a", Currency: "USD"}); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if _, err := s.AddTransactions(ctx, txs); err != nil {
			b.Fatal(err)
		}
		got, err := s.Transactions(ctx)
		if err != nil || len(got) != n {
			b.Fatal(err)
		}
	}
}
