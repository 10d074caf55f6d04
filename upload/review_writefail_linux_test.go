package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// newTmpfsEnv is newEnv on a tmpfs of size bytes (root only); grow
// remounts it with more room.
func newTmpfsEnv(t *testing.T, size string) (e *env, grow func()) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("mounting a tmpfs needs root")
	}
	dir := t.TempDir()
	if err := syscall.Mount("tmpfs", dir, "tmpfs", 0, "size="+size); err != nil {
		t.Skipf("mount tmpfs: %v", err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(dir, syscall.MNT_DETACH) })
	e = &env{t: t, dir: dir, logs: &syncBuffer{}}
	var err error
	if e.fs, err = OpenFS(dir); err != nil {
		t.Fatal(err)
	}
	e.store = NewMemStore()
	e.start(Options{Store: e.store, Dir: e.fs, Authorize: testAuth, Poll: 20 * time.Millisecond, Logger: newTestLogger(e.logs)})
	t.Cleanup(func() {
		e.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.m.Shutdown(ctx)
		_ = e.fs.Close()
	})
	return e, func() {
		if err := syscall.Mount("tmpfs", dir, "tmpfs", syscall.MS_REMOUNT, "size=64m"); err != nil {
			t.Fatalf("grow the tmpfs: %v", err)
		}
	}
}

// TestTusPatchDiskFull (review): a PATCH whose temporary-file write fails
// midway (the disk is full) keeps only bytes that are in the file, and
// the session's hash state covers exactly those: once space is back and
// the client resumes from the offset HEAD reports, the finished upload's
// SHA-256 is the one of the stored bytes. The piece that failed used to
// be hashed (on tempWriter's helper goroutine) though the file did not
// get it, so the session's hash ran ahead of its file and the upload was
// recorded, and stored under its content-addressed key, with the SHA-256
// of other bytes. Needs root (it mounts a small tmpfs as the storage
// directory).
func TestTusPatchDiskFull(t *testing.T) {
	e, grow := newTmpfsEnv(t, "1m")
	content := []byte("date,note\n" + strings.Repeat("2024-01-02,a line of a csv file to fill the disk\n", (3<<20)/49))
	loc := e.tusCreate("full.csv", len(content))
	id := loc[strings.LastIndex(loc, "/")+1:]
	patch := func(off int) *http.Response {
		return e.tus(http.MethodPatch, loc, "admin", content[off:], map[string]string{"Upload-Offset": strconv.Itoa(off)})
	}
	if r := patch(0); r.StatusCode != http.StatusInternalServerError {
		t.Fatalf("PATCH onto a full disk: %d", r.StatusCode)
	}
	grow()
	r := e.tus(http.MethodHead, loc, "admin", nil, nil)
	off, err := strconv.Atoi(r.Header.Get("Upload-Offset"))
	if r.StatusCode != http.StatusOK || err != nil || off >= len(content) {
		t.Fatalf("HEAD after the failed PATCH: %d %q", r.StatusCode, r.Header.Get("Upload-Offset"))
	}
	if r := patch(off); r.StatusCode != http.StatusNoContent {
		t.Fatalf("resumed PATCH from %d: %d", off, r.StatusCode)
	}
	u := e.wait(id)
	want := sha256.Sum256(content)
	if u.State != StateDone || u.SHA256 != hex.EncodeToString(want[:]) {
		t.Fatalf("resumed from %d: %s %q, sha256 %s, want %x", off, u.State, u.Message, u.SHA256, want)
	}
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/uploads/"+id+"/content", nil)
	req.Header.Set("Authorization", "Bearer admin")
	e.m.Handler().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK || !bytes.Equal(rec.Body.Bytes(), content) {
		t.Fatalf("content: %d, %d bytes", rec.Code, rec.Body.Len())
	}
}

// TestMultipartDiskFull (review): a multipart upload whose temporary file
// cannot be written (the disk is full) is a 500 with nothing stored, no
// temporary file left and nothing recorded; it was a 400 "interrupted or
// malformed", which a client does not retry.
func TestMultipartDiskFull(t *testing.T) {
	e, grow := newTmpfsEnv(t, "1m")
	content := []byte("date,note\n" + strings.Repeat("2024-01-02,a line of a csv file to fill the disk\n", (3<<20)/49))
	resp, body := e.post("admin", part{"file", "full.csv", content})
	if resp.StatusCode != http.StatusInternalServerError || body["error"] != "internal error" {
		t.Fatalf("POST onto a full disk: %d %v", resp.StatusCode, body)
	}
	e.requireEmpty()
	grow()
	if resp, body := e.post("admin", part{"file", "full.csv", content}); resp.StatusCode != http.StatusAccepted {
		t.Fatalf("POST with room: %d %v", resp.StatusCode, body)
	}
}
