package upload

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func csvProcessor(f func(ctx context.Context, j *Job) error) map[string][]Processor {
	return map[string][]Processor{"text/csv": {ProcessorFunc(f)}}
}

func (e *env) upload(name, content string) string {
	e.t.Helper()
	resp, body := e.post("admin", part{name: name, content: []byte(content)})
	if resp.StatusCode != http.StatusAccepted {
		e.t.Fatalf("upload %s: %d %v", name, resp.StatusCode, body)
	}
	return ids(e.t, body)[0]
}

func TestRetriesWithBackoff(t *testing.T) {
	var calls atomic.Int32
	e := newEnv(t, Options{MaxAttempts: 3, RetryBackoff: 30 * time.Millisecond, Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		if calls.Add(1) < 3 {
			return Transient(errors.New("database busy"))
		}
		return nil
	})})
	start := time.Now()
	u := e.wait(e.upload("a.csv", csvTx))
	if u.State != StateDone || u.Attempts != 3 || calls.Load() != 3 {
		t.Fatalf("%+v, %d calls", u, calls.Load())
	}
	if el := time.Since(start); el < 90*time.Millisecond { // 30 + 60 ms of back-off
		t.Fatalf("retried without back-off: %v", el)
	}
	// A job that keeps failing transiently fails after MaxAttempts; a
	// permanent error fails at once.
	calls.Store(-100)
	u = e.wait(e.upload("b.csv", "x\n1\n"))
	if u.State != StateFailed || u.Attempts != 3 || !strings.Contains(u.Message, "database busy") {
		t.Fatalf("%+v", u)
	}
}

func TestPermanentErrorAndPanic(t *testing.T) {
	e := newEnv(t, Options{Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		if strings.HasPrefix(j.Upload.Name, "panic") {
			panic("processor bug")
		}
		return errors.New("line 2: bad date")
	})})
	u := e.wait(e.upload("a.csv", csvTx))
	if u.State != StateFailed || u.Attempts != 1 || u.Message != "line 2: bad date" {
		t.Fatalf("%+v", u)
	}
	u = e.wait(e.upload("panic.csv", "p\n1\n"))
	if u.State != StateFailed || strings.Contains(u.Message, "processor bug") {
		t.Fatalf("%+v", u)
	}
	// the file stays stored and downloadable even when processing failed
	if resp, b := e.get("/uploads/" + u.ID + "/content"); resp.StatusCode != 200 || string(b) != "p\n1\n" {
		t.Fatalf("content %d %q", resp.StatusCode, b)
	}
}

func TestJobTimeout(t *testing.T) {
	e := newEnv(t, Options{JobTimeout: 50 * time.Millisecond, MaxAttempts: 2, RetryBackoff: time.Millisecond, Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		<-ctx.Done()
		return ctx.Err()
	})})
	u := e.wait(e.upload("a.csv", csvTx))
	if u.State != StateFailed || u.Attempts != 2 || !strings.Contains(u.Message, "too long") {
		t.Fatalf("%+v", u)
	}
}

func TestCancelRunningAndQueued(t *testing.T) {
	started := make(chan string, 4)
	e := newEnv(t, Options{Workers: 1, Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		started <- j.Upload.ID
		<-ctx.Done()
		return ctx.Err()
	})})
	running := e.upload("a.csv", csvTx)
	<-started
	queued := e.upload("b.csv", "b\n1\n")
	for _, id := range []string{queued, running} {
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads/"+id+"/cancel", nil)
		req.Header.Set("Authorization", "Bearer admin")
		if resp, body := e.do(req); resp.StatusCode != 202 {
			t.Fatalf("cancel %s: %d %v", id, resp.StatusCode, body)
		}
	}
	for _, id := range []string{running, queued} {
		if u := e.wait(id); u.State != StateCancelled || !u.Stored() {
			t.Fatalf("%s: %+v", id, u)
		}
	}
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads/"+running+"/cancel", nil)
	req.Header.Set("Authorization", "Bearer admin")
	if resp, _ := e.do(req); resp.StatusCode != 409 {
		t.Fatalf("cancel of an ended job: %d", resp.StatusCode)
	}
	if len(e.temps()) != 0 || len(e.objects()) != 2 {
		t.Fatalf("temps %v objects %v", e.temps(), e.objects())
	}
}

// TestLeaseTakeover: a worker that stops renewing (its process died)
// loses the job to another worker once the lease expires.
func TestLeaseTakeover(t *testing.T) {
	store := NewMemStore()
	e := newEnv(t, Options{Store: store, Lease: 150 * time.Millisecond, Processors: csvProcessor(func(ctx context.Context, j *Job) error { return nil })})
	// Stop the manager's workers from claiming before the "dead" worker does.
	_ = e.m.Shutdown(context.Background())
	e.srv.Close()
	u := Upload{ID: "deadbeef00", Owner: "u-admin", Name: "a.csv", Type: "text/csv", Size: 3, SHA256: strings.Repeat("ab", 32), State: StateQueued, Created: time.Now(), Updated: time.Now()}
	u.Key = objectKey(u.SHA256)
	if _, err := e.fs.Put(context.Background(), u.Key, strings.NewReader("a\n1")); err != nil {
		t.Fatal(err)
	}
	if err := store.Create(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Claim(context.Background(), "dead-worker", time.Now(), 150*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	e.start(Options{Dir: e.fs, Store: store, Authorize: testAuth, Lease: 150 * time.Millisecond, Poll: 20 * time.Millisecond, Processors: csvProcessor(func(ctx context.Context, j *Job) error { return nil })})
	got := e.wait(u.ID)
	if got.State != StateDone || got.Attempts != 2 {
		t.Fatalf("%+v", got)
	}
	if err := store.Finish(context.Background(), u.ID, "dead-worker", Finish{State: StateFailed}); !errors.Is(err, ErrLeaseLost) {
		t.Fatalf("the dead worker can still write: %v", err)
	}
}

// TestLeaseRenewedWhileRunning: a job running longer than its lease keeps
// it, so no second worker starts it.
func TestLeaseRenewedWhileRunning(t *testing.T) {
	var calls atomic.Int32
	// The job runs for more than three leases; renewals come every third
	// of a lease, so only a renewal late by two thirds (a very loaded
	// machine) would lose it.
	e := newEnv(t, Options{Workers: 3, Lease: 600 * time.Millisecond, Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		calls.Add(1)
		time.Sleep(2 * time.Second)
		return nil
	})})
	u := e.wait(e.upload("a.csv", csvTx))
	if u.State != StateDone || calls.Load() != 1 || u.Attempts != 1 {
		t.Fatalf("%+v, %d calls", u, calls.Load())
	}
}

func TestShutdownDrainsAndHandsBack(t *testing.T) {
	store := NewMemStore()
	release := make(chan struct{})
	started := make(chan struct{}, 4)
	proc := csvProcessor(func(ctx context.Context, j *Job) error {
		started <- struct{}{}
		select {
		case <-release:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})
	e := newEnv(t, Options{Store: store, Workers: 1, Processors: proc})
	id := e.upload("a.csv", csvTx)
	<-started
	// Draining: Shutdown waits for the running job.
	done := make(chan error)
	go func() { done <- e.m.Shutdown(context.Background()) }()
	for !e.m.closed.Load() {
		time.Sleep(time.Millisecond)
	}
	if resp, _ := e.post("admin", part{name: "b.csv", content: []byte("b\n")}); resp.StatusCode != 503 {
		t.Fatalf("intake during shutdown: %d", resp.StatusCode)
	}
	select {
	case <-done:
		t.Fatal("Shutdown returned while a job ran")
	default:
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if u, _ := store.Get(context.Background(), id); u.State != StateDone {
		t.Fatalf("%+v", u)
	}

	// Hand-back: a deadline cancels the job, which goes back to the queue
	// with its attempt refunded; the next start finishes it.
	e.srv.Close()
	block := make(chan struct{})
	e.start(Options{Dir: e.fs, Store: store, Authorize: testAuth, Poll: 20 * time.Millisecond, Workers: 1, Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		started <- struct{}{}
		select {
		case <-block:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	})})
	id2 := e.upload("c.csv", "c\n1\n")
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := e.m.Shutdown(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Shutdown = %v", err)
	}
	u, _ := store.Get(context.Background(), id2)
	if u.State != StateQueued || u.Attempts != 0 || !u.Stored() {
		t.Fatalf("handed back: %+v", u)
	}
	close(block)
	e.srv.Close()
	e.start(Options{Dir: e.fs, Store: store, Authorize: testAuth, Poll: 20 * time.Millisecond, Processors: proc})
	if u := e.wait(id2); u.State != StateDone || u.Attempts != 1 {
		t.Fatalf("resumed: %+v", u)
	}
}

func TestStartDeletesOrphansKeepsReferenced(t *testing.T) {
	store := NewMemStore()
	dir := t.TempDir()
	fsys, err := OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	orphan := NewTempName()
	kept := NewTempName()
	for _, n := range []string{orphan, kept} {
		if err := os.WriteFile(filepath.Join(dir, tempDir, n), []byte("a,b\n1,2\n"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	sum := "9a1b6b0c2b5e2c0d3b4a6f7e8d9c0b1a2f3e4d5c6b7a8f9e0d1c2b3a4f5e6d7c"
	if err := store.Create(context.Background(), Upload{ID: "queued0001", Name: "k.csv", Type: "text/csv", Size: 8, SHA256: sum, Key: objectKey(sum), Temp: kept, State: StateQueued, Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, dir: dir, fs: fsys, store: store, logs: &syncBuffer{}}
	e.start(Options{Dir: fsys, Store: store, Authorize: testAuth, Poll: 20 * time.Millisecond, Logger: newTestLogger(e.logs)})
	defer func() { e.srv.Close(); _ = e.m.Shutdown(context.Background()) }()
	u := e.wait("queued0001")
	if u.State != StateDone || !u.Stored() {
		t.Fatalf("%+v", u)
	}
	if len(e.temps()) != 0 || len(e.objects()) != 1 {
		t.Fatalf("temps %v objects %v", e.temps(), e.objects())
	}
}

func TestDeleteAndDedup(t *testing.T) {
	e := newEnv(t, Options{})
	a := e.upload("a.csv", csvTx)
	b := e.upload("b.csv", csvTx)
	e.wait(a)
	e.wait(b)
	if len(e.objects()) != 1 {
		t.Fatalf("same content stored twice: %v", e.objects())
	}
	del := func(id string) int {
		req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/uploads/"+id, nil)
		req.Header.Set("Authorization", "Bearer admin")
		resp, _ := e.do(req)
		return resp.StatusCode
	}
	if st := del(a); st != 204 || len(e.objects()) != 1 {
		t.Fatalf("delete a: %d, objects %v", st, e.objects())
	}
	if resp, b := e.get("/uploads/" + b + "/content"); resp.StatusCode != 200 || string(b) != csvTx {
		t.Fatalf("b after deleting a: %d", resp.StatusCode)
	}
	if st := del(b); st != 204 || len(e.objects()) != 0 {
		t.Fatalf("delete b: %d, objects %v", st, e.objects())
	}
	if st := del(b); st != 404 {
		t.Fatalf("second delete: %d", st)
	}
	if resp, _ := e.get("/uploads/" + a); resp.StatusCode != 404 {
		t.Fatalf("status of deleted: %d", resp.StatusCode)
	}
}

func TestDeleteWhileQueuedConflicts(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, Options{Workers: 1, Processors: csvProcessor(func(ctx context.Context, j *Job) error { <-release; return nil })})
	id := e.upload("a.csv", csvTx)
	req, _ := http.NewRequest(http.MethodDelete, e.srv.URL+"/uploads/"+id, nil)
	req.Header.Set("Authorization", "Bearer admin")
	if resp, body := e.do(req); resp.StatusCode != 409 || body["error"] == nil {
		t.Fatalf("delete while running: %d %v", resp.StatusCode, body)
	}
	close(release)
	e.wait(id)
}

func TestEventsStream(t *testing.T) {
	step := make(chan struct{})
	e := newEnv(t, Options{Processors: csvProcessor(func(ctx context.Context, j *Job) error {
		<-step
		j.Progress(40, "reading")
		<-step
		return nil
	})})
	id := e.upload("a.csv", csvTx)
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+"/uploads/"+id+"/events", nil)
	req.Header.Set("Authorization", "Bearer admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.Header.Get("Content-Type") != "text/event-stream" {
		t.Fatalf("content type %q", resp.Header.Get("Content-Type"))
	}
	go func() { step <- struct{}{}; time.Sleep(100 * time.Millisecond); step <- struct{}{} }()
	sc := bufio.NewScanner(resp.Body)
	var states []string
	for sc.Scan() {
		if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			for _, s := range []string{`"state":"queued"`, `"state":"processing"`, `"progress":40`, `"state":"done"`} {
				if strings.Contains(d, s) && (len(states) == 0 || states[len(states)-1] != s) {
					states = append(states, s)
				}
			}
		}
	}
	if got := strings.Join(states, " "); !strings.Contains(got, `"progress":40`) || !strings.HasSuffix(got, `"state":"done"`) {
		t.Fatalf("events: %s", got)
	}
}

func TestListPaginates(t *testing.T) {
	e := newEnv(t, Options{})
	var all []string
	for i := range 7 {
		all = append(all, e.upload(fmt.Sprintf("f%d.csv", i), fmt.Sprintf("a\n%d\n", i)))
		time.Sleep(2 * time.Millisecond)
	}
	var seen []string
	cursor := ""
	for range 10 {
		resp, b := e.get("/uploads?limit=3&before=" + cursor)
		if resp.StatusCode != 200 {
			t.Fatalf("list: %d %s", resp.StatusCode, b)
		}
		var page struct {
			Uploads []Upload
			Next    string
		}
		if err := jsonUnmarshal(b, &page); err != nil {
			t.Fatal(err)
		}
		for _, u := range page.Uploads {
			seen = append(seen, u.ID)
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	if len(seen) != 7 || seen[0] != all[6] || seen[6] != all[0] {
		t.Fatalf("pages: %v, uploads %v", seen, all)
	}
	if resp, _ := e.get("/uploads?limit=0"); resp.StatusCode != 400 {
		t.Fatalf("limit=0: %d", resp.StatusCode)
	}
}
