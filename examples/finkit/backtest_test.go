package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/papertrade"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const googCSV = "../../papertrade/testdata/GOOG.csv"

func testEnv() (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{stdin: strings.NewReader(""), stdout: &out, stderr: &errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out, &errOut
}

func TestBacktestCommandJSON(t *testing.T) {
	e, out, _ := testEnv()
	err := runBacktest(context.Background(), e, []string{"--csv", googCSV, "--strategy", "smacross", "--fast", "10", "--slow", "30", "--json", "--trades"})
	require.NoError(t, err)
	var got struct {
		Strategy string                   `json:"strategy"`
		Stats    map[string]any           `json:"stats"`
		Trades   []map[string]interface{} `json:"trades"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, "SMACross(10,30)", got.Strategy)
	// The default mode closes the last trade at the last close, where
	// backtesting.py (--compat) fills it at the last open: 414.2299%.
	assert.InDelta(t, 419.5995, got.Stats["return_pct"], 1e-6)
	assert.Equal(t, 66.0, got.Stats["num_trades"])
	for _, k := range []string{"sharpe_ratio", "max_drawdown_pct", "win_rate_pct", "cagr_pct", "kelly_criterion"} {
		assert.Contains(t, got.Stats, k)
	}
	assert.Len(t, got.Trades, 66)
}

func TestBacktestCommandTable(t *testing.T) {
	e, out, _ := testEnv()
	err := runBacktest(context.Background(), e, []string{"--csv", googCSV, "--strategy", "smacross", "--fast", "10", "--slow", "20", "--commission", "0.2", "--trades"})
	require.NoError(t, err)
	s := out.String()
	assert.Contains(t, s, "SMACross(10,20)")
	assert.Contains(t, s, "Sharpe Ratio")
	assert.Contains(t, s, "entry time")
	assert.Contains(t, s, "Commissions [$]")
}

// --symbol replays the named history provider's bars (the simulated market
// here, offline); the same seed gives the same bars as `finkit stats`.
func TestBacktestSymbol(t *testing.T) {
	e, out, _ := testEnv()
	require.NoError(t, runBacktest(context.Background(), e, []string{"--symbol", "AAPL", "--from", "2020-01-01", "--to", "2024-12-31", "--strategy", "smacross", "--json"}))
	var res struct {
		Stats map[string]any `json:"stats"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &res), "%s", out)
	e, text, _ := testEnv()
	require.NoError(t, runBacktest(context.Background(), e, []string{"--symbol", "AAPL", "--from", "2020-01-01", "--to", "2024-12-31"}))
	assert.Contains(t, text.String(), "on AAPL from sim (")
}

func TestBacktestCommandErrors(t *testing.T) {
	tests := []struct {
		args  []string
		usage bool
	}{
		{[]string{}, true},
		{[]string{"--csv", googCSV, "--strategy", "martingale"}, true},
		{[]string{"--csv", googCSV, "extra"}, true},
		{[]string{"--csv", "does-not-exist.csv"}, false},
		{[]string{"--csv", googCSV, "--cash", "-1"}, false},
		{[]string{"--bogus"}, true},
		{[]string{"--csv", googCSV, "--symbol", "AAPL"}, true},
		{[]string{"--csv", googCSV, "--from", "2020-01-01"}, true},
		{[]string{"--symbol", "AAPL", "--from", "2020-13-01"}, true},
		{[]string{"--symbol", "AAPL", "--provider", "nosuch"}, true},
		{[]string{"--symbol", "AAPL", "--from", "2024-01-01", "--to", "2023-01-01"}, true},
	}
	for _, tc := range tests {
		e, _, _ := testEnv()
		err := runBacktest(context.Background(), e, tc.args)
		require.Error(t, err, "%v", tc.args)
		assert.Equal(t, tc.usage, errorsIsUsage(err), "%v: %v", tc.args, err)
	}
}

func errorsIsUsage(err error) bool {
	return err != nil && strings.Contains(err.Error(), errUsage.Error())
}

func TestMonteCarloCommand(t *testing.T) {
	e, out, _ := testEnv()
	args := []string{"--csv", googCSV, "--strategy", "smacross", "--paths", "40", "--bars", "300", "--method", "bootstrap", "--seed", "3"}
	require.NoError(t, runMonteCarlo(context.Background(), e, args))
	s := out.String()
	assert.Contains(t, s, "of 40 simulated")
	assert.Contains(t, s, "P(profit)")
	assert.Contains(t, s, "histogram")

	e, out, _ = testEnv()
	require.NoError(t, runMonteCarlo(context.Background(), e, append(args, "--json", "--workers", "1")))
	var got map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Contains(t, got, "prob_profit")
	assert.Contains(t, got, "verdict")
	assert.Equal(t, 40.0, got["paths"])

	// The random trader's seed is --random-seed here: --seed is the paths'.
	e, out, _ = testEnv()
	require.NoError(t, runMonteCarlo(context.Background(), e, []string{"--csv", googCSV, "--strategy", "random", "--random-seed", "9",
		"--prob", "0.1", "--paths", "10", "--bars", "200", "--json"}))
	assert.Contains(t, out.String(), "RandomTrader(seed=9)")

	e, _, _ = testEnv()
	err := runMonteCarlo(context.Background(), e, []string{"--csv", googCSV, "--method", "heston"})
	assert.True(t, errorsIsUsage(err))
}

func TestOptimizeCommand(t *testing.T) {
	e, out, _ := testEnv()
	err := runOptimize(context.Background(), e, []string{"--csv", googCSV, "--grid", "fast=5,10", "--grid", "slow=20:40:10", "--metric", "sharpe_ratio", "--walk-forward", "2", "--top", "3"})
	require.NoError(t, err)
	s := out.String()
	assert.Contains(t, s, "fast=")
	assert.Contains(t, s, "walk-forward efficiency")

	e, out, _ = testEnv()
	require.NoError(t, runOptimize(context.Background(), e, []string{"--csv", googCSV, "--grid", "fast=5,10", "--grid", "slow=30", "--json"}))
	var got struct {
		Metric string `json:"metric"`
		Runs   []struct {
			Params map[string]float64 `json:"params"`
			Score  float64            `json:"score"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, "sqn", got.Metric)
	assert.Len(t, got.Runs, 2)

	for _, bad := range [][]string{
		{"--csv", googCSV},
		{"--csv", googCSV, "--grid", "fast"},
		{"--csv", googCSV, "--grid", "fast=1:0:1"},
		{"--csv", googCSV, "--grid", "fast=a,b"},
		{"--csv", googCSV, "--grid", "bogus=1,2"}, // accepted before: every run was the default SMACross
		{"--csv", googCSV, "--grid", "fast=5.5,10"},
		{"--csv", googCSV, "--strategy", "buyhold", "--grid", "fast=5,10"},
	} {
		e, _, _ := testEnv()
		assert.True(t, errorsIsUsage(runOptimize(context.Background(), e, bad)), "%v", bad)
	}
}

// btpyKeys maps backtesting.py's statistic names to the --json keys.
var btpyKeys = map[string]string{
	"Start": "start", "End": "end", "Duration": "duration_days", "Exposure Time [%]": "exposure_time_pct",
	"Equity Final [$]": "equity_final", "Equity Peak [$]": "equity_peak", "Commissions [$]": "commissions",
	"Return [%]": "return_pct", "Buy & Hold Return [%]": "buy_hold_return_pct", "Return (Ann.) [%]": "return_ann_pct",
	"Volatility (Ann.) [%]": "volatility_ann_pct", "CAGR [%]": "cagr_pct", "Sharpe Ratio": "sharpe_ratio",
	"Sortino Ratio": "sortino_ratio", "Calmar Ratio": "calmar_ratio", "Alpha [%]": "alpha_pct", "Beta": "beta",
	"Max. Drawdown [%]": "max_drawdown_pct", "Avg. Drawdown [%]": "avg_drawdown_pct",
	"Max. Drawdown Duration": "max_drawdown_duration_days", "Avg. Drawdown Duration": "avg_drawdown_duration_days",
	"# Trades": "num_trades", "Win Rate [%]": "win_rate_pct", "Best Trade [%]": "best_trade_pct",
	"Worst Trade [%]": "worst_trade_pct", "Avg. Trade [%]": "avg_trade_pct",
	"Max. Trade Duration": "max_trade_duration_days", "Avg. Trade Duration": "avg_trade_duration_days",
	"Profit Factor": "profit_factor", "Expectancy [%]": "expectancy_pct", "SQN": "sqn", "Kelly Criterion": "kelly_criterion",
}

func relClose(got, want float64) bool { return math.Abs(got-want) <= 1e-9*math.Abs(want)+1e-12 }

// TestBacktestCommandReproducesBacktestingPy runs the CLI on the
// configurations of backtesting.py's reference outputs and compares every
// statistic, every trade and the equity curve with them (1e-9 relative).
func TestBacktestCommandReproducesBacktestingPy(t *testing.T) {
	const dir = "../../papertrade/testdata/backtesting-py/"
	readme := []string{"--fast", "10", "--slow", "20", "--no-close", "--commission", "0.2", "--exclusive-orders", "--keep-open"}
	tests := []struct {
		file string
		args []string
	}{
		{"backtesting-py-0.6.6-A-smacross-10-30-finalized.json", []string{"--fast", "10", "--slow", "30", "--compat"}},
		{"backtesting-py-0.6.6-A-open-smacross-10-30-not-finalized.json", []string{"--fast", "10", "--slow", "30", "--compat", "--keep-open"}},
		{"backtesting-py-0.6.6-B-readme-10-20-comm002-exclusive-open.json", append([]string{"--compat"}, readme...)},
		// The README configuration has none of the default mode's
		// differences: it gives the same figures without --compat.
		{"backtesting-py-0.6.6-B-readme-10-20-comm002-exclusive-open.json", readme},
		{"backtesting-py-0.6.5-A-smacross-10-30-finalized.json", []string{"--fast", "10", "--slow", "30", "--compat", "--compat-version", "0.6.5"}},
		{"backtesting-py-0.6.5-B-readme-10-20-comm002-exclusive-open.json", append([]string{"--compat", "--compat-version", "0.6.5"}, readme...)},
	}
	for _, tc := range tests {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			raw, err := os.ReadFile(dir + tc.file)
			require.NoError(t, err)
			var ref map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &ref))
			var refTrades []map[string]float64
			require.NoError(t, json.Unmarshal(ref["_trades"], &refTrades))
			var refEquity []float64
			require.NoError(t, json.Unmarshal(ref["_equity"], &refEquity))

			e, out, _ := testEnv()
			args := append([]string{"--csv", googCSV, "--strategy", "smacross", "--json", "--trades", "--equity"}, tc.args...)
			require.NoError(t, runBacktest(context.Background(), e, args))
			var got struct {
				Stats  map[string]any   `json:"stats"`
				Trades []map[string]any `json:"trades"`
				Equity []float64        `json:"equity"`
			}
			require.NoError(t, json.Unmarshal(out.Bytes(), &got))

			for label, rawWant := range ref {
				if strings.HasPrefix(label, "_") {
					continue
				}
				key, ok := btpyKeys[label]
				require.True(t, ok, "statistic %q", label)
				var want any
				require.NoError(t, json.Unmarshal(rawWant, &want))
				switch w := want.(type) {
				case string:
					if d, err := parseBtpyTimedelta(w); err == nil {
						assert.Equal(t, d.Hours()/24, got.Stats[key], label)
						continue
					}
					ts, err := time.Parse("2006-01-02 15:04:05", w)
					require.NoError(t, err, label)
					assert.Equal(t, ts.Format(time.RFC3339), got.Stats[key], label)
				case float64:
					g, ok := got.Stats[key].(float64)
					require.True(t, ok, "%s: %v", label, got.Stats[key])
					assert.True(t, relClose(g, w), "%s: got %.17g, backtesting.py %.17g", label, g, w)
				}
			}
			var closed []map[string]any
			for _, tr := range got.Trades {
				if tr["open"] != true {
					closed = append(closed, tr)
				}
			}
			require.Len(t, closed, len(refTrades))
			for i, w := range refTrades {
				for _, k := range []string{"size", "entry_bar", "exit_bar", "entry_price", "exit_price", "pnl", "commission"} {
					g := closed[i][k].(float64)
					assert.True(t, relClose(g, w[k]), "trade %d %s: got %.17g, backtesting.py %.17g", i, k, g, w[k])
				}
			}
			require.Len(t, got.Equity, len(refEquity))
			for i, w := range refEquity {
				require.True(t, relClose(got.Equity[i], w), "equity at bar %d: got %.17g, backtesting.py %.17g", i, got.Equity[i], w)
			}
		})
	}
}

// parseBtpyTimedelta reads pandas' "3116 days 00:00:00".
func parseBtpyTimedelta(s string) (time.Duration, error) {
	var d, h, m, sec int
	if _, err := fmt.Sscanf(s, "%d days %d:%d:%d", &d, &h, &m, &sec); err != nil {
		return 0, err
	}
	return time.Duration(d)*24*time.Hour + time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(sec)*time.Second, nil
}

// TestStrategyFlagsGiveEveryEngineOption: each flag that changes results
// reaches the engine options.
func TestStrategyFlagsGiveEveryEngineOption(t *testing.T) {
	parse := func(args ...string) papertrade.Options {
		e, _, _ := testEnv()
		fs := newFlagSet("backtest", e)
		sf := addStrategyFlags(fs, true)
		require.NoError(t, parseFlags(fs, args))
		return sf.options()
	}
	assert.Equal(t, papertrade.Options{Cash: 10_000, Margin: 1}, parse())
	got := parse("--cash", "5000", "--commission", "1", "--commission-fixed", "2.5", "--commission-min", "3",
		"--spread-bps", "10", "--margin", "0.02", "--trade-on-close", "--hedging", "--exclusive-orders", "--keep-open",
		"--fractional", "--compat", "--compat-version", "0.6.5", "--risk-free", "0.03")
	assert.Equal(t, papertrade.Options{
		Cash: 5000, Commission: papertrade.CommissionModel{Fixed: 2.5, Rate: 0.01, Minimum: 3}, SpreadBps: 10, Margin: 0.02,
		TradeOnClose: true, Hedging: true, ExclusiveOrders: true, KeepOpen: true, Fractional: true,
		Compat: true, CompatVersion: "0.6.5", RiskFreeRate: 0.03,
	}, got)
	assert.Equal(t, papertrade.CommissionModel{Fixed: 7}, parse("--commission-fixed", "7").Commission)

	// The README strategy variant.
	e, _, _ := testEnv()
	fs := newFlagSet("backtest", e)
	sf := addStrategyFlags(fs, true)
	require.NoError(t, parseFlags(fs, []string{"--fast", "10", "--slow", "20", "--no-close"}))
	s, err := papertrade.NewStrategy("smacross", sf.setParams(fs))
	require.NoError(t, err)
	assert.Equal(t, &papertrade.SMACross{Fast: 10, Slow: 20, NoClose: true}, s)

	// Typed parameters: a whole number for a period, a flag without a
	// value for a bool; neither was (--fast 10.5 and --longonly 0.5 ran).
	e, _, _ = testEnv()
	fs = newFlagSet("backtest", e)
	sf = addStrategyFlags(fs, true)
	require.NoError(t, parseFlags(fs, []string{"--fast", "5", "--long-only"}))
	s, err = papertrade.NewStrategy("smacross", sf.setParams(fs))
	require.NoError(t, err)
	assert.Equal(t, &papertrade.SMACross{Fast: 5, Slow: 30, LongOnly: true}, s)
	for _, bad := range [][]string{{"--fast", "10.5"}, {"--fast", "0"}, {"--long-only=maybe"}, {"--lookback", "1"}} {
		e, _, _ := testEnv()
		err := runBacktest(context.Background(), e, append([]string{"--csv", googCSV}, bad...))
		assert.True(t, errorsIsUsage(err), "%v: %v", bad, err)
	}
	e, _, _ = testEnv()
	err = runBacktest(context.Background(), e, []string{"--csv", googCSV, "--strategy", "smacross", "--lookback", "30"})
	assert.True(t, errorsIsUsage(err), "a parameter of another strategy: %v", err)
	assert.ErrorContains(t, err, `smacross has no parameter "lookback"`)

	// Bad values are refused by the engine with a clear error.
	for _, bad := range [][]string{{"--margin", "2"}, {"--compat-version", "0.6.6"}, {"--compat", "--compat-version", "0.5"}, {"--commission-fixed", "-1"}} {
		e, _, _ := testEnv()
		err := runBacktest(context.Background(), e, append([]string{"--csv", googCSV}, bad...))
		assert.ErrorIs(t, err, papertrade.ErrInvalidOptions, "%v", bad)
	}
	e, _, _ = testEnv()
	assert.True(t, errorsIsUsage(runBacktest(context.Background(), e, []string{"--csv", googCSV, "--margin", "0"})), "--margin 0")
}

// writeBars writes the first n bars of GOOG as a CSV file.
func writeBars(t *testing.T, n int) string {
	t.Helper()
	raw, err := os.ReadFile(googCSV)
	require.NoError(t, err)
	lines := strings.SplitAfter(string(raw), "\n")
	path := filepath.Join(t.TempDir(), "bars.csv")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines[:n+1], "")), 0o600))
	return path
}

// TestOptimizeCommandJSONWithNaN: `finkit optimize --json` used to fail
// with "json: unsupported value: NaN" when one run's metric was undefined
// (slow SMA 290 on 300 bars never trades) and on walk-forward over 60 bars.
func TestOptimizeCommandJSONWithNaN(t *testing.T) {
	e, out, _ := testEnv()
	require.NoError(t, runOptimize(context.Background(), e, []string{"--csv", writeBars(t, 300), "--grid", "fast=5,10", "--grid", "slow=20,290", "--json"}))
	var got struct {
		Runs []struct {
			Params map[string]float64 `json:"params"`
			Score  *float64           `json:"score"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Len(t, got.Runs, 4)
	assert.NotNil(t, got.Runs[0].Score)
	assert.Nil(t, got.Runs[3].Score, "undefined, ranked last")
	assert.Equal(t, 290.0, got.Runs[3].Params["slow"])

	e, out, _ = testEnv()
	require.NoError(t, runOptimize(context.Background(), e, []string{"--csv", writeBars(t, 60), "--grid", "fast=5", "--grid", "slow=20", "--walk-forward", "2", "--json"}))
	var wf map[string]any
	require.NoError(t, json.Unmarshal(out.Bytes(), &wf))
	assert.Contains(t, wf, "walk_forward_efficiency")
	assert.Nil(t, wf["walk_forward_efficiency"])
}

// TestOptimizeProgressBar: on a terminal `finkit optimize` draws a bar
// of the grid's backtests on stderr (it drew nothing: the grid ran
// silently); with --json, or off a terminal, stderr stays empty and
// stdout is only the result.
func TestOptimizeProgressBar(t *testing.T) {
	args := []string{"--csv", googCSV, "--grid", "fast=5,10", "--grid", "slow=20:40:10", "--walk-forward", "2"}
	e, out, errOut := testEnv()
	e.terminal = func(io.Writer) bool { return true }
	require.NoError(t, runOptimize(context.Background(), e, args))
	assert.Contains(t, errOut.String(), "backtesting the grid")
	assert.Contains(t, errOut.String(), "100 %")
	// 6 combinations, again in each of 2 folds, and 2 out-of-sample runs.
	assert.Contains(t, errOut.String(), "20/20 backtests")
	assert.Contains(t, out.String(), "walk-forward efficiency")

	e, out, errOut = testEnv()
	e.terminal = func(io.Writer) bool { return true }
	require.NoError(t, runOptimize(context.Background(), e, append(args, "--json")))
	assert.Empty(t, errOut.String())
	assert.True(t, json.Valid(out.Bytes()), "%q", out.String())

	e, _, errOut = testEnv() // buffers are not terminals
	require.NoError(t, runOptimize(context.Background(), e, args))
	assert.Empty(t, errOut.String())
}
