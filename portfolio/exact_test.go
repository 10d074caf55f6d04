package portfolio

import (
	"math"
	"math/big"
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"
)

// randDecimal draws decimals that exercise the int64 fast path and its
// overflow fallback: small money amounts, coefficients near ±2^63, 19- and
// 25-digit coefficients, and a spread of exponents.
func randDecimal(rng *rand.Rand) decimal.Decimal {
	e := int32(rng.IntN(13)) - 10
	switch rng.IntN(6) {
	case 0:
		return decimal.New(rng.Int64N(1_000_000)-500_000, e)
	case 1:
		v := math.MaxInt64 - rng.Int64N(1000)
		if rng.IntN(2) == 0 {
			v = -v
		}
		return decimal.New(v, e)
	case 2:
		return decimal.New(rng.Int64N(999_999_999_999_999_999), e) // 18 digits
	case 3:
		b, _ := new(big.Int).SetString("1234567890123456789012345", 10)
		if rng.IntN(2) == 0 {
			b.Neg(b)
		}
		return decimal.NewFromBigInt(b, e)
	case 4:
		return decimal.Decimal{}
	default:
		return decimal.New(rng.Int64N(100_000_000_000), int32(rng.IntN(4))-2)
	}
}

// TestTotalMatchesDecimal is a property test: any sequence of additions and
// subtractions gives the same number with the same exponent as plain
// decimal arithmetic, across the int64 form, overflow and the fallback.
func TestTotalMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for range 2000 {
		var tot total
		want := decimal.Decimal{}
		for range 1 + rng.IntN(20) {
			d := randDecimal(rng)
			if rng.IntN(2) == 0 {
				tot, want = tot.add(d), want.Add(d)
			} else {
				tot, want = tot.sub(d), want.Sub(d)
			}
			got := tot.dec()
			require.True(t, got.Equal(want), "got %s, want %s", got, want)
			require.Equal(t, want.Exponent(), got.Exponent(), "exponent of %s", want)
			require.Equal(t, want.Sign(), tot.sign())
			other := randDecimal(rng)
			require.Equal(t, want.Cmp(other), tot.cmp(other), "%s cmp %s", want, other)
			require.Equal(t, 0, tot.cmp(want))
			require.True(t, totalOf(want).dec().Equal(want))
			require.Equal(t, want.Exponent(), totalOf(want).dec().Exponent())
		}
	}
}

func TestTotalEdges(t *testing.T) {
	var z total
	require.Equal(t, 0, z.sign())
	require.True(t, z.dec().Equal(decimal.Zero))
	// MaxInt64 + 1 overflows the int64 form and falls back exactly.
	m := total{v: math.MaxInt64}
	got := m.add(decimal.New(1, 0)).dec()
	require.Equal(t, "9223372036854775808", got.String())
	got = total{v: math.MinInt64 + 1}.sub(decimal.New(2, 0)).dec()
	require.Equal(t, "-9223372036854775809", got.String())
	// Rescaling that overflows: 10^17 at exponent 0 plus 0.01.
	got = total{v: 100_000_000_000_000_000}.add(decimal.New(1, -2)).dec()
	require.Equal(t, "100000000000000000.01", got.String())
	require.Equal(t, int32(-2), got.Exponent())
}

// TestTradeAmountMatchesDecimal is a property test of the int64 fast path
// for quantity × price ± fee and tax against the plain decimal expression:
// same value, same exponent, including overflow into the fallback.
func TestTradeAmountMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	pick := func() decimal.Decimal {
		if rng.IntN(4) == 0 {
			return decimal.Decimal{}
		}
		return randDecimal(rng)
	}
	for range 20000 {
		q, p, fee, tax := pick(), pick(), pick(), pick()
		buy := rng.IntN(2) == 0
		want := tradeAmountDecimal(q, p, fee, tax, buy)
		got := tradeAmount(q, p, fee, tax, buy)
		require.True(t, got.Equal(want), "%s × %s, fee %s, tax %s, buy %v: got %s, want %s", q, p, fee, tax, buy, got, want)
		require.Equal(t, want.Exponent(), got.Exponent(), "%s × %s, fee %s, tax %s", q, p, fee, tax)
		gotT := tradeAmountT(q, p, fee, tax, buy).dec()
		require.True(t, gotT.Equal(want), "total form: got %s, want %s", gotT, want)
		require.Equal(t, want.Exponent(), gotT.Exponent(), "total form exponent")
	}
	// A product past 2^63 falls back to decimal.
	big := decimal.New(4_000_000_000, 0)
	require.Equal(t, "16000000000000000000.05", tradeAmount(big, big, decimal.New(5, -2), decimal.Decimal{}, true).String())
}

// TestMulDivMatchesDecimal is a property test of the 128-bit fast path for
// x × y / z against x.Mul(y).Div(z): same value, same exponent, same
// rounding (half away from zero), with both signs, quotients past 2^63 and
// 2^128 and operands that need the decimal fallback.
func TestMulDivMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(31, 32))
	check := func(x, y, z decimal.Decimal) {
		t.Helper()
		if z.Sign() == 0 {
			return
		}
		want := x.Mul(y).Div(z)
		got := mulDiv(x, y, z)
		require.True(t, got.Equal(want), "%s × %s / %s: got %s, want %s", x, y, z, got, want)
		require.Equal(t, want.Exponent(), got.Exponent(), "%s × %s / %s", x, y, z)
	}
	for range 50000 {
		check(randDecimal(rng), randDecimal(rng), randDecimal(rng))
	}
	// Ties and typical pro-rata shapes: money × units / units.
	for range 50000 {
		x := decimal.New(rng.Int64N(2_000_000_000)-1_000_000_000, -int32(rng.IntN(5)))
		y := decimal.New(1+rng.Int64N(1000), -int32(rng.IntN(3)))
		z := decimal.New(1+rng.Int64N(1000), -int32(rng.IntN(3)))
		if rng.IntN(2) == 0 {
			z = z.Neg()
		}
		check(x, y, z)
	}
	check(decimal.New(1, 0), decimal.New(1, 0), decimal.New(32, 0))  // 0.03125 exact
	check(decimal.New(1, -16), decimal.New(1, 0), decimal.New(2, 0)) // tie at the last digit
	check(decimal.New(-1, -16), decimal.New(1, 0), decimal.New(2, 0))
	check(decimal.New(999_999_999_999_999_999, 0), decimal.New(999_999_999_999_999_999, 0), decimal.New(3, 0))
}

// TestDecOpsMatchDecimal: addDec, subDec and mulDec give the same value and
// exponent as Decimal.Add, Sub and Mul, in and out of the int64 range.
func TestDecOpsMatchDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(51, 52))
	for range 50000 {
		a, b, c := randDecimal(rng), randDecimal(rng), randDecimal(rng)
		for _, c := range []struct {
			name      string
			got, want decimal.Decimal
		}{
			{"add", addDec(a, b), a.Add(b)},
			{"sub", subDec(a, b), a.Sub(b)},
			{"mul", mulDec(a, b), a.Mul(b)},
			{"submul", subMulDec(a, b, c), a.Sub(b).Mul(c)},
		} {
			require.True(t, c.got.Equal(c.want), "%s %s %s: got %s, want %s", c.name, a, b, c.got, c.want)
			require.Equal(t, c.want.Exponent(), c.got.Exponent(), "%s %s %s", c.name, a, b)
		}
	}
}
