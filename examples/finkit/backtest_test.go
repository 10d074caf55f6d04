package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"strings"
	"testing"

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
	assert.InDelta(t, 419.5995, got.Stats["return_pct"], 1e-6, "backtesting.py's figure")
	assert.Equal(t, 66.0, got.Stats["num_trades"])
	for _, k := range []string{"sharpe_ratio", "max_drawdown_pct", "win_rate_pct", "cagr_pct", "kelly_criterion"} {
		assert.Contains(t, got.Stats, k)
	}
	assert.Len(t, got.Trades, 66)
}

func TestBacktestCommandTable(t *testing.T) {
	e, out, _ := testEnv()
	err := runBacktest(context.Background(), e, []string{"--csv", googCSV, "--strategy", "smacross", "--fast", "10", "--slow", "20", "--commission", "0.002", "--trades"})
	require.NoError(t, err)
	s := out.String()
	assert.Contains(t, s, "SMACross(10,20)")
	assert.Contains(t, s, "Sharpe Ratio")
	assert.Contains(t, s, "entry time")
	assert.Contains(t, s, "Commissions [$]")
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
	} {
		e, _, _ := testEnv()
		assert.True(t, errorsIsUsage(runOptimize(context.Background(), e, bad)), "%v", bad)
	}
}
