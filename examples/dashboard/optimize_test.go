package main

import (
	"context"
	"encoding/json"
	"fmt"
	"html"
	"html/template"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/papertrade"
)

// startOptimizeJob starts an optimisation as c and returns its id (202
// required).
func (e *testEnv) startOptimizeJob(t *testing.T, c *http.Client, body map[string]any) (string, map[string]any) {
	t.Helper()
	status, job := e.jobCall(t, c, "POST", "/api/optimize/jobs", body)
	require.Equal(t, http.StatusAccepted, status, "%v", job)
	return job["id"].(string), job
}

// waitOptimizeJob polls the optimisation until it is no longer running
// and returns every answer seen.
func (e *testEnv) waitOptimizeJob(t *testing.T, c *http.Client, id string) []map[string]any {
	t.Helper()
	var seen []map[string]any
	deadline := time.Now().Add(2 * time.Minute)
	for time.Now().Before(deadline) {
		status, job := e.jobCall(t, c, "GET", "/api/optimize/jobs/"+id, nil)
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

// dataSetBars reads an uploaded data set's bars as the backtest does,
// straight from the upload store.
func (e *testEnv) dataSetBars(t *testing.T, sym string) []papertrade.Bar {
	t.Helper()
	u, f, err := e.app.uploads.Open(context.Background(), sym[len(dataSetPrefix):])
	require.NoError(t, err)
	defer f.Close()
	bars, err := marketdata.ReadBarsCSVOptions(f, marketdata.CSVOptions{Strict: true})
	require.NoError(t, err)
	out, err := papertrade.FromHistory(marketdata.History{Symbol: u.Name, Interval: marketdata.Daily, Bars: bars}, false)
	require.NoError(t, err)
	return out
}

// TestOptimizeJobProgressAndResult: an optimisation job's progress, read
// through the real server while it runs, goes from 0 to 100 without going
// back; its result is papertrade.Optimize's, run here on the same bars
// with the same grid, metric, folds and costs; the page shows the best
// parameters, the table and the folds, and its link backtests the best
// parameters.
func TestOptimizeJobProgressAndResult(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleAdmin)
	sym := e.priceDataSet(t, bob)

	body := map[string]any{"symbol": sym, "strategy": "smacross", "commission": "0.1",
		"ranges": map[string]string{"fast": "2:40:2", "slow": "20:200:10"}, "metric": "sharpe_ratio", "folds": 2}
	id, started := e.startOptimizeJob(t, bob, body)
	assert.Equal(t, jobRunning, started["state"])
	assert.EqualValues(t, 0, started["progress_pct"], "a job starts at 0")
	assert.Nil(t, started["result"])
	total := started["backtests"].(float64)
	seen := e.waitOptimizeJob(t, bob, id)
	last := seen[len(seen)-1]
	require.Equal(t, jobDone, last["state"], "%v", last["message"])
	pcts := []float64{0}
	for _, j := range seen {
		pcts = append(pcts, j["progress_pct"].(float64))
		assert.Equal(t, total, j["backtests"], "the whole is known from the start")
	}
	distinct := 0
	for i := 1; i < len(pcts); i++ {
		require.GreaterOrEqual(t, pcts[i], pcts[i-1], "progress went back: %v", pcts)
		if pcts[i] != pcts[i-1] {
			distinct++
		}
	}
	assert.Equal(t, 100.0, pcts[len(pcts)-1])
	assert.Equal(t, total, last["done_backtests"])
	assert.GreaterOrEqual(t, distinct, 3, "progress seen on the way: %v", pcts)

	// The same optimisation, synchronously.
	var fast, slow []float64
	for v := 2.0; v <= 40; v += 2 {
		fast = append(fast, v)
	}
	for v := 20.0; v <= 200; v += 10 {
		slow = append(slow, v)
	}
	keep, _ := gridConstraint("smacross")
	want, err := papertrade.Optimize(context.Background(), e.dataSetBars(t, sym),
		func(p papertrade.Params) (papertrade.Strategy, error) { return papertrade.NewStrategy("smacross", p) },
		papertrade.OptimizeOptions{Grid: map[string][]float64{"fast": fast, "slow": slow, "long-only": {0}, "no-close": {0}},
			Metric: "sharpe_ratio", Constraint: keep, WalkForward: 2,
			Backtest: papertrade.Options{Cash: 10000, Commission: papertrade.RelativeCommission(0.001)}})
	require.NoError(t, err)
	combos := len(want.Runs)
	assert.Equal(t, float64(combos*3+2), total, "the grid, again per fold, and one run out of sample per fold")
	info, _ := papertrade.LookupStrategy("smacross")
	ov := newOptimizeView(want, backtestFormFrom(func(k string) (string, bool) {
		v, ok := map[string]string{"symbol": sym, "strategy": "smacross", "commission": "0.1"}[k]
		return v, ok
	}), info, map[string][]float64{"fast": fast, "slow": slow, "long-only": {0}, "no-close": {0}}, combos)
	wantJSON, err := json.Marshal(newAPIOptimizeResult(ov))
	require.NoError(t, err)
	var wantAny any
	require.NoError(t, json.Unmarshal(wantJSON, &wantAny))
	assert.Equal(t, wantAny, last["result"])
	res := last["result"].(map[string]any)
	assert.EqualValues(t, combos, res["combinations"])
	assert.Len(t, res["runs"], optShown)
	assert.Len(t, res["walk_forward"], 2)
	assert.Equal(t, want.Best().Params["fast"], res["best_params"].(map[string]any)["fast"])

	// The page: best parameters, the table, the folds, the link.
	status, page, _ := e.get(t, bob, "/backtest/jobs/"+id)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, page, `id="opt-runs"`)
	assert.Contains(t, page, `id="opt-folds"`)
	assert.Contains(t, page, "Walk-forward efficiency")
	assert.Contains(t, page, template.HTMLEscapeString(paramsText(info.Params[:2], want.Best().Params)))
	assert.NotContains(t, page, `http-equiv="refresh"`, "a finished job's page stays")
	link := template.HTMLEscapeString(ov.BacktestURL)
	require.Contains(t, page, `href="`+link+`"`)
	status, bt, _ := e.get(t, bob, ov.BacktestURL)
	require.Equal(t, http.StatusOK, status)
	m := regexp.MustCompile(`<td class="text">Return</td><td[^>]*>([^<]*)</td>`).FindStringSubmatch(bt)
	require.NotNil(t, m, "no Return row")
	assert.Equal(t, fmtPct(want.Best().Stats.ReturnPct), html.UnescapeString(m[1]), "the link backtests the best parameters")
	assert.Contains(t, bt, "<h2>"+template.HTMLEscapeString(fmt.Sprintf("SMACross(%g,%g)", want.Best().Params["fast"], want.Best().Params["slow"])))
}

// TestOptimizeJobCancelOwnerAndLimits: an optimisation shares the Monte
// Carlo jobs' limits (a user's second job of either kind is 429, the
// server's third 503); a cancel stops it (no backtest done after it);
// another user can neither read nor cancel it, nor find it as a Monte
// Carlo job.
func TestOptimizeJobCancelOwnerAndLimits(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleUser)
	eve := e.user(t, "eve", auth.RoleUser)
	carl := e.user(t, "carl", auth.RoleUser)

	big := map[string]any{"symbol": "SPY", "ranges": map[string]string{"fast": "1:20:1", "slow": "21:45:1"}, "folds": 5}
	id, job := e.startOptimizeJob(t, bob, big)
	assert.EqualValues(t, 500*6+5, job["backtests"])
	for path, body := range map[string]any{"/api/optimize/jobs": big, "/api/montecarlo/jobs": map[string]any{"paths": 10}} {
		status, raw := e.do(t, apiCall{client: bob, method: "POST", path: path, body: body})
		require.Equal(t, http.StatusTooManyRequests, status, "%s", raw)
		assert.Contains(t, string(raw), "already have a job running")
	}
	carlID, _ := e.startJob(t, carl, map[string]any{"symbol": "SPY", "paths": maxJobPaths})
	status, raw := e.do(t, apiCall{client: eve, method: "POST", path: "/api/optimize/jobs", body: big})
	assert.Equal(t, http.StatusServiceUnavailable, status, "%s", raw)

	for _, c := range []struct {
		client       *http.Client
		method, path string
	}{
		{eve, "GET", "/api/optimize/jobs/" + id},
		{eve, "DELETE", "/api/optimize/jobs/" + id},
		{bob, "GET", "/api/montecarlo/jobs/" + id}, // not a Monte Carlo job
		{bob, "DELETE", "/api/montecarlo/jobs/" + id},
		{bob, "GET", "/api/optimize/jobs/" + carlID},
	} {
		status, _ := e.jobCall(t, c.client, c.method, c.path, nil)
		assert.Equal(t, http.StatusNotFound, status, "%s %s", c.method, c.path)
	}
	status, body, _ := e.get(t, eve, "/backtest/jobs/"+id)
	assert.Equal(t, http.StatusNotFound, status)
	assert.NotContains(t, body, "progress")
	_, listed := e.jobCall(t, eve, "GET", "/api/optimize/jobs", nil)
	assert.Empty(t, listed["jobs"])
	_, listed = e.jobCall(t, bob, "GET", "/api/montecarlo/jobs", nil)
	assert.Empty(t, listed["jobs"], "an optimisation is not listed as a Monte Carlo job")

	// Under way: the page shows its bar in backtests, refreshing without
	// script.
	for {
		_, j := e.jobCall(t, bob, "GET", "/api/optimize/jobs/"+id, nil)
		require.Equal(t, jobRunning, j["state"])
		if j["done_backtests"].(float64) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	status, body, _ = e.get(t, bob, "/backtest/jobs/"+id)
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, `<progress id="job-progress" max="100"`)
	assert.Contains(t, body, `data-kind="optimize"`)
	assert.Contains(t, body, " of 3005 backtests")
	assert.Contains(t, body, `<noscript><meta http-equiv="refresh" content="2"></noscript>`)

	status, j := e.jobCall(t, bob, "DELETE", "/api/optimize/jobs/"+id, nil)
	require.Equal(t, http.StatusOK, status)
	assert.Equal(t, jobCancelled, j["state"])
	done := j["done_backtests"].(float64)
	assert.Less(t, done, 3005.0)
	assert.Nil(t, j["result"])
	time.Sleep(300 * time.Millisecond)
	_, j = e.jobCall(t, bob, "GET", "/api/optimize/jobs/"+id, nil)
	assert.Equal(t, done, j["done_backtests"], "no backtest done after the cancel")

	// His slot is free again: from the page's form this time.
	form := url.Values{"run": {"1"}, "symbol": {"SPY"}, "strategy": {"smacross"}, "cash": {"10000"}, "commission": {"0.1"},
		"opt.smacross.fast": {"1:20:1"}, "opt.smacross.slow": {"21:45:1"}, "metric": {"sqn"}, "folds": {"5"}}
	status, _, h := e.post(t, bob, "/backtest/optimize", form)
	require.Equal(t, http.StatusSeeOther, status)
	page, ok := strings.CutSuffix(h.Get("Location"), "#mc-job")
	require.True(t, ok && strings.HasPrefix(page, "/backtest/jobs/"), h.Get("Location"))
	status, _, h = e.post(t, bob, page+"/cancel", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Regexp(t, `Job cancelled after \d+ of 3005 backtests\.`, e.flashAt(t, bob, h.Get("Location")))
	e.jobCall(t, carl, "DELETE", "/api/montecarlo/jobs/"+carlID, nil)
}

// TestOptimizeHostileGrids: huge, empty, NaN, infinite, negative,
// fractional and unknown grids, metrics and folds are refused with a
// sentence and start nothing, through the API and the page's form.
func TestOptimizeHostileGrids(t *testing.T) {
	e := newTestEnv(t)
	eve := e.user(t, "eve", auth.RoleUser)
	r := func(kv ...string) map[string]string {
		m := map[string]string{}
		for i := 0; i < len(kv); i += 2 {
			m[kv[i]] = kv[i+1]
		}
		return m
	}
	for _, c := range []struct {
		body   map[string]any
		status int
		says   string
	}{
		{map[string]any{"ranges": r("fast", "1:100000:1")}, 400, "at most 50"},
		{map[string]any{"ranges": r("fast", "1:1e300:1e-300")}, 400, "at most 50"},
		{map[string]any{"ranges": r("fast", strings.Repeat("5,", 60)+"5")}, 400, "at most 50"},
		{map[string]any{"ranges": r("fast", "1:40:1", "slow", "2:50:1")}, 422, "more than 500 combinations"},
		{map[string]any{"ranges": r()}, 400, "at least one parameter"},
		{map[string]any{}, 400, "at least one parameter"},
		{map[string]any{"ranges": r("fast", "", "slow", "  ")}, 400, "at least one parameter"},
		{map[string]any{"ranges": r("fast", ",")}, 400, "is not a value it takes"},
		{map[string]any{"ranges": r("fast", "NaN")}, 400, "is not a value it takes"},
		{map[string]any{"ranges": r("fast", "NaN:10:1")}, 400, "start:stop:step"},
		{map[string]any{"ranges": r("fast", "1:Inf:1")}, 400, "start:stop:step"},
		{map[string]any{"ranges": r("fast", "1e999")}, 400, "is not a value it takes"},
		{map[string]any{"ranges": r("fast", "-5,10")}, 400, "is not a value it takes"},
		{map[string]any{"ranges": r("fast", "-10:10:5")}, 400, "is not a value it takes"},
		{map[string]any{"ranges": r("fast", "5:20:-1")}, 400, "step must be above 0"},
		{map[string]any{"ranges": r("fast", "20:5:5")}, 400, "stop not below start"},
		{map[string]any{"ranges": r("fast", "5:20:0")}, 400, "step must be above 0"},
		{map[string]any{"ranges": r("fast", "5.5,10")}, 400, "whole number"},
		{map[string]any{"ranges": r("fast", "2:10:1.5")}, 400, "whole number"},
		{map[string]any{"ranges": r("long-only", "maybe")}, 400, "tick the box"},
		{map[string]any{"ranges": r("bogus", "1,2")}, 400, `no parameter \"bogus\"`},
		{map[string]any{"strategy": "buyhold", "ranges": r("fast", "1,2")}, 400, "no parameter"},
		{map[string]any{"strategy": "magic", "ranges": r("fast", "1,2")}, 400, "no strategy"},
		{map[string]any{"ranges": r("fast", "50,60", "slow", "10,20")}, 400, "No combination"},
		{map[string]any{"strategy": "rsi", "ranges": r("lower", "80,90", "upper", "70")}, 400, "No combination"},
		{map[string]any{"ranges": r("fast", "5,10"), "metric": "luck"}, 400, "no metric"},
		{map[string]any{"ranges": r("fast", "5,10"), "metric": "trades"}, 400, "no metric"},
		{map[string]any{"ranges": r("fast", "5,10"), "folds": -1}, 400, "folds"},
		{map[string]any{"ranges": r("fast", "5,10"), "folds": 99}, 400, "folds"},
		{map[string]any{"ranges": r("fast", "5,10"), "symbol": "NOPE"}, 400, "no price history"},
		{map[string]any{"ranges": r("fast", "5,10"), "owner": "bob"}, 400, ""},
		{map[string]any{"ranges": []string{"fast"}}, 400, ""},
	} {
		status, raw := e.do(t, apiCall{client: eve, method: "POST", path: "/api/optimize/jobs", body: c.body})
		assert.Equal(t, c.status, status, "%v: %s", c.body, raw)
		assert.Contains(t, string(raw), c.says, "%v", c.body)
		assert.NotContains(t, string(raw), "papertrade:", "%v", c.body)
	}
	_, listed := e.jobCall(t, eve, "GET", "/api/optimize/jobs", nil)
	assert.Empty(t, listed["jobs"], "nothing started")

	// The form: the refusal on the page, what was typed kept.
	status, body, _ := e.post(t, eve, "/backtest/optimize", url.Values{"run": {"1"}, "strategy": {"smacross"},
		"opt.smacross.fast": {"1:100000:1"}, "opt.smacross.slow": {"30"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "Fast SMA: 1:100000:1 gives 100000 values; a parameter takes at most 50.")
	assert.Contains(t, body, `value="1:100000:1"`)
	assert.Contains(t, body, `<details class="opt-form" id="optimize" open>`, "the optimisation's fields stay open")
	_, listed = e.jobCall(t, eve, "GET", "/api/optimize/jobs", nil)
	assert.Empty(t, listed["jobs"])
}
