package portfolio_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAccountsCSVRoundTrip(t *testing.T) {
	in := []portfolio.Account{
		{ID: "broker", Name: "Brokerage", Kind: portfolio.KindBrokerage, Currency: "USD", CostMethod: portfolio.FIFO},
		{ID: "isk", Name: "=HYPERLINK(\"http://evil\")", Kind: portfolio.KindBrokerage, Currency: "SEK", CostMethod: portfolio.AverageCost, AllowShort: true},
		{ID: "@loan", Name: "Credit, line", Kind: portfolio.KindBank, Currency: "NOK", CostMethod: portfolio.FIFO, AllowMargin: true},
	}
	var buf bytes.Buffer
	require.NoError(t, portfolio.WriteAccountsCSV(&buf, in))
	assert.NotContains(t, buf.String(), "\n=HYP", "formula cells are neutralised")
	assert.Contains(t, buf.String(), "'=HYPERLINK")
	out, err := portfolio.ReadAccountsCSV(&buf)
	require.NoError(t, err)
	assert.Equal(t, in, out)
}

func TestReadAccountsCSVDefaultsAndErrors(t *testing.T) {
	got, err := portfolio.ReadAccountsCSV(strings.NewReader("currency,id\nusd,broker\n\n"))
	require.NoError(t, err)
	assert.Equal(t, []portfolio.Account{{ID: "broker", Name: "broker", Kind: portfolio.KindBrokerage, Currency: "USD", CostMethod: portfolio.FIFO}}, got)

	for _, tc := range []struct{ name, in, want string }{
		{"empty", "", "empty file"},
		{"no currency column", "id,name\nb,B\n", "currency"},
		{"unknown column", "id,currency,colour\nb,USD,red\n", "unknown column"},
		{"duplicate column", "id,currency,id\nb,USD,c\n", "duplicate column"},
		{"bad currency", "id,currency\nb,dollars\n", "not a currency code"},
		{"bad kind", "id,currency,kind\nb,USD,pension\n", "unknown kind"},
		{"bad cost method", "id,currency,cost_method\nb,USD,lifo\n", "unknown cost method"},
		{"bad flag", "id,currency,allow_short\nb,USD,maybe\n", "not true or false"},
		{"missing id", "id,currency\n,USD\n", "missing id"},
		{"id twice", "id,currency\nb,USD\nb,EUR\n", "already defined on line 2"},
		{"short row", "id,currency,name\nb,USD\n", "2 fields, header has 3"},
		{"bad quoting", "id,currency\n\"b,USD\n", "line"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := portfolio.ReadAccountsCSV(strings.NewReader(tc.in))
			require.Error(t, err)
			assert.Nil(t, got)
			assert.True(t, errors.Is(err, portfolio.ErrCSV), "%v is ErrCSV", err)
			assert.Contains(t, err.Error(), tc.want)
		})
	}
}

// FuzzReadAccountsCSV: never panics; what it accepts writes back and reads
// again to the same accounts.
func FuzzReadAccountsCSV(f *testing.F) {
	f.Add("id,name,kind,currency,cost_method,allow_short,allow_margin\nbroker,Brokerage,brokerage,USD,fifo,false,true\n")
	f.Add("currency,id\nNOK,'=x\n")
	f.Add("id,currency\n\"a\"\"b\",EUR\n")
	f.Fuzz(func(t *testing.T, in string) {
		accts, err := portfolio.ReadAccountsCSV(strings.NewReader(in))
		if err != nil {
			return
		}
		var buf bytes.Buffer
		require.NoError(t, portfolio.WriteAccountsCSV(&buf, accts))
		again, err := portfolio.ReadAccountsCSV(&buf)
		require.NoError(t, err, "%q", buf.String())
		assert.Equal(t, accts, again)
	})
}
