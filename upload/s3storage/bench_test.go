package s3storage_test

import (
	"context"
	"strconv"
	"testing"

	"github.com/finkit/finkit/upload"
)

// BenchmarkPut compares storing a 256 MiB file in versitygw (S3 over
// loopback, multipart in 16 MiB parts) with the local file system Storage
// (temporary file, fsync, rename), same run, same bytes.
func BenchmarkPut(b *testing.B) {
	const size = 256 << 20
	b.Run("s3", func(b *testing.B) {
		st, _ := newStorage(b, 0)
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			if _, err := st.Put(context.Background(), "bench/"+strconv.Itoa(i), &pattern{n: size}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("fs", func(b *testing.B) {
		fsys, err := upload.OpenFS(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer fsys.Close()
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			if _, err := fsys.Put(context.Background(), "bench/"+strconv.Itoa(i), &pattern{n: size}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
