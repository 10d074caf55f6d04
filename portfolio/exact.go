package portfolio

import (
	"math"
	"math/big"
	"math/bits"

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
	v   int64 // the coefficient; in wide form its low 64 bits
	hi  uint64
	e   int32
	w   bool // wide form: the coefficient is ±(hi, v) (neg), at least 2^63
	neg bool
	d   decimal.Decimal
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
	case t.w:
		return wideDec(t.neg, u128{t.hi, uint64(t.v)}, t.e)
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
	if t.w {
		if t.neg {
			return -1
		}
		return 1
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
func scale10(v int64, k int64) (int64, bool) {
	if k == 0 || v == 0 {
		return v, true
	}
	if k < 0 || k >= int64(len(pow10Int64)) {
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
			if !t.w {
				if v, e, ok := addSmall(t.v, t.e, dv, de, false); ok {
					return total{v: v, e: e}
				}
			}
			if r, ok := addWide(t, total{v: dv, e: de}, false); ok {
				return r
			}
		}
	}
	return total{e: bigExp, d: t.dec().Add(d)}
}

// sub returns t − d.
func (t total) sub(d decimal.Decimal) total {
	if t.e != bigExp {
		if dv, de, ok := small(d); ok {
			if !t.w {
				if v, e, ok := addSmall(t.v, t.e, dv, de, true); ok {
					return total{v: v, e: e}
				}
			}
			if r, ok := addWide(t, total{v: dv, e: de}, true); ok {
				return r
			}
		}
	}
	return total{e: bigExp, d: t.dec().Sub(d)}
}

// addSmall returns a×10^ae + b×10^be (− with neg) at the smaller exponent,
// as Decimal.Add and Sub do, or false on int64 overflow.
func addSmall(a int64, ae int32, b int64, be int32, neg bool) (int64, int32, bool) {
	e := min(ae, be)
	a, okA := scale10(a, int64(ae)-int64(e))
	b, okB := scale10(b, int64(be)-int64(e))
	if !okA || !okB {
		return 0, 0, false
	}
	if neg {
		s := a - b
		return s, e, (a^b)&(a^s) >= 0
	}
	s := a + b
	return s, e, (a^s)&(b^s) >= 0
}

// tradeAmount is quantity × price plus (buy) or minus (sell) fee and tax,
// exactly as the decimal expression
//
//	q.Mul(p).Add(fee.Add(tax))   // or Sub; charges only when not zero
//
// computes it, value and exponent, but in int64 arithmetic with a single
// allocation for the result when every operand and intermediate fits.
func tradeAmount(q, p, fee, tax decimal.Decimal, buy bool) decimal.Decimal {
	if v, e, ok := tradeAmountSmall(q, p, fee, tax, buy); ok {
		return decimal.New(v, e)
	}
	return tradeAmountDecimal(q, p, fee, tax, buy)
}

// tradeAmountT is tradeAmount as a total: no allocation when it fits.
func tradeAmountT(q, p, fee, tax decimal.Decimal, buy bool) total {
	if v, e, ok := tradeAmountSmall(q, p, fee, tax, buy); ok {
		return total{v: v, e: e}
	}
	return totalOf(tradeAmountDecimal(q, p, fee, tax, buy))
}

// tradeAmountDecimal is tradeAmount in plain decimal arithmetic: the
// fallback, and the reference the property test compares with.
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

func tradeAmountSmall(q, p, fee, tax decimal.Decimal, buy bool) (int64, int32, bool) {
	qv, qe, ok1 := small(q)
	pv, pe, ok2 := small(p)
	if !ok1 || !ok2 {
		return 0, 0, false
	}
	v, ok := mul64(qv, pv)
	e := int64(qe) + int64(pe)
	if !ok || e < math.MinInt32+1 || e > math.MaxInt32 {
		return 0, 0, false
	}
	if fee.Sign() == 0 && tax.Sign() == 0 {
		return v, int32(e), true
	}
	cv, ce, ok := small(fee)
	if !ok {
		return 0, 0, false
	}
	if tax.Sign() != 0 {
		tv, te, ok := small(tax)
		if !ok {
			return 0, 0, false
		}
		if cv, ce, ok = addSmall(cv, ce, tv, te, false); !ok {
			return 0, 0, false
		}
	}
	return addSmall(v, int32(e), cv, ce, !buy)
}

// mulT returns t × u, the same value and exponent as Decimal.Mul.
func (t total) mulT(u total) total {
	if t.narrow() && u.narrow() {
		e := int64(t.e) + int64(u.e)
		if v, ok := mul64(t.v, u.v); ok && e > math.MinInt32 && e <= math.MaxInt32 {
			return total{v: v, e: int32(e)}
		}
	}
	return totalOf(t.dec().Mul(u.dec()))
}

// mul64 returns a × b, or false when it does not fit an int64.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	ua, ub := uint64(a), uint64(b)
	if a < 0 {
		ua = -ua
	}
	if b < 0 {
		ub = -ub
	}
	hi, lo := bits.Mul64(ua, ub)
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if (a < 0) != (b < 0) {
		return -int64(lo), true
	}
	return int64(lo), true
}

// mulDiv returns x.Mul(y).Div(z), the same value and exponent
// (−decimal.DivisionPrecision, rounded half away from zero), computed in
// 128-bit integer arithmetic when the coefficients have at most 18 digits
// and the quotient fits 128 bits; otherwise with the decimal operations.
// z must not be zero (Div panics on zero; so does this).
func mulDiv(x, y, z decimal.Decimal) decimal.Decimal {
	if d, ok := mulDivSmall(x, y, z); ok {
		return d
	}
	return x.Mul(y).Div(z)
}

// pow10Uint64 holds 10^0 … 10^19.
var pow10Uint64 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

func abs64(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

func mulDivSmall(x, y, z decimal.Decimal) (decimal.Decimal, bool) {
	if bits.UintSize != 64 {
		return decimal.Decimal{}, false
	}
	xv, xe, ok1 := small(x)
	yv, ye, ok2 := small(y)
	zv, ze, ok3 := small(z)
	if !ok1 || !ok2 || !ok3 || zv == 0 {
		return decimal.Decimal{}, false
	}
	prec := int64(decimal.DivisionPrecision)
	// As quoRem: the quotient has exponent −prec; the dividend
	// x×y (exponent xe+ye) or the divisor z is scaled by 10^|e|.
	e := int64(xe) + int64(ye) - int64(ze) + prec
	if e < -19 || e > 19 {
		return decimal.Decimal{}, false
	}
	ahi, alo := bits.Mul64(abs64(xv), abs64(yv))
	b := abs64(zv)
	if e >= 0 {
		p := pow10Uint64[e]
		h1, l1 := bits.Mul64(alo, p)
		h2, l2 := bits.Mul64(ahi, p)
		hi, carry := bits.Add64(l2, h1, 0)
		if h2 != 0 || carry != 0 {
			return decimal.Decimal{}, false
		}
		ahi, alo = hi, l1
	} else {
		hb, lb := bits.Mul64(b, pow10Uint64[-e])
		if hb != 0 {
			return decimal.Decimal{}, false
		}
		b = lb
	}
	qhi, rhi := ahi/b, ahi%b
	qlo, r := bits.Div64(rhi, alo, b)
	if r >= b-r { // 2r ≥ b: round half away from zero
		var c uint64
		qlo, c = bits.Add64(qlo, 1, 0)
		qhi += c
	}
	neg := (xv < 0) != (yv < 0) != (zv < 0)
	exp := int32(-prec)
	if qhi == 0 && qlo <= math.MaxInt64 {
		v := int64(qlo)
		if neg {
			v = -v
		}
		return decimal.New(v, exp), true
	}
	var q big.Int
	q.SetBits([]big.Word{big.Word(qlo), big.Word(qhi)})
	if neg {
		q.Neg(&q)
	}
	return decimal.NewFromBigInt(&q, exp), true
}

// totalOf returns d as a total.
func totalOf(d decimal.Decimal) total {
	if v, e, ok := small(d); ok {
		return total{v: v, e: e}
	}
	return total{e: bigExp, d: d}
}

// cmp compares t with d like Decimal.Cmp.
func (t total) cmp(d decimal.Decimal) int {
	if t.e != bigExp {
		if dv, de, ok := small(d); ok && t.w {
			return t.cmpT(total{v: dv, e: de})
		} else if ok {
			e := min(t.e, de)
			a, okA := scale10(t.v, int64(t.e)-int64(e))
			b, okB := scale10(dv, int64(de)-int64(e))
			if okA && okB {
				switch {
				case a < b:
					return -1
				case a > b:
					return 1
				}
				return 0
			}
		}
	}
	return t.dec().Cmp(d)
}

// addDec, subDec and mulDec are Decimal.Add, Sub and Mul (same value, same
// exponent) computed in int64 when both coefficients have at most 18 digits
// and the result fits: one small allocation for the result instead of
// big.Int arithmetic (and, for Add/Sub with different exponents, a rescale).
func addDec(a, b decimal.Decimal) decimal.Decimal {
	if av, ae, ok := small(a); ok {
		if bv, be, ok := small(b); ok {
			if v, e, ok := addSmall(av, ae, bv, be, false); ok {
				return decimal.New(v, e)
			}
		}
	}
	return a.Add(b)
}

func subDec(a, b decimal.Decimal) decimal.Decimal {
	if av, ae, ok := small(a); ok {
		if bv, be, ok := small(b); ok {
			if v, e, ok := addSmall(av, ae, bv, be, true); ok {
				return decimal.New(v, e)
			}
		}
	}
	return a.Sub(b)
}

func mulDec(a, b decimal.Decimal) decimal.Decimal {
	if av, ae, ok := small(a); ok {
		if bv, be, ok := small(b); ok {
			e := int64(ae) + int64(be)
			if v, ok := mul64(av, bv); ok && e > math.MinInt32 && e <= math.MaxInt32 {
				return decimal.New(v, int32(e))
			}
		}
	}
	return a.Mul(b)
}

// subMulDec is a.Sub(b).Mul(r) (same value and exponent) with one
// allocation when everything fits an int64.
func subMulDec(a, b, r decimal.Decimal) decimal.Decimal {
	if av, ae, ok := small(a); ok {
		if bv, be, ok := small(b); ok {
			if rv, re, ok := small(r); ok {
				if d, e, ok := addSmall(av, ae, bv, be, true); ok {
					pe := int64(e) + int64(re)
					if v, ok := mul64(d, rv); ok && pe > math.MinInt32 && pe <= math.MaxInt32 {
						return decimal.New(v, int32(pe))
					}
				}
			}
		}
	}
	return mulDec(subDec(a, b), r)
}
