package s3storage_test

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage/s3test"
)

// incomplete is a bucket's incomplete multipart uploads, seen through
// minio's core API (as another S3 client sees them).
type incomplete struct {
	t    *testing.T
	core minio.Core
}

func newIncomplete(t *testing.T, srv *s3test.Server) incomplete {
	t.Helper()
	c, err := minio.New(srv.Endpoint, &minio.Options{Creds: credentials.NewStaticV4(s3test.AccessKey, s3test.SecretKey, ""), Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	return incomplete{t: t, core: minio.Core{Client: c}}
}

// start initiates a multipart upload of name, uploads one part of it and
// abandons it, as an instance SIGKILLed in the middle of a Put does. It
// returns the upload's initiation time as the server reports it.
func (in incomplete) start(name string) time.Time {
	in.t.Helper()
	ctx := context.Background()
	id, err := in.core.NewMultipartUpload(ctx, "uploads", name, minio.PutObjectOptions{})
	if err != nil {
		in.t.Fatalf("start multipart upload of %s: %v", name, err)
	}
	part := bytes.Repeat([]byte("x"), 5<<20)
	if _, err := in.core.PutObjectPart(ctx, "uploads", name, id, 1, bytes.NewReader(part), int64(len(part)), minio.PutObjectPartOptions{}); err != nil {
		in.t.Fatalf("part of %s: %v", name, err)
	}
	for _, u := range in.list() {
		if u.UploadID == id {
			return u.Initiated
		}
	}
	in.t.Fatalf("the server does not list the multipart upload of %s", name)
	return time.Time{}
}

func (in incomplete) list() []minio.ObjectMultipartInfo {
	in.t.Helper()
	res, err := in.core.ListMultipartUploads(context.Background(), "uploads", "", "", "", "", 1000)
	if err != nil {
		in.t.Fatalf("list multipart uploads: %v", err)
	}
	return res.Uploads
}

func (in incomplete) names() []string {
	in.t.Helper()
	var out []string
	for _, u := range in.list() {
		out = append(out, u.Key)
	}
	slices.Sort(out)
	return out
}

// abandoned starts, one second apart (S3 dates uploads to the second),
// an old upload under finkit/ and, after it, a young one under finkit/,
// one under another deployment's prefix other/ and one under finkitx/
// (the same letters, no prefix of ours), and returns a time between the
// old one and the others.
func (in incomplete) abandoned() time.Time {
	in.t.Helper()
	old := in.start("finkit/incoming/old")
	time.Sleep(1100 * time.Millisecond)
	young := in.start("finkit/incoming/young")
	in.start("other/incoming/old")
	in.start("finkitx/incoming/old")
	if !young.After(old) {
		in.t.Fatalf("initiated %v then %v", old, young)
	}
	return old.Add(young.Sub(old) / 2)
}

var kept = []string{"finkit/incoming/young", "finkitx/incoming/old", "other/incoming/old"}

// TestAbortIncomplete: AbortIncomplete aborts only the multipart uploads
// under the Storage's prefix initiated before the cutoff.
func TestAbortIncomplete(t *testing.T) {
	st, srv := newStorage(t, 0)
	in := newIncomplete(t, srv)
	ctx := context.Background()
	cutoff := in.abandoned()
	if _, err := st.AbortIncomplete(ctx, "../", cutoff); !errors.Is(err, upload.ErrBadKey) {
		t.Fatalf("bad prefix: %v", err)
	}
	if n, err := st.AbortIncomplete(ctx, "sha256/", cutoff); err != nil || n != 0 {
		t.Fatalf("under sha256/: %d %v", n, err)
	}
	n, err := st.AbortIncomplete(ctx, "", cutoff)
	if err != nil || n != 1 {
		t.Fatalf("AbortIncomplete = %d, %v; want 1", n, err)
	}
	if got := in.names(); !slices.Equal(got, kept) {
		t.Fatalf("left %v, want %v", got, kept)
	}
	if n, err := st.AbortIncomplete(ctx, "", cutoff); err != nil || n != 0 {
		t.Fatalf("again: %d %v", n, err)
	}
}

// TestJanitorAbortsIncomplete: the upload janitor's sweep (run by New and
// then periodically) aborts abandoned multipart uploads older than
// StagingGrace under the Storage's prefix, and leaves younger ones and
// another deployment's alone.
func TestJanitorAbortsIncomplete(t *testing.T) {
	st, srv := newStorage(t, 0)
	in := newIncomplete(t, srv)
	ctx := context.Background()
	cutoff := in.abandoned()
	dir, err := upload.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	grace := time.Minute
	m, err := upload.New(ctx, upload.Options{
		Dir: dir, Storage: st, Store: upload.NewMemStore(), StagingGrace: grace,
		Now:       func() time.Time { return cutoff.Add(grace) },
		Authorize: func(*http.Request) (upload.Principal, error) { return upload.Principal{ID: "u"}, nil },
	})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Shutdown(ctx)
	if got := in.names(); !slices.Equal(got, kept) {
		t.Fatalf("left %v, want %v", got, kept)
	}
}
