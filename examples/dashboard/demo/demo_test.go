package demo_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/examples/dashboard/demo"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/portfolio"
)

// Every trade of the demo file is booked at its instrument's close on its
// date in the default market, rounded to the currency's minor units, and
// every foreign row at that day's simulated rate: checked here from the
// bars of a fresh provider of that market, not through the generator (the
// file before it bought SPY at 588.50 and 672.10 while the market traded
// it near 378).
func TestDemoTradesAtTheMarketsClose(t *testing.T) {
	f, err := os.Open("transactions.csv")
	require.NoError(t, err)
	defer f.Close()
	txs, err := portfolio.ReadCSV(f)
	require.NoError(t, err)
	m, err := sim.New(sim.Default("check"))
	require.NoError(t, err)
	ctx := context.Background()
	closeOn := func(symbol string, tx portfolio.Transaction) (float64, string) {
		t.Helper()
		h, err := m.History(ctx, symbol, marketdata.HistoryRequest{Start: tx.Time.AddDate(0, -1, 0), End: tx.Time.AddDate(0, 0, 1)})
		require.NoError(t, err)
		for _, b := range h.Bars {
			if b.Time.Equal(tx.Time) {
				return b.Close, h.Currency
			}
		}
		t.Fatalf("%s: no %s bar on %s", tx.ID, symbol, tx.Time)
		return 0, ""
	}
	trades := 0
	for _, tx := range txs {
		acct := "USD"
		if tx.Account == "savings" {
			acct = "EUR"
		}
		if tx.Currency != "" && tx.Currency != acct {
			c, _ := closeOn(marketdata.FXSymbol(tx.Currency, acct), tx)
			want, err := marketdata.ToDecimal(c)
			require.NoError(t, err)
			assert.True(t, want.RoundBank(demo.FXPlaces).Equal(tx.FXRate), "%s %s %s: fx %s, the market's %s", tx.Time.Format("2006-01-02"), tx.Kind, tx.Symbol, tx.FXRate, want)
		}
		if tx.Kind != portfolio.TxBuy && tx.Kind != portfolio.TxSell {
			continue
		}
		trades++
		c, ccy := closeOn(tx.Symbol, tx)
		want, err := marketdata.ToDecimal(c)
		require.NoError(t, err)
		want = portfolio.RoundMoney(want, ccy)
		assert.True(t, want.Equal(tx.Price), "%s %s %s at %s, the market's close %s %s", tx.Time.Format("2006-01-02"), tx.Kind, tx.Symbol, tx.Price, want, ccy)
	}
	assert.Equal(t, 11, trades)
}

// The committed file is what go generate writes today.
func TestGeneratedFileIsCurrent(t *testing.T) {
	m, err := demo.Market()
	require.NoError(t, err)
	want, err := demo.CSV(context.Background(), m)
	require.NoError(t, err)
	got, err := os.ReadFile("transactions.csv")
	require.NoError(t, err)
	assert.Equal(t, string(want), string(got), "run go generate ./examples/dashboard/demo")
}

// A plan row on a day its instrument does not trade is refused, not priced
// at another day's close.
func TestNoTradeOnAClosedMarket(t *testing.T) {
	m, err := demo.Market()
	require.NoError(t, err)
	sat, err := time.Parse(time.DateOnly, "2025-01-11")
	require.NoError(t, err)
	_, _, err = demo.TradePrice(context.Background(), m, "AAPL", sat)
	require.ErrorContains(t, err, "does not trade on 2025-01-11")
	_, _, err = demo.TradePrice(context.Background(), m, "BTC-USD", sat)
	require.NoError(t, err, "crypto trades every day")
}
