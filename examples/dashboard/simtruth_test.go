package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
)

// newTestEnvAt starts the dashboard with its simulated market's clock
// stopped at now.
func newTestEnvAt(t *testing.T, now time.Time) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	lv := new(slog.LevelVar)
	logger, closeLog, err := newLogger("debug", "json", logs, lv)
	require.NoError(t, err)
	srv := httptest.NewUnstartedServer(nil)
	a, err := newApp(context.Background(), config{dataDir: t.TempDir(), authParams: testParams, logLevelVar: lv,
		publicHost: srv.Listener.Addr().String(), marketNow: func() time.Time { return now }}, logger)
	require.NoError(t, err)
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		assert.NoError(t, a.Close())
		closeLog()
	})
	return &testEnv{app: a, srv: srv, logs: logs}
}

func getJSON(t *testing.T, e *testEnv, c *http.Client, path string, v any) {
	t.Helper()
	status, body, _ := e.get(t, c, path)
	require.Equal(t, http.StatusOK, status, "%s: %s", path, body)
	require.NoError(t, json.Unmarshal([]byte(body), v), path)
}

// One symbol through every view, at one instant of the market: the quotes
// board and /api/quotes, the portfolio's valuation (page and API), the
// statistics (page and API), the home page's movers and the backtest's
// data all show the default market's price, and the noise-free source is
// the market's price to the digit. Before, the dashboard's "sim" priced
// AAPL at 289.9 where the CLI's said 415.73, and the demo had bought SPY
// at 588.50 while every page priced it near 378.
func TestOneSymbolEveryView(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := newTestEnvAt(t, now)
	c := e.user(t, "vera", "user")
	status, _, _ := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)

	mo := sim.Default("truth")
	mo.Now = func() time.Time { return now }
	market, err := sim.New(mo)
	require.NoError(t, err)
	ctx := context.Background()

	var pf struct {
		Valuation portfolio.Valuation `json:"valuation"`
	}
	getJSON(t, e, c, "/api/portfolio", &pf)
	_, overview, _ := e.get(t, c, "/")
	_, portfolioPage, _ := e.get(t, c, "/portfolio")

	movers := 0
	for _, sym := range []string{"AAPL", "BTC-USD", "EQNR.OL", "NVDA", "ETH-USD", "MSFT"} {
		truth, err := market.Quote(ctx, sym)
		require.NoError(t, err)
		p := truth.Price

		// The quotes board: the noise-free source is the market, and so is
		// the consensus (the noisy sources err on opposite sides of it),
		// the same however often it is asked at this instant.
		var qs apiQuotes
		getJSON(t, e, c, "/api/quotes?symbols="+url.QueryEscape(sym), &qs)
		require.Len(t, qs.Quotes, 1, sym)
		q := qs.Quotes[0]
		for _, s := range q.Sources {
			if s.Provider == "sim" {
				assert.Equal(t, decimalText(p), s.Price, "%s: the noise-free source", sym)
			}
		}
		consensus := decimal.RequireFromString(q.Price)
		assert.Equal(t, decimalText(p), q.Price, "%s: the consensus is the market's price", sym)
		time.Sleep(1100 * time.Millisecond) // past the Aggregator's cache
		var again apiQuotes
		getJSON(t, e, c, "/api/quotes?symbols="+url.QueryEscape(sym), &again)
		assert.Equal(t, q.Price, again.Quotes[0].Price, "%s: one instant, one consensus", sym)
		_, board, _ := e.get(t, c, "/quotes?symbols="+url.QueryEscape(sym))
		assert.True(t, strings.Contains(board, `<td class="price">`+priceText(consensus.InexactFloat64())+`</td>`), "%s: the board shows the consensus %s", sym, consensus)
		assert.True(t, strings.Contains(board, `<b>sim</b> `+priceText(p)+` `), "%s: the board shows the market's %v from sim", sym, p)

		// The portfolio values the demo's holding at that consensus.
		var held *portfolio.Holding
		for i := range pf.Valuation.Holdings {
			if pf.Valuation.Holdings[i].Symbol == sym {
				held = &pf.Valuation.Holdings[i]
			}
		}
		require.NotNil(t, held, sym)
		assert.True(t, consensus.Equal(held.Price), "%s: portfolio %s, quotes %s", sym, held.Price, consensus)
		assert.True(t, strings.Contains(portfolioPage, displayPrice(held.Price, held.Currency)), "%s: the portfolio page shows %s", sym, held.Price)
		assert.True(t, strings.Contains(overview, sym+" "+portfolio.FormatQuantity(held.Quantity)), "%s: the home page's holdings", sym)
		assert.True(t, strings.Contains(overview, "@ "+displayPrice(held.Price, held.Currency)), "%s: the home page's holdings at %s", sym, held.Price)

		// Statistics: the history ends at the market's price now, and its
		// volatility is the market history's, over the asset's days.
		var st apiStats
		getJSON(t, e, c, "/api/stats?symbol="+url.QueryEscape(sym), &st)
		assert.Equal(t, decimalText(p), st.LastClose, "%s: last close", sym)
		h, err := market.History(ctx, sym, marketdata.HistoryRequest{Start: st.First})
		require.NoError(t, err)
		want, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{RiskFree: 0.03})
		require.NoError(t, err)
		require.NotNil(t, st.Volatility)
		assert.InDelta(t, want.Volatility*100, *st.Volatility, 1e-5, sym)
		var in sim.Instrument
		for _, i := range sim.Instruments() {
			if i.Symbol == sym {
				in = i
			}
		}
		assert.Equal(t, in.TradingDaysPerYear(), want.TradingDays, "%s: 365 days for crypto, 252 otherwise", sym)
		assert.InEpsilon(t, in.Vol, want.Volatility, 0.25, "%s: about the instrument's σ", sym)
		_, statsPage, _ := e.get(t, c, "/stats?symbol="+url.QueryEscape(sym))
		assert.True(t, strings.Contains(statsPage, `<div class="v">`+fmtNum(p, 2)+`</div>`), "%s: the statistics page's last close %v", sym, p)
		assert.True(t, strings.Contains(statsPage, fmt.Sprintf("%.1f%%", want.Volatility*100)), "%s: the statistics page's volatility", sym)

		// The home page's movers (when the symbol is among them) close at
		// the market's price.
		if m := regexp.MustCompile(`>` + regexp.QuoteMeta(sym) + `</td><td>([^<]+)</td>`).FindStringSubmatch(overview); m != nil {
			assert.Equal(t, fmtNum(p, 2)+" "+truth.Currency, m[1], "%s: a mover on the home page", sym)
			movers++
		}

		// The backtest replays the market's daily closes (the day still
		// trading left out): buy and hold is their change.
		var bt struct {
			Start, End time.Time
			Stats      struct {
				BuyHold *float64 `json:"buy_hold_return_pct"`
			}
		}
		getJSON(t, e, c, "/api/backtest?strategy=buyhold&symbol="+url.QueryEscape(sym), &bt)
		hb, err := market.History(ctx, sym, marketdata.HistoryRequest{Start: bt.Start})
		require.NoError(t, err)
		bars, err := papertrade.FromHistory(hb, false)
		require.NoError(t, err)
		require.Equal(t, bt.End, bars[len(bars)-1].Time, sym)
		require.NotNil(t, bt.Stats.BuyHold)
		assert.InDelta(t, (bars[len(bars)-1].Close/bars[0].Close-1)*100, *bt.Stats.BuyHold, 1e-5, sym)
	}
	assert.Positive(t, movers, "some of them are the home page's movers")
}

// The demo's gains are the market's moves: each holding's gain over its
// cost is the change of the market's price since the days it was bought,
// less the fees (the demo used to show SPY at −37 %, an artefact of prices
// from another market).
func TestDemoGainsAreTheMarketsMoves(t *testing.T) {
	now := time.Now().UTC().Truncate(time.Second)
	e := newTestEnvAt(t, now)
	c := e.user(t, "walt", "user")
	status, _, _ := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	var pf struct {
		Valuation portfolio.Valuation `json:"valuation"`
	}
	getJSON(t, e, c, "/api/portfolio", &pf)
	txs, err := portfolio.ReadCSV(strings.NewReader(string(demoCSV)))
	require.NoError(t, err)
	require.NotEmpty(t, pf.Valuation.Holdings)
	mo := sim.Default("truth")
	mo.Now = func() time.Time { return now }
	market, err := sim.New(mo)
	require.NoError(t, err)
	for _, h := range pf.Valuation.Holdings {
		// The market's closes on the days the units were bought, weighted
		// by the units (the demo's sells take from a single lot).
		hist, err := market.History(context.Background(), h.Symbol, marketdata.HistoryRequest{Start: sim.DefaultStart()})
		require.NoError(t, err)
		var qty, cost float64
		for _, tx := range txs {
			if tx.Symbol != h.Symbol || tx.Kind != portfolio.TxBuy {
				continue
			}
			i := slices.IndexFunc(hist.Bars, func(b marketdata.Bar) bool { return b.Time.Equal(tx.Time) })
			require.GreaterOrEqual(t, i, 0, "%s trades on %s", h.Symbol, tx.Time)
			q := tx.Quantity.InexactFloat64()
			qty, cost = qty+q, cost+q*hist.Bars[i].Close
		}
		require.Positive(t, qty, h.Symbol)
		moved := hist.Bars[len(hist.Bars)-1].Close/(cost/qty) - 1
		gain := h.Value.Sub(h.LocalBasis).Div(h.LocalBasis).InexactFloat64()
		// Within the fees (at most 0.25 %) and the consensus's noise.
		assert.InDelta(t, moved, gain, 0.006+math.Abs(moved)*0.004, "%s: gain %.2f%%, the market moved %.2f%% since it was bought", h.Symbol, gain*100, moved*100)
	}
}
