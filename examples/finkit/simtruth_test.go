package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
)

// The command line's simulated market is the library's default market,
// the dashboard's: `quote`, `stats`, `portfolio report` and `backtest
// --provider sim` give a symbol the price a fresh sim.Default provider
// gives at the same instant (the dashboard's own test compares its views
// with the same market). Before, the CLI's sim had seed 1 and the
// dashboard's seed 7: AAPL 415.73 here, 289.9 there.
func TestCLIPricesAreTheDefaultMarkets(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	clock := func() time.Time { return now }
	mo := sim.Default("truth")
	mo.Now = clock
	market, err := sim.New(mo)
	require.NoError(t, err)
	ctx := context.Background()
	run := func(f func(context.Context, *env, []string) error, args ...string) []byte {
		t.Helper()
		e, out, errOut := mdEnv()
		e.now = clock
		require.NoError(t, f(ctx, e, args), "%v: %s", args, errOut)
		return out.Bytes()
	}

	db := filepath.Join(t.TempDir(), "finkit.db")
	run(runPortfolio, "import", "--db", db, filepath.Join("..", "dashboard", "demo", "transactions.csv"))
	var report portfolioReport
	require.NoError(t, json.Unmarshal(run(runPortfolio, "report", "--db", db, "--json"), &report))

	for _, sym := range []string{"AAPL", "BTC-USD", "EQNR.OL"} {
		truth, err := market.Quote(ctx, sym)
		require.NoError(t, err)
		p := truth.Price

		var q marketdata.Result
		require.NoError(t, json.Unmarshal(run(runQuote, "--json", sym), &q))
		require.Len(t, q.Quotes, 1, sym)
		assert.Equal(t, p, q.Quotes[0].Price, "%s: quote", sym)

		var st struct {
			Stats marketdata.Stats `json:"stats"`
		}
		require.NoError(t, json.Unmarshal(run(runStats, "--provider", "sim", "--json", sym), &st))
		assert.Equal(t, p, st.Stats.LastClose, "%s: stats' last close", sym)
		h, err := market.History(ctx, sym, marketdata.HistoryRequest{Start: st.Stats.First})
		require.NoError(t, err)
		want, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{})
		require.NoError(t, err)
		assert.InEpsilon(t, want.Volatility, st.Stats.Volatility, 1e-12, "%s: stats' volatility", sym)
		assert.Equal(t, want.TradingDays, st.Stats.TradingDays, sym)

		found := false
		for _, hold := range report.Valuation.Holdings {
			if hold.Symbol == sym {
				found = true
				d, err := marketdata.ToDecimal(p)
				require.NoError(t, err)
				assert.True(t, d.Equal(hold.Price), "%s: report %s, market %s", sym, hold.Price, d)
			}
		}
		assert.True(t, found, "%s is a demo holding", sym)

		var bt struct {
			Stats struct {
				Start   time.Time `json:"start"`
				End     time.Time `json:"end"`
				BuyHold float64   `json:"buy_hold_return_pct"`
			} `json:"stats"`
		}
		require.NoError(t, json.Unmarshal(run(runBacktest, "--symbol", sym, "--provider", "sim", "--from", "2025-01-02", "--strategy", "buyhold", "--json"), &bt))
		hb, err := market.History(ctx, sym, marketdata.HistoryRequest{Start: sim.DefaultStart()})
		require.NoError(t, err)
		bars, err := papertrade.FromHistory(hb, false)
		require.NoError(t, err)
		assert.Equal(t, bars[0].Time, bt.Stats.Start.UTC(), sym)
		assert.Equal(t, bars[len(bars)-1].Time, bt.Stats.End.UTC(), sym)
		assert.InDelta(t, (bars[len(bars)-1].Close/bars[0].Close-1)*100, bt.Stats.BuyHold, 1e-9, "%s: backtest's buy and hold", sym)
	}

}
