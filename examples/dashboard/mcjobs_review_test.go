package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// Racing starts take exactly the slots there are: one job per user, two
// on the server, whatever the interleaving; the refused get the user's
// or the server's reason, and nothing of theirs is kept.
func TestMonteCarloJobsRacingStarts(t *testing.T) {
	m := newJobSet()
	defer m.close()
	hold := make(chan struct{})
	work := func(ctx context.Context, _ *backtestView, _ func(int, int)) error {
		select {
		case <-hold:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	race := func(owners []string) (ok, perUser, busy int) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		gate := make(chan struct{})
		for _, o := range owners {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-gate
				_, _, err := m.start(o, jobSpec{kind: jobMonteCarlo, total: 10, paths: 10, seed: 1}, backtestView{}, work)
				mu.Lock()
				defer mu.Unlock()
				switch {
				case err == nil:
					ok++
				case errors.Is(err, errJobsPerUser):
					perUser++
				case errors.Is(err, errJobsBusy):
					busy++
				default:
					t.Errorf("start: %v", err)
				}
			}()
		}
		close(gate)
		wg.Wait()
		return
	}
	one := make([]string, 16)
	for i := range one {
		one[i] = "bob"
	}
	ok, perUser, busy := race(one)
	assert.Equal(t, [3]int{1, 15, 0}, [3]int{ok, perUser, busy}, "one user racing himself")
	require.Len(t, m.list("bob", ""), 1)

	var many []string
	for i := range 12 {
		many = append(many, fmt.Sprintf("u%d", i%6))
	}
	ok, perUser, busy = race(many)
	assert.Equal(t, 1, ok, "the server's second slot goes to one of them")
	assert.Equal(t, 11, perUser+busy)
	running := 0
	for i := range 6 {
		running += len(m.list(fmt.Sprintf("u%d", i), ""))
	}
	assert.Equal(t, 1, running, "a refused start keeps no job")

	// Every job finishes; the slots are free again.
	close(hold)
	deadline := time.Now().Add(10 * time.Second)
	for {
		_, _, err := m.start("carl", jobSpec{kind: jobMonteCarlo, total: 10, paths: 10, seed: 1}, backtestView{}, work)
		if err == nil {
			break
		}
		require.True(t, time.Now().Before(deadline), "slots never freed: %v", err)
		time.Sleep(time.Millisecond)
	}
}

// A cancel racing the job's own end leaves one consistent state: done
// with its result, or cancelled without one; never "done" without a
// result or "cancelled" with one, and the user's slot is free afterwards.
func TestMonteCarloJobCancelRacingCompletion(t *testing.T) {
	m := newJobSet()
	defer m.close()
	for i := range 200 {
		owner := fmt.Sprintf("u%d", i)
		j, _, err := m.start(owner, jobSpec{kind: jobMonteCarlo, total: 10, paths: 10, seed: 1}, backtestView{}, func(ctx context.Context, v *backtestView, progress func(int, int)) error {
			progress(10, 10)
			if i%3 == 0 {
				return ctx.Err()
			}
			return nil
		})
		require.NoError(t, err)
		go m.cancel(owner, "", j.id, 0)
		<-j.ended
		s := j.status()
		switch s.State {
		case jobDone:
			require.NotNil(t, s.View, "job %d done without a result", i)
		case jobCancelled:
			require.Nil(t, s.View, "job %d cancelled with a result", i)
		default:
			t.Fatalf("job %d ended %q (%s)", i, s.State, s.Problem)
		}
		require.False(t, s.Finished.IsZero())
	}
}

// A seed above the largest the backtest takes is refused with the range,
// not with "at least 0" (it was a whole number of at least 0); the
// largest is taken.
func TestMonteCarloJobSeedRange(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleUser)
	status, raw := e.do(t, apiCall{client: bob, method: "POST", path: "/api/montecarlo/jobs",
		body: map[string]any{"paths": 10, "seed": uint64(math.MaxUint64)}})
	assert.Equal(t, http.StatusBadRequest, status, "%s", raw)
	assert.Contains(t, string(raw), "from 0 to 9223372036854775807")
	id, job := e.startJob(t, bob, map[string]any{"paths": 10, "seed": uint64(math.MaxInt64)})
	assert.Equal(t, float64(math.MaxInt64), job["seed"])
	e.waitJob(t, bob, id)
}

// /api/montecarlo defines every probability it answers, as the page does
// (prob_beat_buy_hold had no definition).
func TestMonteCarloAPIDefinesItsProbabilities(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleUser)
	status, raw := e.do(t, apiCall{client: bob, method: "GET", path: "/api/montecarlo?symbol=SPY&paths=20"})
	require.Equal(t, http.StatusOK, status, "%s", raw)
	var mc map[string]any
	require.NoError(t, json.Unmarshal(raw, &mc))
	if m, ok := mc["monte_carlo"].(map[string]any); ok {
		mc = m
	}
	defs, ok := mc["definitions"].(map[string]any)
	require.True(t, ok, "%s", raw)
	n := 0
	for k := range mc {
		if strings.HasPrefix(k, "prob_") || strings.HasPrefix(k, "risk_") {
			n++
			assert.NotEmpty(t, defs[k], "%s has no definition", k)
		}
	}
	assert.GreaterOrEqual(t, n, 3)
}

// Closing the app while a real job of 100,000 paths runs stops it within
// a moment (the simulation itself honours the cancel), records it as
// cancelled part way, and leaves no goroutine behind.
func TestMonteCarloJobRealWorkStopsOnClose(t *testing.T) {
	e := newTestEnv(t)
	bob := e.user(t, "bob", auth.RoleUser)
	id, _ := e.startJob(t, bob, map[string]any{"symbol": "SPY", "paths": maxJobPaths})
	for {
		_, j := e.jobCall(t, bob, "GET", "/api/montecarlo/jobs/"+id, nil)
		require.Equal(t, jobRunning, j["state"])
		if j["done_paths"].(float64) > 0 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	start := time.Now()
	e.app.jobs.close() // what app.Close does with its jobs
	assert.Less(t, time.Since(start), 5*time.Second, "the job's goroutines stopped")
	j, ok := e.app.jobs.get(mustUser(t, e, "bob").ID, jobMonteCarlo, id)
	require.True(t, ok)
	s := j.status()
	assert.Equal(t, jobCancelled, s.State)
	assert.Less(t, s.Done, s.Paths)
	assert.Nil(t, s.View)
}

// A job seen as ended has given its slots back: a client that polls its
// job until it is done and then starts the next is never told it still
// runs one (about one start in five was refused with a 429: the slots
// were freed after the job was recorded as done).
func TestJobSeenEndedHasFreedItsSlot(t *testing.T) {
	m := newJobSet()
	defer m.close()
	quick := func(context.Context, *backtestView, func(int, int)) error { return nil }
	spec := jobSpec{kind: jobMonteCarlo, total: 1, paths: 1, seed: 1}
	refused := 0
	for range 3000 {
		j, _, err := m.start("bob", spec, backtestView{}, quick)
		for err != nil { // counted; wait for the slot to start the next
			refused++
			j, _, err = m.start("bob", spec, backtestView{}, quick)
		}
		for j.status().Running() {
		}
	}
	assert.Zero(t, refused, "starts refused right after the previous job read as done")
}
