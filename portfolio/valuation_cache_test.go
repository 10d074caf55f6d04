package portfolio

import (
	"context"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
	"github.com/finkit/finkit/portfolio/internal/exact/exacttest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clearHoldingCaches forgets every position's cached valuation amounts.
func clearHoldingCaches(l *Ledger) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, st := range l.order {
		for _, p := range st.positions {
			p.hc = nil
		}
	}
}

// TestPropertyHoldingCache is a property test of the per-position valuation
// cache: after random batches (accepted and rejected, splits, FX trades,
// transfers) and with prices and rates that change between valuations —
// including the same number with another exponent — a valuation that
// reuses cached amounts equals one computed afresh, and every holding's
// amounts equal plain decimal arithmetic, value and exponent.
func TestPropertyHoldingCache(t *testing.T) {
	priceSets := []Prices{
		{"X": {d("12.345"), "USD"}, "Y": {d("7"), "USD"}, "Z": {d("0.5"), "USD"}, "E": {d("55.55"), "EUR"}},
		{"X": {d("12.3450"), "USD"}, "Y": {d("7.00"), "USD"}, "Z": {d("0.5"), "USD"}, "E": {d("55.55"), "EUR"}},
		{"X": {d("13"), "USD"}, "Y": {d("7"), "USD"}, "Z": {d("0.25"), "EUR"}, "E": {d("56"), "EUR"}},
	}
	rateSets := []Rates{
		{"EUR/USD": d("1.1"), "USD/NOK": d("10.5")},
		{"EUR/USD": d("1.10"), "USD/NOK": d("10.5")},
		{"EUR/USD": d("1.2"), "USD/NOK": d("10.61"), "EUR/NOK": d("11.7")},
	}
	ctx := context.Background()
	for seed := range uint64(8) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			rng := rand.New(rand.NewPCG(seed, 5))
			l := newLedger(t,
				Account{ID: "a", Currency: "USD", CostMethod: FIFO, AllowShort: seed%2 == 0},
				Account{ID: "b", Currency: "USD", CostMethod: AverageCost})
			stream := randomStream(rng, 200, true)
			for i := 0; i < len(stream); {
				n := min(1+rng.IntN(8), len(stream)-i)
				if j := i + n; j < len(stream) && stream[j].Kind == TxTransferIn {
					n++ // keep a transfer's pair together
				}
				_ = l.Apply(stream[i : i+n]...) // rejected batches change nothing
				i += n
				for range 2 {
					base := []string{"USD", "NOK", "EUR"}[rng.IntN(3)]
					ps, rs := priceSets[rng.IntN(len(priceSets))], rateSets[rng.IntN(len(rateSets))]
					warm, err := l.Value(ctx, base, ps, rs)
					if err != nil {
						continue // e.g. no EUR/NOK rate in this set
					}
					clearHoldingCaches(l)
					cold, err := l.Value(ctx, base, ps, rs)
					require.NoError(t, err)
					require.Equal(t, cold, warm)
					checkHoldingsPlain(t, l, warm, ps, rs)
				}
			}
		})
	}
}

// checkHoldingsPlain recomputes each holding with plain decimal arithmetic.
func checkHoldingsPlain(t *testing.T, l *Ledger, v *Valuation, ps Prices, rs Rates) {
	t.Helper()
	ctx := context.Background()
	same := func(what string, want, got decimal.Decimal) {
		t.Helper()
		assert.True(t, want.Equal(got) && want.Exponent() == got.Exponent(), "%s: want %s (exp %d), got %s (exp %d)", what, want, want.Exponent(), got, got.Exponent())
	}
	rate := func(from, to string) (decimal.Decimal, bool) {
		if from == to {
			return decimal.Decimal{}, true
		}
		r, err := rs.Rate(ctx, from, to)
		require.NoError(t, err)
		return r, false
	}
	conv := func(x decimal.Decimal, from string) decimal.Decimal {
		if r, id := rate(from, v.Base); !id {
			return x.Mul(r)
		}
		return x
	}
	for _, h := range v.Holdings {
		p, ok := l.Position(h.Account, h.Symbol)
		require.True(t, ok)
		same(h.Symbol+" quantity", p.Quantity, h.Quantity)
		price := ps[h.Symbol].Price
		if r, id := rate(ps[h.Symbol].Currency, h.Currency); !id {
			price = price.Mul(r)
		}
		same(h.Symbol+" price", price, h.Price)
		value := p.Quantity.Mul(price)
		same(h.Symbol+" value", value, h.Value)
		same(h.Symbol+" base value", conv(value, h.Currency), h.BaseValue)
		same(h.Symbol+" base basis", conv(p.Basis, h.AccountCurrency), h.BaseBasis)
		same(h.Symbol+" unrealized", conv(value, h.Currency).Sub(conv(p.Basis, h.AccountCurrency)), h.Unrealized)
		assert.True(t, h.CapitalGain.Add(h.CurrencyEffect).Equal(h.Unrealized), "%s: capital + currency ≠ unrealized", h.Symbol)
		if h.Currency != h.AccountCurrency || !p.LocalBasis.Equal(p.Basis) {
			same(h.Symbol+" capital gain", conv(value.Sub(p.LocalBasis), h.Currency), h.CapitalGain)
		}
	}
}

// TestRunningMatchesDecimalSum is a property test: a running sum is the same
// value with the same exponent as decimal.Sum over the same decimals, across
// the int64 form and its overflow fallback.
func TestRunningMatchesDecimalSum(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 3))
	for range 2000 {
		xs := make([]decimal.Decimal, rng.IntN(12))
		for i := range xs {
			xs[i] = exacttest.Decimal(rng)
		}
		var r, rk running
		for _, x := range xs {
			r.add(x)
			rk.addNum(exact.Of(x))
		}
		want := sum(xs)
		for _, got := range []decimal.Decimal{r.dec(), rk.dec()} {
			require.True(t, got.Equal(want) && got.Exponent() == want.Exponent(), "%v: got %s (exp %d), want %s (exp %d)", xs, got, got.Exponent(), want, want.Exponent())
		}
	}
}

// Valuations running at the same time (one with the holding caches, the
// others without) all give the same result; run with -race.
func TestConcurrentValueSameResult(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 1))
	l := newLedger(t, Account{ID: "a", Currency: "USD"}, Account{ID: "b", Currency: "USD", CostMethod: AverageCost})
	for _, tx := range randomStream(rng, 300, true) {
		_ = l.Apply(tx)
	}
	ctx := context.Background()
	want, err := l.Value(ctx, "USD", propPrices, propRates)
	require.NoError(t, err)
	const workers = 4
	got := make([]*Valuation, workers*3)
	errs := make([]error, len(got))
	done := make(chan struct{})
	for w := range workers {
		go func() {
			defer func() { done <- struct{}{} }()
			for i := w * 3; i < w*3+3; i++ {
				ps := propPrices
				if i%2 == 1 {
					ps = Prices{"X": {d("12.34"), "USD"}, "Y": {d("7"), "USD"}, "Z": {d("0.5"), "USD"}, "E": {d("55.55"), "EUR"}}
				}
				got[i], errs[i] = l.Value(ctx, "USD", ps, propRates)
			}
		}()
	}
	for range workers {
		<-done
	}
	clearHoldingCaches(l)
	other, err := l.Value(ctx, "USD", Prices{"X": {d("12.34"), "USD"}, "Y": {d("7"), "USD"}, "Z": {d("0.5"), "USD"}, "E": {d("55.55"), "EUR"}}, propRates)
	require.NoError(t, err)
	for i := range got {
		require.NoError(t, errs[i])
		if i%2 == 1 {
			require.Equal(t, other, got[i])
		} else {
			require.Equal(t, want, got[i])
		}
	}
}
