package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	neturl "net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
)

func uploadServer(t *testing.T) string {
	t.Helper()
	dir, err := upload.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	m, err := upload.New(context.Background(), upload.Options{
		Dir: dir, Poll: 20 * time.Millisecond,
		Authorize: func(r *http.Request) (upload.Principal, error) {
			if r.Header.Get("Authorization") != "Bearer admin-token" {
				return upload.Principal{}, upload.ErrUnauthenticated
			}
			return upload.Principal{ID: "u1", Name: "admin"}, nil
		},
		Processors: map[string][]upload.Processor{"text/csv": {upload.ProcessorFunc(func(ctx context.Context, j *upload.Job) error {
			if strings.HasPrefix(j.Upload.Name, "bad") {
				return errors.New("line 2: bad date")
			}
			return nil
		})}},
	})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/uploads", m.Handler())
	mux.Handle("/uploads/", m.Handler())
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { srv.Close(); _ = m.Shutdown(context.Background()); _ = dir.Close() })
	return srv.URL
}

func TestUploadCommand(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // the default --resume-state
	url := uploadServer(t)
	dir := t.TempDir()
	small := filepath.Join(dir, "tx.csv")
	big := filepath.Join(dir, "history.csv")
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(small, []byte("date,account,kind\n2024-01-02,a,deposit\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("date,close\n")
	for b.Len() < 200_000 {
		b.WriteString("2024-01-02,100.5\n")
	}
	if err := os.WriteFile(big, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bad, []byte("date\nnope\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"upload", "--server", url, "--token", "admin-token", "--json", "--resumable-over", "100000", small, big}, nil, &out, &errOut)
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out.String(), errOut.String())
	}
	var res []uploadResult
	if err := json.Unmarshal(out.Bytes(), &res); err != nil {
		t.Fatal(err)
	}
	if len(res) != 2 || res[0].Upload.State != upload.StateDone || res[1].Upload.State != upload.StateDone || res[1].Upload.Size != int64(b.Len()) {
		t.Fatalf("%s", out.String())
	}
	out.Reset()
	code = run(context.Background(), []string{"upload", "--server", url, "--token", "admin-token", small, bad, filepath.Join(dir, "missing.csv")}, nil, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "bad.csv: failed") || !strings.Contains(out.String(), "line 2: bad date") || !strings.Contains(out.String(), "missing.csv: error") {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	out.Reset()
	code = run(context.Background(), []string{"upload", "--server", url, "--token", "wrong", small}, nil, &out, &errOut)
	if code != 1 || !strings.Contains(out.String(), "401") {
		t.Fatalf("wrong token: exit %d: %s", code, out.String())
	}
	if code := run(context.Background(), []string{"upload", "--server", url, small}, nil, &out, &errOut); code != 2 {
		t.Fatalf("no token: exit %d", code)
	}
}

// TestUploadCommandResumesAcrossRuns: a run whose connection dies after
// the first chunk exits 1 and leaves its tus location in --resume-state;
// the next run continues from the server's offset, not from byte 0.
func TestUploadCommandResumesAcrossRuns(t *testing.T) {
	target, _ := neturl.Parse(uploadServer(t))
	proxy := httputil.NewSingleHostReverseProxy(target)
	var dead atomic.Bool
	var mu sync.Mutex
	var offsets []string
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			mu.Lock()
			offsets = append(offsets, r.Header.Get("Upload-Offset"))
			n := len(offsets)
			mu.Unlock()
			if n >= 2 && dead.Load() {
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	dir := t.TempDir()
	big := filepath.Join(dir, "history.csv")
	var b strings.Builder
	b.WriteString("date,close\n")
	for b.Len() < 9<<20 {
		b.WriteString("2024-01-02,100.5\n")
	}
	if err := os.WriteFile(big, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "resume.json")
	args := []string{"upload", "--server", front.URL, "--token", "admin-token", "--resumable-over", "100000", "--resume-state", state, big}
	dead.Store(true)
	var out, errOut bytes.Buffer
	if code := run(context.Background(), args, nil, &out, &errOut); code != 1 {
		t.Fatalf("first run: exit %d: %s", code, out.String())
	}
	if _, err := os.Stat(state); err != nil {
		t.Fatalf("no resume state: %v", err)
	}
	dead.Store(false)
	mu.Lock()
	first := len(offsets)
	mu.Unlock()
	out.Reset()
	if code := run(context.Background(), args, nil, &out, &errOut); code != 0 {
		t.Fatalf("second run: exit %d: %s %s", code, out.String(), errOut.String())
	}
	mu.Lock()
	resumed := offsets[first]
	mu.Unlock()
	if resumed != strconv.Itoa(4<<20) || !strings.Contains(out.String(), "done") {
		t.Fatalf("second run started at offset %s (%v): %s", resumed, offsets, out.String())
	}
	if _, err := os.Stat(state); !os.IsNotExist(err) {
		t.Fatalf("resume state left after success: %v", err)
	}
}
