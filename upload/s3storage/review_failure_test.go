package s3storage_test

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
)

// failAfter yields n pattern bytes, then err.
type failAfter struct {
	p   pattern
	err error
}

func (f *failAfter) Read(b []byte) (int, error) {
	n, err := f.p.Read(b)
	if errors.Is(err, io.EOF) {
		return 0, f.err
	}
	return n, err
}

// objectFiles lists the regular files under the server's directory whose
// path contains substr (versitygw's posix backend keeps an object as a
// file, and a multipart upload's parts under a temporary directory).
func objectFiles(t *testing.T, dir, substr string) []string {
	t.Helper()
	var out []string
	_ = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err == nil && d.Type().IsRegular() && strings.Contains(p, substr) {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestPutReaderFailsLeavesNothing (review): a body that fails after
// 12 MiB (two parts sent, a third started) fails Put with the reader's
// error, and neither the object nor an unfinished multipart upload stays.
func TestPutReaderFailsLeavesNothing(t *testing.T) {
	st, srv := newStorage(t, 5<<20)
	ctx := context.Background()
	boom := errors.New("client went away")
	for _, size := range []int64{1 << 20, 12 << 20} {
		_, err := st.Put(ctx, "ab/partial", &failAfter{p: pattern{n: size}, err: boom})
		if !errors.Is(err, boom) {
			t.Fatalf("size %d: Put = %v, want the reader's error", size, err)
		}
		if _, err := st.Stat(ctx, "ab/partial"); !errors.Is(err, upload.ErrNotFound) {
			t.Fatalf("size %d: object after a failed Put: %v", size, err)
		}
	}
	// minio aborts the multipart upload in the background of its error
	// path: give the server a moment, then no part may stay.
	deadline := time.Now().Add(5 * time.Second)
	for {
		left := objectFiles(t, srv.Dir, "")
		if len(left) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("files left by failed Puts: %v", left)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// TestPutBucketGone (review): the bucket removed under a running Storage:
// Put and Stat fail with an error that names no local path, and nothing
// panics.
func TestPutBucketGone(t *testing.T) {
	st, srv := newStorage(t, 0)
	ctx := context.Background()
	if err := os.RemoveAll(filepath.Join(srv.Dir, "uploads")); err != nil {
		t.Fatal(err)
	}
	_, err := st.Put(ctx, "ab/x", strings.NewReader("x"))
	if err == nil {
		t.Fatal("Put into a missing bucket succeeded")
	}
	if strings.Contains(err.Error(), srv.Dir) {
		t.Fatalf("error shows the server's directory: %v", err)
	}
	if err := st.Ping(ctx); err != nil {
		t.Logf("Ping after the bucket went: %v", err)
	}
	if _, err := st.Stat(ctx, "ab/x"); err == nil {
		t.Fatal("Stat in a missing bucket succeeded")
	}
}

// TestPutServerStoppedMidway (review): versitygw killed during a 40 MiB
// Put: Put returns an error in bounded time and no object file exists.
func TestPutServerStoppedMidway(t *testing.T) {
	st, srv := newStorage(t, 5<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := &slowAfter{p: pattern{n: 40 << 20}, at: 12 << 20, stop: srv.Stop}
	start := time.Now()
	_, err := st.Put(ctx, "ab/cut", r)
	if err == nil {
		t.Fatal("Put succeeded with the server killed midway")
	}
	t.Logf("Put failed after %v: %v", time.Since(start), err)
	if left := objectFiles(t, filepath.Join(srv.Dir, "uploads", "finkit"), "cut"); len(left) != 0 {
		t.Fatalf("object files after the cut Put: %v", left)
	}
}

// slowAfter kills the server once `at` bytes have been read.
type slowAfter struct {
	p       pattern
	at      int64
	stop    func()
	stopped bool
}

func (s *slowAfter) Read(b []byte) (int, error) {
	if !s.stopped && s.p.off >= s.at {
		s.stopped = true
		s.stop()
		time.Sleep(100 * time.Millisecond)
	}
	return s.p.Read(b)
}
