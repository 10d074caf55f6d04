// Package exact is the portfolio ledger's exact decimal arithmetic: Num, a
// number that adds, subtracts, multiplies and shares out pro rata exactly
// as shopspring/decimal does (the same values and the same exponents), but
// without allocating while its coefficient fits 64 or 128 bits, and Add,
// Sub, Mul and MulDiv on decimals with the same guarantee and one small
// allocation for the result.
//
// The ledger keeps every running total (cash, bases, quantities, realized
// gains) as a Num, so booking a transaction costs no big.Int arithmetic;
// a Num whose coefficient outgrows 128 bits falls back to a decimal and
// stays one, so nothing is ever rounded or lost.
package exact

import (
	"math"
	"math/bits"

	"github.com/shopspring/decimal"
)

// form says how a Num holds its number.
type form uint8

const (
	narrow  form = iota // the coefficient v, an int64
	decForm             // *d
	wide                // the coefficient (hi, v), at least 2^63, positive
	wideNeg             // the same, negative
)

// Num is an exact decimal number: the coefficient v × 10^e in an int64
// while it fits, then in 128 bits (sign and magnitude below 2^127), then as
// a decimal.Decimal. Every operation gives the same value, with the same
// exponent, as the decimal operation it is named after: the exponent of a
// sum is the smaller of the two, of a product their sum. The zero value is
// 0 with exponent 0, like the zero decimal.Decimal.
type Num struct {
	v  int64 // the coefficient; in wide form its low 64 bits
	hi uint64
	e  int32
	f  form
	d  *decimal.Decimal
}

// Of returns d as a Num.
func Of(d decimal.Decimal) Num {
	if v, e, ok := small(d); ok {
		return Num{v: v, e: e}
	}
	return decNum(d)
}

// decNum is d in decimal form.
func decNum(d decimal.Decimal) Num {
	p := new(decimal.Decimal)
	*p = d
	return Num{f: decForm, d: p}
}

// Dec returns n as a decimal (allocating unless n is in decimal form). The
// zero Num gives the zero decimal.Decimal.
func (n Num) Dec() decimal.Decimal {
	switch {
	case n.f == decForm:
		return *n.d
	case n.f >= wide:
		return wideDec(n.f == wideNeg, u128{n.hi, uint64(n.v)}, n.e)
	case n.v == 0 && n.e == 0:
		return decimal.Decimal{}
	}
	return decimal.New(n.v, n.e)
}

// Sign is −1, 0 or +1.
func (n Num) Sign() int {
	switch {
	case n.f == decForm:
		return n.d.Sign()
	case n.f == wideNeg, n.f == narrow && n.v < 0:
		return -1
	case n.f == wide || n.v > 0:
		return 1
	}
	return 0
}

// Exponent is the exponent of n as a decimal.
func (n Num) Exponent() int32 {
	if n.f == decForm {
		return n.d.Exponent()
	}
	return n.e
}

// Add returns n + m (Decimal.Add).
func (n Num) Add(m Num) Num {
	// Inlined: two int64 coefficients at one exponent, the common case.
	if n.f|m.f == narrow && n.e == m.e {
		if s := n.v + m.v; (n.v^s)&(m.v^s) >= 0 {
			return Num{v: s, e: n.e}
		}
	}
	return n.plus(m, false)
}

// Sub returns n − m (Decimal.Sub).
func (n Num) Sub(m Num) Num {
	if n.f|m.f == narrow && n.e == m.e {
		if s := n.v - m.v; (n.v^m.v)&(n.v^s) >= 0 {
			return Num{v: s, e: n.e}
		}
	}
	return n.plus(m, true)
}

func (n Num) plus(m Num, sub bool) Num {
	if n.narrow() && m.narrow() {
		if v, e, ok := addSmall(n.v, n.e, m.v, m.e, sub); ok {
			return Num{v: v, e: e}
		}
	}
	if n.f != decForm && m.f != decForm {
		if r, ok := addWide(n, m, sub); ok {
			return r
		}
	}
	if sub {
		return decNum(n.Dec().Sub(m.Dec()))
	}
	return decNum(n.Dec().Add(m.Dec()))
}

// Mul returns n × m (Decimal.Mul).
func (n Num) Mul(m Num) Num {
	if n.narrow() && m.narrow() {
		if v, e, ok := mulSmall(n.v, n.e, m.v, m.e); ok {
			return Num{v: v, e: e}
		}
	}
	return Of(n.Dec().Mul(m.Dec()))
}

// Neg returns −n, keeping the exponent (Decimal.Neg).
func (n Num) Neg() Num {
	switch {
	case n.f == decForm:
		return decNum(n.d.Neg())
	case n.f >= wide:
		return Num{v: n.v, hi: n.hi, f: wide + wideNeg - n.f, e: n.e}
	case n.v == math.MinInt64:
		return makeNum(false, u128{0, 1 << 63}, n.e)
	}
	return Num{v: -n.v, e: n.e}
}

// Cmp compares n with m (Decimal.Cmp).
func (n Num) Cmp(m Num) int {
	if n.narrow() && m.narrow() && n.e == m.e {
		return cmpInt64(n.v, m.v)
	}
	if n.f != decForm && m.f != decForm {
		if r, ok := addWide(n, m, true); ok {
			return r.Sign()
		}
	}
	return n.Dec().Cmp(m.Dec())
}

// Equal reports whether n and m are the same number, whatever their
// exponents.
func (n Num) Equal(m Num) bool { return n.Cmp(m) == 0 }

// Same reports whether n and m are the same number with the same exponent.
func (n Num) Same(m Num) bool {
	if n.narrow() && m.narrow() {
		return n.e == m.e && n.v == m.v
	}
	return n.Exponent() == m.Exponent() && n.Cmp(m) == 0
}

// narrow reports whether n is in int64 form.
func (n Num) narrow() bool { return n.f == narrow }

// Add returns a + b, the same value and exponent as a.Add(b).
func Add(a, b decimal.Decimal) decimal.Decimal { return decOp(a, b, opAdd) }

// Sub returns a − b, the same value and exponent as a.Sub(b).
func Sub(a, b decimal.Decimal) decimal.Decimal { return decOp(a, b, opSub) }

// Mul returns a × b, the same value and exponent as a.Mul(b).
func Mul(a, b decimal.Decimal) decimal.Decimal { return decOp(a, b, opMul) }

// MulDiv returns x × y / z with the value and exponent of x.Mul(y).Div(z)
// (decimal.DivisionPrecision places, rounded half away from zero). z must
// not be zero (Div panics on zero; so does this).
func MulDiv(x, y, z decimal.Decimal) decimal.Decimal {
	return Of(x).MulDiv(Of(y), Of(z)).Dec()
}

type op uint8

const (
	opAdd op = iota
	opSub
	opMul
)

// decOp is a op b computed in int64 when both coefficients have at most 18
// digits and the result fits: one small allocation for the result instead
// of big.Int arithmetic (and, for a sum with different exponents, a
// rescale).
func decOp(a, b decimal.Decimal, o op) decimal.Decimal {
	if av, ae, ok := small(a); ok {
		if bv, be, ok := small(b); ok {
			var v int64
			var e int32
			if o == opMul {
				v, e, ok = mulSmall(av, ae, bv, be)
			} else {
				v, e, ok = addSmall(av, ae, bv, be, o == opSub)
			}
			if ok {
				return decimal.New(v, e)
			}
		}
	}
	switch o {
	case opAdd:
		return a.Add(b)
	case opSub:
		return a.Sub(b)
	}
	return a.Mul(b)
}

// small returns d's coefficient and exponent when the coefficient fits an
// int64 with at most 18 digits.
func small(d decimal.Decimal) (int64, int32, bool) {
	if d.NumDigits() > 18 {
		return 0, 0, false
	}
	e := d.Exponent()
	if e == math.MinInt32 {
		return 0, 0, false // so that −e and a product's exponent fit
	}
	return d.CoefficientInt64(), e, true
}

// pow10Int64 holds 10^0 … 10^18, the powers of ten that fit an int64.
var pow10Int64 = func() (p [19]int64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

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

// addSmall returns a×10^ae + b×10^be (− with sub) at the smaller exponent,
// as Decimal.Add and Sub do, or false on int64 overflow.
func addSmall(a int64, ae int32, b int64, be int32, sub bool) (int64, int32, bool) {
	e := min(ae, be)
	a, okA := scale10(a, int64(ae)-int64(e))
	b, okB := scale10(b, int64(be)-int64(e))
	if !okA || !okB {
		return 0, 0, false
	}
	if sub {
		s := a - b
		return s, e, (a^b)&(a^s) >= 0
	}
	s := a + b
	return s, e, (a^s)&(b^s) >= 0
}

// mulSmall returns a×10^ae × b×10^be, or false when the coefficient or
// the exponent overflows.
func mulSmall(a int64, ae int32, b int64, be int32) (int64, int32, bool) {
	e := int64(ae) + int64(be)
	v, ok := mul64(a, b)
	if !ok || e <= math.MinInt32 || e > math.MaxInt32 {
		return 0, 0, false
	}
	return v, int32(e), true
}

// mul64 returns a × b, or false when it does not fit an int64.
func mul64(a, b int64) (int64, bool) {
	if a == 0 || b == 0 {
		return 0, true
	}
	hi, lo := bits.Mul64(abs64(a), abs64(b))
	if hi != 0 || lo > math.MaxInt64 {
		return 0, false
	}
	if (a < 0) != (b < 0) {
		return -int64(lo), true
	}
	return int64(lo), true
}

func abs64(v int64) uint64 {
	if v < 0 {
		return -uint64(v)
	}
	return uint64(v)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
