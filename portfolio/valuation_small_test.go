package portfolio

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/portfolio/internal/exact"
	"github.com/stretchr/testify/require"
)

// randHoldingDec is a decimal of 1 to 20 digits (so that some operands and
// products leave the int64 fast path) with an exponent in [-8, 2].
func randHoldingDec(rng *rand.Rand, signed bool) decimal.Decimal {
	digits := 1 + rng.IntN(20)
	if rng.IntN(3) > 0 {
		digits = 1 + rng.IntN(7) // mostly small, as prices and quantities are
	}
	s := make([]byte, 0, digits+1)
	if signed && rng.IntN(3) == 0 {
		s = append(s, '-')
	}
	for range digits {
		s = append(s, byte('0'+rng.IntN(10)))
	}
	d := decimal.RequireFromString(string(s))
	return d.Shift(int32(rng.IntN(11) - 8))
}

// TestPropertyHoldingCompute checks a holding's amounts, computed on
// Nums, against plain decimal arithmetic: values and exponents, and the
// Nums kept for summing.
func TestPropertyHoldingCompute(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 5))
	for i := range 20_000 {
		qty := randHoldingDec(rng, true)
		if qty.Sign() == 0 {
			qty = decimal.New(1, 0)
		}
		basis := randHoldingDec(rng, true)
		local := basis
		if rng.IntN(2) == 0 {
			local = randHoldingDec(rng, true)
		}
		in := holdingInputs{qty: exact.Of(qty), basis: exact.Of(basis), localBasis: exact.Of(local),
			currency: "USD", quote: randHoldingDec(rng, false), quoteCcy: "USD", abID: rng.IntN(2) == 0, ibID: rng.IntN(2) == 0}
		if rng.IntN(3) == 0 {
			in.quoteCcy, in.qr = "GBP", randHoldingDec(rng, false)
		}
		if !in.abID {
			in.ab = randHoldingDec(rng, false)
		}
		if !in.ibID {
			in.ib = randHoldingDec(rng, false)
		}
		acctCcy := "USD"
		if rng.IntN(2) == 0 {
			acctCcy = "NOK"
		}
		// The reference: the decimal expressions, one operation at a time.
		price := in.quote
		if in.quoteCcy != in.currency {
			price = in.quote.Mul(in.qr)
		}
		value := qty.Mul(price)
		bv, bb := value, basis
		if !in.ibID {
			bv = value.Mul(in.ib)
		}
		if !in.abID {
			bb = basis.Mul(in.ab)
		}
		unreal := bv.Sub(bb)
		cg, ce := unreal, decimal.Zero
		if acctCcy != in.currency || !local.Equal(basis) { // equal values: all price gain, as Value defines
			cg = value.Sub(local)
			if !in.ibID {
				cg = cg.Mul(in.ib)
			}
			ce = unreal.Sub(cg)
		}

		var fresh holdingCache
		fresh.compute(&in, acctCcy)
		// Again on a cache computed from other inputs (kept quantity and bases).
		reused := fresh
		other := in
		other.quote = randHoldingDec(rng, false)
		reused.compute(&other, acctCcy)
		reused.compute(&in, acctCcy)
		for _, c := range []*holdingCache{&fresh, &reused} {
			for _, f := range []struct {
				name      string
				got, want decimal.Decimal
			}{
				{"quantity", c.quantity, qty}, {"price", c.price, price}, {"value", c.value, value},
				{"base value", c.baseValue, bv}, {"base basis", c.baseBasis, bb}, {"unrealized", c.unrealized, unreal},
				{"capital gain", c.capitalGain, cg}, {"currency effect", c.currencyEffect, ce},
			} {
				require.Truef(t, sameDecimal(f.got, f.want), "case %d %s: got %s (exp %d), want %s (exp %d) in %+v acct %s fresh %v",
					i, f.name, f.got, f.got.Exponent(), f.want, f.want.Exponent(), in, acctCcy, c == &fresh)
			}
			for _, n := range []struct {
				got  exact.Num
				want decimal.Decimal
			}{{c.bv, c.baseValue}, {c.bb, c.baseBasis}, {c.cg, c.capitalGain}, {c.ce, c.currencyEffect}} {
				require.Truef(t, sameDecimal(n.got.Dec(), n.want), "case %d: the Num %s is not the decimal %s", i, n.got.Dec(), n.want)
			}
		}
	}
}
