package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/finkit/finkit/internal/testutil"
)

// TestTusHeadCompletesAfterOutage (review): a tus upload whose last PATCH
// met a storage outage (503) has all its bytes but is not recorded. A
// HEAD must not then report it complete (Upload-Offset = Upload-Length)
// while nothing is recorded: a standard tus client resuming it takes that
// as done and stops, and the upload is never recorded (its session
// expires). HEAD completes it instead: a 503 with Retry-After while the
// storage is still down, then 200 with the upload recorded; an empty PATCH
// at the end of the completed upload (what Client sends next) is a 204.
func TestTusHeadCompletesAfterOutage(t *testing.T) {
	st, _ := newOutage(t)
	e := newEnv(t, Options{Storage: st})
	st.down.Store(true)
	loc := e.tusCreate("b.csv", len(csvTx))
	id := loc[strings.LastIndex(loc, "/")+1:]
	if r := e.tus(http.MethodPatch, loc, "admin", []byte(csvTx), map[string]string{"Upload-Offset": "0"}); r.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("last PATCH during the outage: %d", r.StatusCode)
	}
	r := e.tus(http.MethodHead, loc, "admin", nil, nil)
	if r.StatusCode == http.StatusOK && r.Header.Get("Upload-Offset") == r.Header.Get("Upload-Length") {
		if _, err := e.store.Get(context.Background(), id); err != nil {
			t.Fatalf("HEAD reports the upload complete, but it is not recorded: %v", err)
		}
	}
	if r.StatusCode != http.StatusServiceUnavailable || r.Header.Get("Retry-After") == "" {
		t.Fatalf("HEAD during the outage: %d (Retry-After %q)", r.StatusCode, r.Header.Get("Retry-After"))
	}
	st.down.Store(false)
	r = e.tus(http.MethodHead, loc, "admin", nil, nil)
	if r.StatusCode != http.StatusOK || r.Header.Get("Upload-Offset") != strconv.Itoa(len(csvTx)) {
		t.Fatalf("HEAD after the outage: %d offset %q", r.StatusCode, r.Header.Get("Upload-Offset"))
	}
	if u := e.wait(id); u.State != StateDone {
		t.Fatalf("job %+v", u)
	}
	r = e.tus(http.MethodPatch, loc, "admin", nil, map[string]string{"Upload-Offset": strconv.Itoa(len(csvTx))})
	if r.StatusCode != http.StatusNoContent || r.Header.Get("Upload-Offset") != strconv.Itoa(len(csvTx)) {
		t.Fatalf("empty PATCH at the end of the completed upload: %d %q", r.StatusCode, r.Header.Get("Upload-Offset"))
	}
	if r := e.tus(http.MethodPatch, loc, "admin", nil, map[string]string{"Upload-Offset": "1"}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("PATCH elsewhere in the completed upload: %d", r.StatusCode)
	}
	if r := e.tus(http.MethodPatch, loc, "admin2", nil, map[string]string{"Upload-Offset": strconv.Itoa(len(csvTx))}); r.StatusCode != http.StatusNotFound {
		t.Fatalf("another admin's empty PATCH: %d", r.StatusCode)
	}
}

// TestTusJSClientOutageAtTheEnd (review): the real tus-js-client uploads a
// file while the object storage is down: its last PATCH gets a 503 and the
// client gives up (no retries configured). Once the storage is back, a
// second run resumes the upload; it must end with the upload recorded and
// stored whole. It used to "succeed" from the HEAD alone (the offset was
// the length) with nothing recorded.
func TestTusJSClientOutageAtTheEnd(t *testing.T) {
	node := testutil.RequireTool(t, "node")
	if _, err := os.Stat(filepath.Join("testdata", "tusclient", "node_modules", "tus-js-client")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tus-js-client is not installed: run `make deps`")
		}
		t.Skip("tus-js-client is not installed (make deps runs npm ci in upload/testdata/tusclient)")
	}
	st, _ := newOutage(t)
	e := newEnv(t, Options{Storage: st})
	dir := t.TempDir()
	file := filepath.Join(dir, "history.csv")
	var content bytes.Buffer
	content.WriteString("date,close\n")
	for i := 0; content.Len() < 200_000; i++ {
		content.WriteString("2020-01-01,101.25\n")
	}
	if err := os.WriteFile(file, content.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "tus-urls.json")
	endpoint := e.srv.URL + "/uploads/tus/"
	st.down.Store(true)
	first := runTusClient(t, node, endpoint, file, store, false, func(ev nodeEvent) bool { return ev.Event == "error" })
	var url string
	for _, ev := range first {
		if ev.Event == "url" {
			url = ev.URL
		}
		if ev.Event == "success" {
			t.Fatal("the client succeeded during the outage")
		}
	}
	st.down.Store(false)
	second := runTusClient(t, node, endpoint, file, store, false, nil)
	if last := second[len(second)-1]; last.Event != "success" || last.URL != url {
		t.Fatalf("second run: %+v", second)
	}
	id := url[strings.LastIndex(url, "/")+1:]
	u, err := e.store.Get(context.Background(), id)
	if err != nil {
		t.Fatalf("the client reported success, but the upload is not recorded: %v", err)
	}
	sum := sha256.Sum256(content.Bytes())
	if u = e.wait(u.ID); u.State != StateDone || u.SHA256 != hex.EncodeToString(sum[:]) {
		t.Fatalf("job %+v", u)
	}
}
