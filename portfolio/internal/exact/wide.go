package exact

import (
	"math"
	"math/big"
	"math/bits"

	"github.com/shopspring/decimal"
)

// A Num whose coefficient no longer fits an int64 is first kept in a
// 128-bit form (sign and magnitude below 2^127, still pointer-free, still
// adding without allocating), and only beyond that as a decimal. Bases
// shared out pro rata have 16 decimal places and live in this form.

// u128 is an unsigned 128-bit magnitude.
type u128 struct{ hi, lo uint64 }

// pow10Uint64 holds 10^0 … 10^19.
var pow10Uint64 = func() (p [20]uint64) {
	p[0] = 1
	for i := 1; i < len(p); i++ {
		p[i] = p[i-1] * 10
	}
	return p
}()

// mag returns the sign and magnitude of n's coefficient; n is not in
// decimal form.
func (n Num) mag() (bool, u128) {
	if n.f >= wide {
		return n.f == wideNeg, u128{n.hi, uint64(n.v)}
	}
	return n.v < 0, u128{0, abs64(n.v)}
}

// makeNum returns ±m × 10^e in its canonical form: int64 when the
// coefficient fits one, wide otherwise. m must be below 2^127.
func makeNum(neg bool, m u128, e int32) Num {
	if m.hi == 0 && m.lo <= math.MaxInt64 {
		v := int64(m.lo)
		if neg {
			v = -v
		}
		return Num{v: v, e: e}
	}
	f := wide
	if neg {
		f = wideNeg
	}
	return Num{v: int64(m.lo), hi: m.hi, f: f, e: e}
}

// times returns m × k, or false when the product reaches 2^127.
func (m u128) times(k uint64) (u128, bool) {
	h1, l1 := bits.Mul64(m.lo, k)
	h2, l2 := bits.Mul64(m.hi, k)
	hi, c := bits.Add64(h1, l2, 0)
	if h2 != 0 || c != 0 || hi>>63 != 0 {
		return u128{}, false
	}
	return u128{hi, l1}, true
}

// scale returns m × 10^k (k ≥ 0), or false when it reaches 2^127.
func (m u128) scale(k int64) (u128, bool) {
	if k == 0 || (m.hi == 0 && m.lo == 0) {
		return m, true
	}
	for k > 0 {
		s := min(k, 19)
		var ok bool
		if m, ok = m.times(pow10Uint64[s]); !ok {
			return u128{}, false
		}
		k -= s
	}
	return m, true
}

func (m u128) cmp(n u128) int {
	switch {
	case m.hi < n.hi:
		return -1
	case m.hi > n.hi:
		return 1
	case m.lo < n.lo:
		return -1
	case m.lo > n.lo:
		return 1
	}
	return 0
}

func (m u128) add(n u128) (u128, bool) {
	lo, c := bits.Add64(m.lo, n.lo, 0)
	hi, c2 := bits.Add64(m.hi, n.hi, c)
	return u128{hi, lo}, c2 == 0 && hi>>63 == 0
}

func (m u128) sub(n u128) u128 { // m ≥ n
	lo, b := bits.Sub64(m.lo, n.lo, 0)
	hi, _ := bits.Sub64(m.hi, n.hi, b)
	return u128{hi, lo}
}

// addWide returns a ± b for Nums not in decimal form, at the smaller
// exponent as Decimal.Add and Sub give it, or false when the result (or a
// rescaled operand) does not fit the 128-bit form.
func addWide(a, b Num, sub bool) (Num, bool) {
	e := min(a.e, b.e)
	an, am := a.mag()
	bn, bm := b.mag()
	bn = bn != sub
	am, ok1 := am.scale(int64(a.e) - int64(e))
	bm, ok2 := bm.scale(int64(b.e) - int64(e))
	if !ok1 || !ok2 {
		return Num{}, false
	}
	if an == bn {
		s, ok := am.add(bm)
		if !ok {
			return Num{}, false
		}
		return makeNum(an, s, e), true
	}
	switch am.cmp(bm) {
	case 0:
		return Num{e: e}, true
	case 1:
		return makeNum(an, am.sub(bm), e), true
	}
	return makeNum(bn, bm.sub(am), e), true
}

// wideDec returns ±m × 10^e as a decimal.
func wideDec(neg bool, m u128, e int32) decimal.Decimal {
	b := new(big.Int).SetUint64(m.hi)
	b.Lsh(b, 64)
	b.Or(b, new(big.Int).SetUint64(m.lo))
	if neg {
		b.Neg(b)
	}
	return decimal.NewFromBigInt(b, e)
}

// MulDiv returns n × y / z with the value and exponent of
// x.Mul(y).Div(z) (decimal.DivisionPrecision places, rounded half away
// from zero): the share y/z of n. It is computed in 256-bit integer
// arithmetic when n is not in decimal form, y and z are in int64 form and
// the quotient fits the 128-bit form; otherwise with the decimal
// operations. z must not be zero.
func (n Num) MulDiv(y, z Num) Num {
	if r, ok := mulDivWide(n, y, z); ok {
		return r
	}
	return Of(n.Dec().Mul(y.Dec()).Div(z.Dec()))
}

func mulDivWide(x, y, z Num) (Num, bool) {
	if x.f == decForm || !y.narrow() || !z.narrow() || z.v == 0 {
		return Num{}, false
	}
	prec := int64(decimal.DivisionPrecision)
	e := int64(x.e) + int64(y.e) - int64(z.e) + prec
	if e < -19 || e > 19 {
		return Num{}, false
	}
	xn, xm := x.mag()
	// a = |x| × |y| × 10^max(e,0) in four words, little-endian.
	var a [4]uint64
	mul4(&a, [4]uint64{xm.lo, xm.hi}, abs64(y.v))
	b := abs64(z.v)
	if e >= 0 {
		if !mul4(&a, a, pow10Uint64[e]) {
			return Num{}, false
		}
	} else {
		hb, lb := bits.Mul64(b, pow10Uint64[-e])
		if hb != 0 {
			return Num{}, false
		}
		b = lb
	}
	// Long division by b, most significant word first.
	var q [4]uint64
	var r uint64
	for i := 3; i >= 0; i-- {
		q[i], r = bits.Div64(r, a[i], b)
	}
	if r >= b-r { // 2r ≥ b: round half away from zero
		var c uint64
		for i := range q {
			q[i], c = bits.Add64(q[i], 1, 0)
			if c == 0 {
				break
			}
		}
	}
	if q[2] != 0 || q[3] != 0 || q[1]>>63 != 0 {
		return Num{}, false
	}
	neg := xn != (y.v < 0) != (z.v < 0)
	m := u128{q[1], q[0]}
	if m.hi == 0 && m.lo == 0 {
		neg = false
	}
	return makeNum(neg, m, int32(-prec)), true
}

// mul4 sets *out to a × k and reports whether it fit four words.
func mul4(out *[4]uint64, a [4]uint64, k uint64) bool {
	var carry uint64
	for i := range a {
		hi, lo := bits.Mul64(a[i], k)
		var c uint64
		lo, c = bits.Add64(lo, carry, 0)
		out[i] = lo
		carry = hi + c
	}
	return carry == 0
}
