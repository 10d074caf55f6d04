package s3storage_test

import (
	"context"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
	"github.com/finkit/finkit/upload/s3storage/s3test"
)

const killedPutEnv = "FINKIT_S3_KILLED_PUT_CHILD"

// stalled yields n bytes, then blocks for good: a stream whose source
// went quiet while the Put was under way.
type stalled struct{ p pattern }

func (s *stalled) Read(b []byte) (int, error) {
	n, err := s.p.Read(b)
	if err == io.EOF {
		select {}
	}
	return n, err
}

// TestKilledPutChild is the instance TestKilledPutAborted SIGKILLs: it
// puts a stream of unknown length (a multipart upload) that stalls after
// two parts.
func TestKilledPutChild(t *testing.T) {
	cfg := os.Getenv(killedPutEnv)
	if cfg == "" {
		t.Skip("run by TestKilledPutAborted")
	}
	var c struct{ Endpoint string }
	if err := json.Unmarshal([]byte(cfg), &c); err != nil {
		t.Fatal(err)
	}
	st, err := s3storage.New(context.Background(), s3storage.Options{
		Endpoint: c.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
		Bucket: "uploads", Prefix: "finkit/", PartSize: 5 << 20,
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = st.Put(context.Background(), "incoming/killed", &stalled{pattern{n: 11 << 20}})
	t.Fatalf("Put returned: %v", err)
}

// dirBytes is the size of the regular files under dir.
func dirBytes(t *testing.T, dir string) int64 {
	t.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			fi, err := d.Info()
			if err != nil {
				return err
			}
			n += fi.Size()
		}
		return nil
	})
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	return n
}

// TestKilledPutAborted: an instance SIGKILLed in the middle of a
// multipart Put leaves the upload and its parts on the server (nothing
// can abort it then); the janitor of the next upload.Manager on the same
// bucket and prefix aborts it once it is older than StagingGrace, and the
// server frees the parts' bytes.
func TestKilledPutAborted(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	st, srv := newStorage(t, 0)
	in := newIncomplete(t, srv)
	cfg, _ := json.Marshal(map[string]string{"Endpoint": srv.Endpoint})
	cmd := exec.Command(os.Args[0], "-test.run=^TestKilledPutChild$")
	cmd.Env = append(os.Environ(), killedPutEnv+"="+string(cfg))
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	parts := filepath.Join(srv.Dir, "uploads", ".sgwtmp", "multipart")
	deadline := time.Now().Add(60 * time.Second)
	for len(in.list()) == 0 || dirBytes(t, parts) < 10<<20 { // both parts stored
		if time.Now().After(deadline) {
			t.Fatalf("the child's multipart upload did not appear (uploads %v, %d bytes of parts)", in.names(), dirBytes(t, parts))
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	if got := in.names(); len(got) != 1 || got[0] != "finkit/incoming/killed" {
		t.Fatalf("after the kill: %v", got)
	}
	killedAt := time.Now()

	ctx := context.Background()
	dir, err := upload.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	grace := time.Hour
	newManager := func(now time.Time) {
		t.Helper()
		m, err := upload.New(ctx, upload.Options{
			Dir: dir, Storage: st, Store: upload.NewMemStore(), StagingGrace: grace,
			Now:       func() time.Time { return now },
			Authorize: func(*http.Request) (upload.Principal, error) { return upload.Principal{ID: "u"}, nil },
		})
		if err != nil {
			t.Fatal(err)
		}
		if err := m.Shutdown(ctx); err != nil {
			t.Fatal(err)
		}
	}
	newManager(killedAt.Add(grace / 2)) // young: kept
	if got := in.names(); len(got) != 1 {
		t.Fatalf("a young upload was aborted: %v", got)
	}
	newManager(killedAt.Add(grace + time.Second)) // past the grace: aborted
	if got := in.names(); len(got) != 0 {
		t.Fatalf("left %v", got)
	}
	if n := dirBytes(t, parts); n != 0 {
		t.Fatalf("%d bytes of parts left on the server", n)
	}
}
