package s3storage_test

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
	"github.com/finkit/finkit/upload/s3storage/s3test"
	"github.com/finkit/finkit/upload/sqlstore"
)

// The shared-work test runs two upload servers as child processes (this
// test binary, re-executed into TestSharedChild) on one PostgreSQL store
// and one S3 bucket: A accepts an upload and starts its job, A is
// SIGKILLed, and B takes the job over once A's lease expires and stores
// the file in the bucket.

const sharedEnv = "FINKIT_UPLOAD_SHARED_CHILD"

func TestSharedChild(t *testing.T) {
	cfg := os.Getenv(sharedEnv)
	if cfg == "" {
		t.Skip("run by TestJobTakenOverAfterInstanceDies")
	}
	var c struct{ DB, Endpoint, Dir string }
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	block := os.Getenv("FINKIT_UPLOAD_BLOCK") == "1"
	ctx := context.Background()
	db, err := sql.Open("pgx", c.DB)
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.New(ctx, db, sqlstore.Options{Dialect: sqlstore.Postgres})
	if err != nil {
		t.Fatal(err)
	}
	st, err := s3storage.New(ctx, s3storage.Options{Endpoint: c.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "uploads", CreateBucket: true})
	if err != nil {
		t.Fatal(err)
	}
	dir, err := upload.OpenFS(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := upload.New(ctx, upload.Options{
		Dir: dir, Storage: st, Store: store, Workers: 1, Lease: time.Second, Poll: 50 * time.Millisecond,
		Authorize: func(*http.Request) (upload.Principal, error) {
			return upload.Principal{ID: "u-admin", Name: "admin"}, nil
		},
		Processors: map[string][]upload.Processor{"text/csv": {upload.ProcessorFunc(func(ctx context.Context, j *upload.Job) error {
			fmt.Printf("PROCESSING %s\n", j.Upload.ID)
			if block {
				<-ctx.Done() // until SIGKILL
			}
			f, err := j.Open(ctx)
			if err != nil {
				return err
			}
			defer f.Close()
			n, err := io.Copy(io.Discard, f)
			if err != nil {
				return err
			}
			return j.SetResult("bytes", n)
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

func startChild(t *testing.T, cfg string, block bool) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestSharedChild$", "-test.v")
	cmd.Env = append(os.Environ(), sharedEnv+"="+cfg, fmt.Sprintf("FINKIT_UPLOAD_BLOCK=%v", map[bool]int{true: 1}[block]))
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

func TestJobTakenOverAfterInstanceDies(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dbURL := sqltest.PostgresURL(t)
	srv := s3test.Start(t)
	cfgFor := func() string {
		b, _ := json.Marshal(map[string]string{"DB": dbURL, "Endpoint": srv.Endpoint, "Dir": t.TempDir()}) // each instance its own disk
		return string(b)
	}
	a := startChild(t, cfgFor(), true)

	var content bytes.Buffer
	content.WriteString("date,close\n")
	for i := 0; content.Len() < 3<<20; i++ {
		fmt.Fprintf(&content, "2021-01-%02d,%d\n", 1+i%28, i)
	}
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "prices.csv")
	_, _ = w.Write(content.Bytes())
	_ = mw.Close()
	resp, err := http.Post(a.url+"/uploads", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Uploads []upload.Upload }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted || len(out.Uploads) != 1 {
		t.Fatalf("upload through A: %d", resp.StatusCode)
	}
	id := out.Uploads[0].ID
	if got := a.waitLine(t, "PROCESSING "); got != "PROCESSING "+id {
		t.Fatalf("A processes %q, want %s", got, id)
	}
	b := startChild(t, cfgFor(), false)
	if err := a.cmd.Process.Kill(); err != nil { // SIGKILL in the middle of the job
		t.Fatal(err)
	}
	_ = a.cmd.Wait()
	if got := b.waitLine(t, "PROCESSING "); got != "PROCESSING "+id {
		t.Fatalf("B processes %q, want %s", got, id)
	}

	ctx := context.Background()
	db, err := sql.Open("pgx", dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.Options{Dialect: sqlstore.Postgres})
	if err != nil {
		t.Fatal(err)
	}
	var u upload.Upload
	for deadline := time.Now().Add(30 * time.Second); ; {
		if u, err = store.Get(ctx, id); err == nil && u.State.Terminal() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the job did not end on B: %+v %v", u, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	sum := sha256.Sum256(content.Bytes())
	if u.State != upload.StateDone || u.Attempts != 2 || u.SHA256 != hex.EncodeToString(sum[:]) || !u.Stored() {
		t.Fatalf("after the takeover: %+v", u)
	}
	if u.Result != fmt.Sprintf(`{"bytes":%d}`, content.Len()) {
		t.Fatalf("result %s", u.Result)
	}
	// The file is in the bucket under its content key, with the right hash;
	// the staged copy is gone.
	st, err := s3storage.New(ctx, s3storage.Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "uploads"})
	if err != nil {
		t.Fatal(err)
	}
	f, err := st.Open(ctx, u.Key)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	_, err = io.Copy(h, f)
	f.Close()
	if err != nil || hex.EncodeToString(h.Sum(nil)) != u.SHA256 {
		t.Fatalf("object %s in the bucket: %v", st.ObjectName(u.Key), err)
	}
	if _, err := st.Stat(ctx, "incoming/"+id); err == nil {
		t.Fatal("the staged copy is left in the bucket")
	}
}
