package main

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
)

// /api/montecarlo/jobs: Monte Carlo jobs (mcjobs.go) as JSON resources.

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

// apiJobs is GET /api/montecarlo/jobs: the user's jobs, newest first,
// without their results (GET the job for its result).
func (a *app) apiJobs(c *gin.Context) {
	out := struct {
		Jobs []apiJob `json:"jobs"`
	}{Jobs: []apiJob{}}
	for _, s := range a.jobs.list(currentUser(c).ID) {
		s.View = nil
		out.Jobs = append(out.Jobs, apiJobOf(s))
	}
	c.JSON(http.StatusOK, out)
}

// apiGetJob is GET /api/montecarlo/jobs/{id}; another user's job is 404.
func (a *app) apiGetJob(c *gin.Context) {
	j, ok := a.jobs.get(currentUser(c).ID, c.Param("id"))
	if !ok {
		apiRefuse(c, http.StatusNotFound, "not_found", "There is no such job.")
		return
	}
	c.JSON(http.StatusOK, apiJobOf(j.status()))
}

// apiCancelJob is DELETE /api/montecarlo/jobs/{id}: the job stops (a
// finished one stays as it ended) and is answered as it is then.
func (a *app) apiCancelJob(c *gin.Context) {
	j, ok := a.jobs.cancel(currentUser(c).ID, c.Param("id"), 2*time.Second)
	if !ok {
		apiRefuse(c, http.StatusNotFound, "not_found", "There is no such job.")
		return
	}
	c.JSON(http.StatusOK, apiJobOf(j.status()))
}
