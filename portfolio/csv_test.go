package portfolio

import (
	"bytes"
	"errors"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadCSVFile(t *testing.T) {
	f, err := os.Open("testdata/transactions.csv")
	require.NoError(t, err)
	defer f.Close()
	txs, err := ReadCSV(f)
	require.NoError(t, err)
	require.Len(t, txs, 7)
	assert.Equal(t, TxBuy, txs[2].Kind)
	assertDec(t, "10.25", txs[2].FXRate)
	assert.Equal(t, "USD", txs[2].Currency)
	assert.Equal(t, "2024-01-03T14:30:00Z", txs[2].Time.UTC().Format("2006-01-02T15:04:05Z07:00"))
	// Two identical rows get different, stable ids.
	assert.NotEqual(t, txs[4].ID, txs[5].ID)
	assert.True(t, strings.HasPrefix(txs[4].ID, "csv-"))

	l, err := NewLedger(Account{ID: "nordnet", Currency: "NOK"})
	require.NoError(t, err)
	added, err := l.Import(txs)
	require.NoError(t, err)
	assert.Len(t, added, 7)
	// Re-importing the same file adds nothing.
	_, err = f.Seek(0, 0)
	require.NoError(t, err)
	again, err := ReadCSV(f)
	require.NoError(t, err)
	assert.Equal(t, ids(txs), ids(again))
	added, err = l.Import(again)
	require.NoError(t, err)
	assert.Empty(t, added)
	assert.Equal(t, 7, l.Len())
	pos, ok := l.Position("nordnet", "EQNR.OL")
	require.True(t, ok)
	assertDec(t, "80", pos.Quantity)

	// Same id, other content: rejected, nothing applied.
	changed := again[0]
	changed.Amount = d("1")
	_, err = l.Import([]Transaction{changed})
	require.ErrorIs(t, err, ErrDuplicateID)
}

func ids(txs []Transaction) []string {
	out := make([]string, len(txs))
	for i, tx := range txs {
		out[i] = tx.ID
	}
	return out
}

func TestReadCSVErrors(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"empty", "", "line 1: empty file"},
		{"no date", "account,kind\n", "line 1, column date: required column missing"},
		{"unknown column", "date,account,kind,colour\n", "line 1, column colour: unknown column"},
		{"duplicate column", "date,account,kind,Kind\n", "line 1, column kind: duplicate column"},
		{"bad quantity", "date,account,kind,symbol,quantity\n2024-01-01,a,buy,X,1\n2024-01-01,a,buy,X,abc\n", `line 3, column quantity: "abc" is not a number`},
		{"comma decimal", "date,account,kind,price\n2024-01-01,a,buy,\"1,5\"\n", `line 2, column price: "1,5" is not a number`},
		{"exponent", "date,account,kind,price\n2024-01-01,a,buy,1e5\n", `line 2, column price: "1e5" is not a number`},
		{"bad date", "date,account,kind\n01/02/2024,a,buy\n", `line 2, column date: "01/02/2024" is not an ISO 8601 date`},
		{"bad kind", "date,account,kind\n2024-01-01,a,gift\n", `line 2, column kind: "gift" is not a transaction kind`},
		{"no account", "date,account,kind\n2024-01-01,,buy\n", `line 2, column account: missing account`},
		{"bad currency", "date,account,kind,currency\n2024-01-01,a,buy,dollars\n", `line 2, column currency: "dollars" is not a currency code`},
		{"short row", "date,account,kind\n2024-01-01,a\n", "line 2: 2 fields, header has 3"},
		{"bad quote", "date,account,kind\n2024-01-01,\"a,buy\n", "line 2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			txs, err := ReadCSV(strings.NewReader(tc.in))
			require.Error(t, err)
			assert.Nil(t, txs)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, errors.Is(err, ErrCSV))
		})
	}
}

func TestCSVRoundTrip(t *testing.T) {
	in := []Transaction{
		{ID: "1", Account: "a", Kind: TxDeposit, Time: day("2024-01-01"), Amount: d("1000.50"), Note: "with, comma \"and quotes\"\nand newline"},
		{ID: "2", Account: "a", Kind: TxBuy, Time: day("2024-01-02").Add(90*60*1e9 + 123), Symbol: "BTC", Quantity: d("0.00012300"), Price: d("42000.1"), Fee: d("0.00"), Currency: "USD", FXRate: d("10.5012")},
		{ID: "3", Account: "a", Kind: TxSplit, Time: day("2024-01-03"), Symbol: "X", Quantity: d("2")},
		{ID: "4", Account: "a", Kind: TxSell, Time: day("2024-01-03"), Symbol: "X", Quantity: d("-0"), Price: d("1000"), Tax: d("-1.5")},
	}
	var buf bytes.Buffer
	require.NoError(t, WriteCSV(&buf, in))
	out, err := ReadCSV(bytes.NewReader(buf.Bytes()))
	require.NoError(t, err)
	require.Len(t, out, len(in))
	for i := range in {
		assertSameTx(t, in[i], out[i])
	}
	var buf2 bytes.Buffer
	require.NoError(t, WriteCSV(&buf2, out))
	assert.Equal(t, buf.String(), buf2.String())
}

// assertSameTx checks field by field, decimals including their exponent
// when they have decimals.
func assertSameTx(t *testing.T, want, got Transaction) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Account, got.Account)
	assert.Equal(t, want.Kind, got.Kind)
	assert.True(t, want.Time.Equal(got.Time), "time %s vs %s", want.Time, got.Time)
	_, wo := want.Time.Zone()
	_, goff := got.Time.Zone()
	assert.Equal(t, wo, goff)
	assert.Equal(t, want.Symbol, got.Symbol)
	assert.Equal(t, want.Currency, got.Currency)
	assert.Equal(t, want.Note, got.Note)
	for i, pair := range [][2]string{
		{FormatDecimal(want.Quantity), FormatDecimal(got.Quantity)},
		{FormatDecimal(want.Price), FormatDecimal(got.Price)},
		{FormatDecimal(want.Fee), FormatDecimal(got.Fee)},
		{FormatDecimal(want.Tax), FormatDecimal(got.Tax)},
		{FormatDecimal(want.Amount), FormatDecimal(got.Amount)},
		{FormatDecimal(want.FXRate), FormatDecimal(got.FXRate)},
	} {
		assert.Equal(t, pair[0], pair[1], "decimal field %d", i)
	}
}

func FuzzReadCSV(f *testing.F) {
	seed, err := os.ReadFile("testdata/transactions.csv")
	require.NoError(f, err)
	f.Add(string(seed))
	f.Add("date,account,kind\n2024-01-01,a,buy\n")
	f.Add("id,date,account,kind,quantity\n1,2024-01-01T10:00:00.5+02:00,a,sell,-1.5\n")
	f.Add("date,account,kind,note\n2024-01-01,a,deposit,\"x\"\"y\"\n")
	f.Fuzz(func(t *testing.T, in string) {
		txs, err := ReadCSV(strings.NewReader(in))
		if err != nil {
			require.Nil(t, txs)
			var pe *ParseError
			if !errors.As(err, &pe) {
				require.ErrorIs(t, err, ErrCSV)
			}
			return
		}
		// Whatever parses must round-trip through WriteCSV.
		var buf bytes.Buffer
		require.NoError(t, WriteCSV(&buf, txs))
		again, err := ReadCSV(&buf)
		require.NoError(t, err)
		require.Len(t, again, len(txs))
		for i := range txs {
			require.Equal(t, txs[i].ID, again[i].ID)
			require.True(t, txs[i].Time.Equal(again[i].Time))
			require.True(t, txs[i].Quantity.Equal(again[i].Quantity))
			require.Equal(t, txs[i].Note, again[i].Note)
		}
		// And applying them never panics.
		l, err := NewLedger(Account{ID: "a", Currency: "USD", AllowShort: true})
		require.NoError(t, err)
		if err := l.Apply(txs...); err != nil {
			require.Zero(t, l.Len(), "a rejected batch left transactions behind")
		}
	})
}
