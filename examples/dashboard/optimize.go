package main

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/papertrade"
)

// Optimisation jobs: papertrade.Optimize over a grid of the chosen
// strategy's parameters, as a job of mcjobs.go (the same limits, cancel
// and progress bar; its units are backtests, reported by
// OptimizeOptions.Progress). Each parameter's range is a field of the
// backtest form ("5:20:5" or "5,10,20"; empty keeps the backtest's value),
// prefilled from the parameter's definition in papertrade.Strategies().

// Bounds of an optimisation.
const (
	maxOptValues = 50  // values of one parameter
	maxOptCombos = 500 // combinations of the grid
	maxOptFolds  = 5   // walk-forward folds
	// maxOptSimulatedBars bounds the backtests times the bars (about a
	// minute of CPU).
	maxOptSimulatedBars = 5_000_000
	optShown            = 20 // best runs shown and answered
	minFoldBars         = 10 // bars of one walk-forward window at least (Optimize's)
)

// optimizeMetric is a statistic an optimisation may maximise: its key in
// papertrade.Stats' JSON and its name on the page.
type optimizeMetric struct{ Key, Label string }

// optimizeMetrics lists the metrics the form offers, the default first.
func optimizeMetrics() []optimizeMetric {
	return []optimizeMetric{
		{"sharpe_ratio", "Sharpe ratio"}, {"sqn", "SQN"}, {"sortino_ratio", "Sortino ratio"},
		{"calmar_ratio", "Calmar ratio"}, {"return_pct", "Return"}, {"cagr_pct", "CAGR"},
		{"max_drawdown_pct", "Max drawdown (the smallest)"}, {"win_rate_pct", "Win rate"},
		{"profit_factor", "Profit factor"},
	}
}

// metricLabel names metric key k for people.
func metricLabel(k string) string {
	for _, m := range optimizeMetrics() {
		if m.Key == k {
			return m.Label
		}
	}
	return k
}

// optimizeFormFrom reads the optimisation's fields into f: each
// parameter's range ("opt.<strategy>.<param>", its default range when
// absent), the metric and the walk-forward folds.
func optimizeFormFrom(f *backtestForm, field func(k, def string) string) {
	f.Metric = field("metric", optimizeMetrics()[0].Key)
	f.Folds = field("folds", "0")
	f.Ranges = map[string]string{}
	for _, s := range papertrade.Strategies() {
		for _, p := range s.Params {
			key := s.Name + "." + p.Name
			f.Ranges[key] = field("opt."+key, defaultRange(p))
		}
	}
}

// defaultRange is the range a parameter is optimised over unless the user
// gives another: half, one, one and a half and two times its default,
// within its bounds; none (the backtest's value) for a switch or a
// parameter whose default is 0.
func defaultRange(p papertrade.ParamInfo) string {
	if p.Type == papertrade.ParamBool || p.Default == 0 {
		return ""
	}
	var vals []string
	for _, k := range []float64{0.5, 1, 1.5, 2} {
		v := min(max(p.Default*k, p.Min), p.Max)
		if p.Type == papertrade.ParamInt {
			v = math.Round(v)
		}
		if s := p.Format(v); p.Check(v) == nil && !slices.Contains(vals, s) {
			vals = append(vals, s)
		}
	}
	return strings.Join(vals, ",")
}

// parseRange reads the values of parameter p: "start:stop:step" or a list
// "v1,v2,…", each a value p may take; sorted, without repeats.
func parseRange(p papertrade.ParamInfo, spec string) ([]float64, error) {
	bad := func(format string, args ...any) error {
		return badInput(http.StatusBadRequest, "%s: "+format, append([]any{p.Label}, args...)...)
	}
	var vals []float64
	if parts := strings.Split(spec, ":"); len(parts) == 3 {
		var f [3]float64
		for i, s := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
			if err != nil || math.IsNaN(v) || math.IsInf(v, 0) {
				return nil, bad("give a range as start:stop:step (like 5:20:5) or values separated by commas.")
			}
			f[i] = v
		}
		if f[2] <= 0 || f[1] < f[0] {
			return nil, bad("in start:stop:step the step must be above 0 and stop not below start.")
		}
		if n := (f[1]-f[0])/f[2] + 1; n > maxOptValues {
			return nil, bad("%s gives %.0f values; a parameter takes at most %d.", spec, math.Floor(n), maxOptValues)
		}
		if f[2] < 1e-9 { // values are rounded to 1e-9: a smaller step never moves
			return nil, bad("in start:stop:step the step must be at least 0.000000001.")
		}
		for i := 0; ; i++ {
			v := math.Round((f[0]+float64(i)*f[2])*1e9) / 1e9
			if v > f[1]+1e-9 {
				break
			}
			if i == maxOptValues { // rounding kept it below stop
				return nil, bad("%s gives more than %d values; a parameter takes at most %d.", spec, maxOptValues, maxOptValues)
			}
			if p.Check(v) != nil {
				return nil, bad("%s is not a value it takes (%s).", p.Format(v), paramProblem(p))
			}
			vals = append(vals, v)
		}
	} else {
		items := strings.Split(spec, ",")
		if len(items) > maxOptValues {
			return nil, bad("%d values; a parameter takes at most %d.", len(items), maxOptValues)
		}
		for _, s := range items {
			v, err := p.Parse(s)
			if err != nil {
				return nil, bad("%q is not a value it takes (%s).", strings.TrimSpace(s), paramProblem(p))
			}
			vals = append(vals, v)
		}
	}
	slices.Sort(vals)
	return slices.Compact(vals), nil
}

// gridConstraint skips the combinations a strategy refuses to start with
// (its Init's rules across parameters), and says what they are.
func gridConstraint(strategy string) (func(papertrade.Params) bool, string) {
	switch strategy {
	case "smacross":
		return func(p papertrade.Params) bool { return p["fast"] < p["slow"] }, "the fast SMA must be shorter than the slow one"
	case "rsi":
		return func(p papertrade.Params) bool { return 0 < p["lower"] && p["lower"] < p["upper"] && p["upper"] < 100 },
			"0 < buy below < sell above < 100"
	}
	return nil, ""
}

// optimizePlan is a checked optimisation: the grid, what it maximises,
// the folds, and how many backtests it runs.
type optimizePlan struct {
	grid      map[string][]float64
	keep      func(papertrade.Params) bool
	metric    string
	folds     int
	combos    int // combinations the constraint keeps
	backtests int // Optimize's units of work
}

// planOptimize checks the form's optimisation fields for strategy info
// over bars bars; a parameter without a range keeps its backtest value
// (fixed). Its errors are sentences for the user.
func planOptimize(info papertrade.StrategyInfo, f backtestForm, fixed papertrade.Params, bars int) (optimizePlan, error) {
	pl := optimizePlan{grid: map[string][]float64{}, metric: strings.TrimSpace(f.Metric)}
	if !slices.ContainsFunc(optimizeMetrics(), func(m optimizeMetric) bool { return m.Key == pl.metric }) {
		return pl, badInput(http.StatusBadRequest, "There is no metric %q to maximise.", pl.metric)
	}
	folds, err := strconv.Atoi(strings.TrimSpace(f.Folds))
	if err != nil || folds < 0 || folds > maxOptFolds {
		return pl, badInput(http.StatusBadRequest, "The walk-forward folds must be a whole number from 0 to %d.", maxOptFolds)
	}
	if folds > 0 && bars/(folds+1) < minFoldBars {
		return pl, badInput(http.StatusUnprocessableEntity, "%d bars are too few for %d walk-forward folds.", bars, folds)
	}
	pl.folds = folds
	varied := 0
	for _, p := range info.Params {
		spec := strings.TrimSpace(f.Ranges[info.Name+"."+p.Name])
		if spec == "" {
			pl.grid[p.Name] = []float64{fixed[p.Name]}
			continue
		}
		vals, err := parseRange(p, spec)
		if err != nil {
			return pl, err
		}
		pl.grid[p.Name] = vals
		varied++
	}
	if varied == 0 {
		return pl, badInput(http.StatusBadRequest, "Give a range of values for at least one parameter to optimise.")
	}
	total := 1
	for _, vs := range pl.grid {
		total *= len(vs) // at most maxOptValues each; checked as it grows
		if total > maxOptCombos {
			return pl, badInput(http.StatusUnprocessableEntity,
				"That grid has more than %d combinations; narrow a range or take a larger step.", maxOptCombos)
		}
	}
	keep, rule := gridConstraint(info.Name)
	pl.keep = keep
	pl.combos = countCombos(pl.grid, keep)
	if pl.combos == 0 {
		return pl, badInput(http.StatusBadRequest, "No combination of that grid can run (%s).", rule)
	}
	pl.backtests = pl.combos*(1+folds) + folds
	if pl.backtests*bars > maxOptSimulatedBars {
		return pl, tooMuchWork("%d backtests over %d bars is more than an optimisation runs (%d bars in all); narrow the grid or use fewer folds.",
			pl.backtests, bars, maxOptSimulatedBars)
	}
	return pl, nil
}

// countCombos counts the grid's combinations keep accepts (all without
// keep).
func countCombos(grid map[string][]float64, keep func(papertrade.Params) bool) int {
	names := make([]string, 0, len(grid))
	for k := range grid {
		names = append(names, k)
	}
	n := 0
	p := papertrade.Params{}
	var walk func(i int)
	walk = func(i int) {
		if i == len(names) {
			if keep == nil || keep(p) {
				n++
			}
			return
		}
		for _, v := range grid[names[i]] {
			p[names[i]] = v
			walk(i + 1)
		}
	}
	walk(0)
	return n
}

// optimizeView is a finished optimisation on the page.
type optimizeView struct {
	Result      *papertrade.OptimizeResult // runs cut to the best optShown
	Metric      string                     // its label
	Combos      int
	Best        []paramValue // of the parameters the grid varies
	Varied      int          // parameters the grid varies
	Fixed       string       // the others, as paramsText
	BacktestURL string       // the backtest page with the best parameters
	Rows        []optimizeRow
	Folds       []foldRow
}

type paramValue struct{ Label, Value string }

type optimizeRow struct {
	Rank                                  int
	Params, Score, Return, MaxDD, WinRate string
	Trades                                int
	ReturnClass                           string
}

type foldRow struct {
	In, Out, Params, InScore, OutScore, OutReturn, OutBuyHold string
}

// newOptimizeView shows res, the optimisation of form f's strategy info
// over grid: the runs and folds name the parameters the grid varies, the
// others are said once.
func newOptimizeView(res *papertrade.OptimizeResult, f backtestForm, info papertrade.StrategyInfo, grid map[string][]float64, combos int) *optimizeView {
	if len(res.Runs) > optShown {
		res.Runs = res.Runs[:optShown]
	}
	ov := &optimizeView{Result: res, Metric: metricLabel(res.Metric), Combos: combos}
	var varied, fixed []papertrade.ParamInfo
	for _, p := range info.Params {
		if len(grid[p.Name]) > 1 {
			varied = append(varied, p)
		} else {
			fixed = append(fixed, p)
		}
	}
	ov.Fixed = paramsText(fixed, res.Best().Params)
	best := res.Best()
	ov.Varied = len(varied)
	q := url.Values{"run": {"1"}, "symbol": {f.Symbol}, "strategy": {info.Name}, "cash": {f.Cash}, "commission": {f.Commission}}
	for _, p := range info.Params {
		q.Set(info.Name+"."+p.Name, p.Format(best.Params[p.Name]))
	}
	for _, p := range varied {
		ov.Best = append(ov.Best, paramValue{p.Label, p.Format(best.Params[p.Name])})
	}
	ov.BacktestURL = "/backtest?" + q.Encode()
	for i, r := range res.Runs {
		ov.Rows = append(ov.Rows, optimizeRow{Rank: i + 1, Params: paramsText(varied, r.Params), Score: fmtNum(r.Score, 3),
			Return: fmtPct(r.Stats.ReturnPct), ReturnClass: signOf(r.Stats.ReturnPct), MaxDD: fmtNum(r.Stats.MaxDrawdownPct, 2) + "%",
			WinRate: fmtNum(r.Stats.WinRatePct, 1) + "%", Trades: r.Stats.NumTrades})
	}
	for _, fo := range res.Folds {
		ov.Folds = append(ov.Folds, foldRow{
			In:     fo.InStart.Format("Jan 2006") + " – " + fo.InEnd.Format("Jan 2006"),
			Out:    fo.OutStart.Format("Jan 2006") + " – " + fo.OutEnd.Format("Jan 2006"),
			Params: paramsText(varied, fo.Best), InScore: fmtNum(fo.InSample, 3), OutScore: fmtNum(fo.OutOfSample, 3),
			OutReturn: fmtPct(fo.OutReturnPct), OutBuyHold: fmtPct(fo.OutBuyHoldPct)})
	}
	return ov
}

// paramsText writes the values in p of params by their labels: "Fast SMA
// 10 · Slow SMA 30".
func paramsText(params []papertrade.ParamInfo, p papertrade.Params) string {
	var parts []string
	for _, q := range params {
		parts = append(parts, q.Label+" "+q.Format(p[q.Name]))
	}
	return strings.Join(parts, " · ")
}

// startOptimize checks an optimisation request (the backtest's fields,
// whose parameter values are the fixed ones, and the grid), loads its
// history and starts it as a job of the current user.
func (a *app) startOptimize(c *gin.Context, f backtestForm) (*job, jobStatus, error) {
	v := backtestView{Form: f}
	p, err := a.planBacktest(c, &v)
	if err != nil {
		return nil, jobStatus{}, err
	}
	if len(p.bars) > maxBacktestBars {
		return nil, jobStatus{}, tooMuchWork("That price history has %d bars; a backtest runs over at most %d.", len(p.bars), maxBacktestBars)
	}
	pl, err := planOptimize(p.info, f, p.params, len(p.bars))
	if err != nil {
		return nil, jobStatus{}, err
	}
	v.Times, v.Closes = nil, nil // no chart of the history on an optimisation's page
	name := p.info.Name
	factory := func(q papertrade.Params) (papertrade.Strategy, error) { return papertrade.NewStrategy(name, q) }
	spec := jobSpec{kind: jobOptimize, total: pl.backtests}
	return a.jobs.start(currentUser(c).ID, spec, v, func(ctx context.Context, v *backtestView, progress func(done, total int)) error {
		res, err := papertrade.Optimize(ctx, p.bars, factory, papertrade.OptimizeOptions{Grid: pl.grid, Metric: pl.metric,
			Constraint: pl.keep, Workers: jobWorkers, Backtest: p.opts, WalkForward: pl.folds, Progress: progress})
		if err != nil {
			return fmt.Errorf("optimize: %w", err)
		}
		v.Opt = newOptimizeView(res, v.Form, p.info, pl.grid, pl.combos)
		return nil
	})
}

// optimizeSubmit is POST /backtest/optimize: the backtest form's fields
// and ranges as an optimisation job; the browser goes to the job's page.
func (a *app) optimizeSubmit(c *gin.Context) {
	f := backtestFormFrom(c.GetPostForm)
	j, _, err := a.startOptimize(c, f)
	a.jobStarted(c, f, j, err, true)
}

// MaxOptCombos is the bound of a grid, for the form.
func (backtestView) MaxOptCombos() int { return maxOptCombos }

// MetricLabel names the metric an optimisation job maximises.
func (s jobStatus) MetricLabel() string { return metricLabel(s.Form.Metric) }
