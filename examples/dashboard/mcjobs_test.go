package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html/template"
	"math"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/upload"
)

// jobCall sends an API request about Monte Carlo jobs as c and decodes
// the answer.
func (e *testEnv) jobCall(t *testing.T, c *http.Client, method, path string, body any) (int, map[string]any) {
	t.Helper()
	status, raw := e.do(t, apiCall{client: c, method: method, path: path, body: body})
	var m map[string]any
	if len(raw) > 0 {
		require.NoError(t, json.Unmarshal(raw, &m), "%s", raw)
	}
	return status, m
}

// startJob starts a job as c and returns its id (202 required).
func (e *testEnv) startJob(t *testing.T, c *http.Client, body map[string]any) (string, map[string]any) {
	t.Helper()
	status, job := e.jobCall(t, c, "POST", "/api/montecarlo/jobs", body)
	require.Equal(t, http.StatusAccepted, status, "%v", job)
	return job["id"].(string), job
}

// waitJob polls the job until it is no longer running and returns every
// answer seen.
func (e *testEnv) waitJob(t *testing.T, c *http.Client, id string) []map[string]any {
	t.Helper()
	var seen []map[string]any
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		status, job := e.jobCall(t, c, "GET", "/api/montecarlo/jobs/"+id, nil)
		require.Equal(t, http.StatusOK, status)
		seen = append(seen, job)
		if job["state"] != jobRunning {
			return seen
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("job %s still running", id)
	return nil
}

// withoutElapsed drops the timings (the only figures two runs of the same
// work may differ in) from an API answer.
func withoutElapsed(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := map[string]any{}
		for k, v := range x {
			if k != "elapsed_ms" {
				out[k] = withoutElapsed(v)
			}
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, v := range x {
			out[i] = withoutElapsed(v)
		}
		return out
	}
	return v
}

// priceDataSet uploads three years of a deterministic random walk as
// admin and returns its backtest symbol: a history that, unlike the
// simulator's (anchored to the live price), is the same at every request.
func (e *testEnv) priceDataSet(t *testing.T, admin *http.Client) string {
	t.Helper()
	var csv strings.Builder
	csv.WriteString("Date,Open,High,Low,Close,Volume\n")
	rng := rand.New(rand.NewPCG(1, 2))
	day := time.Date(2022, 1, 3, 0, 0, 0, 0, time.UTC)
	p := 100.0
	for i := range 3 * 252 {
		open := p
		p *= math.Exp(0.0003 + 0.015*rng.NormFloat64())
		fmt.Fprintf(&csv, "%s,%.4f,%.4f,%.4f,%.4f,%d\n", day.AddDate(0, 0, i).Format(time.DateOnly),
			open, math.Max(open, p)*1.004, math.Min(open, p)*0.996, p, 1000+i)
	}
	u := e.uploadAndWait(t, admin, "walk.csv", []byte(csv.String()), nil)
	require.Equal(t, upload.StateDone, u.State, u.Message)
	return "UPLOAD:" + u.ID
}

// TestMonteCarloJobProgressAndResult: a job's progress, read through the
// real server while it runs, goes from 0 to 100 without ever going back,
// and its result is the synchronous /api/montecarlo's for the same seed
// and paths; a job may have many more paths than a request.
func TestMonteCarloJobProgressAndResult(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleAdmin)
	sym := e.priceDataSet(t, bob)

	id, started := e.startJob(t, bob, map[string]any{"symbol": "SPY", "strategy": "smacross", "paths": 6000, "seed": 7})
	assert.Equal(t, jobRunning, started["state"])
	assert.EqualValues(t, 0, started["progress_pct"], "a job starts at 0")
	assert.Nil(t, started["result"])
	seen := e.waitJob(t, bob, id)
	last := seen[len(seen)-1]
	require.Equal(t, jobDone, last["state"], "%v", last["message"])
	pcts := []float64{0}
	for _, j := range seen {
		pcts = append(pcts, j["progress_pct"].(float64))
	}
	distinct := 0
	for i := 1; i < len(pcts); i++ {
		require.GreaterOrEqual(t, pcts[i], pcts[i-1], "progress went back: %v", pcts)
		if pcts[i] != pcts[i-1] {
			distinct++
		}
	}
	assert.Equal(t, 100.0, pcts[len(pcts)-1])
	assert.GreaterOrEqual(t, distinct, 3, "progress seen on the way: %v", pcts)
	assert.EqualValues(t, 6000, last["done_paths"])
	mc := last["result"].(map[string]any)["monte_carlo"].(map[string]any)
	assert.EqualValues(t, 6000, mc["paths"], "20 times the paths of a request")

	// The same seed and paths as the synchronous run: the same result.
	id, _ = e.startJob(t, bob, map[string]any{"symbol": sym, "strategy": "smacross", "paths": mcPaths, "seed": 7})
	seen = e.waitJob(t, bob, id)
	job := seen[len(seen)-1]
	require.Equal(t, jobDone, job["state"])
	status, sync := e.jobCall(t, bob, "GET", "/api/montecarlo?strategy=smacross&seed=7&symbol="+sym, nil)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, sync, "monte_carlo")
	assert.EqualValues(t, 7, sync["monte_carlo"].(map[string]any)["seed"])
	assert.Equal(t, withoutElapsed(sync), withoutElapsed(job["result"]))
	status, other := e.jobCall(t, bob, "GET", "/api/montecarlo?strategy=smacross&seed=8&symbol="+sym, nil)
	require.Equal(t, http.StatusOK, status)
	assert.NotEqual(t, withoutElapsed(other["monte_carlo"]), withoutElapsed(job["result"].(map[string]any)["monte_carlo"]),
		"another seed, other paths")

	// The page shows the finished job's histogram and verdict.
	status, page, _ := e.get(t, bob, "/backtest/jobs/"+id)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, `aria-label="Monte Carlo outcomes: paths per return bucket"`)
	assert.Contains(t, page, mcVerdict(t, job))
	assert.NotContains(t, page, `http-equiv="refresh"`, "a finished job's page stays")
}

func mcVerdict(t *testing.T, job map[string]any) string {
	t.Helper()
	v := job["result"].(map[string]any)["monte_carlo"].(map[string]any)["verdict"].(string)
	require.NotEmpty(t, v)
	return template.HTMLEscapeString(v)
}

// TestMonteCarloJobCancelOwnerAndLimits: a cancel stops the work (no path
// is done after it, and the user's slot is free again); another user can
// neither read nor cancel the job; a user's second job is 429 and the
// server's third 503, each with Retry-After; too many paths are refused.
func TestMonteCarloJobCancelOwnerAndLimits(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleUser)
	eve := e.user(t, "eve", auth.RoleUser)
	carl := e.user(t, "carl", auth.RoleUser)

	big := map[string]any{"symbol": "SPY", "paths": maxJobPaths}
	id, _ := e.startJob(t, bob, big)

	// Bob's second job waits for his first: 429, at once.
	status, raw := e.do(t, apiCall{client: bob, method: "POST", path: "/api/montecarlo/jobs", body: big})
	require.Equal(t, http.StatusTooManyRequests, status, "%s", raw)
	assert.Contains(t, string(raw), "already have a job running")
	// Carl takes the server's second slot; Eve finds the server full.
	carlID, _ := e.startJob(t, carl, big)
	req, err := http.NewRequest("POST", e.srv.URL+"/api/montecarlo/jobs", strings.NewReader(`{"paths": 10}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := eve.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	assert.Equal(t, "5", resp.Header.Get("Retry-After"))

	// Eve cannot see or stop Bob's job, through the API or the pages.
	status, _ = e.jobCall(t, eve, "GET", "/api/montecarlo/jobs/"+id, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, _ = e.jobCall(t, eve, "DELETE", "/api/montecarlo/jobs/"+id, nil)
	assert.Equal(t, http.StatusNotFound, status)
	status, body, _ := e.get(t, eve, "/backtest/jobs/"+id)
	assert.Equal(t, http.StatusNotFound, status)
	assert.NotContains(t, body, "progress")
	status, _, _ = e.post(t, eve, "/backtest/jobs/"+id+"/cancel", nil)
	assert.Equal(t, http.StatusNotFound, status)
	_, body, _ = e.get(t, bob, "/backtest")
	assert.Contains(t, body, `href="/backtest/jobs/`+id+`#mc-job"`, "bob finds his job again on the backtest page")
	_, body, _ = e.get(t, eve, "/backtest")
	assert.NotContains(t, body, id, "and only he")

	// Bob's job is under way; the page shows its bar and refreshes
	// without script.
	for {
		_, j := e.jobCall(t, bob, "GET", "/api/montecarlo/jobs/"+id, nil)
		require.Equal(t, jobRunning, j["state"])
		if j["done_paths"].(float64) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	status, body, _ = e.get(t, bob, "/backtest/jobs/"+id)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<progress id="job-progress" max="100"`)
	assert.Contains(t, body, `<noscript><meta http-equiv="refresh" content="2"></noscript>`)
	assert.Contains(t, body, `action="/backtest/jobs/`+id+`/cancel"`)

	// The cancel stops the work: nothing more is done afterwards.
	status, j := e.jobCall(t, bob, "DELETE", "/api/montecarlo/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, jobCancelled, j["state"])
	done := j["done_paths"].(float64)
	assert.Less(t, done, float64(maxJobPaths))
	assert.Nil(t, j["result"])
	time.Sleep(300 * time.Millisecond)
	_, j = e.jobCall(t, bob, "GET", "/api/montecarlo/jobs/"+id, nil)
	assert.Equal(t, done, j["done_paths"], "no path done after the cancel")
	assert.Equal(t, jobCancelled, j["state"])
	// His slot (and the server's) is free again: a new job starts, from
	// the page's form this time, and its cancel button works.
	form := url.Values{"run": {"1"}, "symbol": {"SPY"}, "strategy": {"smacross"}, "cash": {"10000"}, "commission": {"0.1"},
		"paths": {"100000"}, "seed": {"3"}}
	status, _, h := e.post(t, bob, "/backtest/jobs", form)
	require.Equal(t, http.StatusSeeOther, status)
	page, ok := strings.CutSuffix(h.Get("Location"), "#mc-job")
	require.True(t, ok && strings.HasPrefix(page, "/backtest/jobs/"), h.Get("Location"))
	status, _, h = e.post(t, bob, page+"/cancel", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, bob, h.Get("Location")), "Job cancelled after")
	status, j = e.jobCall(t, carl, "DELETE", "/api/montecarlo/jobs/"+carlID, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, jobCancelled, j["state"])

	// Bad requests change nothing and say why.
	for _, c := range []struct {
		body   map[string]any
		status int
		says   string
	}{
		{map[string]any{"paths": 0}, 400, "number of paths"},
		{map[string]any{"paths": maxJobPaths + 1}, 400, "number of paths"},
		{map[string]any{"seed": -1}, 400, ""},
		{map[string]any{"strategy": "magic"}, 400, "no strategy"},
		{map[string]any{"symbol": "NOPE"}, 400, "no price history"},
		{map[string]any{"paths": 10, "owner": "eve"}, 400, ""},
	} {
		status, raw := e.do(t, apiCall{client: eve, method: "POST", path: "/api/montecarlo/jobs", body: c.body})
		assert.Equal(t, c.status, status, "%v: %s", c.body, raw)
		assert.Contains(t, string(raw), c.says)
	}
	status, body, _ = e.post(t, eve, "/backtest/jobs", url.Values{"run": {"1"}, "paths": {"lots"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "The number of paths must be a whole number")
	assert.Contains(t, body, `value="lots"`, "the form keeps what was typed")
}

// TestMonteCarloJobsStopOnClose: closing the app cancels running jobs and
// waits for their goroutines.
func TestMonteCarloJobsStopOnClose(t *testing.T) {
	m := newJobSet()
	started := make(chan struct{})
	j, s, err := m.start("u1", jobSpec{kind: jobMonteCarlo, total: 10, paths: 10, seed: 1}, backtestView{}, func(ctx context.Context, _ *backtestView, progress func(int, int)) error {
		close(started)
		<-ctx.Done()
		return ctx.Err()
	})
	require.NoError(t, err)
	assert.Equal(t, jobRunning, s.State)
	<-started
	m.close()
	assert.Equal(t, jobCancelled, j.status().State)
}
