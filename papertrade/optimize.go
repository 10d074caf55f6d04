package papertrade

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"
)

// ErrInvalidOptimize is returned for bad optimization options.
var ErrInvalidOptimize = errors.New("papertrade: invalid optimization options")

// Params are named strategy parameters.
type Params map[string]float64

// String formats params sorted by name: "fast=10 slow=30".
func (p Params) String() string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%g", k, p[k])
	}
	return strings.Join(parts, " ")
}

// Factory builds a fresh strategy for a parameter set.
type Factory func(Params) (Strategy, error)

// OptimizeOptions configure Optimize.
type OptimizeOptions struct {
	// Grid lists the values to try for each parameter; every combination
	// is run (at most 100,000).
	Grid map[string][]float64
	// Metric is the Stats JSON key to maximize (default "sqn", like
	// backtesting.py); for drawdowns, less negative is better.
	Metric string
	// Constraint, if set, skips combinations it returns false for (e.g.
	// fast < slow).
	Constraint func(Params) bool
	// Workers bounds the parallel backtests (default GOMAXPROCS).
	Workers int
	// Backtest are the engine options for every run.
	Backtest Options
	// WalkForward, when > 0, also runs that many walk-forward folds: the
	// bars are cut into WalkForward+1 equal windows; each fold optimizes on
	// one window and tests the winner on the next.
	WalkForward int
	// Progress, if set, is called after each finished backtest with the
	// number done so far and the total (the grid, plus the grid and one
	// out-of-sample run per walk-forward fold); calls are serialized and
	// done only grows, reaching total when Optimize succeeds.
	Progress func(done, total int)
}

// progress counts finished units of work for a Progress callback. The
// zero value (no callback) counts nothing.
type progress struct {
	report      func(done, total int)
	mu          sync.Mutex
	done, total int
}

// step records one finished unit.
func (p *progress) step() {
	if p == nil || p.report == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	p.report(p.done, p.total)
}

// ParamRun is one backtest of the grid. Score is NaN when the metric is
// undefined for the run (no trades, say); such runs rank last and Score is
// null in JSON, like the statistics.
type ParamRun struct {
	Params Params  `json:"params"`
	Score  float64 `json:"score"`
	Stats  Stats   `json:"stats"`
}

// Fold is one walk-forward step. Undefined scores are NaN, null in JSON.
type Fold struct {
	InStart       time.Time `json:"in_sample_start"`
	InEnd         time.Time `json:"in_sample_end"`
	OutStart      time.Time `json:"out_of_sample_start"`
	OutEnd        time.Time `json:"out_of_sample_end"`
	Best          Params    `json:"best_params"`
	InSample      float64   `json:"in_sample_score"`
	OutOfSample   float64   `json:"out_of_sample_score"`
	OutReturnPct  float64   `json:"out_of_sample_return_pct"`
	OutBuyHoldPct float64   `json:"out_of_sample_buy_hold_pct"`
}

// OptimizeResult ranks the grid, best first.
type OptimizeResult struct {
	Metric string     `json:"metric"`
	Runs   []ParamRun `json:"runs"`
	Folds  []Fold     `json:"walk_forward,omitempty"`
	// Efficiency is the mean out-of-sample score over the mean in-sample
	// score of the walk-forward folds: near 1 the optimum holds up, near 0
	// or negative it was over-fitted. It is NaN (null in JSON) when a fold's
	// score is undefined, and left out of JSON without walk-forward.
	Efficiency float64 `json:"walk_forward_efficiency,omitempty"`
}

// jsonFloat is a float64 that encodes NaN and infinities as null.
type jsonFloat float64

// MarshalJSON implements json.Marshaler.
func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// MarshalJSON encodes the run with an undefined Score as null.
func (r ParamRun) MarshalJSON() ([]byte, error) {
	type plain ParamRun
	return json.Marshal(struct {
		plain
		Score jsonFloat `json:"score"`
	}{plain(r), jsonFloat(r.Score)})
}

// MarshalJSON encodes the fold with undefined scores as null.
func (f Fold) MarshalJSON() ([]byte, error) {
	type plain Fold
	return json.Marshal(struct {
		plain
		InSample    jsonFloat `json:"in_sample_score"`
		OutOfSample jsonFloat `json:"out_of_sample_score"`
	}{plain(f), jsonFloat(f.InSample), jsonFloat(f.OutOfSample)})
}

// MarshalJSON encodes the result with an undefined Efficiency as null.
func (r OptimizeResult) MarshalJSON() ([]byte, error) {
	type plain OptimizeResult
	return json.Marshal(struct {
		plain
		Efficiency jsonFloat `json:"walk_forward_efficiency,omitempty"`
	}{plain(r), jsonFloat(r.Efficiency)})
}

// Best is the top-ranked run.
func (r *OptimizeResult) Best() ParamRun { return r.Runs[0] }

// Summary implements portfolio.Reportable.
func (r *OptimizeResult) Summary() string {
	b := r.Best()
	s := fmt.Sprintf("best of %d by %s: %s (%s %.4g, return %.2f%%)", len(r.Runs), r.Metric, b.Params, r.Metric, b.Score, b.Stats.ReturnPct)
	if len(r.Folds) > 0 {
		s += fmt.Sprintf("; walk-forward efficiency %.2f over %d folds", r.Efficiency, len(r.Folds))
	}
	return s
}

// StatValue returns the statistic with JSON key (e.g. "sharpe_ratio").
func StatValue(s Stats, key string) (float64, bool) {
	for _, f := range s.fields() {
		if f.key != key {
			continue
		}
		switch v := f.v.(type) {
		case float64:
			return v, true
		case int:
			return float64(v), true
		}
	}
	return 0, false
}

func gridCombos(grid map[string][]float64, keep func(Params) bool) ([]Params, error) {
	names := make([]string, 0, len(grid))
	total := 1
	for k, vs := range grid {
		if len(vs) == 0 {
			return nil, fmt.Errorf("%w: parameter %q has no values", ErrInvalidOptimize, k)
		}
		names = append(names, k)
		total *= len(vs)
		if total > 100_000 {
			return nil, fmt.Errorf("%w: more than 100,000 combinations", ErrInvalidOptimize)
		}
	}
	sort.Strings(names)
	var out []Params
	idx := make([]int, len(names))
	for {
		p := Params{}
		for i, n := range names {
			p[n] = grid[n][idx[i]]
		}
		if keep == nil || keep(p) {
			out = append(out, p)
		}
		k := len(idx) - 1
		for k >= 0 {
			idx[k]++
			if idx[k] < len(grid[names[k]]) {
				break
			}
			idx[k] = 0
			k--
		}
		if k < 0 {
			break
		}
	}
	return out, nil
}

// Optimize backtests every parameter combination of the grid in parallel
// (bounded by Workers), ranks them by Metric (NaN last), and optionally
// walks forward to show how the best parameters fare out of sample.
func Optimize(ctx context.Context, bars []Bar, factory Factory, opts OptimizeOptions) (*OptimizeResult, error) {
	if err := ValidateBars(bars); err != nil {
		return nil, err
	}
	if factory == nil {
		return nil, fmt.Errorf("%w: nil factory", ErrInvalidOptimize)
	}
	if len(opts.Grid) == 0 {
		return nil, fmt.Errorf("%w: empty grid", ErrInvalidOptimize)
	}
	if opts.Metric == "" {
		opts.Metric = "sqn"
	}
	if _, ok := StatValue(Stats{}, opts.Metric); !ok {
		return nil, fmt.Errorf("%w: unknown metric %q", ErrInvalidOptimize, opts.Metric)
	}
	if opts.Workers <= 0 {
		opts.Workers = runtime.GOMAXPROCS(0)
	}
	if opts.WalkForward < 0 || (opts.WalkForward > 0 && len(bars)/(opts.WalkForward+1) < 10) {
		return nil, fmt.Errorf("%w: %d walk-forward folds for %d bars", ErrInvalidOptimize, opts.WalkForward, len(bars))
	}
	combos, err := gridCombos(opts.Grid, opts.Constraint)
	if err != nil {
		return nil, err
	}
	if len(combos) == 0 {
		return nil, fmt.Errorf("%w: the constraint rejects every combination", ErrInvalidOptimize)
	}
	prog := &progress{report: opts.Progress, total: len(combos) * (1 + opts.WalkForward)}
	prog.total += opts.WalkForward
	runs, err := runGrid(ctx, bars, factory, combos, opts, prog)
	if err != nil {
		return nil, err
	}
	res := &OptimizeResult{Metric: opts.Metric, Runs: runs}
	if opts.WalkForward == 0 {
		return res, nil
	}
	seg := len(bars) / (opts.WalkForward + 1)
	var inSum, outSum float64
	for f := range opts.WalkForward {
		in := bars[f*seg : (f+1)*seg]
		out := bars[(f+1)*seg : min((f+2)*seg, len(bars))]
		if f == opts.WalkForward-1 {
			out = bars[(f+1)*seg:]
		}
		inRuns, err := runGrid(ctx, in, factory, combos, opts, prog)
		if err != nil {
			return nil, fmt.Errorf("walk-forward fold %d: %w", f+1, err)
		}
		best := inRuns[0]
		s, err := factory(best.Params)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrInvalidStrategy, err)
		}
		oos, err := Run(ctx, out, s, opts.Backtest)
		if err != nil {
			return nil, fmt.Errorf("walk-forward fold %d: %w", f+1, err)
		}
		prog.step()
		score := score(oos.Stats, opts.Metric)
		res.Folds = append(res.Folds, Fold{
			InStart: in[0].Time, InEnd: in[len(in)-1].Time, OutStart: out[0].Time, OutEnd: out[len(out)-1].Time,
			Best: best.Params, InSample: best.Score, OutOfSample: score,
			OutReturnPct: oos.Stats.ReturnPct, OutBuyHoldPct: oos.Stats.BuyHoldReturnPct,
		})
		inSum += best.Score
		outSum += score
	}
	res.Efficiency = nanDiv(outSum, inSum)
	return res, nil
}

func score(s Stats, metric string) float64 {
	v, _ := StatValue(s, metric)
	if math.IsInf(v, 0) {
		return math.NaN()
	}
	return v
}

func runGrid(ctx context.Context, bars []Bar, factory Factory, combos []Params, opts OptimizeOptions, prog *progress) ([]ParamRun, error) {
	runs := make([]ParamRun, len(combos))
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(opts.Workers)
	for i, p := range combos {
		g.Go(func() error {
			if err := gctx.Err(); err != nil {
				return err
			}
			s, err := factory(p)
			if err != nil {
				return fmt.Errorf("%w: %s: %w", ErrInvalidStrategy, p, err)
			}
			r, err := Run(gctx, bars, s, opts.Backtest)
			if err != nil {
				return fmt.Errorf("%s: %w", p, err)
			}
			runs[i] = ParamRun{Params: p, Score: score(r.Stats, opts.Metric), Stats: r.Stats}
			prog.step()
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return nil, fmt.Errorf("papertrade: optimize: %w", err)
	}
	slices.SortStableFunc(runs, func(a, b ParamRun) int {
		an, bn := math.IsNaN(a.Score), math.IsNaN(b.Score)
		switch {
		case an && bn:
			return 0
		case an:
			return 1
		case bn:
			return -1
		case a.Score > b.Score:
			return -1
		case a.Score < b.Score:
			return 1
		}
		return 0
	})
	return runs, nil
}
