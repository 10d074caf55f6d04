package papertrade

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// referenceRun is one backtesting.py output file (testdata/backtesting-py).
type referenceRun struct {
	Stats  map[string]json.RawMessage
	Trades []referenceTrade
	Equity []float64
}

type referenceTrade struct {
	Size       float64 `json:"size"`
	EntryBar   int     `json:"entry_bar"`
	ExitBar    int     `json:"exit_bar"`
	EntryPrice float64 `json:"entry_price"`
	ExitPrice  float64 `json:"exit_price"`
	PnL        float64 `json:"pnl"`
	Commission float64 `json:"commission"`
}

func loadReference(t *testing.T, path string) referenceRun {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	var raw map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(b, &raw))
	var r referenceRun
	require.NoError(t, json.Unmarshal(raw["_trades"], &r.Trades))
	require.NoError(t, json.Unmarshal(raw["_equity"], &r.Equity))
	delete(raw, "_trades")
	delete(raw, "_equity")
	r.Stats = raw
	return r
}

// referenceConfig builds a run's strategy and options from a reference
// file's name, so that new files can be dropped into testdata/backtesting-py
// without new code:
//
//	backtesting-py-<version>-<label>-<token>-<token>….json
//
// where <label> is one capital letter (ignored) and the tokens are
// smacross-<fast>-<slow> (position.close() then buy()/sell()),
// readme-<fast>-<slow> (buy() / sell() only: SMACross.NoClose),
// comm<digits> (relative commission 0.<digits>), fixed<amount> (fixed
// commission per fill, with comm: fixed + relative), spread<digits>
// (spread 0.<digits>), margin<digits> (margin 0.<digits>), cash<amount>,
// exclusive, hedging, tradeonclose, fractional, open or not-finalized
// (finalize_trades=False) and finalized. An unknown token fails the test.
func referenceConfig(name string) (*SMACross, Options, error) {
	base := strings.TrimSuffix(filepath.Base(name), ".json")
	rest, ok := strings.CutPrefix(base, "backtesting-py-")
	if !ok {
		return nil, Options{}, fmt.Errorf("%s: not a backtesting-py-<version>-… file", name)
	}
	toks := strings.Split(rest, "-")
	opts := Options{Compat: true, CompatVersion: toks[0]}
	var strat *SMACross
	var comm CommissionModel
	decimal := func(tok, prefix string) (float64, error) {
		digits := strings.TrimPrefix(tok, prefix)
		if digits == "" || strings.Trim(digits, "0123456789") != "" {
			return 0, fmt.Errorf("%s: token %q wants digits after %q", name, tok, prefix)
		}
		return strconv.ParseFloat("0."+digits, 64)
	}
	for k := 1; k < len(toks); k++ {
		tok := toks[k]
		var err error
		switch {
		case len(tok) == 1 && tok >= "A" && tok <= "Z":
		case tok == "smacross" || tok == "readme":
			if k+2 >= len(toks) {
				return nil, Options{}, fmt.Errorf("%s: %s needs fast and slow periods", name, tok)
			}
			f, err1 := strconv.Atoi(toks[k+1])
			sl, err2 := strconv.Atoi(toks[k+2])
			if err1 != nil || err2 != nil {
				return nil, Options{}, fmt.Errorf("%s: %s-%s-%s: bad periods", name, tok, toks[k+1], toks[k+2])
			}
			strat = &SMACross{Fast: f, Slow: sl, NoClose: tok == "readme"}
			k += 2
		case strings.HasPrefix(tok, "comm"):
			comm.Rate, err = decimal(tok, "comm")
		case strings.HasPrefix(tok, "fixed"):
			comm.Fixed, err = strconv.ParseFloat(strings.TrimPrefix(tok, "fixed"), 64)
		case strings.HasPrefix(tok, "spread"):
			var sp float64
			sp, err = decimal(tok, "spread")
			opts.SpreadBps = sp * 1e4
		case strings.HasPrefix(tok, "margin"):
			opts.Margin, err = decimal(tok, "margin")
		case strings.HasPrefix(tok, "cash"):
			opts.Cash, err = strconv.ParseFloat(strings.TrimPrefix(tok, "cash"), 64)
		case tok == "exclusive":
			opts.ExclusiveOrders = true
		case tok == "hedging":
			opts.Hedging = true
		case tok == "tradeonclose":
			opts.TradeOnClose = true
		case tok == "fractional":
			opts.Fractional = true
		case tok == "open":
			opts.KeepOpen = true
		case tok == "not" && k+1 < len(toks) && toks[k+1] == "finalized":
			opts.KeepOpen = true
			k++
		case tok == "finalized":
		default:
			return nil, Options{}, fmt.Errorf("%s: unknown token %q", name, tok)
		}
		if err != nil {
			return nil, Options{}, fmt.Errorf("%s: token %q: %w", name, tok, err)
		}
	}
	if strat == nil {
		return nil, Options{}, fmt.Errorf("%s: no strategy token (smacross-F-S or readme-F-S)", name)
	}
	if comm != (CommissionModel{}) {
		opts.Commission = comm
	}
	return strat, opts, nil
}

func TestReferenceConfigFromName(t *testing.T) {
	s, o, err := referenceConfig("testdata/backtesting-py/backtesting-py-0.6.6-B-readme-10-20-comm002-exclusive-open.json")
	require.NoError(t, err)
	assert.Equal(t, &SMACross{Fast: 10, Slow: 20, NoClose: true}, s)
	assert.Equal(t, Options{Compat: true, CompatVersion: "0.6.6", Commission: RelativeCommission(0.002), ExclusiveOrders: true, KeepOpen: true}, o)
	s, o, err = referenceConfig("backtesting-py-0.6.5-A-open-smacross-10-30-not-finalized.json")
	require.NoError(t, err)
	assert.Equal(t, &SMACross{Fast: 10, Slow: 30}, s)
	assert.Equal(t, Options{Compat: true, CompatVersion: "0.6.5", KeepOpen: true}, o)
	s, o, err = referenceConfig("backtesting-py-0.6.6-C-smacross-5-15-fixed100-comm01-spread001-margin5-cash50000-hedging-tradeonclose-fractional-finalized.json")
	require.NoError(t, err)
	assert.Equal(t, &SMACross{Fast: 5, Slow: 15}, s)
	assert.Equal(t, Options{Compat: true, CompatVersion: "0.6.6", Commission: CommissionModel{Fixed: 100, Rate: 0.01}, SpreadBps: 10,
		Margin: 0.5, Cash: 50_000, Hedging: true, TradeOnClose: true, Fractional: true}, o)
	for _, bad := range []string{"GOOG.json", "backtesting-py-0.6.6-A-finalized.json", "backtesting-py-0.6.6-A-smacross-10-30-leverage.json", "backtesting-py-0.6.6-A-smacross-10.json", "backtesting-py-0.6.6-A-smacross-10-30-commx.json"} {
		_, _, err := referenceConfig(bad)
		assert.Error(t, err, bad)
	}
}

// closeRel reports whether got is within 1e-9 relative of want (1e-12
// absolute around zero).
func closeRel(got, want float64) bool {
	return math.Abs(got-want) <= 1e-9*math.Abs(want)+1e-12
}

// parseTimedelta reads pandas' "3116 days 00:00:00".
func parseTimedelta(s string) (time.Duration, error) {
	var d, h, m, sec int
	if _, err := fmt.Sscanf(s, "%d days %d:%d:%d", &d, &h, &m, &sec); err != nil {
		return 0, fmt.Errorf("timedelta %q: %w", s, err)
	}
	return time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, nil
}

// compareReference checks every statistic, every trade and the equity
// curve bar by bar against a backtesting.py output.
func compareReference(t *testing.T, ref referenceRun, res *Result) {
	t.Helper()
	fields := map[string]statField{}
	for _, f := range res.Stats.fields() {
		fields[f.label] = f
	}
	if _, ok := ref.Stats["Commissions [$]"]; !ok {
		// backtesting.py leaves the key out when no commission was paid.
		assert.Zero(t, res.Stats.Commissions, "Commissions [$]")
	}
	for key, raw := range ref.Stats {
		f, ok := fields[key]
		if !assert.True(t, ok, "statistic %q has no counterpart", key) {
			continue
		}
		if string(raw) == "null" {
			// backtesting.py's NaN (no value), written as null.
			v, isFloat := f.v.(float64)
			assert.True(t, isFloat && math.IsNaN(v), "%s: got %v, backtesting.py NaN", key, f.v)
			continue
		}
		switch v := f.v.(type) {
		case time.Time:
			var want string
			require.NoError(t, json.Unmarshal(raw, &want))
			assert.Equal(t, want, v.Format("2006-01-02 15:04:05"), key)
		case int:
			var want float64
			require.NoError(t, json.Unmarshal(raw, &want))
			assert.Equal(t, want, float64(v), key)
		case float64:
			if strings.HasSuffix(f.key, "_days") {
				var s string
				require.NoError(t, json.Unmarshal(raw, &s))
				want, err := parseTimedelta(s)
				require.NoError(t, err)
				assert.Equal(t, want.Hours()/24, v, key)
				continue
			}
			var want float64
			require.NoError(t, json.Unmarshal(raw, &want))
			assert.True(t, closeRel(v, want), "%s: got %.17g, backtesting.py %.17g (rel %.3g)", key, v, want, math.Abs(v-want)/math.Abs(want))
		default:
			t.Errorf("%s: unexpected type %T", key, v)
		}
	}
	var closed []Trade
	for _, tr := range res.Trades {
		if !tr.Open {
			closed = append(closed, tr)
		}
	}
	require.Len(t, closed, len(ref.Trades), "closed trades")
	for i, w := range ref.Trades {
		g := closed[i]
		ok := g.Size == w.Size && g.EntryBar == w.EntryBar && g.ExitBar == w.ExitBar &&
			closeRel(g.EntryPrice, w.EntryPrice) && closeRel(g.ExitPrice, w.ExitPrice) &&
			closeRel(g.PnL, w.PnL) && closeRel(g.Commission, w.Commission)
		assert.True(t, ok, "trade %d: got size %v bars %d→%d prices %.10g→%.10g pnl %.10g comm %.10g; backtesting.py %+v",
			i, g.Size, g.EntryBar, g.ExitBar, g.EntryPrice, g.ExitPrice, g.PnL, g.Commission, w)
	}
	require.Len(t, res.Equity, len(ref.Equity))
	bad := 0
	for i, w := range ref.Equity {
		if !closeRel(res.Equity[i], w) {
			bad++
			if bad <= 5 {
				t.Errorf("equity at bar %d: got %.17g, backtesting.py %.17g", i, res.Equity[i], w)
			}
		}
	}
	assert.Zero(t, bad, "equity bars that differ")
}

// TestGoldenBacktestingPyFiles replays every reference file in
// testdata/backtesting-py in Compat mode with the configuration its name
// gives, and compares every statistic, trade and equity value (1e-9
// relative).
func TestGoldenBacktestingPyFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/backtesting-py/backtesting-py-*.json")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 5)
	bars := loadGOOG(t)
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			s, opts, err := referenceConfig(file)
			require.NoError(t, err)
			res, err := Run(context.Background(), bars, s, opts)
			require.NoError(t, err)
			compareReference(t, loadReference(t, file), res)
		})
	}
}

// TestGoldenDefaultMode shows where the default mode stands against
// backtesting.py 0.6.6 on the reference runs: it uses the same statistics
// (CAGR over 365.25-day years included), so with the last trade left open,
// and with only relative commissions, it reproduces the files exactly; with
// finalize_trades it closes the last trade at the last close (806.19)
// where backtesting.py fills it at the last open (797.80).
func TestGoldenDefaultMode(t *testing.T) {
	bars := loadGOOG(t)
	dir := "testdata/backtesting-py/"
	for _, f := range []string{"backtesting-py-0.6.6-A-open-smacross-10-30-not-finalized.json", "backtesting-py-0.6.6-B-readme-10-20-comm002-exclusive-open.json"} {
		s, opts, err := referenceConfig(dir + f)
		require.NoError(t, err)
		opts.Compat, opts.CompatVersion = false, ""
		res, err := Run(context.Background(), bars, s, opts)
		require.NoError(t, err)
		t.Run(f, func(t *testing.T) { compareReference(t, loadReference(t, dir+f), res) })
	}

	ref := loadReference(t, dir+"backtesting-py-0.6.6-A-smacross-10-30-finalized.json")
	res, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{})
	require.NoError(t, err)
	require.Len(t, res.Trades, 66)
	compat, err := Run(context.Background(), bars, &SMACross{Fast: 10, Slow: 30}, Options{Compat: true})
	require.NoError(t, err)
	assert.Equal(t, compat.Trades[:65], res.Trades[:65], "the first 65 trades are the same")
	last, want := res.Trades[65], ref.Trades[65]
	n := len(bars)
	assert.Equal(t, bars[n-1].Close, last.ExitPrice, "default: the last close")
	assert.Equal(t, bars[n-1].Open, want.ExitPrice, "backtesting.py: the last open")
	assert.Equal(t, want.ExitPrice, compat.Trades[65].ExitPrice)
	assert.Equal(t, n-1, last.ExitBar)
	assert.InDelta(t, 51_959.95, res.Stats.EquityFinal, 1e-6, "the position's value at the last close")
	assert.Equal(t, res.Equity[n-2], compat.Equity[n-2])
}

// TestDefaultModeDifferences shows, each on a small hand-computed case,
// the conventions where the default mode departs from backtesting.py (and
// Compat follows it).
func TestDefaultModeDifferences(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	day := func(i int, o, h, l, c float64) Bar {
		return Bar{Time: t0.AddDate(0, 0, i), Open: o, High: h, Low: l, Close: c}
	}

	t.Run("all-in sizing with a fixed fee", func(t *testing.T) {
		// 1,000 cash, price 10, fee 100 per fill: 90 units cost 900 + 100.
		// backtesting.py divides the fee for the order's fraction (~1) into
		// every unit's price: 1000 // (10 + 100) = 9 units.
		bars := flatBars(10, 10, 10, 10)
		buy := func() Strategy { return onBar(1, func(ctx *Context) { _, _ = ctx.Buy(Order{}) }) }
		opts := Options{Cash: 1000, Commission: FixedCommission(100)}
		def, err := Run(context.Background(), bars, buy(), opts)
		require.NoError(t, err)
		opts.Compat = true
		bt, err := Run(context.Background(), bars, buy(), opts)
		require.NoError(t, err)
		assert.Equal(t, 90.0, def.Fills[0].Quantity)
		assert.Equal(t, 9.0, bt.Fills[0].Quantity)
	})

	t.Run("open trades marked at the open while sizing", func(t *testing.T) {
		// Long 50 units from 10; on bar 3 a second all-in buy fills at the
		// open, 10, and the bar closes at 20. The default marks the open
		// trade at that open; backtesting.py at the close, 20, a price not
		// known when the order fills.
		bars := []Bar{day(0, 10, 10, 10, 10), day(1, 10, 10, 10, 10), day(2, 10, 10, 10, 10), day(3, 10, 20, 10, 20), day(4, 20, 20, 20, 20)}
		s := func() Strategy {
			return &script{next: func(ctx *Context) {
				switch ctx.Index() {
				case 1:
					_, _ = ctx.Buy(Order{Size: 50, SizeKind: SizeUnits})
				case 2:
					_, _ = ctx.Buy(Order{})
				}
			}}
		}
		def, err := Run(context.Background(), bars, s(), Options{Cash: 1000, Margin: 0.5})
		require.NoError(t, err)
		bt, err := Run(context.Background(), bars, s(), Options{Cash: 1000, Margin: 0.5, Compat: true})
		require.NoError(t, err)
		// Margin 0.5: buying power is twice the free margin, times 1-ε.
		// Default: equity at open 1000, used 50·10/2 = 250, free 750:
		// 1500·(1-ε) / 10 → 149 units. backtesting.py: equity at close
		// 1500, used 50·20/2 = 500, free 1000: 2000·(1-ε) / 10 → 199.
		assert.Equal(t, 149.0, def.Fills[1].Quantity)
		assert.Equal(t, 199.0, bt.Fills[1].Quantity)
	})

	t.Run("commission recorded as paid on partial closes", func(t *testing.T) {
		// Buy 10 units with a fixed fee of 5, then sell 4 and 6: the entry
		// fee (5) is split 2 + 3 over the two closes in the default mode;
		// backtesting.py records a whole entry fee again on each close.
		bars := flatBars(10, 10, 10, 10, 10)
		s := func() Strategy {
			return &script{next: func(ctx *Context) {
				switch ctx.Index() {
				case 1:
					_, _ = ctx.Buy(Order{Size: 10, SizeKind: SizeUnits})
				case 2:
					_, _ = ctx.Sell(Order{Size: 4, SizeKind: SizeUnits})
				case 3:
					_, _ = ctx.Sell(Order{Size: 6, SizeKind: SizeUnits})
				}
			}}
		}
		def, err := Run(context.Background(), bars, s(), Options{Commission: FixedCommission(5)})
		require.NoError(t, err)
		bt, err := Run(context.Background(), bars, s(), Options{Commission: FixedCommission(5), Compat: true})
		require.NoError(t, err)
		require.Len(t, def.Trades, 2)
		assert.Equal(t, []float64{2 + 5, 3 + 5}, []float64{def.Trades[0].Commission, def.Trades[1].Commission})
		assert.Equal(t, []float64{5 + 5, 5 + 5}, []float64{bt.Trades[0].Commission, bt.Trades[1].Commission})
		assert.Equal(t, 15.0, def.Stats.Commissions, "what was paid: three fills of 5")
		assert.Equal(t, def.Stats.EquityFinal, bt.Stats.EquityFinal, "the cash is the same")
	})

	t.Run("trades open at the end close at the last close", func(t *testing.T) {
		bars := []Bar{day(0, 10, 10, 10, 10), day(1, 10, 10, 10, 10), day(2, 10, 10, 10, 10), day(3, 12, 15, 11, 14)}
		s := func() Strategy {
			return onBar(1, func(ctx *Context) { _, _ = ctx.Buy(Order{Size: 1, SizeKind: SizeUnits}) })
		}
		def, err := Run(context.Background(), bars, s(), Options{})
		require.NoError(t, err)
		bt, err := Run(context.Background(), bars, s(), Options{Compat: true})
		require.NoError(t, err)
		assert.Equal(t, 14.0, def.Trades[0].ExitPrice)
		assert.Equal(t, 10_004.0, def.Stats.EquityFinal, "equals the equity marked at the last close")
		assert.Equal(t, 12.0, bt.Trades[0].ExitPrice, "backtesting.py: the last open")
		assert.Equal(t, 10_002.0, bt.Stats.EquityFinal)
	})

	t.Run("trade on close: market orders before the bar's stops", func(t *testing.T) {
		// A stop buy at 11 is pending when, on bar 2, the strategy sells. With
		// TradeOnClose the sell fills at bar 2's close (10), which comes
		// before bar 3's range touches the stop; backtesting.py processes the stop first, in queue order.
		bars := []Bar{day(0, 10, 10, 10, 10), day(1, 10, 10, 10, 10), day(2, 10, 10, 10, 10), day(3, 10, 12, 10, 12), day(4, 12, 12, 12, 12)}
		s := func() Strategy {
			return &script{next: func(ctx *Context) {
				switch ctx.Index() {
				case 1:
					_, _ = ctx.Buy(Order{Size: 1, SizeKind: SizeUnits, Stop: 11})
				case 2:
					_, _ = ctx.Sell(Order{Size: 1, SizeKind: SizeUnits})
				}
			}}
		}
		def, err := Run(context.Background(), bars, s(), Options{TradeOnClose: true})
		require.NoError(t, err)
		bt, err := Run(context.Background(), bars, s(), Options{TradeOnClose: true, Compat: true})
		require.NoError(t, err)
		// Default: the sell fills first (bar 2, 10) and opens a short,
		// which the stop buy at 11 then closes: one trade, -1 from 10 to 11.
		require.Len(t, def.Trades, 1)
		assert.Equal(t, -1.0, def.Trades[0].Size)
		assert.Equal(t, [2]float64{10, 11}, [2]float64{def.Trades[0].EntryPrice, def.Trades[0].ExitPrice})
		// backtesting.py: the stop buy fills first (bar 3, 11), then the
		// sell, stamped bar 2 at 10, closes it: exit before entry, which
		// finkit clamps to the entry bar.
		require.Len(t, bt.Trades, 1)
		assert.Equal(t, 1.0, bt.Trades[0].Size)
		assert.Equal(t, [2]float64{11, 10}, [2]float64{bt.Trades[0].EntryPrice, bt.Trades[0].ExitPrice})
		assert.Equal(t, bt.Trades[0].EntryBar, bt.Trades[0].ExitBar)
	})
}

// unitsCross is the strategy of the testdata/backtesting-py-units files:
// buy(size=units) when SMA(fast) crosses above SMA(slow), sell(size=units)
// when it crosses below, no closing, so that with hedging long and short
// trades are open together.
type unitsCross struct {
	fast, slow Indicator
	units      float64
}

func (s *unitsCross) Init(st *Setup) error {
	s.fast, s.slow = st.SMA(SourceClose, 10), st.SMA(SourceClose, 20)
	return nil
}

func (s *unitsCross) Next(ctx *Context) {
	switch ctx.Cross(s.fast, s.slow) {
	case 1:
		_, _ = ctx.Buy(Order{Size: s.units, SizeKind: SizeUnits})
	case -1:
		_, _ = ctx.Sell(Order{Size: s.units, SizeKind: SizeUnits})
	}
}

// TestGoldenHedgingUnitsBacktestingPy replays backtesting.py 0.6.6 runs of
// unitsCross (2 units, finalize_trades=True) with hedging (long and short
// trades open at once), without it (FIFO netting), with hedging and
// trade_on_close, and with hedging, commission (3, 0.001) and spread
// 0.0005: every statistic, trade and equity value at 1e-9 in Compat mode.
func TestGoldenHedgingUnitsBacktestingPy(t *testing.T) {
	bars := loadGOOG(t)
	dir := "testdata/backtesting-py-units/"
	for name, opts := range map[string]Options{
		"hedging":              {Hedging: true},
		"netting":              {},
		"hedging-tradeonclose": {Hedging: true, TradeOnClose: true},
		"hedging-comm":         {Hedging: true, Commission: CommissionModel{Fixed: 3, Rate: 0.001}, SpreadBps: 5},
	} {
		t.Run(name, func(t *testing.T) {
			opts.Compat = true
			res, err := Run(context.Background(), bars, &unitsCross{units: 2}, opts)
			require.NoError(t, err)
			compareReference(t, loadReference(t, dir+"backtesting-py-0.6.6-units2-sma-10-20-"+name+".json"), res)
		})
	}
}

// TestCompatFinalizeQueueOrder: backtesting.py's finalize calls
// Trade.close() newest trade first, each inserting its order at the front
// of the queue, so the closing orders fill oldest trade first and before
// the orders the last Next placed. From backtesting.py 0.6.6 (buy 3 on bar
// 1, buy 2 on bar 2, sell 4 on the last bar, finalize_trades=True): trades
// 3 @ 11→13 and 2 @ 12→13, the sell then opens a short of 4 at 13, left
// open, Equity Final 1004. finkit queued the closes newest first behind the
// pending sell, which netted against the longs first.
func TestCompatFinalizeQueueOrder(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var bars []Bar
	for i, c := range []float64{10, 10, 11, 12, 14} {
		o := []float64{10, 10, 11, 12, 13}[i]
		bars = append(bars, Bar{Time: t0.AddDate(0, 0, i), Open: o, High: max(o, c), Low: min(o, c), Close: c})
	}
	s := &script{next: func(ctx *Context) {
		switch ctx.Index() {
		case 1:
			_, _ = ctx.Buy(Order{Size: 3, SizeKind: SizeUnits})
		case 2:
			_, _ = ctx.Buy(Order{Size: 2, SizeKind: SizeUnits})
		case 4:
			_, _ = ctx.Sell(Order{Size: 4, SizeKind: SizeUnits})
		}
	}}
	res, err := Run(context.Background(), bars, s, Options{Cash: 1000, Compat: true})
	require.NoError(t, err)
	type tr struct {
		size, entry, exit float64
		bars              [2]int
		open              bool
	}
	var got []tr
	for _, x := range res.Trades {
		got = append(got, tr{x.Size, x.EntryPrice, x.ExitPrice, [2]int{x.EntryBar, x.ExitBar}, x.Open})
	}
	require.Len(t, got, 3)
	assert.Equal(t, tr{3, 11, 13, [2]int{2, 4}, false}, got[0])
	assert.Equal(t, tr{2, 12, 13, [2]int{3, 4}, false}, got[1])
	assert.Equal(t, -4.0, got[2].size)
	assert.True(t, got[2].open)
	assert.Equal(t, 2, res.Stats.NumTrades)
	assert.Equal(t, 1004.0, res.Stats.EquityFinal)
}
