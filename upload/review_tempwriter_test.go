package upload

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
)

// TestTempWriterFileFails (review): a write the file refuses is
// errTempWrite, for a piece hashed inline and one hashed by the helper,
// so callers know the side writer's state cannot be kept; Close still
// ends the helper.
func TestTempWriterFileFails(t *testing.T) {
	for _, size := range []int{100, parallelMin, 1 << 20} {
		synctest.Test(t, func(t *testing.T) {
			name := filepath.Join(t.TempDir(), "t")
			if err := os.WriteFile(name, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			f, err := os.Open(name) // read-only: every write fails
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			w := newTempWriter(f, sha256.New(), 0, 1<<30)
			defer w.Close()
			if n, err := w.Write(bytes.Repeat([]byte("a"), size)); n != 0 || !errors.Is(err, errTempWrite) {
				t.Fatalf("%d bytes into a read-only file: %d, %v", size, n, err)
			}
		})
	}
}
