package upload

import (
	"context"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
)

// downStorage is a shared Storage whose Put fails once `after` bytes of
// a body were read (an object store going away mid-put).
type downStorage struct {
	*FS
	after int64
	puts  atomic.Int32
}

var errStorageDown = errors.New("object storage: connection refused")

func (d *downStorage) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	d.puts.Add(1)
	n, err := io.CopyN(io.Discard, r, d.after)
	if err != nil && !errors.Is(err, io.EOF) {
		return n, err
	}
	return n, errStorageDown
}

// TestStagingFailureAcknowledgesNothing (review): with a shared Storage
// that fails while the accepted file is staged, the client gets an error
// (not a 202), no upload is recorded, and neither a local temporary file
// nor a staged object stays; the storage's error is not shown.
func TestStagingFailureAcknowledgesNothing(t *testing.T) {
	for _, after := range []int64{0, 10} {
		sdir := t.TempDir()
		sfs, err := OpenFS(sdir)
		if err != nil {
			t.Fatal(err)
		}
		ds := &downStorage{FS: sfs, after: after}
		e := newEnv(t, Options{Storage: ds})
		resp, body := e.post("admin", part{name: "a.csv", content: []byte(csvTx)}, part{name: "b.csv", content: []byte(csvTx + "2024-01-03,acc-1,deposit,1.00\n")})
		if resp.StatusCode == http.StatusAccepted || resp.StatusCode < 500 {
			t.Fatalf("staging failed, answer %d %v", resp.StatusCode, body)
		}
		if msg, _ := body["error"].(string); strings.Contains(msg, "refused") {
			t.Fatalf("storage error shown: %q", msg)
		}
		if ds.puts.Load() == 0 {
			t.Fatal("nothing was staged")
		}
		e.requireEmpty()
		var left []string
		_ = filepath.WalkDir(sdir, func(p string, d os.DirEntry, err error) error {
			if err == nil && !d.IsDir() {
				left = append(left, p)
			}
			return nil
		})
		if len(left) != 0 {
			t.Fatalf("files in the shared storage: %v", left)
		}
		_ = sfs.Close()
	}
}
