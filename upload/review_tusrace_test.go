package upload

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// pairedPuts is a shared FS whose staging Puts fail while down is set and
// otherwise wait until two of them have arrived (or a second passed), so
// two instances complete the same tus upload at the same time.
type pairedPuts struct {
	*FS
	down    atomic.Bool
	arrived atomic.Int32
	both    chan struct{}
	once    sync.Once
}

func (p *pairedPuts) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if strings.HasPrefix(key, stagingPrefix) {
		if p.down.Load() {
			return 0, io.ErrUnexpectedEOF
		}
		if p.arrived.Add(1) == 2 {
			p.once.Do(func() { close(p.both) })
		}
		select {
		case <-p.both:
		case <-time.After(time.Second):
		}
	}
	return p.FS.Put(ctx, key, r)
}

// TestTusCompletedTwiceAtOnce (review): two instances sharing the
// temporary directory, the store and the object storage complete the same
// fully received tus upload at once (a HEAD on each after the storage
// outage that failed its last PATCH). One records it; the other finds the
// session gone and must not delete the staged object the recorded upload
// refers to: the job finishes and the file is stored. The loser used to
// unstage it, so the acknowledged upload's job found no file.
func TestTusCompletedTwiceAtOnce(t *testing.T) {
	st, _ := newOutage(t)
	shared := &pairedPuts{FS: st.FS, both: make(chan struct{})}
	e := newEnv(t, Options{Storage: shared, Workers: 1})
	b, err := New(context.Background(), Options{Dir: e.fs, Store: e.store, Storage: shared, Authorize: testAuth,
		Poll: 20 * time.Millisecond, Logger: newTestLogger(e.logs)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/uploads/", b.Handler())
	srvB := httptest.NewServer(mux)
	t.Cleanup(func() {
		srvB.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = b.Shutdown(ctx)
	})

	shared.down.Store(true)
	loc := e.tusCreate("b.csv", len(csvTx))
	id := loc[strings.LastIndex(loc, "/")+1:]
	if r := e.tus(http.MethodPatch, loc, "admin", []byte(csvTx), map[string]string{"Upload-Offset": "0"}); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("last PATCH during the outage: %d", r.StatusCode)
	}
	shared.down.Store(false)
	var wg sync.WaitGroup
	codes := make([]int, 2)
	for i, base := range []string{e.srv.URL, srvB.URL} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest(http.MethodHead, base+loc, nil)
			req.Header.Set("Tus-Resumable", "1.0.0")
			req.Header.Set("Authorization", "Bearer admin")
			if resp, err := http.DefaultClient.Do(req); err == nil {
				codes[i] = resp.StatusCode
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if u := e.wait(id); u.State != StateDone {
		t.Fatalf("HEADs %v; job %s %q", codes, u.State, u.Message)
	}
	if codes[0] != http.StatusOK || codes[1] != http.StatusOK {
		t.Fatalf("HEADs: %v, want both 200", codes)
	}
}
