package upload

import (
	"context"
	"errors"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// abortingFS is a shared FS that is an Aborter recording its calls and
// failing as told.
type abortingFS struct {
	*FS
	mu      sync.Mutex
	cutoffs []time.Time
	fail    error
}

func (a *abortingFS) AbortIncomplete(_ context.Context, prefix string, cutoff time.Time) (int, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if prefix != "" {
		return 0, errors.New("prefix " + prefix)
	}
	a.cutoffs = append(a.cutoffs, cutoff)
	if a.fail != nil {
		return 0, a.fail
	}
	return 2, nil
}

func (a *abortingFS) calls() []time.Time {
	a.mu.Lock()
	defer a.mu.Unlock()
	return slices.Clone(a.cutoffs)
}

// TestSweepAbortsIncomplete: the janitor asks an Aborter to abort the
// uploads started before now minus StagingGrace, over the whole Storage,
// logs what it aborted, and an Aborter that fails neither fails the sweep
// nor keeps the staged objects from being swept.
func TestSweepAbortsIncomplete(t *testing.T) {
	ctx := context.Background()
	fsys, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	shared := &abortingFS{FS: fsys}
	clk := &clock{t: time.Now()}
	e := newEnv(t, Options{Storage: shared, Now: clk.now, StagingGrace: time.Hour})
	if got := shared.calls(); len(got) != 1 || !got[0].Equal(clk.now().Add(-time.Hour)) {
		t.Fatalf("New's sweep: cutoffs %v, want one at now-1h", got)
	}
	if !strings.Contains(e.logs.String(), "abandoned incomplete uploads aborted") {
		t.Error("the aborts are not logged")
	}
	if _, err := fsys.Put(ctx, "incoming/orphan", strings.NewReader(csvTx)); err != nil {
		t.Fatal(err)
	}
	clk.add(2 * time.Hour)
	shared.mu.Lock()
	shared.fail = errors.New("list multipart uploads: connection refused")
	shared.mu.Unlock()
	if err := e.m.sweep(ctx); err != nil {
		t.Fatalf("a failing Aborter failed the sweep: %v", err)
	}
	if got := shared.calls(); len(got) < 2 || !got[len(got)-1].Equal(clk.now().Add(-time.Hour)) {
		t.Fatalf("cutoffs %v", got)
	}
	if objs, _ := fsys.List(ctx, stagingPrefix); len(objs) != 0 {
		t.Fatalf("staged objects kept after a failed abort: %v", keysOf(objs))
	}
	if !strings.Contains(e.logs.String(), "abort incomplete uploads") {
		t.Error("the failure is not logged")
	}
}
