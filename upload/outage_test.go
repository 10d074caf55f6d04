package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// outageStorage is a shared Storage whose Puts fail while down is set, or
// for the first failPuts of them (an object store that is down, then
// back).
type outageStorage struct {
	*FS
	down     atomic.Bool
	failPuts atomic.Int32
	puts     atomic.Int32
}

func (o *outageStorage) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	o.puts.Add(1)
	if o.down.Load() || o.failPuts.Add(-1) >= 0 {
		return 0, errors.New("dial tcp 127.0.0.1:9000: connect: connection refused")
	}
	return o.FS.Put(ctx, key, r)
}

func newOutage(t *testing.T) (*outageStorage, string) {
	t.Helper()
	dir := t.TempDir()
	fsys, err := OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = fsys.Close() })
	return &outageStorage{FS: fsys}, dir
}

// filesIn lists the regular files under dir.
func filesIn(dir string) []string {
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func checkUnavailable(t *testing.T, what string, resp *http.Response, msg string) {
	t.Helper()
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
		t.Errorf("%s: %d (Retry-After %q), want 503 with Retry-After", what, resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if msg != "file storage is unavailable, try again later" {
		t.Errorf("%s: error %q", what, msg)
	}
}

// TestStorageOutageIs503: the shared object storage is down while an
// accepted file is staged: the answer is 503 with Retry-After and a clear
// JSON error without the storage's error (it was a 500 "internal error"),
// nothing is recorded or left, and the refusal is audited. A tus upload
// whose last PATCH met the outage keeps its bytes; a HEAD meanwhile is a
// 503 too (it tries to complete the upload: reporting the full offset
// would end a standard client); once the storage is back an empty PATCH
// at the end completes it.
func TestStorageOutageIs503(t *testing.T) {
	st, sdir := newOutage(t)
	st.down.Store(true)
	e := newEnv(t, Options{Storage: st})
	resp, body := e.post("admin", part{name: "a.csv", content: []byte(csvTx)})
	msg, _ := body["error"].(string)
	checkUnavailable(t, "multipart", resp, msg)
	if st.puts.Load() == 0 {
		t.Fatal("nothing was staged")
	}
	e.requireEmpty()
	if left := filesIn(sdir); len(left) != 0 {
		t.Fatalf("files in the shared storage: %v", left)
	}
	if !strings.Contains(e.logs.String(), `"reason":"file storage is unavailable, try again later"`) {
		t.Error("the refusal is not audited")
	}

	loc := e.tusCreate("b.csv", len(csvTx))
	req, _ := http.NewRequest(http.MethodPatch, e.srv.URL+loc, strings.NewReader(csvTx))
	req.Header.Set("Tus-Resumable", "1.0.0")
	req.Header.Set("Content-Type", "application/offset+octet-stream")
	req.Header.Set("Upload-Offset", "0")
	req.Header.Set("Authorization", "Bearer admin")
	resp, body = e.do(req)
	msg, _ = body["error"].(string)
	checkUnavailable(t, "tus", resp, msg)
	if ups, _ := e.store.List(context.Background(), ListOptions{}); len(ups) != 0 {
		t.Fatalf("uploads recorded: %d", len(ups))
	}
	if r := e.tus(http.MethodHead, loc, "admin", nil, nil); r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("HEAD during the outage (it tries to complete the upload): %d", r.StatusCode)
	}
	st.down.Store(false)
	if r := e.tus(http.MethodPatch, loc, "admin", nil, map[string]string{"Upload-Offset": strconv.Itoa(len(csvTx))}); r.StatusCode != http.StatusNoContent {
		t.Fatalf("completing PATCH: %d", r.StatusCode)
	}
	if u := e.wait(loc[strings.LastIndex(loc, "/")+1:]); u.State != StateDone {
		t.Fatalf("job %+v", u)
	}
}

// TestClientRetriesOutage: Client treats the 503 of a storage outage as
// retryable: a multipart upload and a tus upload whose staging fails the
// first two times are sent again and stored whole.
func TestClientRetriesOutage(t *testing.T) {
	st, _ := newOutage(t)
	e := newEnv(t, Options{Storage: st})
	var content bytes.Buffer
	content.WriteString("a,b\n")
	for content.Len() < 200_000 {
		content.WriteString("12345,67890\n")
	}
	sum := sha256.Sum256(content.Bytes())
	for _, over := range []int64{-1, 1000} { // multipart, then tus
		st.failPuts.Store(2)
		c := &Client{BaseURL: e.srv.URL + "/uploads", Token: "admin", ResumableOver: over, ChunkSize: 64 << 10, MaxRetryWait: 10 * time.Millisecond}
		u, err := c.Send(context.Background(), "big.csv", bytes.NewReader(content.Bytes()), int64(content.Len()), nil)
		if err != nil {
			t.Fatalf("resumable over %d: %v", over, err)
		}
		done, err := c.Wait(context.Background(), u.ID, nil)
		if err != nil || done.State != StateDone || done.SHA256 != hex.EncodeToString(sum[:]) {
			t.Fatalf("resumable over %d: %+v %v", over, done, err)
		}
	}
	// Without retries the 503 reaches the caller as a retryable error.
	st.failPuts.Store(1)
	c := &Client{BaseURL: e.srv.URL + "/uploads", Token: "admin", ResumableOver: -1, Retries: -1}
	_, err := c.Send(context.Background(), "x.csv", strings.NewReader(csvTx), int64(len(csvTx)), nil)
	re, ok := errors.AsType[*ResponseError](err)
	if !ok || !re.Retryable() || re.RetryAfter != 5*time.Second {
		t.Fatalf("%v, want a retryable 503 with Retry-After 5 s", err)
	}
}
