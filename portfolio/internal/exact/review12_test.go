package exact

import (
	"math/big"
	"testing"

	"github.com/shopspring/decimal"
)

// TestReviewBoundaries: every pair of coefficients at the edges of the
// int64 and 128-bit forms (±(2^63−1), ±2^63, ±(2^127−1), ±2^127, 0), at
// ordinary and huge exponents, through every operation, is the decimal
// operation's value and exponent (review of issue 12).
func TestReviewBoundaries(t *testing.T) {
	one := big.NewInt(1)
	p63 := new(big.Int).Lsh(one, 63)
	p127 := new(big.Int).Lsh(one, 127)
	var coefs []*big.Int
	for _, p := range []*big.Int{p63, p127} {
		for _, d := range []int64{-1, 0, 1} {
			c := new(big.Int).Add(p, big.NewInt(d))
			coefs = append(coefs, c, new(big.Int).Neg(c))
		}
	}
	coefs = append(coefs, big.NewInt(0), big.NewInt(1), big.NewInt(-1), big.NewInt(10))
	exps := []int32{0, -2, -16, 3, 1 << 30, 1<<30 - 3, -(1 << 30), -(1 << 30) + 5}
	var ds []decimal.Decimal
	for _, c := range coefs {
		for _, e := range exps {
			ds = append(ds, decimal.NewFromBigInt(c, e))
		}
	}
	// same is requireSame without formatting decimals of a billion digits
	// unless it fails.
	same := func(want decimal.Decimal, got Num, what string, a, b decimal.Decimal) {
		t.Helper()
		d := got.Dec()
		if !d.Equal(want) || d.Exponent() != want.Exponent() || got.Exponent() != want.Exponent() || got.Sign() != want.Sign() {
			t.Fatalf("%s: %s·10^%d and %s·10^%d: got %s·10^%d, want %s·10^%d", what,
				a.Coefficient(), a.Exponent(), b.Coefficient(), b.Exponent(),
				d.Coefficient(), d.Exponent(), want.Coefficient(), want.Exponent())
		}
	}
	near := func(a, b decimal.Decimal) bool {
		d := int64(a.Exponent()) - int64(b.Exponent())
		return d > -40 && d < 40
	}
	for _, a := range ds {
		for _, b := range ds {
			na, nb := wideOf(a), wideOf(b)
			if near(a, b) {
				same(a.Add(b), na.Add(nb), "add", a, b)
				same(a.Sub(b), na.Sub(nb), "sub", a, b)
				same(a.Add(b), Of(a).Add(Of(b)), "Of add", a, b)
				if got, want := na.Cmp(nb), a.Cmp(b); got != want {
					t.Fatalf("cmp: %s·10^%d vs %s·10^%d = %d, want %d", a.Coefficient(), a.Exponent(), b.Coefficient(), b.Exponent(), got, want)
				}
				same(a.Add(b), Of(Add(a, b)), "Add", a, b)
			}
			if e := int64(a.Exponent()) + int64(b.Exponent()); e > -(1<<31) && e < 1<<31-1 {
				same(a.Mul(b), na.Mul(nb), "mul", a, b)
				same(a.Mul(b), Of(Mul(a, b)), "Mul", a, b)
			}
			same(a.Neg(), na.Neg(), "neg", a, a)
		}
	}
	// MulDiv at the edges of the quotient's forms.
	for _, x := range ds {
		if x.Exponent() > 10 || x.Exponent() < -20 {
			continue
		}
		for _, y := range []decimal.Decimal{decimal.New(1, 0), decimal.New(-3, 0), decimal.New(9_223_372_036_854_775_807, 0), decimal.New(-9_223_372_036_854_775_808, 0)} {
			for _, z := range []decimal.Decimal{decimal.New(1, 0), decimal.New(-7, 0), decimal.New(-9_223_372_036_854_775_808, 0), decimal.New(2, -3)} {
				requireSame(t, x.Mul(y).Div(z), wideOf(x).MulDiv(Of(y), Of(z)), "%s × %s / %s", x, y, z)
			}
		}
	}
}
