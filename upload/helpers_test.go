package upload

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// testAuth authorizes "Bearer admin" and "Bearer admin2" as admins,
// "Bearer user" as a forbidden non-admin, anything else as anonymous.
func testAuth(r *http.Request) (Principal, error) {
	switch r.Header.Get("Authorization") {
	case "Bearer admin":
		return Principal{ID: "u-admin", Name: "admin"}, nil
	case "Bearer admin2":
		return Principal{ID: "u-admin2", Name: "admin2"}, nil
	case "Bearer user":
		return Principal{}, ErrForbidden
	}
	return Principal{}, ErrUnauthenticated
}

type env struct {
	t     *testing.T
	dir   string
	fs    *FS
	store Store
	m     *Manager
	srv   *httptest.Server
	logs  *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func newEnv(t *testing.T, opts Options) *env {
	t.Helper()
	e := &env{t: t, dir: t.TempDir(), logs: &syncBuffer{}}
	var err error
	if e.fs, err = OpenFS(e.dir); err != nil {
		t.Fatal(err)
	}
	if opts.Store == nil {
		opts.Store = NewMemStore()
	}
	e.store = opts.Store
	opts.Dir = e.fs
	if opts.Authorize == nil {
		opts.Authorize = testAuth
	}
	if opts.Poll == 0 {
		opts.Poll = 20 * time.Millisecond
	}
	opts.Logger = newTestLogger(e.logs)
	e.start(opts)
	t.Cleanup(func() {
		e.srv.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = e.m.Shutdown(ctx)
		_ = e.fs.Close()
	})
	return e
}

func (e *env) start(opts Options) {
	m, err := New(context.Background(), opts)
	if err != nil {
		e.t.Fatal(err)
	}
	e.m = m
	mux := http.NewServeMux()
	mux.Handle("/uploads", m.Handler())
	mux.Handle("/uploads/", m.Handler())
	e.srv = httptest.NewServer(mux)
}

type part struct {
	field, name string
	content     []byte
}

func multipartBody(t testing.TB, parts ...part) (*bytes.Buffer, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		if p.name == "" && p.field != "" && p.field != "file" {
			_ = mw.WriteField(p.field, string(p.content))
			continue
		}
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name="file"; filename="%s"`, strings.NewReplacer(`"`, "%22", "\r", "%0D", "\n", "%0A").Replace(p.name))}
		h["Content-Type"] = []string{"application/octet-stream"}
		w, err := mw.CreatePart(h)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = w.Write(p.content)
	}
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

// post sends a multipart upload as the given bearer token.
func (e *env) post(token string, parts ...part) (*http.Response, map[string]any) {
	e.t.Helper()
	body, ct := multipartBody(e.t, parts...)
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads", body)
	req.Header.Set("Content-Type", ct)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return e.do(req)
}

func (e *env) do(req *http.Request) (*http.Response, map[string]any) {
	e.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return resp, out
}

func (e *env) get(path string) (*http.Response, []byte) {
	e.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer admin")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

func ids(t testing.TB, body map[string]any) []string {
	t.Helper()
	list, _ := body["uploads"].([]any)
	var out []string
	for _, u := range list {
		out = append(out, u.(map[string]any)["id"].(string))
	}
	return out
}

// wait waits for the upload's job to end and returns it.
func (e *env) wait(id string) Upload {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	ch, err := e.m.Watch(ctx, id)
	if err != nil {
		e.t.Fatal(err)
	}
	var last Upload
	for u := range ch {
		last = u
	}
	if !last.State.Terminal() {
		e.t.Fatalf("job %s did not end: %+v", id, last)
	}
	return last
}

// temps lists the temporary files on disk.
func (e *env) temps() []string {
	e.t.Helper()
	entries, err := os.ReadDir(filepath.Join(e.dir, tempDir))
	if err != nil {
		e.t.Fatal(err)
	}
	var out []string
	for _, x := range entries {
		out = append(out, x.Name())
	}
	return out
}

// objects lists the stored objects on disk.
func (e *env) objects() []string {
	e.t.Helper()
	var out []string
	_ = filepath.WalkDir(filepath.Join(e.dir, objectsDir), func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			out = append(out, p)
		}
		return nil
	})
	return out
}

func (e *env) requireEmpty() {
	e.t.Helper()
	if tm := e.temps(); len(tm) != 0 {
		e.t.Errorf("temporary files left: %v", tm)
	}
	if ob := e.objects(); len(ob) != 0 {
		e.t.Errorf("objects stored: %v", ob)
	}
	if ups, _ := e.store.List(context.Background(), ListOptions{}); len(ups) != 0 {
		e.t.Errorf("uploads recorded: %d", len(ups))
	}
}

const csvTx = "date,account,kind,amount\n2024-01-02,acc-1,deposit,100.00\n"

func jsonUnmarshal(b []byte, v any) error { return json.Unmarshal(b, v) }
