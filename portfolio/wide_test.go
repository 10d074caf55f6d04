package portfolio

import (
	"fmt"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// randWideDecimal adds to randDecimal coefficients of 19 to 38 digits and
// the 16-place amounts that pro-rata shares have.
func randWideDecimal(rng *rand.Rand) decimal.Decimal {
	switch rng.IntN(4) {
	case 0:
		b := new(big.Int).Lsh(big.NewInt(1), uint(60+rng.IntN(68)))
		b.Sub(b, big.NewInt(rng.Int64N(1000)))
		if rng.IntN(2) == 0 {
			b.Neg(b)
		}
		return decimal.NewFromBigInt(b, int32(rng.IntN(20))-18)
	case 1:
		return decimal.New(rng.Int64N(1_000_000_000), -2).Mul(decimal.New(1+rng.Int64N(50), 0)).Div(decimal.New(1+rng.Int64N(70), 0))
	}
	return randDecimal(rng)
}

// requireSame checks that got is want with the same exponent.
func requireSame(t *testing.T, want decimal.Decimal, got total, msg string, args ...any) {
	t.Helper()
	d := got.dec()
	what := fmt.Sprintf(msg, args...)
	require.True(t, d.Equal(want), "got %s, want %s: %s", d, want, what)
	require.Equal(t, want.Exponent(), d.Exponent(), "exponent of %s: %s", want, what)
	require.Equal(t, want.Sign(), got.sign())
}

// TestWideTotalMatchesDecimal is a property test of the 128-bit form:
// sums, differences, comparisons and negations of totals, and total ±
// decimal, give the same value and exponent as Decimal arithmetic.
func TestWideTotalMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for range 3000 {
		var tot total
		want := decimal.Decimal{}
		for range 1 + rng.IntN(20) {
			d := randWideDecimal(rng)
			switch rng.IntN(4) {
			case 0:
				tot, want = tot.add(d), want.Add(d)
			case 1:
				tot, want = tot.sub(d), want.Sub(d)
			case 2:
				tot, want = tot.addT(totalOf(d)), want.Add(d)
			default:
				tot, want = tot.subT(wideOf(d)), want.Sub(d)
			}
			requireSame(t, want, tot, "running")
			o := randWideDecimal(rng)
			require.Equal(t, want.Cmp(o), tot.cmp(o), "%s cmp %s", want, o)
			require.Equal(t, want.Cmp(o), tot.cmpT(wideOf(o)), "%s cmpT %s", want, o)
			require.True(t, tot.equalT(wideOf(want)))
			requireSame(t, want.Neg(), tot.negT(), "neg")
			requireSame(t, want, wideOf(want), "wideOf")
		}
	}
}

// wideOf returns d as a total in int64 or 128-bit form when it fits one
// (test helper: reads the coefficient through big.Int).
func wideOf(d decimal.Decimal) total {
	c := d.Coefficient()
	neg := c.Sign() < 0
	c.Abs(c)
	if c.BitLen() > 127 {
		return totalOf(d)
	}
	lo := new(big.Int).And(c, new(big.Int).SetUint64(^uint64(0))).Uint64()
	hi := new(big.Int).Rsh(c, 64).Uint64()
	return makeTotal(neg, u128{hi, lo}, d.Exponent())
}

// TestMulDivTMatchesDecimal: x × y / z in 256-bit arithmetic is
// x.Mul(y).Div(z), value and exponent, for wide x.
func TestMulDivTMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	fast := 0
	for range 20000 {
		x := randWideDecimal(rng)
		y := decimal.New(1+rng.Int64N(1_000_000), int32(rng.IntN(8))-4)
		z := decimal.New(1+rng.Int64N(1_000_000_000), int32(rng.IntN(8))-4)
		if rng.IntN(3) == 0 {
			y = y.Neg()
		}
		if rng.IntN(3) == 0 {
			z = z.Neg()
		}
		if rng.IntN(4) == 0 {
			y = randDecimal(rng)
		}
		if z.Sign() == 0 {
			continue
		}
		want := x.Mul(y).Div(z)
		if _, ok := mulDivWide(wideOf(x), totalOf(y), totalOf(z)); ok {
			fast++
		}
		requireSame(t, want, mulDivT(wideOf(x), totalOf(y), totalOf(z)), "%s × %s / %s", x, y, z)
	}
	require.Greater(t, fast, 10000, "the 256-bit path is taken")
	// Halves round away from zero.
	requireSame(t, decimal.New(1, 0).Div(decimal.New(3, 0)), mulDivT(total{v: 1}, total{v: 1}, total{v: 3}), "1/3")
	h := decimal.New(5, -17)
	requireSame(t, h.Mul(decimal.New(1, 0)).Div(decimal.New(1, 0)), mulDivT(total{v: 5, e: -17}, total{v: 1}, total{v: 1}), "half")
	requireSame(t, h.Neg().Div(decimal.New(1, 0)), mulDivT(total{v: -5, e: -17}, total{v: 1}, total{v: 1}), "-half")
}
