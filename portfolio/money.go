package portfolio

import (
	"strings"

	"github.com/shopspring/decimal"
)

// minorUnitExceptions lists ISO 4217 currencies whose minor unit is not the
// usual two decimal places, plus a few common crypto assets that are used as
// account currencies. Everything not listed has two decimals.
var minorUnitExceptions = map[string]int32{
	// zero decimals
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0,
	"KRW": 0, "PYG": 0, "RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0,
	"XAF": 0, "XOF": 0, "XPF": 0,
	// three decimals
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// four decimals
	"CLF": 4, "UYW": 4,
	// crypto assets, by their smallest common unit
	"BTC": 8, "ETH": 18, "LTC": 8, "XBT": 8,
}

// MinorUnits returns the number of decimal places of currency's minor unit
// (ISO 4217 exponent): 0 for JPY, 3 for KWD and BHD, 2 for most currencies
// and for unknown codes. Crypto assets use their smallest common unit
// (8 for BTC).
func MinorUnits(currency string) int32 {
	if n, ok := minorUnitExceptions[currency]; ok {
		return n
	}
	return 2
}

// RoundMoney rounds amount to currency's minor units with banker's rounding
// (round half to even): 0.125 EUR becomes 0.12 and 0.135 EUR becomes 0.14.
// The ledger calls it only where money is booked as cash or shown; quantities,
// prices and cost bases are kept exact.
func RoundMoney(amount decimal.Decimal, currency string) decimal.Decimal {
	return roundTo(amount, MinorUnits(currency))
}

// roundTo rounds d to places decimals with banker's rounding, without any
// work when d already has at most that many decimals.
func roundTo(d decimal.Decimal, places int32) decimal.Decimal {
	if d.Exponent() >= -places {
		return d
	}
	return d.RoundBank(places)
}

// FormatMoney formats amount rounded to currency's minor units with a comma
// as thousands separator and a point as decimal mark, followed by the code:
// "37,488.00 NOK", "-1,200 JPY".
func FormatMoney(amount decimal.Decimal, currency string) string {
	s := groupThousands(RoundMoney(amount, currency).StringFixed(MinorUnits(currency)))
	if currency == "" {
		return s
	}
	return s + " " + currency
}

// FormatPrice formats a unit price with at least the currency's minor units
// and more decimals when the price has them (a 0.000123 USD coin keeps its
// digits): "312.40 NOK".
func FormatPrice(price decimal.Decimal, currency string) string {
	places := MinorUnits(currency)
	if e := -price.Exponent(); e > places {
		places = e
	}
	s := groupThousands(price.StringFixed(places))
	if strings.Contains(s, ".") {
		s = trimZerosTo(s, MinorUnits(currency))
	}
	if currency == "" {
		return s
	}
	return s + " " + currency
}

// RoundPrice rounds a unit price for reading, with banker's rounding: to
// two decimals (or the currency's minor units when it has more) from 1 up,
// to four significant digits below 1, so 289.7524373 USD reads 289.75 and a
// 0.0000123456 USD coin 0.00001235. Values are computed from the exact price;
// RoundPrice is for display only.
func RoundPrice(price decimal.Decimal, currency string) decimal.Decimal {
	if price.IsZero() {
		return price
	}
	a := price.Abs()
	if a.Cmp(decimal.NewFromInt(1)) >= 0 {
		return roundTo(price, max(2, MinorUnits(currency)))
	}
	// a = c × 10^e with c of n digits: the first significant digit is at
	// decimal place 1-(n+e), so four of them end at place 4-(n+e).
	n := int32(len(a.Coefficient().String()))
	return roundTo(price, 4-(n+a.Exponent()))
}

// FormatQuantity formats a quantity without trailing zeros and with
// thousands separators: "120", "0.5", "1,000.25".
func FormatQuantity(q decimal.Decimal) string {
	return groupThousands(q.String())
}

// trimZerosTo removes trailing zeros after the decimal point but keeps at
// least keep decimals.
func trimZerosTo(s string, keep int32) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s
	}
	end := len(s)
	for end > dot+1+int(keep) && s[end-1] == '0' {
		end--
	}
	if end == dot+1 {
		end = dot
	}
	return s[:end]
}

// groupThousands inserts commas into the integer part of a plain decimal
// string.
func groupThousands(s string) string {
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	intPart, frac := s, ""
	if dot := strings.IndexByte(s, '.'); dot >= 0 {
		intPart, frac = s[:dot], s[dot:]
	}
	var b strings.Builder
	b.Grow(len(s) + len(s)/3 + 1)
	if neg {
		b.WriteByte('-')
	}
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	b.WriteString(frac)
	return b.String()
}

// formatDecimal writes d so that parsing the text gives back the same value
// and, for non-positive exponents, the same exponent (trailing zeros kept):
// this is how CSV export and the SQL store keep decimals bit-exact.
func formatDecimal(d decimal.Decimal) string {
	if e := d.Exponent(); e < 0 {
		return d.StringFixed(-e)
	}
	return d.String()
}

// FormatDecimal is the exact text form used by CSV export and the SQL store:
// parsing it with decimal.NewFromString gives back the same value and, when
// the value has decimals, the same number of decimals ("1.50" stays "1.50").
func FormatDecimal(d decimal.Decimal) string { return formatDecimal(d) }
