package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/papertrade"
)

// /api/montecarlo/jobs and /api/optimize/jobs: the jobs of mcjobs.go as
// JSON resources, one collection per kind.

// apiJobReq is the body of POST /api/montecarlo/jobs: the fields of GET
// /api/montecarlo (strings, as in its query) plus the paths and the seed.
type apiJobReq struct {
	Symbol     string            `json:"symbol"`
	Strategy   string            `json:"strategy"`
	Cash       string            `json:"cash"`
	Commission string            `json:"commission"`
	Params     map[string]string `json:"params"` // <strategy>.<param>: value
	Paths      *int              `json:"paths"`
	Seed       *uint64           `json:"seed"`
}

// fields returns the request as the backtest form's fields.
func (r apiJobReq) fields() func(string) (string, bool) {
	m := map[string]string{}
	for k, v := range r.Params {
		m[k] = v
	}
	for k, v := range map[string]string{"symbol": r.Symbol, "strategy": r.Strategy, "cash": r.Cash, "commission": r.Commission} {
		if v != "" {
			m[k] = v
		}
	}
	if r.Paths != nil {
		m["paths"] = strconv.Itoa(*r.Paths)
	}
	if r.Seed != nil {
		m["seed"] = strconv.FormatUint(*r.Seed, 10)
	}
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

// apiJob is a job: its progress, and its result once it is done.
type apiJob struct {
	ID          string       `json:"id"`
	State       string       `json:"state"` // running, done, failed or cancelled
	ProgressPct float64      `json:"progress_pct"`
	DonePaths   int          `json:"done_paths"`
	Paths       int          `json:"paths"`
	Seed        uint64       `json:"seed"`
	Symbol      string       `json:"symbol"`
	Strategy    string       `json:"strategy"`
	Created     time.Time    `json:"created"`
	Finished    *time.Time   `json:"finished"`   // null while running
	ElapsedMS   *float64     `json:"elapsed_ms"` // null while running
	Message     string       `json:"message,omitempty"`
	Result      *apiBacktest `json:"result"` // null until done
}

func apiJobOf(s jobStatus) apiJob {
	out := apiJob{ID: s.ID, State: s.State, ProgressPct: s.Pct(), DonePaths: s.Done, Paths: s.Paths, Seed: s.Seed,
		Symbol: s.Form.Symbol, Strategy: s.Form.Strategy, Created: s.Created, Message: s.Problem}
	if !s.Running() {
		f, ms := s.Finished, millis(s.Elapsed)
		out.Finished, out.ElapsedMS = &f, &ms
	}
	if v := s.View; v != nil {
		r := newAPIBacktest(v, s.Elapsed)
		r.MonteCarlo = newAPIMonteCarlo(v.MC, s.Elapsed)
		out.Result = &r
	}
	return out
}

// apiStartJob is POST /api/montecarlo/jobs: 202 with the running job and
// its Location, or the backtest's refusals (400, 422), 429 while the user
// runs one, 503 while the server runs its most.
func (a *app) apiStartJob(c *gin.Context) {
	var req apiJobReq
	if !bindJSON(c, &req) {
		return
	}
	j, started, err := a.startJob(c, backtestFormFrom(req.fields()))
	if err != nil {
		a.apiLimited(c, err)
		return
	}
	c.Header("Location", "/api/montecarlo/jobs/"+j.id)
	c.JSON(http.StatusAccepted, apiJobOf(started))
}

// apiJobOfKind answers a job of either kind as its collection does.
func apiJobOfKind(s jobStatus) any {
	if s.Kind == jobOptimize {
		return apiOptimizeJobOf(s)
	}
	return apiJobOf(s)
}

// apiJobs is GET /api/montecarlo/jobs and /api/optimize/jobs: the user's
// jobs of kind, newest first, without their results (GET the job for its
// result).
func (a *app) apiJobs(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		out := struct {
			Jobs []any `json:"jobs"`
		}{Jobs: []any{}}
		for _, s := range a.jobs.list(currentUser(c).ID, kind) {
			s.View = nil
			out.Jobs = append(out.Jobs, apiJobOfKind(s))
		}
		c.JSON(http.StatusOK, out)
	}
}

// apiGetJob is GET /api/montecarlo/jobs/{id} and /api/optimize/jobs/{id};
// another user's job, or one of the other kind, is 404.
func (a *app) apiGetJob(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		j, ok := a.jobs.get(currentUser(c).ID, kind, c.Param("id"))
		if !ok {
			apiRefuse(c, http.StatusNotFound, "not_found", "There is no such job.")
			return
		}
		c.JSON(http.StatusOK, apiJobOfKind(j.status()))
	}
}

// apiCancelJob is DELETE on a job: it stops (a finished one stays as it
// ended) and is answered as it is then.
func (a *app) apiCancelJob(kind string) gin.HandlerFunc {
	return func(c *gin.Context) {
		j, ok := a.jobs.cancel(currentUser(c).ID, kind, c.Param("id"), 2*time.Second)
		if !ok {
			apiRefuse(c, http.StatusNotFound, "not_found", "There is no such job.")
			return
		}
		c.JSON(http.StatusOK, apiJobOfKind(j.status()))
	}
}

// apiOptimizeReq is the body of POST /api/optimize/jobs: the backtest's
// fields (params are the values of the parameters without a range), a
// range per parameter name ("5:20:5" or "5,10,20"), the metric and the
// walk-forward folds.
type apiOptimizeReq struct {
	Symbol     string            `json:"symbol"`
	Strategy   string            `json:"strategy"`
	Cash       string            `json:"cash"`
	Commission string            `json:"commission"`
	Params     map[string]string `json:"params"` // <strategy>.<param>: value
	Ranges     map[string]string `json:"ranges"` // <param>: range
	Metric     string            `json:"metric"`
	Folds      *int              `json:"folds"`
}

// form returns the request as the backtest form, or refuses a range of a
// parameter the strategy does not have.
func (r apiOptimizeReq) form() (backtestForm, error) {
	m := map[string]string{}
	for k, v := range r.Params {
		m[k] = v
	}
	for k, v := range map[string]string{"symbol": r.Symbol, "strategy": r.Strategy, "cash": r.Cash, "commission": r.Commission, "metric": r.Metric} {
		if v != "" {
			m[k] = v
		}
	}
	if r.Folds != nil {
		m["folds"] = strconv.Itoa(*r.Folds)
	}
	f := backtestFormFrom(func(k string) (string, bool) { v, ok := m[k]; return v, ok })
	info, ok := papertrade.LookupStrategy(f.Strategy)
	if !ok {
		return f, badInput(http.StatusBadRequest, "There is no strategy %q.", f.Strategy)
	}
	for name := range r.Ranges {
		if _, ok := info.Param(name); !ok {
			return f, badInput(http.StatusBadRequest, "%s has no parameter %q.", info.Label, name)
		}
	}
	for _, p := range info.Params { // only the ranges given, no defaults
		f.Ranges[info.Name+"."+p.Name] = r.Ranges[p.Name]
	}
	return f, nil
}

// apiOptimizeJob is an optimisation job: its progress, and its result
// once it is done.
type apiOptimizeJob struct {
	ID            string             `json:"id"`
	State         string             `json:"state"` // running, done, failed or cancelled
	ProgressPct   float64            `json:"progress_pct"`
	DoneBacktests int                `json:"done_backtests"`
	Backtests     int                `json:"backtests"`
	Symbol        string             `json:"symbol"`
	Strategy      string             `json:"strategy"`
	Metric        string             `json:"metric"`
	Folds         int                `json:"folds"`
	Created       time.Time          `json:"created"`
	Finished      *time.Time         `json:"finished"`   // null while running
	ElapsedMS     *float64           `json:"elapsed_ms"` // null while running
	Message       string             `json:"message,omitempty"`
	Result        *apiOptimizeResult `json:"result"` // null until done
}

// apiOptimizeResult is a finished optimisation: the best parameters, a
// link to backtest them, and the best runs by the metric.
type apiOptimizeResult struct {
	Combinations int               `json:"combinations"`
	BestParams   papertrade.Params `json:"best_params"`
	BacktestURL  string            `json:"backtest_url"`
	Runs         []apiOptimizeRun  `json:"runs"` // the best, at most 20
	WalkForward  []apiOptimizeFold `json:"walk_forward"`
	WFEfficiency *float64          `json:"walk_forward_efficiency"` // null without folds or when undefined
}

type apiOptimizeRun struct {
	Params         papertrade.Params `json:"params"`
	Score          *float64          `json:"score"` // null when undefined (no trades, say)
	ReturnPct      *float64          `json:"return_pct"`
	MaxDrawdownPct *float64          `json:"max_drawdown_pct"`
	Sharpe         *float64          `json:"sharpe"`
	WinRatePct     *float64          `json:"win_rate_pct"`
	Trades         int               `json:"trades"`
}

type apiOptimizeFold struct {
	InStart       time.Time         `json:"in_sample_start"`
	InEnd         time.Time         `json:"in_sample_end"`
	OutStart      time.Time         `json:"out_of_sample_start"`
	OutEnd        time.Time         `json:"out_of_sample_end"`
	BestParams    papertrade.Params `json:"best_params"`
	InScore       *float64          `json:"in_sample_score"`
	OutScore      *float64          `json:"out_of_sample_score"`
	OutReturnPct  *float64          `json:"out_of_sample_return_pct"`
	OutBuyHoldPct *float64          `json:"out_of_sample_buy_hold_pct"`
}

// newAPIOptimizeResult answers a finished optimisation.
func newAPIOptimizeResult(ov *optimizeView) *apiOptimizeResult {
	res := ov.Result
	out := &apiOptimizeResult{Combinations: ov.Combos, BestParams: res.Best().Params, BacktestURL: ov.BacktestURL,
		Runs: []apiOptimizeRun{}, WalkForward: []apiOptimizeFold{}}
	for _, r := range res.Runs {
		s := r.Stats
		out.Runs = append(out.Runs, apiOptimizeRun{Params: r.Params, Score: num(r.Score), ReturnPct: num(s.ReturnPct),
			MaxDrawdownPct: num(s.MaxDrawdownPct), Sharpe: num(s.SharpeRatio), WinRatePct: num(s.WinRatePct), Trades: s.NumTrades})
	}
	for _, f := range res.Folds {
		out.WalkForward = append(out.WalkForward, apiOptimizeFold{InStart: f.InStart, InEnd: f.InEnd, OutStart: f.OutStart, OutEnd: f.OutEnd,
			BestParams: f.Best, InScore: num(f.InSample), OutScore: num(f.OutOfSample), OutReturnPct: num(f.OutReturnPct),
			OutBuyHoldPct: num(f.OutBuyHoldPct)})
	}
	if len(res.Folds) > 0 {
		out.WFEfficiency = num(res.Efficiency)
	}
	return out
}

func apiOptimizeJobOf(s jobStatus) apiOptimizeJob {
	folds, _ := strconv.Atoi(s.Form.Folds)
	out := apiOptimizeJob{ID: s.ID, State: s.State, ProgressPct: s.Pct(), DoneBacktests: s.Done, Backtests: s.Total,
		Symbol: s.Form.Symbol, Strategy: s.Form.Strategy, Metric: s.Form.Metric, Folds: folds, Created: s.Created, Message: s.Problem}
	if !s.Running() {
		f, ms := s.Finished, millis(s.Elapsed)
		out.Finished, out.ElapsedMS = &f, &ms
	}
	if s.View != nil && s.View.Opt != nil {
		out.Result = newAPIOptimizeResult(s.View.Opt)
	}
	return out
}

// apiStartOptimize is POST /api/optimize/jobs: 202 with the running job
// and its Location, or 400 and 422 for a bad request or too much work,
// 429 while the user runs a job, 503 while the server runs its most.
func (a *app) apiStartOptimize(c *gin.Context) {
	var req apiOptimizeReq
	if !bindJSON(c, &req) {
		return
	}
	f, err := req.form()
	var j *job
	var started jobStatus
	if err == nil {
		j, started, err = a.startOptimize(c, f)
	}
	if err != nil {
		a.apiLimited(c, err)
		return
	}
	c.Header("Location", "/api/optimize/jobs/"+j.id)
	c.JSON(http.StatusAccepted, apiOptimizeJobOf(started))
}
