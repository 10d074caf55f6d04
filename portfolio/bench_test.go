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

// dailyHistory is a PriceHistory of one close per day and symbol (four
// decimals, as the dashboard's simulated history gives them) and one
// EUR/USD rate per day (six decimals).
type dailyHistory struct {
	start  time.Time
	prices map[string][]decimal.Decimal
	ccy    map[string]string
	eurusd []decimal.Decimal
}

func (h *dailyHistory) index(t time.Time, n int) int {
	return min(max(int(t.Sub(h.start)/(24*time.Hour)), 0), n-1)
}

func (h *dailyHistory) PriceAt(_ context.Context, symbol string, t time.Time) (decimal.Decimal, string, error) {
	ps, ok := h.prices[symbol]
	if !ok {
		return decimal.Decimal{}, "", ErrNotFound
	}
	return ps[h.index(t, len(ps))], h.ccy[symbol], nil
}

func (h *dailyHistory) RateAt(_ context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	switch r := h.eurusd[h.index(t, len(h.eurusd))]; {
	case from == to:
		return decimal.NewFromInt(1), nil
	case from == "EUR" && to == "USD":
		return r, nil
	case from == "USD" && to == "EUR":
		return decimal.NewFromInt(1).DivRound(r, 6), nil
	}
	return decimal.Decimal{}, ErrNotFound
}

// threeYears is a ledger of 1,000 transactions over three years (1,096
// days) in a USD and a EUR account, 15 USD and 5 EUR symbols (deposits,
// buys, sells, dividends, fees; USD stocks bought from the EUR account at
// the day's rate), with a daily history that moves every price every day.
func threeYears(tb testing.TB) (*Ledger, *dailyHistory, time.Time) {
	const days, n = 1096, 1000
	rng := rand.New(rand.NewPCG(36, 1000))
	t0 := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	h := &dailyHistory{start: t0, prices: map[string][]decimal.Decimal{}, ccy: map[string]string{}}
	var syms []string
	for i := range 20 {
		s := "S" + strconv.Itoa(i)
		h.ccy[s] = "USD"
		if i >= 15 {
			h.ccy[s] = "EUR"
		}
		p := 20 + rng.Float64()*200
		for range days + 1 {
			p *= 1 + 0.04*(rng.Float64()-0.5)
			h.prices[s] = append(h.prices[s], decimal.NewFromFloat(p).Round(4))
		}
		syms = append(syms, s)
	}
	r := 1.1
	for range days + 1 {
		r *= 1 + 0.01*(rng.Float64()-0.5)
		h.eurusd = append(h.eurusd, decimal.NewFromFloat(r).Round(6))
	}
	accts := []Account{{ID: "u", Currency: "USD"}, {ID: "e", Currency: "EUR", CostMethod: AverageCost}}
	l, err := NewLedger(accts...)
	if err != nil {
		tb.Fatal(err)
	}
	held := map[[2]string]int64{}
	var txs []Transaction
	for i := range n {
		a := accts[i%2]
		when := t0.Add(time.Duration(i) * ((days - 1) * 24 * time.Hour / n)).Add(10 * time.Hour)
		sym := syms[rng.IntN(len(syms))]
		k := [2]string{a.ID, sym}
		price, _, _ := h.PriceAt(context.Background(), sym, when)
		tx := Transaction{ID: "t" + strconv.Itoa(i), Account: a.ID, Time: when}
		switch r := rng.IntN(100); {
		case i < 2 || r < 10:
			tx.Kind, tx.Amount = TxDeposit, decimal.NewFromInt(int64(20_000+rng.IntN(5000)))
		case r < 60 || held[k] == 0:
			q := int64(1 + rng.IntN(20))
			tx.Kind, tx.Symbol, tx.Quantity, tx.Price, tx.Fee = TxBuy, sym, decimal.NewFromInt(q), price, decimal.New(int64(rng.IntN(500)), -2)
			held[k] += q
		case r < 85:
			q := 1 + rng.Int64N(held[k])
			tx.Kind, tx.Symbol, tx.Quantity, tx.Price, tx.Fee = TxSell, sym, decimal.NewFromInt(q), price, decimal.New(int64(rng.IntN(500)), -2)
			held[k] -= q
		case r < 95:
			tx.Kind, tx.Symbol, tx.Amount = TxDividend, sym, decimal.New(int64(100+rng.IntN(5000)), -2)
		default:
			tx.Kind, tx.Amount = TxFee, decimal.New(int64(1+rng.IntN(1000)), -2)
		}
		if tx.Symbol != "" && h.ccy[sym] != a.Currency {
			rate, _ := h.RateAt(context.Background(), h.ccy[sym], a.Currency, when)
			tx.Currency, tx.FXRate = h.ccy[sym], rate.Round(4)
		}
		txs = append(txs, tx)
	}
	if err := l.Apply(txs...); err != nil {
		tb.Fatal(err)
	}
	return l, h, t0.AddDate(0, 0, days-1)
}

// BenchmarkSeries measures the performance figures of 1,000 transactions
// over three years (one op = one page's figures, since inception, in
// EUR): the pre-series Performance (a full valuation per day), the series
// built from scratch (what Ledger.Performance does and the first read
// after the app loads a ledger), a read of an up-to-date series (memoized,
// and the figures summed from the stored days for a period not read
// before), and the read after a new price today, a new day with a
// transaction on it and a back-dated transaction (30 days; the ledger's
// own replay of its transactions included).
func BenchmarkSeries(b *testing.B) {
	ctx := context.Background()
	l, h, today := threeYears(b)
	opts := PerformanceOptions{Base: "EUR", History: h, To: today}
	sopts := SeriesOptions{Base: "EUR", History: h}
	period := Period{To: today}
	run := func(name string, op func(i int) error) {
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			cpu0, ops := processCPU(), 0
			for b.Loop() {
				if err := op(ops); err != nil {
					b.Fatal(err)
				}
				ops++
			}
			reportCPU(b, processCPU()-cpu0, ops)
		})
	}
	run("old-Performance", func(int) error { _, err := refPerformance(ctx, l, opts); return err })
	run("from-scratch", func(int) error { _, err := l.Performance(ctx, opts); return err })
	s, err := NewSeries(l, sopts)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := s.Performance(ctx, period); err != nil {
		b.Fatal(err)
	}
	run("cached-read", func(int) error { _, err := s.Performance(ctx, period); return err })
	run("cached-new-period", func(int) error {
		s.mu.Lock()
		defer s.mu.Unlock()
		_, err := s.figures(dayOf(l.txs.at(0).Time), today, FlowsSplit)
		return err
	})
	run("price-today", func(int) error {
		s.Invalidate(today)
		_, err := s.Performance(ctx, period)
		return err
	})
	// One more day with a deposit on it, read to that day (the series
	// grows by a day per op).
	last := today
	run("new-day-with-tx", func(i int) error {
		last = last.AddDate(0, 0, 1)
		tx := Transaction{ID: "day" + strconv.Itoa(i), Account: "u", Kind: TxDeposit, Time: last.Add(12 * time.Hour), Amount: decimal.NewFromInt(10)}
		if err := l.Apply(tx); err != nil {
			return err
		}
		_, err := s.Performance(ctx, Period{To: last})
		return err
	})
	run("tx-30-days-back", func(i int) error {
		tx := Transaction{ID: "back" + strconv.Itoa(i), Account: "u", Kind: TxDeposit, Time: last.AddDate(0, 0, -30), Amount: decimal.NewFromInt(10)}
		if err := l.Apply(tx); err != nil {
			return err
		}
		_, err := s.Performance(ctx, Period{To: last})
		return err
	})
}
