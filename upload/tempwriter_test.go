package upload

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
	"testing/synctest"
)

// TestTempWriter: the file and the side writer get the same bytes in the
// same order whatever the piece sizes (inline and handed to the helper,
// across several writeback steps, from a non-zero offset as a tus PATCH
// writes); a write past the limit fails and writes nothing; a failing side
// writer (a NUL byte in a text file) fails the write; Close ends the
// helper goroutine (synctest fails on a goroutine left blocked).
func TestTempWriter(t *testing.T) {
	data := bytes.Repeat([]byte("2024-01-02,ACME,buy,12.5,100.25,0.99\n"), (20<<20)/37)
	cases := []struct {
		name   string
		pieces []int
		off    int64
	}{
		{"small pieces", []int{1, 100, 4096, parallelMin - 1}, 0},
		{"large pieces", []int{parallelMin, 1 << 20, 3<<20 + 7}, 0},
		{"past several writeback steps", []int{1 << 20}, 0},
		{"from an offset", []int{parallelMin, 13, 1 << 20}, 1234},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				f, err := os.Create(filepath.Join(t.TempDir(), "t"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				if _, err := f.Seek(tc.off, io.SeekStart); err != nil {
					t.Fatal(err)
				}
				h := sha256.New()
				w := newTempWriter(f, h, tc.off, int64(len(data)))
				rest := data
				for i := 0; len(rest) > 0; i++ {
					k := min(tc.pieces[i%len(tc.pieces)], len(rest))
					if n, err := w.Write(rest[:k]); n != k || err != nil {
						t.Fatalf("write %d: %d, %v", k, n, err)
					}
					rest = rest[k:]
				}
				if n, err := w.Write([]byte("x")); n != 0 || !errors.Is(err, errOverLimit) {
					t.Fatalf("write past the limit: %d, %v", n, err)
				}
				_ = w.Close()
				got, err := os.ReadFile(f.Name())
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(got[tc.off:], data) {
					t.Fatal("the file differs from what was written")
				}
				if want := sha256.Sum256(data); !bytes.Equal(h.Sum(nil), want[:]) {
					t.Fatal("the side writer did not get the same bytes")
				}
			})
		})
	}
	t.Run("side writer fails", func(t *testing.T) {
		for _, size := range []int{100, parallelMin, 1 << 20} {
			synctest.Test(t, func(t *testing.T) {
				f, err := os.Create(filepath.Join(t.TempDir(), "t"))
				if err != nil {
					t.Fatal(err)
				}
				defer f.Close()
				w := newTempWriter(f, &textCheck{}, 0, 1<<30)
				defer w.Close()
				p := bytes.Repeat([]byte("a"), size)
				p[size/2] = 0
				if _, err := w.Write(p); !errors.Is(err, ErrUnsupportedType) {
					t.Fatalf("%d bytes with a NUL: %v", size, err)
				}
			})
		}
	})
}
