package s3storage_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
	"github.com/finkit/finkit/upload/s3storage/s3test"
)

func newStorage(t testing.TB, partSize uint64) (*s3storage.Storage, *s3test.Server) {
	t.Helper()
	srv := s3test.Start(t)
	st, err := s3storage.New(context.Background(), s3storage.Options{
		Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
		Bucket: "uploads", CreateBucket: true, Prefix: "finkit/", PartSize: partSize,
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, srv
}

// pattern yields n deterministic bytes without holding them.
type pattern struct{ n, off int64 }

func (p *pattern) Read(b []byte) (int, error) {
	if p.off >= p.n {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.n-p.off)]
	for i := range b {
		x := p.off + int64(i)
		b[i] = byte(x*7 + x>>9)
	}
	p.off += int64(len(b))
	return len(b), nil
}

func TestPutOpenStatCopyDelete(t *testing.T) {
	st, _ := newStorage(t, 0)
	ctx := context.Background()
	if _, err := st.Stat(ctx, "ab/missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("Stat of a missing object: %v", err)
	}
	if _, err := st.Open(ctx, "ab/missing"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("Open of a missing object: %v", err)
	}
	if err := st.Delete(ctx, "ab/missing"); err != nil {
		t.Fatalf("Delete of a missing object: %v", err)
	}
	for _, bad := range []string{"../x", "/abs", "a//b", "A/B", ""} {
		if _, err := st.Put(ctx, bad, bytes.NewReader([]byte("x"))); !errors.Is(err, upload.ErrBadKey) {
			t.Fatalf("Put %q: %v", bad, err)
		}
	}
	content := []byte("date,close\n2024-01-02,1.5\n")
	n, err := st.Put(ctx, "ab/one", bytes.NewReader(content))
	if err != nil || n != int64(len(content)) {
		t.Fatalf("Put: %d %v", n, err)
	}
	info, err := st.Stat(ctx, "ab/one")
	if err != nil || info.Size != int64(len(content)) || info.Key != "ab/one" {
		t.Fatalf("Stat: %+v %v", info, err)
	}
	if err := st.Copy(ctx, "cd/two", "ab/one"); err != nil {
		t.Fatal(err)
	}
	f, err := st.Open(ctx, "cd/two")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Seek(5, io.SeekStart); err != nil {
		t.Fatal(err)
	}
	rest, err := io.ReadAll(f)
	f.Close()
	if err != nil || !bytes.Equal(rest, content[5:]) {
		t.Fatalf("read after Seek: %q %v", rest, err)
	}
	if err := st.Delete(ctx, "ab/one"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Stat(ctx, "ab/one"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("Stat after Delete: %v", err)
	}
	if err := st.Copy(ctx, "x/y", "ab/one"); !errors.Is(err, upload.ErrNotFound) {
		t.Fatalf("Copy of a missing object: %v", err)
	}
}

// TestLargePutIsMultipartAndStreams: a 48 MiB object goes up in 5 MiB
// parts with the heap staying far below the object's size, and reads back
// byte for byte.
func TestLargePutIsMultipartAndStreams(t *testing.T) {
	st, _ := newStorage(t, 5<<20)
	ctx := context.Background()
	const size = 48 << 20
	var peak atomic.Uint64
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		var ms runtime.MemStats
		for {
			select {
			case <-stop:
				return
			case <-time.After(5 * time.Millisecond):
			}
			runtime.ReadMemStats(&ms)
			if ms.HeapInuse > peak.Load() {
				peak.Store(ms.HeapInuse)
			}
		}
	})
	runtime.GC()
	n, err := st.Put(ctx, "big/object", &pattern{n: size})
	close(stop)
	wg.Wait()
	if err != nil || n != size {
		t.Fatalf("Put: %d %v", n, err)
	}
	if p := peak.Load(); p > 32<<20 {
		t.Fatalf("heap in use reached %d MiB for a %d MiB object (whole-file buffering?)", p>>20, size>>20)
	}
	f, err := st.Open(ctx, "big/object")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, want := sha256.New(), sha256.New()
	if _, err := io.Copy(got, f); err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(want, &pattern{n: size})
	if !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatal("the object read back differs")
	}
}

func TestNewChecksOptions(t *testing.T) {
	ctx := context.Background()
	if _, err := s3storage.New(ctx, s3storage.Options{}); err == nil {
		t.Fatal("empty options accepted")
	}
	srv := s3test.Start(t)
	base := s3storage.Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey, Bucket: "nope"}
	if _, err := s3storage.New(ctx, base); err == nil {
		t.Fatal("a missing bucket accepted without CreateBucket")
	}
	bad := base
	bad.PartSize = 1 << 20
	if _, err := s3storage.New(ctx, bad); err == nil {
		t.Fatal("a part size under 5 MiB accepted")
	}
	bad = base
	bad.Prefix = "../"
	if _, err := s3storage.New(ctx, bad); err == nil {
		t.Fatal("an escaping prefix accepted")
	}
	wrong := base
	wrong.SecretKey = "wrong"
	wrong.CreateBucket = true
	if _, err := s3storage.New(ctx, wrong); err == nil {
		t.Fatal("a wrong secret accepted")
	}
}
