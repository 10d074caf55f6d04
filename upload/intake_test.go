package upload

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestUploadProcessDownload(t *testing.T) {
	var seen atomic.Int32
	e := newEnv(t, Options{Processors: map[string][]Processor{"text/csv": {ProcessorFunc(func(ctx context.Context, j *Job) error {
		f, err := j.Open(ctx)
		if err != nil {
			return err
		}
		defer f.Close()
		b, _ := io.ReadAll(f)
		j.Progress(50, "half")
		seen.Add(1)
		return j.SetResult("lines", bytes.Count(b, []byte("\n")))
	})}}})
	resp, body := e.post("admin", part{field: "account", content: []byte("acc-1")}, part{name: "tx.csv", content: []byte(csvTx)})
	if resp.StatusCode != http.StatusAccepted {
		t.Fatalf("status %d %v", resp.StatusCode, body)
	}
	id := ids(t, body)[0]
	u := e.wait(id)
	if u.State != StateDone || u.Progress != 100 || u.Result != `{"lines":2}` || u.Meta["account"] != "acc-1" || seen.Load() != 1 {
		t.Fatalf("job: %+v", u)
	}
	resp, b := e.get("/uploads/" + id + "/content")
	if resp.StatusCode != 200 || string(b) != csvTx {
		t.Fatalf("content: %d %q", resp.StatusCode, b)
	}
	if got := resp.Header.Get("Content-Disposition"); got != `attachment; filename=tx.csv` {
		t.Errorf("Content-Disposition %q", got)
	}
	if resp.Header.Get("X-Content-Type-Options") != "nosniff" || resp.Header.Get("Content-Type") != "text/csv" {
		t.Errorf("headers %v", resp.Header)
	}
	if len(e.temps()) != 0 || len(e.objects()) != 1 {
		t.Fatalf("temps %v objects %v", e.temps(), e.objects())
	}
	// The job's outcome is stored before it is audited: wait for the line.
	for deadline := time.Now().Add(5 * time.Second); !strings.Contains(e.logs.String(), `"event":"upload.processed"`) && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	for _, ev := range []string{`"event":"upload.accepted"`, `"event":"upload.processed"`, `"sha256":"` + u.SHA256, `"user":"admin"`} {
		if !strings.Contains(e.logs.String(), ev) {
			t.Errorf("audit log lacks %s", ev)
		}
	}
}

func TestIntakeRejectsBadFiles(t *testing.T) {
	e := newEnv(t, Options{})
	tests := []struct {
		name    string
		content []byte
		status  int
	}{
		{"fake.png", []byte("<html><script>alert(1)</script></html>"), 415},
		{"tx.csv.exe", []byte("MZ\x90\x00\x03"), 415},
		{"tx.exe", []byte(csvTx), 415},
		{"noext", []byte(csvTx), 415},
		{"nul.csv", []byte("a,b\n1,\x002\n"), 415},
		{"late-nul.csv", append(bytes.Repeat([]byte("a,b\n"), 10000), 0), 415},
		{"bad-utf8.csv", append(bytes.Repeat([]byte("a,b\n"), 10000), 0xff, '\n'), 415},
		{"empty.csv", nil, 400},
		{"png.csv", pngHead, 415},
	}
	for _, tt := range tests {
		resp, body := e.post("admin", part{name: tt.name, content: tt.content})
		if resp.StatusCode != tt.status || body["error"] == "" {
			t.Errorf("%s: status %d (%v), want %d", tt.name, resp.StatusCode, body, tt.status)
		}
	}
	e.requireEmpty()
	// a request with a good and a bad file stores neither
	resp, _ := e.post("admin", part{name: "ok.csv", content: []byte(csvTx)}, part{name: "fake.png", content: []byte("<html>")})
	if resp.StatusCode != 415 {
		t.Fatalf("mixed: status %d", resp.StatusCode)
	}
	e.requireEmpty()
	if !strings.Contains(e.logs.String(), `"event":"upload.rejected"`) {
		t.Error("rejections are not audited")
	}
}

func TestSizeLimits(t *testing.T) {
	e := newEnv(t, Options{MaxFileSize: 1000, MaxRequestSize: 3000, MaxFiles: 2})
	big := []byte("a,b\n" + strings.Repeat("1,2\n", 300))
	resp, _ := e.post("admin", part{name: "big.csv", content: big})
	if resp.StatusCode != 413 {
		t.Errorf("file over the limit: %d", resp.StatusCode)
	}
	small := []byte("a,b\n" + strings.Repeat("1,2\n", 200))
	resp, _ = e.post("admin", part{name: "a.csv", content: small}, part{name: "b.csv", content: small}, part{name: "c.csv", content: small})
	if resp.StatusCode != 413 {
		t.Errorf("too many files: %d", resp.StatusCode)
	}
	e.m.opts.MaxFiles = 10
	resp, _ = e.post("admin", part{name: "a.csv", content: small}, part{name: "b.csv", content: small}, part{name: "c.csv", content: small}, part{name: "d.csv", content: small})
	if resp.StatusCode != 413 {
		t.Errorf("request over the limit: %d", resp.StatusCode)
	}
	// The same without Content-Length: MaxBytesReader stops the stream.
	body, ct := multipartBody(t, part{name: "a.csv", content: small}, part{name: "b.csv", content: small}, part{name: "c.csv", content: small}, part{name: "d.csv", content: small})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads", io.MultiReader(body))
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer admin")
	if resp, _ := e.do(req); resp.StatusCode != 413 {
		t.Errorf("chunked request over the limit: %d", resp.StatusCode)
	}
	e.requireEmpty()
}

func TestHostileNames(t *testing.T) {
	e := newEnv(t, Options{})
	names := map[string]string{
		"../../etc/passwd.csv":               "passwd.csv",
		`..\..\win.ini.csv`:                  "win.ini.csv",
		"/etc/cron.d/x.csv":                  "x.csv",
		"nul\x00byte.csv":                    "", // a NUL byte is refused: 400
		strings.Repeat("n", 10_000) + ".csv": strings.Repeat("n", 251) + ".csv",
		"invoice\u202Evsc.exe.csv":           "invoicevsc.exe.csv",
		"\u202E":                             "",
		"":                                   "",
		"report\u0000.csv\u0000.exe":         "",
	}
	for in, want := range names {
		resp, body := e.post("admin", part{name: in, content: []byte(fmt.Sprintf("a,b\n%q,1\n", in))})
		if strings.ContainsRune(in, 0) {
			if msg, _ := body["error"].(string); resp.StatusCode != 400 || !strings.Contains(msg, "NUL") {
				t.Errorf("%q: %d %v, want 400 naming the NUL byte", in, resp.StatusCode, body)
			}
			continue
		}
		if want == "" {
			if resp.StatusCode != 415 && resp.StatusCode != 400 {
				t.Errorf("%q: status %d, want a rejection", in, resp.StatusCode)
			}
			continue
		}
		if resp.StatusCode != 202 {
			t.Errorf("%q: status %d %v", in, resp.StatusCode, body)
			continue
		}
		u := e.wait(ids(t, body)[0])
		if u.Name != want {
			t.Errorf("%q: shown as %q, want %q", in, u.Name, want)
		}
	}
	for _, o := range e.objects() {
		if !strings.Contains(o, "/objects/sha256/") {
			t.Errorf("object outside the content store: %s", o)
		}
	}
	if len(e.objects()) != 5 {
		t.Errorf("objects %v", e.objects())
	}
}

// trapBody fails the test when the handler reads it.
type trapBody struct{ read atomic.Bool }

func (b *trapBody) Read(p []byte) (int, error) {
	b.read.Store(true)
	return 0, io.EOF
}

func TestAuthBeforeAnyByte(t *testing.T) {
	e := newEnv(t, Options{})
	for _, tc := range []struct {
		token  string
		status int
	}{{"", 401}, {"user", 403}, {"forged", 401}} {
		for _, path := range []string{"/uploads", "/uploads/tus/"} {
			trap := &trapBody{}
			rec := newRecorder()
			req, _ := http.NewRequest(http.MethodPost, path, trap)
			req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
			req.Header.Set("Tus-Resumable", "1.0.0")
			req.Header.Set("Upload-Length", "10")
			req.Header.Set("Upload-Metadata", "filename dC5jc3Y=")
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			e.m.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.status || trap.read.Load() {
				t.Errorf("%s %q: status %d (want %d), body read %v", path, tc.token, rec.Code, tc.status, trap.read.Load())
			}
		}
		for _, path := range []string{"/uploads", "/uploads/x", "/uploads/x/content", "/uploads/x/events"} {
			req, _ := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
			if tc.token != "" {
				req.Header.Set("Authorization", "Bearer "+tc.token)
			}
			if resp, _ := e.do(req); resp.StatusCode != tc.status {
				t.Errorf("GET %s %q: %d", path, tc.token, resp.StatusCode)
			}
		}
	}
	e.requireEmpty()
	if !strings.Contains(e.logs.String(), `"event":"upload.denied"`) {
		t.Error("denials are not audited")
	}
}

func TestConcurrentUploads(t *testing.T) {
	e := newEnv(t, Options{Workers: 4, QueueSize: 100})
	var wg sync.WaitGroup
	idc := make(chan string, 50)
	for i := range 50 {
		wg.Go(func() {
			content := fmt.Sprintf("a,b\n%d,%d\n", i, i%7)
			resp, body := e.post("admin", part{name: fmt.Sprintf("f%d.csv", i), content: []byte(content)})
			if resp.StatusCode != 202 {
				t.Errorf("upload %d: %d %v", i, resp.StatusCode, body)
				return
			}
			idc <- ids(t, body)[0]
		})
	}
	wg.Wait()
	close(idc)
	n := 0
	for id := range idc {
		if u := e.wait(id); u.State != StateDone {
			t.Errorf("%s: %+v", id, u)
		}
		n++
	}
	if n != 50 || len(e.temps()) != 0 || len(e.objects()) != 50 {
		t.Fatalf("%d jobs, temps %d, objects %d", n, len(e.temps()), len(e.objects()))
	}
}

// abortReader yields some bytes and then fails, like a client that drops.
type abortReader struct {
	r     io.Reader
	after int
}

func (a *abortReader) Read(p []byte) (int, error) {
	if a.after <= 0 {
		return 0, errors.New("client went away")
	}
	p = p[:min(len(p), a.after)]
	n, err := a.r.Read(p)
	a.after -= n
	return n, err
}

func TestClientAbortLeavesNothing(t *testing.T) {
	e := newEnv(t, Options{})
	content := []byte("a,b\n" + strings.Repeat("1,2\n", 100_000))
	body, ct := multipartBody(t, part{name: "one.csv", content: []byte(csvTx)}, part{name: "big.csv", content: content})
	req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/uploads", &abortReader{r: body, after: 200_000})
	req.Header.Set("Content-Type", ct)
	req.Header.Set("Authorization", "Bearer admin")
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Logf("status %d", resp.StatusCode)
	}
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && (len(e.temps()) != 0 || e.m.reserved.Load() != 0) {
		time.Sleep(10 * time.Millisecond)
	}
	e.requireEmpty()
	if e.m.reserved.Load() != 0 {
		t.Fatalf("slots still reserved: %d", e.m.reserved.Load())
	}
}

func TestQueueFull(t *testing.T) {
	release := make(chan struct{})
	e := newEnv(t, Options{Workers: 1, QueueSize: 2, Processors: map[string][]Processor{"text/csv": {ProcessorFunc(func(ctx context.Context, j *Job) error {
		select {
		case <-release:
		case <-ctx.Done():
		}
		return nil
	})}}})
	var got []string
	for i := range 2 {
		resp, body := e.post("admin", part{name: "a.csv", content: fmt.Appendf(nil, "a\n%d\n", i)})
		if resp.StatusCode != 202 {
			t.Fatalf("upload %d: %d", i, resp.StatusCode)
		}
		got = append(got, ids(t, body)...)
	}
	objects := len(e.objects())
	resp, body := e.post("admin", part{name: "c.csv", content: []byte("a\n3\n")})
	if resp.StatusCode != 503 || resp.Header.Get("Retry-After") == "" || body["error"] == nil {
		t.Fatalf("full queue: %d %v %v", resp.StatusCode, resp.Header, body)
	}
	if len(e.temps()) != 2-objects { // only the two accepted files
		t.Fatalf("temps %v", e.temps())
	}
	if ups, _ := e.store.List(context.Background(), ListOptions{}); len(ups) != 2 {
		t.Fatalf("%d uploads recorded", len(ups))
	}
	close(release)
	for _, id := range got {
		e.wait(id)
	}
	if resp, _ := e.post("admin", part{name: "c.csv", content: []byte("a\n3\n")}); resp.StatusCode != 202 {
		t.Fatalf("after draining: %d", resp.StatusCode)
	}
}

// newRecorder is an httptest.ResponseRecorder (kept here so tests that
// call the handler directly read alike).
func newRecorder() *recorder { return &recorder{header: http.Header{}, Code: 200} }

type recorder struct {
	header http.Header
	Code   int
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(code int)        { r.Code = code }
