package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
)

func TestClientMultipartAndWait(t *testing.T) {
	e := newEnv(t, Options{})
	c := &Client{BaseURL: e.srv.URL + "/uploads", Token: "admin", Fields: map[string]string{"account": "acc-1"}}
	content := []byte(csvTx)
	var sent int64
	u, err := c.Send(context.Background(), "tx.csv", bytes.NewReader(content), int64(len(content)), func(n int64) { sent = n })
	if err != nil {
		t.Fatal(err)
	}
	if sent != int64(len(content)) || u.State != StateQueued || u.Meta["account"] != "acc-1" {
		t.Fatalf("%+v, sent %d", u, sent)
	}
	var states []State
	done, err := c.Wait(context.Background(), u.ID, func(x Upload) { states = append(states, x.State) })
	if err != nil || done.State != StateDone || states[len(states)-1] != StateDone {
		t.Fatalf("%+v %v %v", done, states, err)
	}
	_, err = c.Send(context.Background(), "x.exe", strings.NewReader("MZ"), 2, nil)
	var re *ResponseError
	if !errors.As(err, &re) || re.Status != http.StatusUnsupportedMediaType || re.Message == "" {
		t.Fatalf("bad type: %v", err)
	}
	bad := &Client{BaseURL: e.srv.URL + "/uploads", Token: "user"}
	if _, err := bad.Send(context.Background(), "tx.csv", bytes.NewReader(content), int64(len(content)), nil); !errors.As(err, &re) || re.Status != 403 {
		t.Fatalf("forbidden: %v", err)
	}
}

// TestClientTusRetriesDroppedChunk: the connection of one PATCH is cut;
// the client asks the offset and goes on.
func TestClientTusRetriesDroppedChunk(t *testing.T) {
	e := newEnv(t, Options{})
	var patches atomic.Int32
	h := e.m.Handler()
	flaky := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch && patches.Add(1) == 2 {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		h.ServeHTTP(w, r)
	}))
	defer flaky.Close()
	var content bytes.Buffer
	content.WriteString("a,b\n")
	for content.Len() < 300_000 {
		content.WriteString("12345,67890\n")
	}
	c := &Client{BaseURL: flaky.URL + "/uploads", Token: "admin", ResumableOver: 1000, ChunkSize: 64 << 10}
	var sent int64
	u, err := c.Send(context.Background(), "big.csv", bytes.NewReader(content.Bytes()), int64(content.Len()), func(n int64) { sent = n })
	if err != nil {
		t.Fatal(err)
	}
	if sent != int64(content.Len()) || patches.Load() < 6 {
		t.Fatalf("sent %d, %d PATCHes", sent, patches.Load())
	}
	done, err := c.Wait(context.Background(), u.ID, nil)
	sum := sha256.Sum256(content.Bytes())
	if err != nil || done.State != StateDone || done.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("%+v %v", done, err)
	}
}

// TestClientResumesAcrossRuns: a first client (a process that dies after
// two chunks) leaves its tus location in a FileResumeStore; a second
// client with the same store continues from the server's offset instead of
// starting again, and forgets the location when done.
func TestClientResumesAcrossRuns(t *testing.T) {
	e := newEnv(t, Options{})
	var mu sync.Mutex
	var offsets []string
	var patches atomic.Int32
	h := e.m.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPatch {
			mu.Lock()
			offsets = append(offsets, r.Header.Get("Upload-Offset"))
			mu.Unlock()
			if patches.Add(1) == 3 { // the first run dies here
				conn, _, err := w.(http.Hijacker).Hijack()
				if err == nil {
					conn.Close()
				}
				return
			}
		}
		h.ServeHTTP(w, r)
	}))
	defer srv.Close()
	var content bytes.Buffer
	content.WriteString("a,b\n")
	for content.Len() < 300_000 {
		content.WriteString("12345,67890\n")
	}
	store := &FileResumeStore{Path: filepath.Join(t.TempDir(), "state", "resume.json")}
	const key = "/data/big.csv|300000|1|abc"
	run := func() (Upload, error) {
		c := &Client{BaseURL: srv.URL + "/uploads", Token: "admin", ResumableOver: 1000, ChunkSize: 64 << 10, Retries: -1, Resume: store}
		return c.SendResumable(context.Background(), key, "big.csv", bytes.NewReader(content.Bytes()), int64(content.Len()), nil)
	}
	if _, err := run(); err == nil {
		t.Fatal("the first run should have failed")
	}
	if _, ok := store.Load(srv.URL + "/uploads " + key); !ok {
		t.Fatal("no location saved")
	}
	u, err := run()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	resumedAt := offsets[3]
	mu.Unlock()
	if resumedAt != strconv.Itoa(2*64<<10) {
		t.Fatalf("second run's first PATCH at offset %s (all: %v), want %d", resumedAt, offsets, 2*64<<10)
	}
	if _, err := os.Stat(store.Path); !os.IsNotExist(err) {
		t.Fatalf("state file left after success: %v", err)
	}
	c := &Client{BaseURL: srv.URL + "/uploads", Token: "admin"}
	done, err := c.Wait(context.Background(), u.ID, nil)
	sum := sha256.Sum256(content.Bytes())
	if err != nil || done.State != StateDone || done.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("%+v %v", done, err)
	}
	// A stale location (another length) is not used: a fresh upload starts.
	_ = store.Save(srv.URL+"/uploads "+key, srv.URL+"/uploads/tus/"+u.ID)
	patches.Store(100)
	small := content.Bytes()[:200_000]
	c2 := &Client{BaseURL: srv.URL + "/uploads", Token: "admin", ResumableOver: 1000, ChunkSize: 64 << 10, Resume: store}
	u2, err := c2.SendResumable(context.Background(), key, "big.csv", bytes.NewReader(small), int64(len(small)), nil)
	if err != nil || u2.ID == u.ID || u2.Size != int64(len(small)) {
		t.Fatalf("stale location: %+v %v", u2, err)
	}
}
