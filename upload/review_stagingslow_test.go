package upload

import (
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// slowStaging is a shared FS whose staging PUTs take putTime and whose
// objects are dated from the start of their PUT, as an object store may
// date them (S3 dates a multipart upload's object by its initiation).
type slowStaging struct {
	*FS
	dir     string
	putTime time.Duration
}

func (s *slowStaging) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if !strings.HasPrefix(key, stagingPrefix) {
		return s.FS.Put(ctx, key, r)
	}
	start := time.Now()
	select {
	case <-time.After(s.putTime):
	case <-ctx.Done():
		return 0, ctx.Err()
	}
	n, err := s.FS.Put(ctx, key, r)
	if err == nil {
		p, _ := objectPath(key)
		err = os.Chtimes(filepath.Join(s.dir, p), start, start)
	}
	return n, err
}

// gatedCreate holds Store.Create until released.
type gatedCreate struct {
	Store
	entered, release chan struct{}
}

func (g *gatedCreate) Create(ctx context.Context, ups ...Upload) error {
	close(g.entered)
	<-g.release
	return g.Store.Create(ctx, ups...)
}

// TestSlowStagingNotSwept (review): a staging PUT slower than half of
// StagingGrace, on a store that dates an object from the start of its
// upload, must not end in an acknowledged upload whose staged object the
// janitor deleted. The half grace given to recording used to be counted
// from the end of the staging, so the object could be older than the
// grace, unreferenced, while the upload was still being recorded: the
// sweep deleted it, the client got its 202, and the job found no file.
// Staging and recording together now end within half the grace from
// before the staging started (here: a 503, nothing kept).
func TestSlowStagingNotSwept(t *testing.T) {
	const grace = 2 * time.Second
	sdir := t.TempDir()
	sfs, err := OpenFS(sdir)
	if err != nil {
		t.Fatal(err)
	}
	defer sfs.Close()
	shared := &slowStaging{FS: sfs, dir: sdir, putTime: grace * 3 / 4}
	store := &gatedCreate{Store: NewMemStore(), entered: make(chan struct{}), release: make(chan struct{})}
	e := newEnv(t, Options{Storage: shared, Store: store, StagingGrace: grace})
	type result struct {
		status int
		body   map[string]any
	}
	done := make(chan result, 1)
	start := time.Now()
	go func() {
		resp, body := e.post("admin", part{"file", "t.csv", []byte(csvTx)})
		done <- result{resp.StatusCode, body}
	}()
	var r result
	select {
	case <-store.entered: // staged, now being recorded: the janitor runs meanwhile
		time.Sleep(time.Until(start.Add(grace + 200*time.Millisecond)))
		e.m.sweepStaged(context.Background())
		close(store.release)
		r = <-done
	case r = <-done:
		close(store.release)
	}
	switch r.status {
	case http.StatusAccepted:
		if u := e.wait(ids(t, r.body)[0]); u.State != StateDone {
			t.Fatalf("acknowledged upload: %s %q (its staged object was swept)", u.State, u.Message)
		}
	case http.StatusServiceUnavailable:
		if objs, _ := sfs.List(context.Background(), ""); len(objs) != 0 {
			t.Fatalf("refused upload left objects: %v", keysOf(objs))
		}
		if ups, _ := store.List(context.Background(), ListOptions{}); len(ups) != 0 {
			t.Fatalf("refused upload recorded: %d", len(ups))
		}
	default:
		t.Fatalf("POST: %d %v", r.status, r.body)
	}
}
