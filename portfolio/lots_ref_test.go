package portfolio

import (
	"math/rand/v2"
	"strconv"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// refPos is a position kept by refLedger in plain decimal arithmetic.
type refPos struct {
	qty, basis, local decimal.Decimal
	lots              []Lot
}

// refLedger books buys and sells of long positions with the plain decimal
// operations (Add, Sub, Mul, Div), the way the ledger did before it kept
// lots, bases and realized gains as totals: the reference for the
// property test below.
type refLedger struct {
	pos      map[string]*refPos // account/symbol
	realized map[string][]RealizedGain
}

func (r *refLedger) open(p *refPos, fifo bool, lot Lot) {
	p.qty = p.qty.Add(lot.Quantity)
	basis := p.basis.Add(lot.Basis)
	if p.local.Equal(p.basis) && lot.LocalBasis.Equal(lot.Basis) {
		p.local = basis
	} else {
		p.local = p.local.Add(lot.LocalBasis)
	}
	p.basis = basis
	if fifo {
		p.lots = append(p.lots, lot)
	}
}

func refProRata(basis, local, q, of decimal.Decimal) (decimal.Decimal, decimal.Decimal) {
	b := basis.Mul(q).Div(of)
	if local.Equal(basis) {
		return b, b
	}
	return b, local.Mul(q).Div(of)
}

func refSubShared(local, localPart, basisOld, basisPart, basisNew decimal.Decimal) decimal.Decimal {
	if local.Equal(basisOld) && localPart.Equal(basisPart) {
		return basisNew
	}
	return local.Sub(localPart)
}

func (r *refLedger) close(acct, sym string, p *refPos, fifo bool, tx *Transaction, q, flow, local, fx decimal.Decimal) {
	foreign := fx.Sign() != 0
	if !foreign {
		fx = one
	}
	emit := func(part Lot, pFlow, pLocal decimal.Decimal) {
		g := RealizedGain{Account: acct, Symbol: sym, Acquired: part.Acquired, Closed: tx.Time,
			Quantity: part.Quantity, Proceeds: pFlow, Basis: part.Basis, Gain: pFlow.Sub(part.Basis), FXRate: fx, TxID: tx.ID}
		if pLocal.Equal(pFlow) && part.LocalBasis.Equal(part.Basis) {
			g.LocalGain = g.Gain
		} else {
			g.LocalGain = pLocal.Sub(part.LocalBasis)
		}
		r.realized[acct] = append(r.realized[acct], g)
	}
	if !fifo {
		part := Lot{Quantity: q, Basis: p.basis, LocalBasis: p.local}
		if p.qty.Cmp(q) == 0 {
			p.qty, p.basis, p.local = decimal.Zero, decimal.Zero, decimal.Zero
		} else {
			part.Basis, part.LocalBasis = refProRata(p.basis, p.local, q, p.qty)
			p.qty = p.qty.Sub(q)
			basis := p.basis.Sub(part.Basis)
			p.local = refSubShared(p.local, part.LocalBasis, p.basis, part.Basis, basis)
			p.basis = basis
		}
		emit(part, flow, local)
		return
	}
	remaining := q
	flowLeft, localLeft := flow, local
	shared := local.Exponent() == flow.Exponent() && local.Equal(flow)
	for remaining.Sign() != 0 {
		lot := &p.lots[0]
		var part Lot
		c := lot.Quantity.Cmp(remaining)
		if c <= 0 {
			part = *lot
			p.lots = p.lots[1:]
			remaining = remaining.Sub(part.Quantity)
			if c == 0 {
				remaining = decimal.Zero
			}
		} else {
			part = Lot{Acquired: lot.Acquired, Quantity: remaining, TxID: lot.TxID}
			part.Basis, part.LocalBasis = refProRata(lot.Basis, lot.LocalBasis, remaining, lot.Quantity)
			lot.Quantity = lot.Quantity.Sub(remaining)
			basis := lot.Basis.Sub(part.Basis)
			lot.LocalBasis = refSubShared(lot.LocalBasis, part.LocalBasis, lot.Basis, part.Basis, basis)
			lot.Basis = basis
			remaining = decimal.Zero
		}
		pFlow, pLocal := flowLeft, localLeft
		if remaining.Sign() != 0 {
			pFlow = flow.Mul(part.Quantity).Div(q)
			if shared {
				pLocal = pFlow
			} else {
				pLocal = local.Mul(part.Quantity).Div(q)
			}
			flowLeft = flowLeft.Sub(pFlow)
			if shared {
				localLeft = flowLeft
			} else {
				localLeft = localLeft.Sub(pLocal)
			}
		}
		if len(p.lots) == 0 {
			p.qty, p.basis, p.local = decimal.Zero, decimal.Zero, decimal.Zero
		} else {
			p.qty = p.qty.Sub(part.Quantity)
			basis := p.basis.Sub(part.Basis)
			p.local = refSubShared(p.local, part.LocalBasis, p.basis, part.Basis, basis)
			p.basis = basis
		}
		emit(part, pFlow, pLocal)
	}
}

// requireSameDec checks value and exponent.
func requireSameDec(t *testing.T, want, got decimal.Decimal, what string) {
	t.Helper()
	require.True(t, want.Equal(got), "%s: got %s, want %s", what, got, want)
	require.Equal(t, want.Exponent(), got.Exponent(), "%s: exponent of %s (got %s)", what, want, got)
}

// TestLotsAndGainsMatchDecimal is a property test of the lot, basis and
// realized-gain bookkeeping in totals: random buys and sells of fractional
// quantities at prices with up to four places, with fees, under FIFO and
// average cost, in the account currency and in a foreign one, give the
// same lots, positions and realized gains, values and exponents, as the
// plain decimal operations.
func TestLotsAndGainsMatchDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	accts := []Account{
		{ID: "fifo", Currency: "USD", CostMethod: FIFO, AllowMargin: true},
		{ID: "avg", Currency: "USD", CostMethod: AverageCost, AllowMargin: true},
		{ID: "fifo-nok", Currency: "NOK", CostMethod: FIFO, AllowMargin: true},
		{ID: "avg-nok", Currency: "NOK", CostMethod: AverageCost, AllowMargin: true},
	}
	l, err := NewLedger(accts...)
	require.NoError(t, err)
	ref := &refLedger{pos: map[string]*refPos{}, realized: map[string][]RealizedGain{}}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	syms := []string{"A", "B", "C"}
	for i := range 4000 {
		a := accts[rng.IntN(len(accts))]
		sym := syms[rng.IntN(len(syms))]
		key := a.ID + "/" + sym
		p := ref.pos[key]
		if p == nil {
			p = &refPos{}
			ref.pos[key] = p
		}
		tx := Transaction{ID: "t" + strconv.Itoa(i), Account: a.ID, Time: t0.Add(time.Duration(i) * 7 * time.Hour), Symbol: sym,
			Price: decimal.New(1+rng.Int64N(10_000_000), -int32(rng.IntN(5))), Fee: decimal.New(rng.Int64N(1000), -2), Currency: "USD"}
		var fx decimal.Decimal
		if a.Currency == "NOK" {
			fx = decimal.New(90_000+rng.Int64N(20_000), -4)
			tx.FXRate = fx
		}
		q := decimal.New(1+rng.Int64N(100_000), -int32(rng.IntN(4)))
		buy := p.qty.Sign() == 0 || rng.IntN(5) < 2
		if !buy {
			switch rng.IntN(4) {
			case 0:
				q = p.qty
			case 1:
				if q.Cmp(p.qty) > 0 {
					q = p.qty
				}
			default:
				q = p.qty.Mul(decimal.New(1+rng.Int64N(99), -2)).Truncate(3)
				if q.Sign() == 0 {
					q = p.qty
				}
			}
		}
		tx.Quantity = q
		tx.Kind = TxSell
		if buy {
			tx.Kind = TxBuy
		}
		require.NoError(t, l.Apply(tx))
		local := tradeAmountDecimal(tx.Quantity, tx.Price, tx.Fee, tx.Tax, buy)
		amount := local
		if fx.Sign() != 0 {
			amount = amount.Mul(fx)
		}
		amount = roundTo(amount, 2)
		// The local amount is rounded to the instrument currency's cents
		// (USD) like the cash; in a USD account it is the cash.
		local = roundTo(local, 2)
		if fx.Sign() == 0 {
			local = amount
		}
		if buy {
			ref.open(p, a.CostMethod == FIFO, Lot{Acquired: tx.Time, Quantity: q, Basis: amount, LocalBasis: local, TxID: tx.ID})
		} else {
			ref.close(a.ID, sym, p, a.CostMethod == FIFO, &tx, q, amount, local, fx)
		}
	}
	for _, a := range accts {
		byYear := map[int]decimal.Decimal{}
		for _, g := range ref.realized[a.ID] {
			y := g.Closed.UTC().Year()
			byYear[y] = byYear[y].Add(g.Gain)
		}
		gotByYear := l.RealizedByYear(a.ID)
		require.Len(t, gotByYear, len(byYear))
		for y, w := range byYear {
			requireSameDec(t, w, gotByYear[y], a.ID+" realized in "+strconv.Itoa(y))
		}
		got := l.Realized(a.ID)
		want := ref.realized[a.ID]
		for i := range min(len(got), len(want)) {
			if got[i].TxID != want[i].TxID || !got[i].Quantity.Equal(want[i].Quantity) {
				t.Fatalf("%s %d: got %+v want %+v", a.ID, i, got[i], want[i])
			}
		}
		require.Len(t, got, len(want), a.ID)
		for i := range want {
			w, g := want[i], got[i]
			what := a.ID + " gain " + strconv.Itoa(i)
			require.Equal(t, w.Account, g.Account)
			require.Equal(t, w.Symbol, g.Symbol)
			require.Equal(t, w.TxID, g.TxID)
			require.True(t, w.Acquired.Equal(g.Acquired) && w.Closed.Equal(g.Closed), what)
			requireSameDec(t, w.Quantity, g.Quantity, what+" quantity")
			requireSameDec(t, w.Proceeds, g.Proceeds, what+" proceeds")
			requireSameDec(t, w.Basis, g.Basis, what+" basis")
			requireSameDec(t, w.Gain, g.Gain, what+" gain")
			requireSameDec(t, w.LocalGain, g.LocalGain, what+" local gain")
			requireSameDec(t, w.FXRate, g.FXRate, what+" fx")
		}
		for _, sym := range syms {
			p := ref.pos[a.ID+"/"+sym]
			if p == nil {
				continue
			}
			what := a.ID + "/" + sym
			pos, ok := l.Position(a.ID, sym)
			if p.qty.Sign() == 0 {
				require.False(t, ok, what)
				require.Empty(t, l.Lots(a.ID, sym), what)
				continue
			}
			require.True(t, ok, what)
			requireSameDec(t, p.qty, pos.Quantity, what+" quantity")
			requireSameDec(t, p.basis, pos.Basis, what+" basis")
			requireSameDec(t, p.local, pos.LocalBasis, what+" local basis")
			lots := l.Lots(a.ID, sym)
			require.Len(t, lots, len(p.lots), what)
			for i, w := range p.lots {
				g := lots[i]
				require.Equal(t, w.TxID, g.TxID)
				require.True(t, w.Acquired.Equal(g.Acquired))
				requireSameDec(t, w.Quantity, g.Quantity, what+" lot quantity")
				requireSameDec(t, w.Basis, g.Basis, what+" lot basis")
				requireSameDec(t, w.LocalBasis, g.LocalBasis, what+" lot local basis")
			}
		}
	}
}
