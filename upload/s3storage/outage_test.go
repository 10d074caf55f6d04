package s3storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
	"github.com/finkit/finkit/upload/s3storage"
	"github.com/finkit/finkit/upload/s3storage/s3test"
)

// TestIntakeOutageIs503: versitygw stopped under a running Manager: an
// upload is answered 503 with Retry-After and a clear JSON error (not a
// 500), in bounded time, and nothing is recorded or left locally.
func TestIntakeOutageIs503(t *testing.T) {
	st, srv := newStorage(t, 0)
	ctx := context.Background()
	dir, err := upload.OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer dir.Close()
	store := upload.NewMemStore()
	m, err := upload.New(ctx, upload.Options{Dir: dir, Storage: st, Store: store,
		Authorize: func(*http.Request) (upload.Principal, error) {
			return upload.Principal{ID: "u-admin", Name: "admin"}, nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(m.Handler())
	defer func() { hs.Close(); _ = m.Shutdown(ctx) }()
	srv.Stop()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	w, _ := mw.CreateFormFile("file", "a.csv")
	_, _ = io.WriteString(w, "date,amount\n2024-01-02,1.00\n")
	_ = mw.Close()
	start := time.Now()
	resp, err := http.Post(hs.URL+"/uploads", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct{ Error string }
	_ = json.NewDecoder(resp.Body).Decode(&out)
	t.Logf("answered %d after %v: %q", resp.StatusCode, time.Since(start), out.Error)
	if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" || out.Error != "file storage is unavailable, try again later" {
		t.Fatalf("%d (Retry-After %q) %q, want 503 with Retry-After and a clear error", resp.StatusCode, resp.Header.Get("Retry-After"), out.Error)
	}
	if ups, _ := store.List(ctx, upload.ListOptions{}); len(ups) != 0 {
		t.Fatalf("%d uploads recorded", len(ups))
	}
	if temps, _ := dir.Temps(); len(temps) != 0 {
		t.Fatalf("temporary files left: %v", temps)
	}
}

// TestList: List returns the objects under a prefix with their keys as
// the Storage names them (without Options.Prefix), sizes and times, and
// leaves out objects outside the prefix.
func TestList(t *testing.T) {
	st, _ := newStorage(t, 0)
	ctx := context.Background()
	for _, k := range []string{"incoming/a", "incoming/b", "sha256/ab/abc", "incomingx"} {
		if _, err := st.Put(ctx, k, bytes.NewReader([]byte(k))); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := st.List(ctx, "incoming/")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, o := range objs {
		got = append(got, o.Key)
		if o.Size != int64(len(o.Key)) || time.Since(o.ModTime) > time.Hour || time.Since(o.ModTime) < -time.Hour {
			t.Errorf("%s: size %d, time %v", o.Key, o.Size, o.ModTime)
		}
	}
	if strings.Join(got, ",") != "incoming/a,incoming/b" {
		t.Fatalf("List(incoming/) = %v", got)
	}
	if objs, err := st.List(ctx, "nothing/"); err != nil || len(objs) != 0 {
		t.Fatalf("List(nothing/) = %v, %v", objs, err)
	}
}

// TestPutFile: a file is stored from its current offset to its end (in
// one PUT), signed and with UnsignedPayload; a reader of unknown length
// still goes as a multipart upload.
func TestPutFile(t *testing.T) {
	st, srv := newStorage(t, 5<<20)
	ctx := context.Background()
	unsigned, err := s3storage.New(ctx, s3storage.Options{Endpoint: srv.Endpoint, AccessKey: s3test.AccessKey, SecretKey: s3test.SecretKey,
		Bucket: "uploads", Prefix: "finkit/", UnsignedPayload: true})
	if err != nil {
		t.Fatal(err)
	}
	content, _ := io.ReadAll(&pattern{n: 12 << 20})
	f, err := os.CreateTemp(t.TempDir(), "src")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Write(content); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*s3storage.Storage{"signed": st, "unsigned": unsigned} {
		const off = 1<<20 + 3
		if _, err := f.Seek(off, io.SeekStart); err != nil {
			t.Fatal(err)
		}
		n, err := s.Put(ctx, "ab/"+name, f)
		if err != nil || n != int64(len(content)-off) {
			t.Fatalf("%s: Put = %d, %v", name, n, err)
		}
		r, err := s.Open(ctx, "ab/"+name)
		if err != nil {
			t.Fatal(err)
		}
		got, err := io.ReadAll(r)
		r.Close()
		if err != nil || !bytes.Equal(got, content[off:]) {
			t.Fatalf("%s: stored %d bytes, want the file's last %d (%v)", name, len(got), len(content)-off, err)
		}
	}
	if n, err := unsigned.Put(ctx, "ab/stream", &pattern{n: 12 << 20}); err != nil || n != 12<<20 {
		t.Fatalf("unsigned stream: %d %v", n, err)
	}
}
