package portfolio

import (
	"math/rand/v2"
	"testing"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/portfolio/internal/exact/exacttest"
)

// TestTradeAmountMatchesDecimal is a property test of quantity × price ±
// fee and tax on Nums against the plain decimal expression: same value,
// same exponent, including overflow past int64.
func TestTradeAmountMatchesDecimal(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 22))
	pick := func() decimal.Decimal {
		if rng.IntN(4) == 0 {
			return decimal.Decimal{}
		}
		return exacttest.Decimal(rng)
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
