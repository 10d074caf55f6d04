package sqlstore_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/sqlmigrate"
	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/sqlstore"
)

// The crash-recovery test runs the upload server as a child process (this
// test binary, re-executed into TestCrashChild), SIGKILLs it in the middle
// of a job and of two uploads, restarts it on the same directory and
// database, and checks that every acknowledged file is stored with its job
// finished, that nothing unacknowledged was kept and that no temporary file
// is left.

const childEnv = "FINKIT_UPLOAD_CRASH_CHILD"

// TestCrashChild is the child server; it does nothing in a normal run.
func TestCrashChild(t *testing.T) {
	dir := os.Getenv(childEnv)
	if dir == "" {
		t.Skip("run by TestCrashRecovery")
	}
	block := os.Getenv("FINKIT_UPLOAD_BLOCK") == "1"
	ctx := context.Background()
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(filepath.Join(dir, "upload.db")))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.New(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fsys, err := upload.OpenFS(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	m, err := upload.New(ctx, upload.Options{
		Dir: fsys, Store: store, Workers: 1, Lease: time.Second, Poll: 50 * time.Millisecond,
		Authorize: func(*http.Request) (upload.Principal, error) {
			return upload.Principal{ID: "u-admin", Name: "admin"}, nil
		},
		Processors: map[string][]upload.Processor{"text/csv": {upload.ProcessorFunc(func(ctx context.Context, j *upload.Job) error {
			fmt.Printf("PROCESSING %s\n", j.Upload.ID)
			if block {
				<-ctx.Done() // until SIGKILL
			}
			return j.SetResult("ok", true)
		})}},
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	fmt.Printf("ADDR http://%s\n", ln.Addr())
	_ = http.Serve(ln, m.Handler())
}

type child struct {
	cmd   *exec.Cmd
	url   string
	lines chan string
}

func startChild(t *testing.T, dir string, block bool) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), childEnv+"="+dir, fmt.Sprintf("FINKIT_UPLOAD_BLOCK=%v", map[bool]int{true: 1}[block]))
	return runChild(t, cmd)
}

// runChild starts cmd and waits for the server address it prints.
func runChild(t *testing.T, cmd *exec.Cmd) *child {
	t.Helper()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100)}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	c.url = strings.TrimPrefix(c.waitLine(t, "ADDR "), "ADDR ")
	return c
}

func (c *child) waitLine(t *testing.T, prefix string) string {
	t.Helper()
	timeout := time.After(60 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before printing %q", prefix)
			}
			if strings.HasPrefix(l, prefix) {
				return l
			}
		case <-timeout:
			t.Fatalf("child did not print %q", prefix)
		}
	}
}

func (c *child) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Kill(); err != nil { // SIGKILL
		t.Fatal(err)
	}
	_ = c.cmd.Wait()
}

func multipartFile(name string, content []byte) (*bytes.Buffer, string) {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", name)
	_, _ = w.Write(content)
	_ = mw.Close()
	return &buf, mw.FormDataContentType()
}

func postFile(t *testing.T, url, name string, content []byte) string {
	t.Helper()
	body, ct := multipartFile(name, content)
	resp, err := http.Post(url+"/uploads", ct, body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Uploads []upload.Upload }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusAccepted || len(out.Uploads) != 1 {
		t.Fatalf("upload %s: %d", name, resp.StatusCode)
	}
	return out.Uploads[0].ID
}

func tusReq(t *testing.T, method, url string, body io.Reader, hdr map[string]string) *http.Response {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	req.Header.Set("Tus-Resumable", "1.0.0")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func csvOf(n int, seed string) []byte {
	var b bytes.Buffer
	b.WriteString("date,close\n")
	for i := 0; b.Len() < n; i++ {
		fmt.Fprintf(&b, "2021-01-%02d,%s%d\n", 1+i%28, seed, i)
	}
	return b.Bytes()
}

func countTemps(t *testing.T, dir string) int {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "files", "tmp"))
	if err != nil {
		t.Fatal(err)
	}
	return len(entries)
}

func TestCrashRecovery(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	c1 := startChild(t, dir, true)

	// A: acknowledged, its job running when the server dies.
	a := csvOf(5000, "a")
	idA := postFile(t, c1.url, "a.csv", a)
	if got := c1.waitLine(t, "PROCESSING "); got != "PROCESSING "+idA {
		t.Fatalf("processing %q, want %s", got, idA)
	}
	// A2: acknowledged, still queued behind A.
	a2 := csvOf(3000, "q")
	idA2 := postFile(t, c1.url, "a2.csv", a2)

	// C: a resumable upload with its first chunk acknowledged.
	c := csvOf(200_000, "c")
	resp := tusReq(t, http.MethodPost, c1.url+"/uploads/tus/", nil, map[string]string{
		"Upload-Length": fmt.Sprint(len(c)), "Upload-Metadata": "filename " + base64.StdEncoding.EncodeToString([]byte("c.csv")),
	})
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("tus create: %d", resp.StatusCode)
	}
	locC := resp.Header.Get("Location")
	idC := locC[strings.LastIndex(locC, "/")+1:]
	if r := tusReq(t, http.MethodPatch, c1.url+locC, bytes.NewReader(c[:70_000]), map[string]string{"Upload-Offset": "0"}); r.StatusCode != 204 {
		t.Fatalf("tus PATCH: %d", r.StatusCode)
	}

	// B (multipart) and C's second chunk are streaming when the server dies.
	before := countTemps(t, dir)
	b := csvOf(300_000, "b")
	bodyB, ctB := multipartFile("b.csv", b)
	prB, pwB := io.Pipe()
	doneB := make(chan error, 1)
	go func() {
		resp, err := http.Post(c1.url+"/uploads", ctB, prB)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		doneB <- err
	}()
	prC, pwC := io.Pipe()
	doneC := make(chan struct{})
	go func() {
		defer close(doneC)
		req, _ := http.NewRequest(http.MethodPatch, c1.url+locC, prC)
		req.Header.Set("Tus-Resumable", "1.0.0")
		req.Header.Set("Content-Type", "application/offset+octet-stream")
		req.Header.Set("Upload-Offset", "70000")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}()
	_, _ = pwB.Write(bodyB.Bytes()[:150_000])
	_, _ = pwC.Write(c[70_000:120_000])
	deadline := time.Now().Add(10 * time.Second)
	for countTemps(t, dir) <= before && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	time.Sleep(100 * time.Millisecond) // let the bytes reach the files
	c1.kill(t)
	pwB.CloseWithError(io.ErrUnexpectedEOF)
	pwC.CloseWithError(io.ErrUnexpectedEOF)
	<-doneB
	<-doneC

	// Restart on the same directory and database.
	c2 := startChild(t, dir, false)
	ctx := context.Background()
	db, err := sql.Open("sqlite", "file:"+filepath.Join(dir, "upload.db")+"?_pragma=busy_timeout(5000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// C resumes from what the server acknowledged (or more, if the killed
	// PATCH had synced some); the client asks with HEAD.
	head := tusReq(t, http.MethodHead, c2.url+locC, nil, nil)
	var off int
	if _, err := fmt.Sscan(head.Header.Get("Upload-Offset"), &off); err != nil || off < 70_000 || off > 120_000 {
		t.Fatalf("HEAD after the crash: %d %q", head.StatusCode, head.Header.Get("Upload-Offset"))
	}
	if r := tusReq(t, http.MethodPatch, c2.url+locC, bytes.NewReader(c[off:]), map[string]string{"Upload-Offset": fmt.Sprint(off)}); r.StatusCode != 204 {
		t.Fatalf("resumed PATCH: %d", r.StatusCode)
	}

	want := map[string][]byte{idA: a, idA2: a2, idC: c}
	for id, content := range want {
		u := waitDone(t, store, id)
		sum := sha256.Sum256(content)
		if u.State != upload.StateDone || u.SHA256 != hex.EncodeToString(sum[:]) || !u.Stored() {
			t.Fatalf("%s after recovery: %+v", id, u)
		}
		stored, err := os.ReadFile(filepath.Join(dir, "files", "objects", filepath.FromSlash(u.Key)))
		if err != nil || !bytes.Equal(stored, content) {
			t.Fatalf("%s: stored file differs (%v)", id, err)
		}
	}
	if u, _ := store.Get(ctx, idA); u.Attempts != 2 {
		t.Fatalf("A was not taken over: attempts %d", u.Attempts)
	}
	all, err := store.List(ctx, upload.ListOptions{})
	if err != nil || len(all) != 3 {
		t.Fatalf("%d uploads recorded (B was never acknowledged): %v", len(all), err)
	}
	if n := countTemps(t, dir); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
	c2.kill(t)
}

func waitDone(t *testing.T, s upload.Store, id string) upload.Upload {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		u, err := s.Get(context.Background(), id)
		if err == nil && u.State.Terminal() {
			return u
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s did not finish: %+v %v", id, u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
