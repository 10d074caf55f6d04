package portfolio

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// A simulated or converted price has many decimals; a holding's line showed
// "289.7524373 USD". The line rounds the price for reading (the value is
// computed from the exact price, and the stored price is not changed).
func TestHoldingSummaryRoundsPrice(t *testing.T) {
	h := Holding{Position: Position{Symbol: "AAPL", Currency: "USD", Quantity: d("10"), LocalBasis: d("2000")}, Price: d("289.7524373")}
	assert.Equal(t, "AAPL 10 sh @ 289.75 USD = 2,897.52 USD (+44.9%)", h.Summary())
	assert.Equal(t, "289.7524373", h.Price.String(), "the price itself is kept")
	coin := Holding{Position: Position{Symbol: "SHIB-USD", Currency: "USD", Quantity: d("1000000")}, Price: d("0.0000123456789"), Class: AssetCrypto}
	assert.Equal(t, "SHIB-USD 1,000,000 units @ 0.00001235 USD = 12.35 USD", coin.Summary())
	p := Position{Symbol: "X", Currency: "JPY", Quantity: d("3"), LastPrice: d("1234.56789")}
	assert.Equal(t, "X 3 sh @ 1,234.57 JPY = 3,704 JPY", p.Summary())
	assert.Equal(t, "1.23456789", RoundPrice(d("1.234567891"), "BTC").String(), "a BTC price keeps satoshis")
	for in, want := range map[string]string{"312.4": "312.40", "0.000123": "0.000123", "0.5": "0.50", "12.3456": "12.35", "0.123456789": "0.1235"} {
		assert.Equal(t, want, RoundPrice(d(in), "USD").StringFixed(max(2, -RoundPrice(d(in), "USD").Exponent())), in)
	}
}
