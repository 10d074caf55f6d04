package exact

import (
	"fmt"
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/portfolio/internal/exact/exacttest"
)

// These are property tests of Num and the decimal functions against
// shopspring/decimal (every result the same value with the same exponent)
// and, for the value alone, against math/big.Rat.

// requireSame checks that got is want with the same exponent, and agrees
// with math/big on the value.
func requireSame(t *testing.T, want decimal.Decimal, got Num, msg string, args ...any) {
	t.Helper()
	d := got.Dec()
	what := fmt.Sprintf(msg, args...)
	require.True(t, d.Equal(want), "got %s, want %s: %s", d, want, what)
	require.Equal(t, want.Exponent(), d.Exponent(), "exponent of %s: %s", want, what)
	require.Equal(t, want.Exponent(), got.Exponent(), "Exponent() of %s: %s", want, what)
	require.Equal(t, want.Sign(), got.Sign())
}

// ratOf is d as a math/big rational.
func ratOf(d decimal.Decimal) *big.Rat { return d.Rat() }

// wideOf returns d as a Num in int64 or 128-bit form when it fits one
// (test helper: reads the coefficient through big.Int).
func wideOf(d decimal.Decimal) Num {
	c := d.Coefficient()
	neg := c.Sign() < 0
	c.Abs(c)
	if c.BitLen() > 127 {
		return Of(d)
	}
	lo := new(big.Int).And(c, new(big.Int).SetUint64(^uint64(0))).Uint64()
	hi := new(big.Int).Rsh(c, 64).Uint64()
	return makeNum(neg, u128{hi, lo}, d.Exponent())
}

// TestNumMatchesDecimal is a property test: any sequence of additions,
// subtractions and multiplications of Nums (int64, 128-bit and decimal
// form, overflow between them) gives the same number with the same
// exponent as decimal arithmetic, and the same value as math/big; so do
// comparisons and negations.
func TestNumMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	for range 3000 {
		var n Num
		want := decimal.Decimal{}
		ref := new(big.Rat)
		for range 1 + rng.IntN(20) {
			d := exacttest.WideDecimal(rng)
			x := Of(d)
			if rng.IntN(2) == 0 {
				x = wideOf(d)
			}
			switch rng.IntN(5) {
			case 0, 1:
				n, want = n.Add(x), want.Add(d)
				ref.Add(ref, ratOf(d))
			case 2, 3:
				n, want = n.Sub(x), want.Sub(d)
				ref.Sub(ref, ratOf(d))
			default:
				if want.NumDigits() > 60 {
					continue // keep the numbers from growing without end
				}
				n, want = n.Mul(x), want.Mul(d)
				ref.Mul(ref, ratOf(d))
			}
			requireSame(t, want, n, "running")
			require.Zero(t, ref.Cmp(ratOf(n.Dec())), "math/big: %s vs %s", ref, n.Dec())
			o := exacttest.WideDecimal(rng)
			require.Equal(t, want.Cmp(o), n.Cmp(wideOf(o)), "%s cmp %s", want, o)
			require.Equal(t, want.Cmp(o), n.Cmp(Of(o)), "%s cmp %s", want, o)
			require.True(t, n.Equal(wideOf(want)))
			require.True(t, n.Same(wideOf(want)))
			require.True(t, n.Same(Of(want)))
			requireSame(t, want.Neg(), n.Neg(), "neg")
			requireSame(t, want, wideOf(want), "wideOf")
			requireSame(t, want, Of(want), "Of")
		}
	}
}

func TestNumEdges(t *testing.T) {
	var z Num
	require.Equal(t, 0, z.Sign())
	require.True(t, z.Dec().Equal(decimal.Zero))
	require.Equal(t, decimal.Decimal{}, z.Dec(), "the zero Num is the zero decimal")
	// MaxInt64 + 1 overflows the int64 form and goes on exactly.
	got := Num{v: math.MaxInt64}.Add(Of(decimal.New(1, 0))).Dec()
	require.Equal(t, "9223372036854775808", got.String())
	got = Num{v: math.MinInt64 + 1}.Sub(Of(decimal.New(2, 0))).Dec()
	require.Equal(t, "-9223372036854775809", got.String())
	requireSame(t, decimal.New(math.MinInt64, 0).Neg(), Num{v: math.MinInt64}.Neg(), "-MinInt64")
	// Rescaling that overflows: 10^17 at exponent 0 plus 0.01.
	got = Num{v: 100_000_000_000_000_000}.Add(Of(decimal.New(1, -2))).Dec()
	require.Equal(t, "100000000000000000.01", got.String())
	require.Equal(t, int32(-2), got.Exponent())
	// Same tells exponents apart, Equal does not.
	a, b := Of(decimal.New(10, -1)), Of(decimal.New(1, 0))
	require.True(t, a.Equal(b))
	require.False(t, a.Same(b))
	// A product past 2^63 goes on in decimal.
	big := Of(decimal.New(4_000_000_000, 0))
	require.Equal(t, "16000000000000000000", big.Mul(big).Dec().String())
}

// TestMulDivMatchesDecimal: x × y / z is x.Mul(y).Div(z), value and
// exponent (rounded half away from zero), for x in every form, y and z of
// both signs, quotients past 2^63 and 2^127, operands that need the
// decimal fallback; and for the decimal MulDiv.
func TestMulDivMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	fast := 0
	check := func(x, y, z decimal.Decimal) {
		t.Helper()
		if z.Sign() == 0 {
			return
		}
		want := x.Mul(y).Div(z)
		if _, ok := mulDivWide(wideOf(x), Of(y), Of(z)); ok {
			fast++
		}
		requireSame(t, want, wideOf(x).MulDiv(Of(y), Of(z)), "%s × %s / %s", x, y, z)
		got := MulDiv(x, y, z)
		require.True(t, got.Equal(want) && got.Exponent() == want.Exponent(), "MulDiv(%s, %s, %s) = %s, want %s", x, y, z, got, want)
	}
	for range 20000 {
		x := exacttest.WideDecimal(rng)
		y := decimal.New(1+rng.Int64N(1_000_000), int32(rng.IntN(8))-4)
		z := decimal.New(1+rng.Int64N(1_000_000_000), int32(rng.IntN(8))-4)
		if rng.IntN(3) == 0 {
			y = y.Neg()
		}
		if rng.IntN(3) == 0 {
			z = z.Neg()
		}
		if rng.IntN(4) == 0 {
			y = exacttest.Decimal(rng)
		}
		check(x, y, z)
	}
	for range 20000 {
		check(exacttest.Decimal(rng), exacttest.Decimal(rng), exacttest.Decimal(rng))
	}
	require.Greater(t, fast, 10000, "the 256-bit path is taken")
	// Ties and typical pro-rata shapes: money × units / units.
	for range 20000 {
		x := decimal.New(rng.Int64N(2_000_000_000)-1_000_000_000, -int32(rng.IntN(5)))
		y := decimal.New(1+rng.Int64N(1000), -int32(rng.IntN(3)))
		z := decimal.New(1+rng.Int64N(1000), -int32(rng.IntN(3)))
		if rng.IntN(2) == 0 {
			z = z.Neg()
		}
		check(x, y, z)
	}
	check(decimal.New(1, 0), decimal.New(1, 0), decimal.New(32, 0))  // 0.03125 exact
	check(decimal.New(1, 0), decimal.New(1, 0), decimal.New(3, 0))   // 1/3
	check(decimal.New(1, -16), decimal.New(1, 0), decimal.New(2, 0)) // tie at the last digit
	check(decimal.New(-1, -16), decimal.New(1, 0), decimal.New(2, 0))
	check(decimal.New(5, -17), decimal.New(1, 0), decimal.New(1, 0))
	check(decimal.New(-5, -17), decimal.New(1, 0), decimal.New(1, 0))
	check(decimal.New(999_999_999_999_999_999, 0), decimal.New(999_999_999_999_999_999, 0), decimal.New(3, 0))
}

// TestDecimalOpsMatchDecimal: Add, Sub and Mul give the same value and
// exponent as Decimal.Add, Sub and Mul, in and out of the int64 range.
func TestDecimalOpsMatchDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for range 50000 {
		a, b := exacttest.WideDecimal(rng), exacttest.WideDecimal(rng)
		for _, c := range []struct {
			name      string
			got, want decimal.Decimal
		}{
			{"add", Add(a, b), a.Add(b)},
			{"sub", Sub(a, b), a.Sub(b)},
			{"mul", Mul(a, b), a.Mul(b)},
		} {
			require.True(t, c.got.Equal(c.want), "%s %s %s: got %s, want %s", c.name, a, b, c.got, c.want)
			require.Equal(t, c.want.Exponent(), c.got.Exponent(), "%s %s %s", c.name, a, b)
		}
	}
}
