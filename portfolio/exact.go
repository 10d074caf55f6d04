package portfolio

import (
	"math"

	"github.com/shopspring/decimal"
)

// bigExp marks an exact total that no longer fits the int64 form.
const bigExp = math.MinInt32

// total is an exact running sum. While it fits, it is kept as the
// coefficient v × 10^e in an int64, so adding to it allocates nothing;
// when an addition would overflow, it falls back to a decimal.Decimal in d
// (e == bigExp) and stays there. The result is always the same number, with
// the same exponent, as summing the decimals with Decimal.Add: the exponent
// of a sum is the smaller of the two. The zero value is 0 with exponent 0,
// like the zero decimal.Decimal.
type total struct {
	v int64
	e int32
	d decimal.Decimal
}

// pow10Int64 holds 10^0 … 10^18, the powers of ten that fit an int64.
var pow10Int64 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// dec returns the total as a decimal (allocating when it is in int64 form).
func (t total) dec() decimal.Decimal {
	switch {
	case t.e == bigExp:
		return t.d
	case t.v == 0 && t.e == 0:
		return decimal.Decimal{} // as an untouched decimal total
	}
	return decimal.New(t.v, t.e)
}

// sign is −1, 0 or +1.
func (t total) sign() int {
	if t.e == bigExp {
		return t.d.Sign()
	}
	switch {
	case t.v < 0:
		return -1
	case t.v > 0:
		return 1
	}
	return 0
}

// small returns d's coefficient and exponent when the coefficient fits
// an int64 (at most 18 digits).
func small(d decimal.Decimal) (int64, int32, bool) {
	if d.NumDigits() > 18 {
		return 0, 0, false
	}
	e := d.Exponent()
	if e == bigExp {
		return 0, 0, false
	}
	return d.CoefficientInt64(), e, true
}

// scale10 returns v × 10^k for k ≥ 0, or false on overflow.
func scale10(v int64, k int32) (int64, bool) {
	if k == 0 || v == 0 {
		return v, true
	}
	if k >= int32(len(pow10Int64)) {
		return 0, false
	}
	p := pow10Int64[k]
	if v > math.MaxInt64/p || v < -math.MaxInt64/p {
		return 0, false
	}
	return v * p, true
}

// add returns t + d.
func (t total) add(d decimal.Decimal) total {
	if t.e != bigExp {
		if dv, de, ok := small(d); ok {
			e := min(t.e, de)
			a, okA := scale10(t.v, t.e-e)
			b, okB := scale10(dv, de-e)
			if s := a + b; okA && okB && (a^s)&(b^s) >= 0 {
				return total{v: s, e: e}
			}
		}
	}
	return total{e: bigExp, d: t.dec().Add(d)}
}

// sub returns t − d.
func (t total) sub(d decimal.Decimal) total {
	if t.e != bigExp {
		if dv, de, ok := small(d); ok {
			e := min(t.e, de)
			a, okA := scale10(t.v, t.e-e)
			b, okB := scale10(dv, de-e)
			if s := a - b; okA && okB && (a^b)&(a^s) >= 0 {
				return total{v: s, e: e}
			}
		}
	}
	return total{e: bigExp, d: t.dec().Sub(d)}
}
