package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
)

// Jobs: long work started by a POST and run on a goroutine of the app,
// bounded per user and on the server like the heavy requests (limits.go),
// cancellable, with its progress (units of work done) read by the page (a
// progress bar, polled by script or by a refresh without one) and by the
// API. Two kinds share this machinery: a backtest with a Monte Carlo run
// of many more paths than one request may simulate (paths done, GET
// /api/montecarlo/jobs/{id}), and an optimisation of a strategy's
// parameters over a grid (backtests done, optimize.go, GET
// /api/optimize/jobs/{id}). Only the user who started a job sees it. Jobs
// live in this process: a restart forgets them (a job's result is worth
// minutes of CPU, not a record).

// The kinds of job.
const (
	jobMonteCarlo = "montecarlo"
	jobOptimize   = "optimize"
)

// Bounds of jobs (of both kinds together: a user runs one at a time).

const (
	maxJobs         = 2 // running on the server at once
	maxJobsPerUser  = 1 // running for one user at once
	defaultJobPaths = 5_000
	maxJobPaths     = 100_000
	// maxJobSimulatedBars bounds a job's paths times its bars (about 25
	// minutes of CPU with the default strategy).
	maxJobSimulatedBars = 80_000_000
	jobWorkers          = 2                // paths simulated in parallel in one job
	jobTimeout          = 30 * time.Minute // a job still running then is stopped
	jobKeep             = time.Hour        // a finished job is kept this long
	maxJobsKept         = 10               // finished jobs kept per user (newest)
)

// The states of a job.
const (
	jobRunning   = "running"
	jobDone      = "done"
	jobFailed    = "failed"
	jobCancelled = "cancelled"
)

// Job refusals: the user's share, the server's, and too much work.
var (
	errJobsPerUser = &limitError{status: http.StatusTooManyRequests, retry: retryAfter,
		msg: "You already have a job running (a Monte Carlo run or an optimisation); wait for it to finish or cancel it, then try again."}
	errJobsBusy = &limitError{status: http.StatusServiceUnavailable, retry: retryAfter,
		msg: "The server is running as many jobs as it can; try again in a moment."}
)

// checkJobWork refuses a job of more paths, or more simulated bars, than
// the bounds above.
func checkJobWork(bars, paths int) error {
	if bars > maxBacktestBars {
		return tooMuchWork("That price history has %d bars; a backtest runs over at most %d.", bars, maxBacktestBars)
	}
	if bars*paths > maxJobSimulatedBars {
		return tooMuchWork("%d paths over %d bars is more than a job simulates (%d bars in all); use fewer paths or a shorter history.",
			paths, bars, maxJobSimulatedBars)
	}
	return nil
}

// parseJobPaths reads a job's number of paths.
func parseJobPaths(s string) (int, error) {
	n, err := strconv.Atoi(strings.ReplaceAll(strings.TrimSpace(s), ",", ""))
	if err != nil || n < 1 || n > maxJobPaths {
		return 0, badInput(http.StatusBadRequest, "The number of paths must be a whole number from 1 to %d.", maxJobPaths)
	}
	return n, nil
}

// job is one job of either kind. Its fields before mu are set when it
// starts and never change.
type job struct {
	id      string
	owner   string // user id
	kind    string // jobMonteCarlo or jobOptimize
	form    backtestForm
	paths   int // of a Monte Carlo job
	seed    uint64
	created time.Time
	cancel  context.CancelFunc
	ended   chan struct{} // closed when the goroutine is done

	done  atomic.Int64 // units of work finished: paths, or backtests
	total atomic.Int64 // units of work in all

	mu       sync.Mutex
	state    string
	finished time.Time
	view     *backtestView // the backtest and its Monte Carlo result, when done
	elapsed  time.Duration
	problem  string // why it failed, for the user
}

// jobStatus is a consistent snapshot of a job.
type jobStatus struct {
	ID       string
	Kind     string
	State    string
	Done     int // units of work: paths or backtests
	Total    int
	Paths    int // of a Monte Carlo job
	Seed     uint64
	Form     backtestForm
	Created  time.Time
	Finished time.Time // zero while running
	Elapsed  time.Duration
	Problem  string
	View     *backtestView // when done; shared, read only
}

// Running reports whether the job is still at work.
func (s jobStatus) Running() bool { return s.State == jobRunning }

// Pct is the share of the work done, in percent, rounded down to a tenth
// (100 only when all of it is done).
func (s jobStatus) Pct() float64 {
	if s.Total == 0 {
		return 0
	}
	return float64(s.Done*1000/s.Total) / 10
}

// Unit names the job's units of work.
func (s jobStatus) Unit() string {
	if s.Kind == jobOptimize {
		return "backtests"
	}
	return "paths"
}

// Title names the kind of job.
func (s jobStatus) Title() string {
	if s.Kind == jobOptimize {
		return "Optimisation"
	}
	return "Monte Carlo"
}

func (j *job) status() jobStatus {
	j.mu.Lock()
	defer j.mu.Unlock()
	return jobStatus{ID: j.id, Kind: j.kind, State: j.state, Done: int(j.done.Load()), Total: int(j.total.Load()),
		Paths: j.paths, Seed: j.seed, Form: j.form,
		Created: j.created, Finished: j.finished, Elapsed: j.elapsed, Problem: j.problem, View: j.view}
}

// jobSet runs and keeps the jobs. Its goroutines are stopped and waited
// for by close. Safe for concurrent use.
type jobSet struct {
	ctx   context.Context // parent of every job
	stop  context.CancelFunc
	wg    sync.WaitGroup
	slots chan struct{} // the server's running jobs
	users *perUser      // each user's running jobs
	now   func() time.Time

	mu   sync.Mutex
	jobs map[string]*job // by id
}

func newJobSet() *jobSet {
	ctx, stop := context.WithCancel(context.Background())
	return &jobSet{ctx: ctx, stop: stop, slots: make(chan struct{}, maxJobs), users: newPerUser(maxJobsPerUser),
		now: time.Now, jobs: map[string]*job{}}
}

// jobWork is what a job computes into v (a backtest and its Monte Carlo
// run, or an optimisation), reporting the units of work done.
type jobWork func(ctx context.Context, v *backtestView, progress func(done, total int)) error

// jobSpec says what a job is: its kind, its units of work (the progress
// bar's whole; the work's progress may correct it), and for a Monte Carlo
// job its paths and seed.
type jobSpec struct {
	kind  string
	total int
	paths int
	seed  uint64
}

// start runs work as a new job of owner and returns it with its status
// as it starts (nothing done), or refuses it at once when the owner or
// the server runs as many jobs as they may (errJobsPerUser, errJobsBusy).
func (m *jobSet) start(owner string, spec jobSpec, v backtestView, work jobWork) (*job, jobStatus, error) {
	mine, ok := m.users.acquire(owner)
	if !ok {
		return nil, jobStatus{}, errJobsPerUser
	}
	select {
	case m.slots <- struct{}{}:
	default:
		mine()
		return nil, jobStatus{}, errJobsBusy
	}
	ctx, cancel := context.WithTimeout(m.ctx, jobTimeout)
	j := &job{id: rand.Text(), owner: owner, kind: spec.kind, form: v.Form, paths: spec.paths, seed: spec.seed, created: m.now(),
		cancel: cancel, ended: make(chan struct{}), state: jobRunning}
	j.total.Store(int64(spec.total))
	m.mu.Lock()
	m.pruneLocked(owner)
	m.jobs[j.id] = j
	m.mu.Unlock()
	started := j.status()
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		defer close(j.ended)
		// The slots are given back before the job reads as ended, so a
		// client that saw it done may start the next at once.
		release := sync.OnceFunc(func() { cancel(); <-m.slots; mine() })
		defer release()
		start := time.Now()
		err := work(ctx, &v, func(done, total int) { j.total.Store(int64(total)); j.done.Store(int64(done)) })
		release()
		j.finish(&v, time.Since(start), err, m.now())
	}()
	return j, started, nil
}

// finish records how the job's work ended.
func (j *job) finish(v *backtestView, elapsed time.Duration, err error, now time.Time) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.finished, j.elapsed = now, elapsed
	var le *limitError
	switch {
	case err == nil:
		j.state, j.view = jobDone, v
	case errors.Is(err, context.Canceled):
		j.state = jobCancelled
	case errors.Is(err, context.DeadlineExceeded):
		j.state, j.problem = jobFailed, fmt.Sprintf("The job ran longer than %s and was stopped.", jobTimeout)
	case errors.As(err, &le):
		j.state, j.problem = jobFailed, le.msg
	default:
		j.state, j.problem = jobFailed, "The job failed."
	}
}

// pruneLocked forgets owner's finished jobs beyond the newest maxJobsKept
// and everyone's finished longer than jobKeep ago.
func (m *jobSet) pruneLocked(owner string) {
	now := m.now()
	var mine []*job
	for id, j := range m.jobs {
		s := j.status()
		if s.Running() {
			continue
		}
		if now.Sub(s.Finished) > jobKeep {
			delete(m.jobs, id)
		} else if j.owner == owner {
			mine = append(mine, j)
		}
	}
	for len(mine) >= maxJobsKept {
		oldest := 0
		for i, j := range mine {
			if j.created.Before(mine[oldest].created) {
				oldest = i
			}
		}
		delete(m.jobs, mine[oldest].id)
		mine = append(mine[:oldest], mine[oldest+1:]...)
	}
}

// get returns owner's job id of kind ("" for either); another user's
// job, or one of another kind, is not found.
func (m *jobSet) get(owner, kind, id string) (*job, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	j, ok := m.jobs[id]
	if !ok || j.owner != owner || (kind != "" && j.kind != kind) {
		return nil, false
	}
	return j, true
}

// list returns owner's jobs of kind ("" for both), newest first.
func (m *jobSet) list(owner, kind string) []jobStatus {
	m.mu.Lock()
	var out []jobStatus
	for _, j := range m.jobs {
		if j.owner == owner && (kind == "" || j.kind == kind) {
			out = append(out, j.status())
		}
	}
	m.mu.Unlock()
	slices.SortFunc(out, func(a, b jobStatus) int { return b.Created.Compare(a.Created) })
	return out
}

// cancel stops owner's job id of kind ("" for either) and waits (up to
// wait) for its goroutine to end. A finished job stays as it ended.
func (m *jobSet) cancel(owner, kind, id string, wait time.Duration) (*job, bool) {
	j, ok := m.get(owner, kind, id)
	if !ok {
		return nil, false
	}
	j.cancel()
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-j.ended:
	case <-t.C:
	}
	return j, true
}

// close cancels every job and waits for their goroutines.
func (m *jobSet) close() {
	m.stop()
	m.wg.Wait()
}

// startJob checks a job request (the backtest's fields and the paths),
// loads its history and starts it for the current user.
func (a *app) startJob(c *gin.Context, f backtestForm) (*job, jobStatus, error) {
	paths, err := parseJobPaths(f.Paths)
	if err != nil {
		return nil, jobStatus{}, err
	}
	f.MonteCarlo = true
	v := backtestView{Form: f}
	p, err := a.planBacktest(c, &v)
	if err != nil {
		return nil, jobStatus{}, err
	}
	if err := checkJobWork(len(p.bars), paths); err != nil {
		return nil, jobStatus{}, err
	}
	spec := jobSpec{kind: jobMonteCarlo, total: paths, paths: paths, seed: p.seed}
	return a.jobs.start(currentUser(c).ID, spec, v, func(ctx context.Context, v *backtestView, progress func(done, total int)) error {
		return p.run(ctx, v, &papertrade.MonteCarloOptions{Paths: paths, Seed: p.seed, Workers: jobWorkers, Progress: progress})
	})
}

// jobSubmit is POST /backtest/jobs: the backtest form's fields as a
// Monte Carlo job; the browser goes to the job's page.
func (a *app) jobSubmit(c *gin.Context) {
	f := backtestFormFrom(c.GetPostForm)
	j, _, err := a.startJob(c, f)
	a.jobStarted(c, f, j, err, false)
}

// jobStarted sends the browser to the job's page, or shows the backtest
// page with the form as it was (the optimisation's fields open for an
// optimisation) and the reason the job was refused.
func (a *app) jobStarted(c *gin.Context, f backtestForm, j *job, err error, optimizing bool) {
	if err != nil {
		status, retry, ok := statusOf(err)
		if !ok {
			a.fail(c, err)
			return
		}
		setRetryAfter(c, retry)
		v := backtestView{Form: f, Strategies: papertrade.Strategies(), Known: sim.Instruments(), DataSets: a.dataSets(c.Request.Context()),
			Metrics: optimizeMetrics(), OptOpen: optimizing}
		a.render(c, status, "backtest", view{Title: "Backtest", Active: "backtest", Error: err.Error(), Data: v})
		return
	}
	c.Redirect(http.StatusSeeOther, "/backtest/jobs/"+j.id+"#mc-job") // on a phone the job is below the form
}

// noSuchJob is the page of a job that is not the user's (or long gone).
func (a *app) noSuchJob(c *gin.Context) {
	a.errorPage(c, http.StatusNotFound, "not_found", "No such job", "There is no job here: it may have ended long ago.")
}

// jobPage is GET /backtest/jobs/:id: the backtest page with the job's
// progress, and its result once it is done.
func (a *app) jobPage(c *gin.Context) {
	j, ok := a.jobs.get(currentUser(c).ID, "", c.Param("id"))
	if !ok {
		a.noSuchJob(c)
		return
	}
	s := j.status()
	v := backtestView{Form: s.Form}
	if s.View != nil {
		v = *s.View
		v.Ran, v.Elapsed = true, s.Elapsed
	}
	v.Strategies, v.Known, v.DataSets, v.Metrics = papertrade.Strategies(), sim.Instruments(), a.dataSets(c.Request.Context()), optimizeMetrics()
	v.Job, v.Jobs = &s, a.jobs.list(currentUser(c).ID, "")
	a.render(c, http.StatusOK, "backtest", view{Title: s.Title() + " job · " + s.Form.Symbol, Active: "backtest", Data: v})
}

// jobCancel is POST /backtest/jobs/:id/cancel.
func (a *app) jobCancel(c *gin.Context) {
	id := c.Param("id")
	j, ok := a.jobs.cancel(currentUser(c).ID, "", id, 2*time.Second)
	if !ok {
		a.noSuchJob(c)
		return
	}
	if s := j.status(); s.State == jobCancelled {
		flashRedirect(c, "/backtest/jobs/"+id, fmt.Sprintf("Job cancelled after %d of %d %s.", s.Done, s.Total, s.Unit()))
		return
	}
	c.Redirect(http.StatusSeeOther, "/backtest/jobs/"+id+"#mc-job")
}
