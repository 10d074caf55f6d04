package portfolio

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// perfModel is an independent model of the performance figures: it keeps
// cash and quantities per account from the accepted transactions, values
// them each day at that day's prices and rates, converts every external
// flow at its own day's rate (securities transfers at market), and
// computes TWR, net flows, the currency effect and the IRR from those
// alone. It shares nothing with Ledger.Performance but the price history.
type perfModel struct {
	ccy  map[string]string             // account → currency
	sym  map[string]string             // symbol → currency
	cash map[string]decimal.Decimal    // account → cash
	qty  map[[2]string]decimal.Decimal // account, symbol → units
	h    *testHistory
}

func (m *perfModel) rate(from, to string, t time.Time) float64 {
	r, err := m.h.RateAt(context.Background(), from, to, t)
	if err != nil {
		panic(err)
	}
	return r.InexactFloat64()
}

func (m *perfModel) price(sym string, t time.Time) float64 {
	p, _, err := m.h.PriceAt(context.Background(), sym, t)
	if err != nil {
		panic(err)
	}
	return p.InexactFloat64()
}

// book applies an accepted transaction to cash and quantities.
func (m *perfModel) book(tx Transaction) {
	acct := tx.Account
	toAcct := func(x decimal.Decimal) decimal.Decimal {
		if tx.FXRate.Sign() > 0 && tx.Currency != "" && tx.Currency != m.ccy[acct] {
			x = x.Mul(tx.FXRate)
		}
		return x.RoundBank(2)
	}
	k := [2]string{acct, tx.Symbol}
	switch tx.Kind {
	case TxDeposit:
		m.cash[acct] = m.cash[acct].Add(toAcct(tx.Amount))
	case TxWithdrawal:
		m.cash[acct] = m.cash[acct].Sub(toAcct(tx.Amount))
	case TxFee:
		m.cash[acct] = m.cash[acct].Sub(toAcct(tx.Amount))
	case TxDividend:
		m.cash[acct] = m.cash[acct].Add(toAcct(tx.Amount)).Sub(toAcct(tx.Tax))
	case TxBuy:
		m.cash[acct] = m.cash[acct].Sub(toAcct(tx.Quantity.Mul(tx.Price).Add(tx.Fee)))
		m.qty[k] = m.qty[k].Add(tx.Quantity)
	case TxSell:
		m.cash[acct] = m.cash[acct].Add(toAcct(tx.Quantity.Mul(tx.Price).Sub(tx.Fee)))
		m.qty[k] = m.qty[k].Sub(tx.Quantity)
	case TxTransferIn, TxTransferOut:
		sign := decimal.NewFromInt(1)
		if tx.Kind == TxTransferOut {
			sign = sign.Neg()
		}
		if tx.Symbol == "" {
			m.cash[acct] = m.cash[acct].Add(sign.Mul(toAcct(tx.Amount)))
		} else {
			m.qty[k] = m.qty[k].Add(sign.Mul(tx.Quantity))
		}
	}
}

// value is the selected accounts' value in base at t and what it holds in
// each currency.
func (m *perfModel) value(account, base string, t time.Time) (float64, map[string]float64) {
	v := 0.0
	by := map[string]float64{}
	for a, c := range m.ccy {
		if account != "" && a != account {
			continue
		}
		cash := m.cash[a].InexactFloat64()
		v += cash * m.rate(c, base, t)
		by[c] += cash
	}
	for k, q := range m.qty {
		if (account != "" && k[0] != account) || q.Sign() == 0 {
			continue
		}
		c := m.sym[k[1]]
		local := q.InexactFloat64() * m.price(k[1], t)
		v += local * m.rate(c, base, t)
		by[c] += local
	}
	return v, by
}

// flow is the external flow of tx in base at t (ok false: none).
func (m *perfModel) flow(tx Transaction, base string, t time.Time) (float64, bool) {
	sign := 1.0
	switch tx.Kind {
	case TxDeposit, TxTransferIn:
	case TxWithdrawal, TxTransferOut:
		sign = -1
	default:
		return 0, false
	}
	if tx.Symbol != "" && tx.Kind != TxDeposit && tx.Kind != TxWithdrawal {
		return sign * tx.Quantity.InexactFloat64() * m.price(tx.Symbol, t) * m.rate(m.sym[tx.Symbol], base, t), true
	}
	amt := tx.Amount
	if tx.FXRate.Sign() > 0 && tx.Currency != "" && tx.Currency != m.ccy[tx.Account] {
		amt = amt.Mul(tx.FXRate)
	}
	return sign * amt.RoundBank(2).InexactFloat64() * m.rate(m.ccy[tx.Account], base, t), true
}

type modelResult struct {
	start, end, netFlows, twr, fxEffect float64
	flows                               []CashFlow
	unit                                float64
}

// run computes the figures over from..to (UTC days) from the accepted
// transactions, in time order.
func (m *perfModel) run(txs []Transaction, account, base string, from, to time.Time, timing FlowTiming) modelResult {
	const dayLen = 24 * time.Hour
	i := 0
	bookBefore := func(t time.Time) []Transaction {
		j := i
		for j < len(txs) && txs[j].Time.Before(t) {
			m.book(txs[j])
			j++
		}
		out := txs[i:j]
		i = j
		return out
	}
	bookBefore(from)
	endOf := func(d time.Time) time.Time { return d.Add(dayLen - time.Nanosecond) }
	prevV, prevBy := m.value(account, base, endOf(from.Add(-dayLen)))
	res := modelResult{start: prevV}
	prevRates := map[string]float64{}
	for c := range prevBy {
		prevRates[c] = m.rate(c, base, endOf(from.Add(-dayLen)))
	}
	if prevV != 0 {
		res.flows = append(res.flows, CashFlow{Time: from, Amount: -prevV})
	}
	growth := 1.0
	for d := from; !d.After(to); d = d.Add(dayLen) {
		booked := bookBefore(d.Add(dayLen))
		end := endOf(d)
		v, by := m.value(account, base, end)
		f := 0.0
		for _, tx := range booked {
			if account != "" && tx.Account != account {
				continue
			}
			if x, ok := m.flow(tx, base, end); ok {
				f += x
			}
		}
		for c, amt := range prevBy {
			res.fxEffect += amt * (m.rate(c, base, end) - prevRates[c])
		}
		// The day's return, flows at the open or the close.
		atEnd := timing == FlowsAtEnd || (timing == FlowsSplit && f < 0)
		num, den := v, prevV+f
		if atEnd {
			num, den = v-f, prevV
		}
		if den > 1e-9 {
			growth *= num / den
		}
		if f != 0 {
			ft := d
			if atEnd {
				ft = d.Add(dayLen)
			}
			res.flows = append(res.flows, CashFlow{Time: ft, Amount: -f})
		}
		res.netFlows += f
		prevV, prevBy = v, by
		prevRates = map[string]float64{}
		for c := range by {
			prevRates[c] = m.rate(c, base, end)
		}
	}
	res.end = prevV
	res.twr = growth - 1
	res.flows = append(res.flows, CashFlow{Time: to.Add(dayLen), Amount: prevV})
	res.unit = 365
	if days := to.Add(dayLen).Sub(from).Hours() / 24; days < 365 {
		res.unit = days
	}
	return res
}

// npv is the present value of flows at rate r per unit days.
func npv(flows []CashFlow, r, unit float64) float64 {
	t0 := flows[0].Time
	for _, f := range flows {
		if f.Time.Before(t0) {
			t0 = f.Time
		}
	}
	v := 0.0
	for _, f := range flows {
		v += f.Amount * math.Pow(1+r, -f.Time.Sub(t0).Hours()/24/unit)
	}
	return v
}

// perfScenario books a random ledger over days days and returns it with
// the accepted transactions and the history.
func perfScenario(t *testing.T, rng *rand.Rand, days int) (*Ledger, []Transaction, *perfModel, time.Time) {
	accts := []Account{{ID: "u", Currency: "USD"}, {ID: "e", Currency: "EUR"}, {ID: "e2", Currency: "EUR", CostMethod: AverageCost}}
	l := newLedger(t, accts...)
	m := &perfModel{ccy: map[string]string{}, sym: map[string]string{"A": "USD", "B": "EUR"},
		cash: map[string]decimal.Decimal{}, qty: map[[2]string]decimal.Decimal{}, h: newTestHistory()}
	for _, a := range accts {
		m.ccy[a.ID] = a.Currency
	}
	t0 := day("2024-01-01")
	eurusd, pa, pb := 1.1, 100.0, 50.0
	for i := -1; i <= days+2; i++ {
		date := t0.AddDate(0, 0, i).Format(time.DateOnly)
		eurusd *= 1 + 0.02*(rng.Float64()-0.5)
		pa *= 1 + 0.06*(rng.Float64()-0.5)
		pb *= 1 + 0.06*(rng.Float64()-0.5)
		m.h.rate("EUR/USD", date, fmt.Sprintf("%.4f", eurusd))
		m.h.price("A", date, fmt.Sprintf("%.2f", pa), "USD")
		m.h.price("B", date, fmt.Sprintf("%.2f", pb), "EUR")
	}
	var accepted []Transaction
	n := 0
	id := func() string { n++; return fmt.Sprint("t", n) }
	ids := []string{"u", "e", "e2"}
	for dd := 0; dd < days; dd++ {
		when := t0.AddDate(0, 0, dd).Add(time.Duration(rng.IntN(20)) * time.Hour)
		px := func(sym string) decimal.Decimal {
			p, _, _ := m.h.PriceAt(context.Background(), sym, when)
			return p
		}
		fxTo := func(sym, acct string) decimal.Decimal { // instrument → account currency
			r, _ := m.h.RateAt(context.Background(), m.sym[sym], m.ccy[acct], when)
			return r.Round(4)
		}
		var batch []Transaction
		for range rng.IntN(4) {
			a := ids[rng.IntN(len(ids))]
			sym := []string{"A", "B"}[rng.IntN(2)]
			tx := Transaction{ID: id(), Account: a, Time: when}
			held := m.qty[[2]string{a, sym}]
			switch r := rng.IntN(100); {
			case r < 25 || m.cash[a].Sign() == 0:
				tx.Kind, tx.Amount = TxDeposit, decimal.NewFromInt(int64(100+rng.IntN(5000)))
			case r < 45:
				tx.Kind, tx.Symbol, tx.Price = TxBuy, sym, px(sym)
				tx.Quantity = decimal.NewFromInt(int64(1 + rng.IntN(20)))
				tx.Fee = decimal.New(int64(rng.IntN(500)), -2)
			case r < 60 && held.Sign() > 0:
				tx.Kind, tx.Symbol, tx.Price = TxSell, sym, px(sym)
				tx.Quantity = held
				if rng.IntN(2) == 0 {
					tx.Quantity = decimal.NewFromInt(1 + rng.Int64N(held.IntPart()))
				}
			case r < 68:
				tx.Kind, tx.Amount = TxWithdrawal, m.cash[a] // a full withdrawal of the cash
				if rng.IntN(2) == 0 {
					tx.Amount = m.cash[a].Mul(decimal.New(int64(1+rng.IntN(99)), -2)).Round(2)
				}
			case r < 78 && held.Sign() > 0:
				// Securities transfer to another account, or out of the
				// portfolio, all or part of the holding; into an account
				// in another currency with the instrument's currency and
				// rate.
				other := ids[rng.IntN(len(ids))]
				q := held
				if rng.IntN(3) == 0 {
					q = decimal.NewFromInt(1 + rng.Int64N(held.IntPart()))
				}
				out := Transaction{ID: id(), Account: a, Kind: TxTransferOut, Time: when, Symbol: sym, Quantity: q}
				batch = append(batch, out)
				if other != a && rng.IntN(4) > 0 {
					in := Transaction{ID: id(), Account: other, Kind: TxTransferIn, Time: when, Symbol: sym, Quantity: q}
					if m.ccy[other] != m.ccy[a] && m.sym[sym] != m.ccy[other] {
						in.Currency, in.FXRate = m.sym[sym], fxTo(sym, other)
					}
					batch = append(batch, in)
				}
				continue
			case r < 82:
				// A delivery from outside at a cost.
				tx.Kind, tx.Symbol, tx.Quantity, tx.Price = TxTransferIn, sym, decimal.NewFromInt(int64(1+rng.IntN(5))), px(sym)
			case r < 88 && m.cash[a].Sign() > 0 && a != "u":
				// Cash between the EUR accounts.
				other := "e"
				if a == "e" {
					other = "e2"
				}
				amt := m.cash[a].Mul(decimal.New(int64(1+rng.IntN(100)), -2)).Round(2)
				if amt.Sign() > 0 {
					batch = append(batch, Transaction{ID: id(), Account: a, Kind: TxTransferOut, Time: when, Amount: amt},
						Transaction{ID: id(), Account: other, Kind: TxTransferIn, Time: when, Amount: amt})
				}
				continue
			case r < 94 && held.Sign() > 0:
				tx.Kind, tx.Symbol, tx.Amount, tx.Tax = TxDividend, sym, decimal.New(int64(100+rng.IntN(1000)), -2), decimal.New(int64(rng.IntN(50)), -2)
			default:
				tx.Kind, tx.Amount = TxFee, decimal.New(int64(1+rng.IntN(500)), -2)
			}
			if tx.Symbol != "" && m.sym[tx.Symbol] != m.ccy[a] {
				tx.Currency, tx.FXRate = m.sym[tx.Symbol], fxTo(tx.Symbol, a)
			}
			batch = append(batch, tx)
		}
		for _, tx := range batch {
			// One at a time: a rejected one (not enough cash) is dropped.
			if err := l.Apply(tx); err != nil {
				continue
			}
			accepted = append(accepted, tx)
			m.book(tx)
		}
	}
	// The model books again from scratch in run.
	m.cash, m.qty = map[string]decimal.Decimal{}, map[[2]string]decimal.Decimal{}
	return l, accepted, m, t0
}

// TestPropertyPerformanceMatchesModel compares Performance with perfModel
// on random ledgers: USD and EUR accounts and instruments in USD and EUR
// bases, same-day and outbound securities transfers, cash transfers, full
// withdrawals, every flow timing, whole-portfolio and per-account, short
// (a few days) and long (over a year) periods.
func TestPropertyPerformanceMatchesModel(t *testing.T) {
	rng := rand.New(rand.NewPCG(24, 6))
	ctx := context.Background()
	for sc := range 30 {
		days := 3 + rng.IntN(25)
		if sc%10 == 9 {
			days = 380 + rng.IntN(40)
		}
		l, txs, m, t0 := perfScenario(t, rng, days)
		if len(txs) == 0 {
			continue
		}
		for run := range 4 {
			base := []string{"USD", "EUR"}[rng.IntN(2)]
			account := []string{"", "", "u", "e", "e2"}[rng.IntN(5)]
			timing := FlowTiming(rng.IntN(3))
			from := dayOf(txs[0].Time)
			if run > 0 {
				from = t0.AddDate(0, 0, rng.IntN(days))
			}
			to := t0.AddDate(0, 0, days-1+rng.IntN(3))
			if to.Before(from) {
				to = from
			}
			what := fmt.Sprintf("scenario %d run %d: %s %q timing %d %s..%s", sc, run, base, account, timing, from.Format(time.DateOnly), to.Format(time.DateOnly))
			p, err := l.Performance(ctx, PerformanceOptions{Base: base, History: m.h, Account: account, From: from, To: to, Timing: timing})
			require.NoError(t, err, what)
			m.cash, m.qty = map[string]decimal.Decimal{}, map[[2]string]decimal.Decimal{}
			want := m.run(txs, account, base, from, to, timing)
			scale := 1 + math.Abs(want.start) + math.Abs(want.end) + math.Abs(want.netFlows)
			require.InDelta(t, want.start, p.StartValue, 1e-9*scale, what)
			require.InDelta(t, want.end, p.EndValue, 1e-9*scale, what)
			require.InDelta(t, want.netFlows, p.NetFlows, 1e-9*scale, what)
			require.InDelta(t, want.fxEffect, p.CurrencyEffect, 1e-9*scale, what)
			require.InDelta(t, want.twr, p.TWR, 1e-9*(1+math.Abs(want.twr)), what)
			require.Equal(t, want.unit < 365, p.XIRRPeriodic, what)
			if p.XIRRError == "" {
				require.Greater(t, p.XIRR, -1.0, what)
				require.LessOrEqual(t, p.XIRR, maxXIRR, what)
				require.InDelta(t, 0, npv(want.flows, p.XIRR, want.unit), 1e-6*scale, what)
			} else {
				// No rate in range solves the model's flows either: no sign
				// change of the present value on a fine grid.
				prev := npv(want.flows, -0.9999, want.unit)
				for x := -0.9999; x <= maxXIRR; x = (1+x)*1.01 - 1 {
					v := npv(want.flows, x, want.unit)
					require.False(t, (v > 0) != (prev > 0) && !math.IsNaN(v) && !math.IsInf(v, 0) && !math.IsInf(prev, 0), "%s: %s but the NPV changes sign near %v", what, p.XIRRError, x)
					prev = v
				}
			}
		}
	}
}
