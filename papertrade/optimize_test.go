package papertrade

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func smaParams(p Params) (Strategy, error) { return NewStrategy("smacross", p) }

func TestOptimizeGrid(t *testing.T) {
	bars := loadGOOG(t)
	opts := OptimizeOptions{
		Grid:       map[string][]float64{"fast": {5, 10, 20}, "slow": {20, 30, 50}},
		Constraint: func(p Params) bool { return p["fast"] < p["slow"] },
		Workers:    3,
	}
	res, err := Optimize(context.Background(), bars, smaParams, opts)
	require.NoError(t, err)
	assert.Len(t, res.Runs, 8, "9 combinations minus fast=20,slow=20")
	assert.Equal(t, "sqn", res.Metric)
	for i := 1; i < len(res.Runs); i++ {
		assert.GreaterOrEqual(t, res.Runs[i-1].Score, res.Runs[i].Score)
	}
	// The (10, 30) run is the golden run: its SQN is backtesting.py's.
	for _, r := range res.Runs {
		if r.Params["fast"] == 10 && r.Params["slow"] == 30 {
			assert.InEpsilon(t, 1.0880865497975716, r.Score, 1e-9)
		}
	}
	opts.Workers = 1
	one, err := Optimize(context.Background(), bars, smaParams, opts)
	require.NoError(t, err)
	assert.Equal(t, res.Runs, one.Runs, "same ranking with 1 worker")
	assert.Contains(t, res.Summary(), "best of 8 by sqn")
}

func TestOptimizeWalkForward(t *testing.T) {
	bars := loadGOOG(t)
	res, err := Optimize(context.Background(), bars, smaParams, OptimizeOptions{
		Grid:        map[string][]float64{"fast": {5, 10}, "slow": {20, 40}},
		Metric:      "return_pct",
		WalkForward: 3,
	})
	require.NoError(t, err)
	require.Len(t, res.Folds, 3)
	for i, f := range res.Folds {
		assert.True(t, f.InEnd.Before(f.OutStart), "fold %d: out of sample follows in sample", i)
		if i > 0 {
			assert.Equal(t, res.Folds[i-1].OutStart, f.InStart)
		}
		assert.Contains(t, []float64{5, 10}, f.Best["fast"])
		assert.False(t, math.IsNaN(f.OutOfSample))
	}
	assert.False(t, math.IsNaN(res.Efficiency))
	assert.Contains(t, res.Summary(), "walk-forward efficiency")
}

func TestOptimizeBadInput(t *testing.T) {
	bars := loadGOOG(t)
	grid := map[string][]float64{"fast": {5}, "slow": {20}}
	_, err := Optimize(context.Background(), bars, smaParams, OptimizeOptions{})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
	_, err = Optimize(context.Background(), bars, smaParams, OptimizeOptions{Grid: grid, Metric: "luck"})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
	_, err = Optimize(context.Background(), bars, nil, OptimizeOptions{Grid: grid})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
	_, err = Optimize(context.Background(), bars, smaParams, OptimizeOptions{Grid: map[string][]float64{"fast": {}}})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
	_, err = Optimize(context.Background(), bars, smaParams, OptimizeOptions{Grid: grid, Constraint: func(Params) bool { return false }})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
	_, err = Optimize(context.Background(), bars, smaParams, OptimizeOptions{Grid: map[string][]float64{"fast": {1.5}}})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
	_, err = Optimize(context.Background(), bars, smaParams, OptimizeOptions{Grid: grid, WalkForward: 1000})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
	boom := errors.New("boom")
	_, err = Optimize(context.Background(), bars, func(Params) (Strategy, error) { return nil, boom }, OptimizeOptions{Grid: grid})
	assert.ErrorIs(t, err, boom)
	big := map[string][]float64{"a": make([]float64, 400), "b": make([]float64, 400)}
	_, err = Optimize(context.Background(), bars, smaParams, OptimizeOptions{Grid: big})
	assert.ErrorIs(t, err, ErrInvalidOptimize)
}

func TestNewStrategy(t *testing.T) {
	for _, name := range StrategyNames() {
		s, err := NewStrategy(name, nil)
		require.NoError(t, err, name)
		assert.NotNil(t, s)
	}
	s, err := NewStrategy("SMACross", Params{"fast": 5, "slow": 15, "long-only": 1})
	require.NoError(t, err)
	assert.Equal(t, &SMACross{Fast: 5, Slow: 15, LongOnly: true}, s)
	_, err = NewStrategy("martingale", nil)
	assert.ErrorIs(t, err, ErrInvalidStrategy)
	_, err = NewStrategy("rsi", Params{"period": -2})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
	_, err = NewStrategy("smacross", Params{"fast": 0})
	assert.ErrorIs(t, err, ErrInvalidStrategy)
}

// TestOptimizeJSONWithNaNScores: a run whose metric is undefined (slow SMA
// 290 on 300 bars never trades, so its SQN is NaN) ranks last and encodes
// as null, like the statistics; so does a walk-forward Efficiency built
// from undefined fold scores. encoding/json used to refuse the whole result.
func TestOptimizeJSONWithNaNScores(t *testing.T) {
	bars := syntheticBars(300, 5)
	res, err := Optimize(context.Background(), bars, smaParams, OptimizeOptions{
		Grid: map[string][]float64{"fast": {5, 10}, "slow": {20, 290}},
	})
	require.NoError(t, err)
	require.Len(t, res.Runs, 4)
	for i, r := range res.Runs {
		assert.Equal(t, i >= 2, math.IsNaN(r.Score), "run %d (%s): NaN scores rank last", i, r.Params)
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	var back struct {
		Runs []struct {
			Params Params   `json:"params"`
			Score  *float64 `json:"score"`
			Stats  struct {
				SQN *float64 `json:"sqn"`
			} `json:"stats"`
		} `json:"runs"`
	}
	require.NoError(t, json.Unmarshal(b, &back))
	require.Len(t, back.Runs, 4)
	for i, r := range back.Runs {
		if i < 2 {
			require.NotNil(t, r.Score)
			assert.Equal(t, res.Runs[i].Score, *r.Score)
			assert.Equal(t, res.Runs[i].Params, r.Params)
		} else {
			assert.Nil(t, r.Score, "NaN score is null")
			assert.Nil(t, r.Stats.SQN)
		}
	}

	wf, err := Optimize(context.Background(), bars[:60], smaParams, OptimizeOptions{
		Grid: map[string][]float64{"fast": {5}, "slow": {20}}, WalkForward: 2,
	})
	require.NoError(t, err)
	require.True(t, math.IsNaN(wf.Efficiency))
	b, err = json.Marshal(wf)
	require.NoError(t, err)
	var wback map[string]any
	require.NoError(t, json.Unmarshal(b, &wback))
	require.Contains(t, wback, "walk_forward_efficiency")
	assert.Nil(t, wback["walk_forward_efficiency"])
	folds := wback["walk_forward"].([]any)
	require.Len(t, folds, 2)
	for _, f := range folds {
		assert.Nil(t, f.(map[string]any)["in_sample_score"])
	}

	// Without walk-forward the efficiency is left out, as before.
	b, err = json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(b), "walk_forward_efficiency")
}

// TestOptimizeProgress: every backtest of the grid and of each
// walk-forward fold is counted once, in order, from several workers; the
// last call is the total. A cancelled run stops reporting.
func TestOptimizeProgress(t *testing.T) {
	bars := loadGOOG(t)
	var seen []int
	totals := map[int]bool{}
	res, err := Optimize(context.Background(), bars, smaParams, OptimizeOptions{
		Grid:        map[string][]float64{"fast": {5, 10, 15}, "slow": {20, 40}},
		WalkForward: 2,
		Workers:     3,
		Progress: func(done, total int) {
			seen = append(seen, done) // serialized: no lock needed
			totals[total] = true
		},
	})
	require.NoError(t, err)
	require.Len(t, res.Folds, 2)
	want := 6 + 2*6 + 2 // the grid, each fold's grid, each fold's out-of-sample run
	assert.Equal(t, map[int]bool{want: true}, totals)
	require.Len(t, seen, want)
	for i, d := range seen {
		assert.Equal(t, i+1, d)
	}

	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	_, err = Optimize(ctx, bars, smaParams, OptimizeOptions{
		Grid:    map[string][]float64{"fast": {2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, "slow": {20, 30, 40, 50, 60, 70, 80, 90}},
		Workers: 1,
		Progress: func(done, total int) {
			calls++
			if done == 3 {
				cancel()
			}
		},
	})
	assert.ErrorIs(t, err, context.Canceled)
	assert.LessOrEqual(t, calls, 4, "the grid stopped at the cancel (one run may be under way)")
}
