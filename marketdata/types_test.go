package marketdata_test

import (
	"encoding/json"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

func TestSummaries(t *testing.T) {
	q := marketdata.Quote{Symbol: "EQNR.OL", Price: 268.3, Currency: "NOK", Provider: "yahoo", Time: time.Date(2026, 3, 2, 15, 4, 0, 0, time.UTC)}
	assert.Equal(t, "EQNR.OL 268.3000 NOK (yahoo, 2026-03-02 15:04Z)", q.Summary())
	r := marketdata.Rate{From: "EUR", To: "JPY", Rate: 162.5, Provider: "ecb"}
	assert.Equal(t, "1 EUR = 162.5000 JPY (ecb)", r.Summary())
	btc := marketdata.Quote{Symbol: "BTC-USD", Price: 96886.884, Currency: "USD", Provider: "coingecko"}
	assert.Equal(t, "BTC-USD 96886.88 USD (coingecko)", btc.Summary())

	u := marketdata.Update{Symbol: "X", Err: errors.New("boom"), Message: "boom"}
	assert.Equal(t, "X: boom", u.Summary())
	b, err := json.Marshal(u)
	require.NoError(t, err)
	assert.Contains(t, string(b), `"error":"boom"`)
}

func TestParseSymbol(t *testing.T) {
	tests := []struct {
		in                  string
		kind                marketdata.Kind
		base, quote, suffix string
	}{
		{"aapl", marketdata.KindStock, "AAPL", "", ""},
		{"EQNR.OL", marketdata.KindStock, "EQNR", "", "OL"},
		{"BRK-B", marketdata.KindStock, "BRK-B", "", ""},
		{"BTC-USD", marketdata.KindCrypto, "BTC", "USD", ""},
		{"EURUSD=X", marketdata.KindFX, "EUR", "USD", ""},
		{"NOK=X", marketdata.KindFX, "USD", "NOK", ""},
		{"^GSPC", marketdata.KindStock, "^GSPC", "", ""},
	}
	for _, tt := range tests {
		s, err := marketdata.ParseSymbol(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.kind, s.Kind, tt.in)
		assert.Equal(t, tt.base, s.Base, tt.in)
		assert.Equal(t, tt.quote, s.Quote, tt.in)
		assert.Equal(t, tt.suffix, s.Suffix, tt.in)
	}
	for _, bad := range []string{"", " ", "A B", "EURUS=X", "X=Y", "<script>", "ÆØÅ", "123456789012345678901234567890123"} {
		_, err := marketdata.ParseSymbol(bad)
		assert.ErrorIs(t, err, marketdata.ErrInvalidSymbol, bad)
	}
}

func FuzzParseSymbol(f *testing.F) {
	for _, s := range []string{"AAPL", "EQNR.OL", "BTC-USD", "EURUSD=X", "NOK=X", "a.b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		sym, err := marketdata.ParseSymbol(s)
		if err != nil {
			return
		}
		again, err := marketdata.ParseSymbol(sym.Raw)
		if err != nil || again != sym {
			t.Fatalf("not idempotent: %q → %+v → %+v, %v", s, sym, again, err)
		}
	})
}
