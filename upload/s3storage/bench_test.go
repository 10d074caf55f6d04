package s3storage_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
	"github.com/finkit/finkit/upload/s3storage/s3test"
)

// BenchmarkPut compares storing 256 MiB in versitygw (S3 over loopback)
// with the local file system Storage (temporary file, fsync, rename),
// same run, same bytes: "s3-stream" from a reader of unknown length
// (multipart in 16 MiB parts, as before), "s3-file" from a file (as an
// accepted upload is staged: one streamed PUT), "s3-file-unsigned" the
// same with Options.UnsignedPayload.
func BenchmarkPut(b *testing.B) {
	const size = 256 << 20
	src := filepath.Join(b.TempDir(), "src")
	f, err := os.Create(src)
	if err == nil {
		_, err = io.Copy(f, &pattern{n: size})
	}
	if err == nil {
		err = f.Close()
	}
	if err != nil {
		b.Fatal(err)
	}
	put := func(b *testing.B, st upload.Storage, fromFile bool) {
		b.SetBytes(size)
		for i := 0; b.Loop(); i++ {
			var r io.Reader = &pattern{n: size}
			var f *os.File
			if fromFile {
				var err error
				if f, err = os.Open(src); err != nil {
					b.Fatal(err)
				}
				r = f
			}
			_, err := st.Put(context.Background(), "bench/"+strconv.Itoa(i), r)
			if f != nil {
				f.Close()
			}
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			_ = st.Delete(context.Background(), "bench/"+strconv.Itoa(i))
			b.StartTimer()
		}
	}
	srv := s3test.Start(b)
	s3 := func(b *testing.B, unsigned bool) upload.Storage {
		st, err := s3storage.New(context.Background(), s3storage.Options{
			Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
			Bucket: "uploads", CreateBucket: true, UnsignedPayload: unsigned,
		})
		if err != nil {
			b.Fatal(err)
		}
		return st
	}
	b.Run("s3-stream", func(b *testing.B) { put(b, s3(b, false), false) })
	b.Run("s3-file", func(b *testing.B) { put(b, s3(b, false), true) })
	b.Run("s3-file-unsigned", func(b *testing.B) { put(b, s3(b, true), true) })
	b.Run("fs", func(b *testing.B) {
		fsys, err := upload.OpenFS(b.TempDir())
		if err != nil {
			b.Fatal(err)
		}
		defer fsys.Close()
		put(b, fsys, true)
	})
}
