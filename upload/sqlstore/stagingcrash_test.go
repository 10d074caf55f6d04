package sqlstore_test

import (
	"context"
	"database/sql"
	"fmt"
	"io"
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

const stageChildEnv = "FINKIT_UPLOAD_STAGE_CHILD"

// stallingStorage is a shared Storage that, once an accepted file is
// staged under incoming/, says so and never returns: the process is
// killed between staging the file and recording its upload.
type stallingStorage struct{ *upload.FS }

func (s stallingStorage) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	n, err := s.FS.Put(ctx, key, r)
	if err == nil && strings.HasPrefix(key, "incoming/") {
		fmt.Printf("STAGED %s\n", key)
		select {} // until SIGKILL
	}
	return n, err
}

// TestStagingCrashChild is the child server of
// TestCrashBetweenStagingAndRecording; it does nothing in a normal run.
func TestStagingCrashChild(t *testing.T) {
	dir := os.Getenv(stageChildEnv)
	if dir == "" {
		t.Skip("run by TestCrashBetweenStagingAndRecording")
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(filepath.Join(dir, "upload.db")))
	if err != nil {
		t.Fatal(err)
	}
	store, err := sqlstore.New(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	local, err := upload.OpenFS(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	shared, err := upload.OpenFS(filepath.Join(dir, "shared"))
	if err != nil {
		t.Fatal(err)
	}
	var st upload.Storage = shared
	if os.Getenv("FINKIT_UPLOAD_BLOCK") == "1" {
		st = stallingStorage{shared}
	}
	m, err := upload.New(ctx, upload.Options{
		Dir: local, Storage: st, Store: store, Workers: 1, Poll: 50 * time.Millisecond, StagingGrace: 3 * time.Second, // staging and recording get half
		Authorize: func(*http.Request) (upload.Principal, error) {
			return upload.Principal{ID: "u-admin", Name: "admin"}, nil
		},
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

func startStageChild(t *testing.T, dir string, block bool) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^TestStagingCrashChild$", "-test.v")
	cmd.Env = append(os.Environ(), stageChildEnv+"="+dir, fmt.Sprintf("FINKIT_UPLOAD_BLOCK=%v", map[bool]int{true: 1}[block]))
	return runChild(t, cmd)
}

func stagedFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(filepath.Join(dir, "shared", "objects", "incoming"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// TestCrashBetweenStagingAndRecording: the server is SIGKILLed after an
// accepted file was staged in the shared Storage and before its upload was
// recorded (the client got no 202). The staged object belongs to nothing;
// after a restart the janitor deletes it once StagingGrace has passed (it
// stayed for good before), nothing is recorded, no temporary file is
// left, and a new upload is staged and stored as usual.
func TestCrashBetweenStagingAndRecording(t *testing.T) {
	if testing.Short() {
		t.Skip("starts child processes")
	}
	dir := t.TempDir()
	c1 := startStageChild(t, dir, true)
	done := make(chan error, 1)
	go func() {
		body, ct := multipartFile("a.csv", csvOf(50_000, "a"))
		resp, err := http.Post(c1.url+"/uploads", ct, body)
		if err == nil {
			resp.Body.Close()
			err = fmt.Errorf("answered %d", resp.StatusCode)
		}
		done <- err
	}()
	line := c1.waitLine(t, "STAGED ")
	c1.kill(t)
	if err := <-done; err == nil || strings.Contains(err.Error(), "answered") {
		t.Fatalf("the client got an answer: %v", err)
	}
	if got := stagedFiles(t, dir); len(got) != 1 || "STAGED incoming/"+got[0] != line {
		t.Fatalf("staged files after the crash: %v (%s)", got, line)
	}
	time.Sleep(3100 * time.Millisecond) // StagingGrace of the child

	c2 := startStageChild(t, dir, false)
	deadline := time.Now().Add(10 * time.Second)
	for len(stagedFiles(t, dir)) > 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if got := stagedFiles(t, dir); len(got) != 0 {
		t.Fatalf("staged file left after the restart: %v", got)
	}
	ctx := context.Background()
	db, err := sql.Open("sqlite", sqlmigrate.SQLiteDSN(filepath.Join(dir, "upload.db")))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	store, err := sqlstore.New(ctx, db, sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if all, err := store.List(ctx, upload.ListOptions{}); err != nil || len(all) != 0 {
		t.Fatalf("%d uploads recorded (none was acknowledged): %v", len(all), err)
	}
	if n := countTemps(t, dir); n != 0 {
		t.Fatalf("%d temporary files left", n)
	}
	id := postFile(t, c2.url, "b.csv", csvOf(20_000, "b"))
	if u := waitDone(t, store, id); u.State != upload.StateDone || !u.Stored() {
		t.Fatalf("a new upload after the restart: %+v", u)
	}
	if got := stagedFiles(t, dir); len(got) != 0 {
		t.Fatalf("staged file left after its job: %v", got)
	}
	c2.kill(t)
}
