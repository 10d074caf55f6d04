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

// clock is a settable Options.Now.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func keysOf(objs []ObjectInfo) []string {
	var out []string
	for _, o := range objs {
		out = append(out, o.Key)
	}
	slices.Sort(out)
	return out
}

func TestFSList(t *testing.T) {
	ctx := context.Background()
	fsys, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	if objs, err := fsys.List(ctx, "incoming/"); err != nil || len(objs) != 0 {
		t.Fatalf("empty: %v %v", objs, err)
	}
	for _, k := range []string{"incoming/a", "incoming/b", "sha256/ab/abc", "incomingx"} {
		if _, err := fsys.Put(ctx, k, strings.NewReader(k)); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := fsys.List(ctx, "incoming/")
	if got := keysOf(objs); err != nil || !slices.Equal(got, []string{"incoming/a", "incoming/b"}) || objs[0].Size != int64(len("incoming/a")) {
		t.Fatalf("incoming/: %v %v", got, err)
	}
	if objs, err := fsys.List(ctx, ""); err != nil || len(objs) != 4 {
		t.Fatalf("all: %v %v", keysOf(objs), err)
	}
	for _, bad := range []string{"../", "incoming", "/etc/", "a/../../"} {
		if _, err := fsys.List(ctx, bad); !errors.Is(err, ErrBadKey) {
			t.Errorf("List(%q) = %v, want ErrBadKey", bad, err)
		}
	}
}

// TestSweepStaged: with a shared Storage that is a Lister, the janitor
// deletes staged objects that no upload refers to once they are older than
// StagingGrace (an instance died after staging and before recording), and
// keeps younger ones and those a queued upload refers to.
func TestSweepStaged(t *testing.T) {
	ctx := context.Background()
	sdir := t.TempDir()
	shared, err := OpenFS(sdir)
	if err != nil {
		t.Fatal(err)
	}
	defer shared.Close()
	clk := &clock{t: time.Now()}
	e := newEnv(t, Options{Storage: shared, Now: clk.now, StagingGrace: time.Hour})
	for _, k := range []string{"incoming/orphan", "incoming/queued", "sha256/ab/abc"} {
		if _, err := shared.Put(ctx, k, strings.NewReader(csvTx)); err != nil {
			t.Fatal(err)
		}
	}
	// An upload recorded with its staged copy, not due yet (no worker takes it).
	later := clk.now().Add(100 * time.Hour)
	if err := e.store.Create(ctx, Upload{ID: "queued", Owner: "u-admin", Name: "q.csv", Type: "text/csv", Size: int64(len(csvTx)),
		SHA256: strings.Repeat("a", 64), Key: objectKey(strings.Repeat("a", 64)), Temp: "incoming/queued",
		State: StateQueued, RunAt: later, Created: clk.now(), Updated: clk.now()}); err != nil {
		t.Fatal(err)
	}
	if err := e.m.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	if objs, _ := shared.List(ctx, ""); len(objs) != 3 {
		t.Fatalf("young staged objects deleted: %v", keysOf(objs))
	}
	clk.add(2 * time.Hour)
	if err := e.m.sweep(ctx); err != nil {
		t.Fatal(err)
	}
	objs, _ := shared.List(ctx, "")
	if got := keysOf(objs); !slices.Equal(got, []string{"incoming/queued", "sha256/ab/abc"}) {
		t.Fatalf("after the grace: %v, want the orphan gone", got)
	}
	if !strings.Contains(e.logs.String(), "unreferenced staged file deleted") {
		t.Error("the deletion is not logged")
	}
}
