// Package exacttest draws the decimals that exercise exact.Num's forms
// (int64, 128-bit, decimal) and the overflows between them, for property
// tests of exact and of the code built on it.
package exacttest

import (
	"math"
	"math/big"
	"math/rand/v2"

	"github.com/shopspring/decimal"
)

// Decimal draws decimals that exercise the int64 fast path and its
// overflow fallback: small money amounts, coefficients near ±2^63, 19- and
// 25-digit coefficients, and a spread of exponents.
func Decimal(rng *rand.Rand) decimal.Decimal {
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

// WideDecimal adds to Decimal coefficients of 19 to 38 digits and
// the 16-place amounts that pro-rata shares have.
func WideDecimal(rng *rand.Rand) decimal.Decimal {
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
	return Decimal(rng)
}
