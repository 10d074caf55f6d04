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

// TestTradeAmountMatchesDecimal is a property test of quantity × price ±
// fee and tax on Nums against the plain decimal expression: same value,
// same exponent, including overflow past int64.
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
		got := tradeAmount(q, p, fee, tax, buy).Dec()
		require.True(t, got.Equal(want), "%s × %s, fee %s, tax %s, buy %v: got %s, want %s", q, p, fee, tax, buy, got, want)
		require.Equal(t, want.Exponent(), got.Exponent(), "%s × %s, fee %s, tax %s", q, p, fee, tax)
	}
	// A product past 2^63 goes on in 128 bits.
	big := decimal.New(4_000_000_000, 0)
	require.Equal(t, "16000000000000000000.05", tradeAmount(big, big, decimal.New(5, -2), decimal.Decimal{}, true).Dec().String())
}

// tradeAmountDecimal is tradeAmount in plain decimal arithmetic.
func tradeAmountDecimal(q, p, fee, tax decimal.Decimal, buy bool) decimal.Decimal {
	local := q.Mul(p)
	if fee.Sign() != 0 || tax.Sign() != 0 {
		charges := fee
		if tax.Sign() != 0 {
			charges = charges.Add(tax)
		}
		if buy {
			local = local.Add(charges)
		} else {
			local = local.Sub(charges)
		}
	}
	return local
}
