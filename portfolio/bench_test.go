package portfolio

import (
	"bytes"
	"context"
	"encoding/csv"
	"io"
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
)

// mixedStream generates n valid transactions over accounts × symbols:
// roughly 45% buys, 30% sells of held shares, 10% dividends, 10% deposits,
// 5% fees, with prices of up to two decimals and fees on trades.
func mixedStream(n, accounts, symbols int, seed uint64) ([]Account, []Transaction) {
	rng := rand.New(rand.NewPCG(seed, 7))
	accts := make([]Account, accounts)
	for i := range accts {
		accts[i] = Account{ID: "acct" + strconv.Itoa(i), Currency: "USD", CostMethod: FIFO}
		if i%2 == 1 {
			accts[i].CostMethod = AverageCost
		}
	}
	syms := make([]string, symbols)
	for i := range syms {
		syms[i] = "SYM" + strconv.Itoa(i)
	}
	held := make([][]int64, accounts)
	for i := range held {
		held[i] = make([]int64, symbols)
	}
	start := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	txs := make([]Transaction, 0, n)
	for i := range n {
		a := rng.IntN(accounts)
		s := rng.IntN(symbols)
		tx := Transaction{ID: "t" + strconv.Itoa(i), Account: accts[a].ID, Time: start.Add(time.Duration(i) * time.Second)}
		r := rng.IntN(100)
		if i < accounts {
			a, r = i, 90 // first a big deposit per account
			tx.Account = accts[a].ID
		}
		switch {
		case r < 45 || (r < 75 && held[a][s] == 0):
			q := int64(1 + rng.IntN(20))
			tx.Kind, tx.Symbol, tx.Quantity = TxBuy, syms[s], decimal.NewFromInt(q)
			tx.Price = decimal.New(int64(1000+rng.IntN(90000)), -2)
			tx.Fee = decimal.New(int64(rng.IntN(500)), -2)
			held[a][s] += q
		case r < 75:
			q := 1 + rng.Int64N(held[a][s])
			tx.Kind, tx.Symbol, tx.Quantity = TxSell, syms[s], decimal.NewFromInt(q)
			tx.Price = decimal.New(int64(1000+rng.IntN(90000)), -2)
			tx.Fee = decimal.New(int64(rng.IntN(500)), -2)
			held[a][s] -= q
		case r < 85:
			tx.Kind, tx.Symbol, tx.Amount = TxDividend, syms[s], decimal.New(int64(100+rng.IntN(10000)), -2)
		case r < 95:
			tx.Kind, tx.Amount = TxDeposit, decimal.NewFromInt(int64(1_000_000+rng.IntN(1000)))
		default:
			tx.Kind, tx.Amount = TxFee, decimal.New(int64(1+rng.IntN(1000)), -2)
		}
		if i < accounts {
			tx.Amount = decimal.NewFromInt(1_000_000_000)
		}
		txs = append(txs, tx)
	}
	return accts, txs
}

func prices(symbols int) Prices {
	p := make(Prices, symbols)
	for i := range symbols {
		p["SYM"+strconv.Itoa(i)] = Quote{Price: decimal.New(int64(5000+i), -2), Currency: "USD"}
	}
	return p
}

// BenchmarkApply applies b.N mixed transactions (one op = one transaction)
// in batches of the given size and values the portfolio at the end. Run
// with -benchtime 1000000x for the 1,000,000-transaction figure.
func BenchmarkApply(b *testing.B) {
	for _, batch := range []int{1, 1000} {
		b.Run("batch="+strconv.Itoa(batch), func(b *testing.B) {
			accts, txs := mixedStream(b.N, 10, 500, 1)
			l, err := NewLedger(accts...)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			cpu0 := processCPU()
			for i := 0; i < len(txs); i += batch {
				if err := l.Apply(txs[i:min(i+batch, len(txs))]...); err != nil {
					b.Fatal(err)
				}
			}
			if _, err := l.Value(context.Background(), "USD", prices(500), nil); err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			reportCPU(b, processCPU()-cpu0, b.N)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tx/s")
		})
	}
}

// reportCPU adds the process CPU time per op, and per second of CPU time
// how many ops ran, next to the wall-clock figures.
func reportCPU(b *testing.B, cpu time.Duration, ops int) {
	if cpu <= 0 {
		return
	}
	b.ReportMetric(float64(cpu.Nanoseconds())/float64(ops), "cpu-ns/op")
	b.ReportMetric(float64(ops)/cpu.Seconds(), "ops/cpu-s")
}

// BenchmarkValue values 10,000 positions (one op = one full valuation):
// again and again (positions, prices and rates unchanged, so each holding's
// amounts come from the last valuation), and with new prices each time
// (every holding computed afresh), next to the bare decimal arithmetic of qty × price summed.
func BenchmarkValue(b *testing.B) {
	const n = 10_000
	accts := []Account{{ID: "a", Currency: "USD", AllowMargin: true}, {ID: "b", Currency: "NOK", AllowMargin: true}}
	l, err := NewLedger(accts...)
	if err != nil {
		b.Fatal(err)
	}
	txs := make([]Transaction, 0, n)
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := range n {
		acct := accts[i%2]
		txs = append(txs, Transaction{ID: strconv.Itoa(i), Account: acct.ID, Kind: TxBuy, Time: t0, Symbol: "SYM" + strconv.Itoa(i),
			Quantity: decimal.NewFromInt(int64(1 + i%100)), Price: decimal.New(int64(1000+i), -2), Currency: "USD", FXRate: decimal.RequireFromString("10.5")})
		if acct.Currency == "USD" {
			txs[i].FXRate = decimal.Decimal{}
		}
	}
	if err := l.Apply(txs...); err != nil {
		b.Fatal(err)
	}
	ps := prices(n)
	rates := Rates{"USD/NOK": decimal.RequireFromString("10.61")}
	b.Run("ledger.Value", func(b *testing.B) {
		b.ReportAllocs()
		cpu0, ops := processCPU(), 0
		for b.Loop() {
			v, err := l.Value(context.Background(), "NOK", ps, rates)
			if err != nil || len(v.Holdings) != n {
				b.Fatal(err)
			}
			ops++
		}
		reportCPU(b, processCPU()-cpu0, ops)
	})
	// Every price differs from the last valuation's (new quotes each
	// time): no holding's amounts can be reused.
	ps2 := make(Prices, len(ps))
	for k, q := range ps {
		ps2[k] = Quote{Price: q.Price.Add(decimal.New(1, -2)), Currency: q.Currency}
	}
	b.Run("ledger.Value-new-prices", func(b *testing.B) {
		b.ReportAllocs()
		cpu0, ops := processCPU(), 0
		for b.Loop() {
			p := ps
			if ops%2 == 1 {
				p = ps2
			}
			v, err := l.Value(context.Background(), "NOK", p, rates)
			if err != nil || len(v.Holdings) != n {
				b.Fatal(err)
			}
			ops++
		}
		reportCPU(b, processCPU()-cpu0, ops)
	})
	b.Run("baseline-mul-sum", func(b *testing.B) {
		b.ReportAllocs()
		cpu0, ops := processCPU(), 0
		for b.Loop() {
			sum := decimal.Zero
			for i := range txs {
				sum = sum.Add(txs[i].Quantity.Mul(ps[txs[i].Symbol].Price))
			}
			ops++
		}
		reportCPU(b, processCPU()-cpu0, ops)
	})
}

// BenchmarkImportCSV parses a 100,000-row file and imports it into a ledger
// (one op = the whole file), next to encoding/csv reading the same bytes.
func BenchmarkImportCSV(b *testing.B) {
	accts, txs := mixedStream(100_000, 10, 500, 2)
	var buf bytes.Buffer
	if err := WriteCSV(&buf, txs); err != nil {
		b.Fatal(err)
	}
	data := buf.Bytes()
	b.Run("ReadCSV+Import", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		cpu0, ops := processCPU(), 0
		for b.Loop() {
			parsed, err := ReadCSV(bytes.NewReader(data))
			if err != nil {
				b.Fatal(err)
			}
			l, _ := NewLedger(accts...)
			if _, err := l.Import(parsed); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		reportCPU(b, processCPU()-cpu0, ops)
	})
	b.Run("ReadCSV", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		cpu0, ops := processCPU(), 0
		for b.Loop() {
			if _, err := ReadCSV(bytes.NewReader(data)); err != nil {
				b.Fatal(err)
			}
			ops++
		}
		reportCPU(b, processCPU()-cpu0, ops)
	})
	b.Run("baseline-encoding/csv", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(data)))
		cpu0, ops := processCPU(), 0
		for b.Loop() {
			ops++
			r := csv.NewReader(bytes.NewReader(data))
			r.ReuseRecord = true
			for {
				if _, err := r.Read(); err == io.EOF {
					break
				} else if err != nil {
					b.Fatal(err)
				}
			}
		}
		reportCPU(b, processCPU()-cpu0, ops)
	})
}

// TestMixedStreamApplies keeps the benchmark generator honest.
func TestMixedStreamApplies(t *testing.T) {
	accts, txs := mixedStream(5000, 4, 50, 3)
	l, err := NewLedger(accts...)
	if err != nil {
		t.Fatal(err)
	}
	if err := l.Apply(txs...); err != nil {
		t.Fatal(err)
	}
}

// BenchmarkPerformance measures a year of daily performance (one op = one
// Performance call: 366 valuations) over two accounts in USD and EUR, 20
// symbols and about two transactions a day, marked to the ledger's trades.
func BenchmarkPerformance(b *testing.B) {
	accts := []Account{{ID: "u", Currency: "USD"}, {ID: "e", Currency: "EUR"}}
	l, err := NewLedger(accts...)
	if err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(5, 5))
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var txs []Transaction
	for _, a := range accts {
		txs = append(txs, Transaction{ID: "d" + a.ID, Account: a.ID, Kind: TxDeposit, Time: t0, Amount: decimal.NewFromInt(10_000_000)})
	}
	for i := range 730 {
		a := accts[i%2]
		tx := Transaction{ID: strconv.Itoa(i), Account: a.ID, Kind: TxBuy, Time: t0.Add(time.Duration(i) * 12 * time.Hour), Symbol: "SYM" + strconv.Itoa(rng.IntN(20)),
			Quantity: decimal.NewFromInt(int64(1 + rng.IntN(10))), Price: decimal.New(int64(1000+rng.IntN(9000)), -2), Currency: "USD"}
		if a.Currency == "EUR" {
			tx.FXRate = decimal.New(int64(9000+rng.IntN(500)), -4)
		}
		txs = append(txs, tx)
	}
	if err := l.Apply(txs...); err != nil {
		b.Fatal(err)
	}
	h := l.TradeHistory()
	b.ReportAllocs()
	cpu0, ops := processCPU(), 0
	for b.Loop() {
		if _, err := l.Performance(context.Background(), PerformanceOptions{Base: "USD", History: h}); err != nil {
			b.Fatal(err)
		}
		ops++
	}
	reportCPU(b, processCPU()-cpu0, ops)
}
