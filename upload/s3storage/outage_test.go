package s3storage_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/upload"
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
