package portfolio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// setMark sets a mark of the history from the start of date on, replacing
// one already on that date (insertMark would keep both, the old one
// winning).
func setMark(ms []histMark, m histMark) []histMark {
	if i := slices.IndexFunc(ms, func(x histMark) bool { return x.t.Equal(m.t) }); i >= 0 {
		ms[i] = m
		return ms
	}
	return insertMark(ms, m)
}

// reloaded is a fresh ledger with l's accounts and transactions, as a
// store would give it back.
func reloaded(t *testing.T, l *Ledger) *Ledger {
	t.Helper()
	l2 := newLedger(t, l.Accounts()...)
	require.NoError(t, l2.Apply(l.Transactions()...))
	return l2
}

// comparePerformance checks that the series, Ledger.Performance and the
// reference give the same figures over p, bit for bit, or the same
// error.
func comparePerformance(t *testing.T, s *Series, l *Ledger, opts SeriesOptions, p Period, what string) {
	t.Helper()
	ctx := context.Background()
	po := PerformanceOptions{Base: opts.Base, History: opts.History, Account: opts.Account, From: p.From, To: p.To, Timing: p.Timing}
	want, wantErr := refPerformance(ctx, l, po)
	got, err := s.Performance(ctx, p)
	once, onceErr := l.Performance(ctx, po)
	if wantErr != nil {
		require.EqualError(t, err, wantErr.Error(), what)
		require.EqualError(t, onceErr, wantErr.Error(), what)
		return
	}
	require.NoError(t, err, what)
	require.NoError(t, onceErr, what)
	require.Equal(t, want, got, what)
	require.Equal(t, want, once, what)
}

// TestPropertySeriesEqualsPerformance keeps a Series per random ledger
// (USD and EUR accounts and instruments, FX trades, securities and cash
// transfers, in a USD or EUR base, whole portfolio or one account) and
// changes things under it: transactions booked today, back-dated
// deposits, withdrawals and buys (the ledger replays), new prices and
// rates on past days and today (with Invalidate), the books reloaded into
// a new Ledger (SetLedger), periods that grow by days. After each change
// every figure, point by point, equals the pre-series Performance
// (refPerformance) and Ledger.Performance exactly.
func TestPropertySeriesEqualsPerformance(t *testing.T) {
	rng := rand.New(rand.NewPCG(17, 12))
	for sc := range 14 {
		days := 5 + rng.IntN(30)
		if sc%7 == 6 {
			days = 200 + rng.IntN(200)
		}
		l, txs, m, t0 := perfScenario(t, rng, days)
		if len(txs) == 0 {
			continue
		}
		opts := SeriesOptions{Base: []string{"USD", "EUR"}[rng.IntN(2)], History: m.h, Account: []string{"", "", "u", "e", "e2"}[rng.IntN(5)]}
		s, err := NewSeries(l, opts)
		require.NoError(t, err)
		lastDay := t0.AddDate(0, 0, days-1)
		periods := func() []Period {
			return []Period{
				{Timing: FlowTiming(rng.IntN(3))}, // since inception to the last transaction
				{To: lastDay.AddDate(0, 0, rng.IntN(4)), Timing: FlowTiming(rng.IntN(3))},
				{From: t0.AddDate(0, 0, rng.IntN(days)), To: lastDay.AddDate(0, 0, 1), Timing: FlowTiming(rng.IntN(3))},
			}
		}
		for _, p := range periods() {
			comparePerformance(t, s, l, opts, p, fmt.Sprintf("scenario %d first read", sc))
		}
		n := 0
		for step := range 24 {
			what := fmt.Sprintf("scenario %d step %d", sc, step)
			when := t0.AddDate(0, 0, rng.IntN(days)).Add(time.Duration(rng.IntN(24)) * time.Hour)
			if rng.IntN(2) == 0 {
				when = lastDay.Add(time.Duration(rng.IntN(24)) * time.Hour) // today
			}
			acct := []string{"u", "e", "e2"}[rng.IntN(3)]
			n++
			id := fmt.Sprintf("s%d", n)
			switch op := rng.IntN(8); op {
			case 0, 1: // a deposit, today or back-dated
				what += " deposit " + when.Format(time.DateTime)
				require.NoError(t, l.Apply(Transaction{ID: id, Account: acct, Kind: TxDeposit, Time: when, Amount: decimal.NewFromInt(int64(1 + rng.IntN(900)))}), what)
			case 2: // a buy or a withdrawal that may be refused
				what += " buy/withdrawal " + when.Format(time.DateTime)
				tx := Transaction{ID: id, Account: acct, Kind: TxWithdrawal, Time: when, Amount: decimal.NewFromInt(int64(1 + rng.IntN(300)))}
				if rng.IntN(2) == 0 {
					sym := []string{"A", "B"}[rng.IntN(2)]
					price, _, _ := m.h.PriceAt(context.Background(), sym, when)
					tx = Transaction{ID: id, Account: acct, Kind: TxBuy, Time: when, Symbol: sym, Quantity: decimal.NewFromInt(1), Price: price}
					if m.sym[sym] != m.ccy[acct] {
						r, _ := m.h.RateAt(context.Background(), m.sym[sym], m.ccy[acct], when)
						tx.Currency, tx.FXRate = m.sym[sym], r.Round(4)
					}
				}
				_ = l.Apply(tx) // refused: nothing changes
			case 3: // a new price, from a day on
				sym := []string{"A", "B"}[rng.IntN(2)]
				date := dayOf(when)
				what += " price " + sym + " " + date.Format(time.DateOnly)
				m.h.prices[sym] = setMark(m.h.prices[sym], histMark{date, decimal.New(int64(1000+rng.IntN(9000)), -2), m.sym[sym]})
				s.Invalidate(when)
			case 4: // a new EUR/USD rate
				date := dayOf(when)
				what += " rate " + date.Format(time.DateOnly)
				m.h.rates["EUR/USD"] = setMark(m.h.rates["EUR/USD"], histMark{date, decimal.New(int64(9000+rng.IntN(4000)), -4), ""})
				s.Invalidate(when)
			case 5: // the books reloaded, maybe with one more transaction
				what += " reloaded"
				l2 := reloaded(t, l)
				if rng.IntN(2) == 0 {
					require.NoError(t, l2.Apply(Transaction{ID: id, Account: acct, Kind: TxDeposit, Time: when, Amount: decimal.NewFromInt(7)}))
				}
				l = l2
				s.SetLedger(l)
			case 6: // a day later
				lastDay = lastDay.AddDate(0, 0, 1)
				m.h.price("A", lastDay.Format(time.DateOnly), fmt.Sprintf("%d.5", 50+rng.IntN(100)), "USD")
				what += " new day " + lastDay.Format(time.DateOnly)
				s.Invalidate(lastDay)
			default: // nothing changed: the stored days are read
				what += " no change"
			}
			for _, p := range periods() {
				comparePerformance(t, s, l, opts, p, what)
			}
		}
	}
}

// countingHistory counts the calls of a PriceHistory.
type countingHistory struct {
	PriceHistory
	calls atomic.Int64
}

func (h *countingHistory) PriceAt(ctx context.Context, symbol string, t time.Time) (decimal.Decimal, string, error) {
	h.calls.Add(1)
	return h.PriceHistory.PriceAt(ctx, symbol, t)
}

func (h *countingHistory) RateAt(ctx context.Context, from, to string, t time.Time) (decimal.Decimal, error) {
	h.calls.Add(1)
	return h.PriceHistory.RateAt(ctx, from, to, t)
}

// TestSeriesRecomputesOnlyWhatChanged counts what a Series asks its
// History: nothing for a read with nothing changed, one day's worth for
// a transaction booked today, a new price today or one new day, and the
// days since a back-dated transaction's date for that one; never the
// whole history again.
func TestSeriesRecomputesOnlyWhatChanged(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	l, _, m, t0 := perfScenario(t, rng, 300)
	h := &countingHistory{PriceHistory: m.h}
	s, err := NewSeries(l, SeriesOptions{Base: "EUR", History: h})
	require.NoError(t, err)
	ctx := context.Background()
	today := t0.AddDate(0, 0, 299)
	read := func(to time.Time) int64 {
		t.Helper()
		before := h.calls.Load()
		_, err := s.Performance(ctx, Period{To: to})
		require.NoError(t, err)
		return h.calls.Load() - before
	}
	full := read(today)
	perDay := full / 300
	require.Greater(t, perDay, int64(0))
	require.Zero(t, read(today), "nothing changed")
	require.Zero(t, read(today.AddDate(0, 0, -10)), "a shorter period")

	require.NoError(t, l.Apply(Transaction{ID: "today", Account: "u", Kind: TxDeposit, Time: today.Add(23 * time.Hour), Amount: d("10")}))
	require.LessOrEqual(t, read(today), 3*perDay, "a transaction today")

	s.Invalidate(today)
	require.LessOrEqual(t, read(today), 3*perDay, "a new price today")

	require.LessOrEqual(t, read(today.AddDate(0, 0, 1)), 3*perDay, "one more day")

	require.NoError(t, l.Apply(Transaction{ID: "back", Account: "u", Kind: TxDeposit, Time: today.AddDate(0, 0, -20), Amount: d("10")}))
	back := read(today.AddDate(0, 0, 1))
	require.LessOrEqual(t, back, 30*perDay, "a transaction 20 days back")
	require.Greater(t, back, 10*perDay, "a transaction 20 days back")

	s.SetLedger(reloaded(t, l))
	require.Zero(t, read(today.AddDate(0, 0, 1)), "the same books reloaded")
}

// TestSeriesConcurrentReadersAndWriter reads one Series from several
// goroutines while another books transactions into its ledger (run with
// -race): every read succeeds, and the last equals the reference.
func TestSeriesConcurrentReadersAndWriter(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 1))
	l, _, m, t0 := perfScenario(t, rng, 60)
	opts := SeriesOptions{Base: "USD", History: m.h}
	s, err := NewSeries(l, opts)
	require.NoError(t, err)
	ctx := context.Background()
	var wg sync.WaitGroup
	stop := make(chan struct{})
	for r := range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				p := Period{To: t0.AddDate(0, 0, 59+i%3), Timing: FlowTiming((r + i) % 3)}
				if _, err := s.Performance(ctx, p); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	for i := range 40 {
		when := t0.AddDate(0, 0, rng.IntN(60)).Add(time.Hour)
		require.NoError(t, l.Apply(Transaction{ID: fmt.Sprint("c", i), Account: "e", Kind: TxDeposit, Time: when, Amount: d("5")}))
		if i%10 == 0 {
			s.Invalidate(when)
		}
	}
	close(stop)
	wg.Wait()
	comparePerformance(t, s, l, opts, Period{To: t0.AddDate(0, 0, 60)}, "after the writes")
}

// TestSeriesRefusesWhatPerformanceRefuses: the same errors as
// Ledger.Performance, and a failed read changes nothing for the next.
func TestSeriesRefusesWhatPerformanceRefuses(t *testing.T) {
	_, err := NewSeries(nil, SeriesOptions{Base: "USD", History: newTestHistory()})
	require.ErrorIs(t, err, ErrNotEnoughData)
	l := newLedger(t, Account{ID: "a", Currency: "USD"})
	_, err = NewSeries(l, SeriesOptions{Base: "USD"})
	require.ErrorIs(t, err, ErrNotEnoughData)

	h := newTestHistory().price("X", "2024-01-01", "10", "USD")
	s, err := NewSeries(l, SeriesOptions{Base: "USD", History: h})
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s.Performance(ctx, Period{})
	require.ErrorIs(t, err, ErrNotEnoughData, "no transactions")
	_, err = s.Performance(ctx, Period{Timing: FlowTiming(7)})
	require.ErrorIs(t, err, ErrInvalidTiming)

	require.NoError(t, l.Apply(
		Transaction{ID: "1", Account: "a", Kind: TxDeposit, Time: day("2024-01-02"), Amount: d("100")},
		Transaction{ID: "2", Account: "a", Kind: TxBuy, Time: day("2024-01-03"), Symbol: "Y", Quantity: d("1"), Price: d("10")},
	))
	_, err = s.Performance(ctx, Period{})
	require.ErrorIs(t, err, ErrNoPrice, "Y has no price")
	_, err = s.Performance(ctx, Period{From: day("2024-02-01"), To: day("2024-01-01")})
	require.ErrorIs(t, err, ErrNotEnoughData)

	h.price("Y", "2024-01-01", "11", "USD")
	s.Invalidate(day("2024-01-01"))
	comparePerformance(t, s, l, SeriesOptions{Base: "USD", History: h}, Period{}, "with Y's price")

	bad, err := NewSeries(l, SeriesOptions{Base: "usd", History: h, Account: "nope"})
	require.NoError(t, err)
	_, err = bad.Performance(ctx, Period{})
	require.ErrorIs(t, err, ErrUnknownAccount)
	bad, _ = NewSeries(l, SeriesOptions{Base: "usd", History: h})
	_, err = bad.Performance(ctx, Period{})
	require.ErrorIs(t, err, ErrCurrencyMismatch)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	s2, _ := NewSeries(l, SeriesOptions{Base: "USD", History: h})
	_, err = s2.Performance(cancelled, Period{})
	require.ErrorIs(t, err, context.Canceled)
	comparePerformance(t, s2, l, SeriesOptions{Base: "USD", History: h}, Period{}, "after a cancelled read")
}

// TestSeriesAfterManyWrites: more writes between two reads than the
// ledger remembers (its change log keeps the latest 64), back-dated ones
// among them, and the series still equals the reference.
func TestSeriesAfterManyWrites(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 8))
	l, _, m, t0 := perfScenario(t, rng, 40)
	opts := SeriesOptions{Base: "EUR", History: m.h}
	s, err := NewSeries(l, opts)
	require.NoError(t, err)
	comparePerformance(t, s, l, opts, Period{}, "first read")
	for _, n := range []int{3, keptChanges - 1, keptChanges, keptChanges + 5} {
		for i := range n {
			when := t0.AddDate(0, 0, 39-rng.IntN(40)).Add(time.Duration(rng.IntN(24)) * time.Hour)
			require.NoError(t, l.Apply(Transaction{ID: fmt.Sprint("w", n, "-", i), Account: "u", Kind: TxDeposit, Time: when, Amount: d("3")}))
		}
		comparePerformance(t, s, l, opts, Period{}, fmt.Sprint(n, " writes"))
	}
}
