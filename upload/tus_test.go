package upload

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/testutil"
)

func b64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

func (e *env) tus(method, path, token string, body []byte, hdr map[string]string) *http.Response {
	e.t.Helper()
	req, _ := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	req.Header.Set("Tus-Resumable", "1.0.0")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if method == http.MethodPatch {
		req.Header.Set("Content-Type", "application/offset+octet-stream")
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp
}

func (e *env) tusCreate(name string, length int) string {
	e.t.Helper()
	resp := e.tus(http.MethodPost, "/uploads/tus/", "admin", nil, map[string]string{
		"Upload-Length": fmt.Sprint(length), "Upload-Metadata": "filename " + b64(name) + ",account " + b64("acc-1"),
	})
	if resp.StatusCode != http.StatusCreated || !strings.HasPrefix(resp.Header.Get("Location"), "/uploads/tus/") || resp.Header.Get("Upload-Expires") == "" {
		e.t.Fatalf("create: %d %v", resp.StatusCode, resp.Header)
	}
	return resp.Header.Get("Location")
}

func sumOf(b []byte) string { s := sha256.Sum256(b); return base64.StdEncoding.EncodeToString(s[:]) }

func TestTusProtocol(t *testing.T) {
	e := newEnv(t, Options{})
	resp := e.tus(http.MethodOptions, "/uploads/tus/", "admin", nil, nil)
	if resp.StatusCode != 204 || resp.Header.Get("Tus-Version") != "1.0.0" || !strings.Contains(resp.Header.Get("Tus-Extension"), "termination") || resp.Header.Get("Tus-Checksum-Algorithm") != "sha256" {
		t.Fatalf("OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
	content := []byte("a,b\n" + strings.Repeat("1,2\n", 1000))
	loc := e.tusCreate("big.csv", len(content))
	id := strings.TrimPrefix(loc, "/uploads/tus/")
	head := func() string {
		r := e.tus(http.MethodHead, loc, "admin", nil, nil)
		if r.StatusCode != 200 || r.Header.Get("Cache-Control") != "no-store" {
			t.Fatalf("HEAD %d", r.StatusCode)
		}
		return r.Header.Get("Upload-Offset")
	}
	if head() != "0" {
		t.Fatal("new upload not at 0")
	}
	chunk1 := content[:1500]
	for _, tc := range []struct {
		name   string
		offset string
		hdr    map[string]string
		status int
	}{
		{"wrong offset", "10", nil, 409},
		{"no version", "0", map[string]string{"Tus-Resumable": ""}, 412},
		{"bad content type", "0", map[string]string{"Content-Type": "text/plain"}, 415},
		{"bad checksum", "0", map[string]string{"Upload-Checksum": "sha256 " + sumOf([]byte("other"))}, 460},
		{"unknown algorithm", "0", map[string]string{"Upload-Checksum": "md5 " + b64("x")}, 400},
		{"negative offset", "-1", nil, 400},
	} {
		hdr := map[string]string{"Upload-Offset": tc.offset}
		for k, v := range tc.hdr {
			hdr[k] = v
		}
		if r := e.tus(http.MethodPatch, loc, "admin", chunk1, hdr); r.StatusCode != tc.status {
			t.Errorf("%s: %d, want %d", tc.name, r.StatusCode, tc.status)
		}
	}
	if head() != "0" {
		t.Fatal("a rejected PATCH moved the offset")
	}
	if r := e.tus(http.MethodHead, loc, "admin2", nil, nil); r.StatusCode != 404 {
		t.Fatalf("another admin sees the session: %d", r.StatusCode)
	}
	r := e.tus(http.MethodPatch, loc, "admin", chunk1, map[string]string{"Upload-Offset": "0", "Upload-Checksum": "sha256 " + sumOf(chunk1)})
	if r.StatusCode != 204 || r.Header.Get("Upload-Offset") != "1500" {
		t.Fatalf("PATCH 1: %d %v", r.StatusCode, r.Header)
	}
	if _, err := e.m.Get(context.Background(), id); err == nil {
		t.Fatal("a job exists before the last byte")
	}
	r = e.tus(http.MethodPatch, loc, "admin", append(content[1500:], 'x'), map[string]string{"Upload-Offset": "1500"})
	if r.StatusCode != 400 {
		t.Fatalf("chunk past the length: %d", r.StatusCode)
	}
	r = e.tus(http.MethodPatch, loc, "admin", content[1500:], map[string]string{"Upload-Offset": "1500"})
	if r.StatusCode != 204 || r.Header.Get("Upload-Offset") != fmt.Sprint(len(content)) {
		t.Fatalf("PATCH 2: %d %v", r.StatusCode, r.Header)
	}
	u := e.wait(id)
	want := sha256.Sum256(content)
	if u.State != StateDone || u.SHA256 != hex.EncodeToString(want[:]) || u.Name != "big.csv" || u.Meta["account"] != "acc-1" {
		t.Fatalf("%+v", u)
	}
	if head() != fmt.Sprint(len(content)) {
		t.Fatal("HEAD after completion")
	}
	if resp, b := e.get("/uploads/" + id + "/content"); resp.StatusCode != 200 || !bytes.Equal(b, content) {
		t.Fatalf("content %d", resp.StatusCode)
	}

	// termination
	loc2 := e.tusCreate("gone.csv", 10)
	if r := e.tus(http.MethodDelete, loc2, "admin", nil, nil); r.StatusCode != 204 {
		t.Fatalf("DELETE %d", r.StatusCode)
	}
	if r := e.tus(http.MethodHead, loc2, "admin", nil, nil); r.StatusCode != 404 {
		t.Fatalf("HEAD after DELETE %d", r.StatusCode)
	}
	if len(e.temps()) != 0 {
		t.Fatalf("temps %v", e.temps())
	}
}

func TestTusRejects(t *testing.T) {
	e := newEnv(t, Options{MaxResumable: 1 << 20})
	for _, tc := range []struct {
		hdr    map[string]string
		status int
	}{
		{map[string]string{"Upload-Length": "10", "Upload-Metadata": "filename " + b64("x.exe")}, 415},
		{map[string]string{"Upload-Length": "10"}, 415}, // no name, no extension
		{map[string]string{"Upload-Length": "0", "Upload-Metadata": "filename " + b64("x.csv")}, 400},
		{map[string]string{"Upload-Length": "2000000", "Upload-Metadata": "filename " + b64("x.csv")}, 413},
		{map[string]string{"Upload-Length": "12a", "Upload-Metadata": "filename " + b64("x.csv")}, 400},
		{map[string]string{"Upload-Defer-Length": "1", "Upload-Metadata": "filename " + b64("x.csv")}, 400},
		{map[string]string{"Upload-Length": "10", "Upload-Metadata": "filename !!!"}, 400},
	} {
		if r := e.tus(http.MethodPost, "/uploads/tus/", "admin", nil, tc.hdr); r.StatusCode != tc.status {
			t.Errorf("%v: %d, want %d", tc.hdr, r.StatusCode, tc.status)
		}
	}
	// A .png that is HTML is refused as soon as its first bytes arrive,
	// and the session is gone.
	html := []byte("<!DOCTYPE html><html><body>" + strings.Repeat("x", 600) + "</body></html>")
	loc := e.tusCreate("fake.png", len(html))
	if r := e.tus(http.MethodPatch, loc, "admin", html[:600], map[string]string{"Upload-Offset": "0"}); r.StatusCode != 415 {
		t.Fatalf("spoofed png: %d", r.StatusCode)
	}
	if r := e.tus(http.MethodHead, loc, "admin", nil, nil); r.StatusCode != 404 {
		t.Fatalf("HEAD of a rejected upload: %d", r.StatusCode)
	}
	// A CSV with a NUL byte after the sniffed head fails at completion.
	bad := append([]byte("a,b\n"+strings.Repeat("1,2\n", 300)), 0)
	loc = e.tusCreate("late.csv", len(bad))
	if r := e.tus(http.MethodPatch, loc, "admin", bad, map[string]string{"Upload-Offset": "0"}); r.StatusCode != 415 {
		t.Fatalf("late NUL: %d", r.StatusCode)
	}
	e.requireEmpty()
}

func TestTusExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	e := newEnv(t, Options{Now: clock, SessionTTL: time.Hour})
	loc := e.tusCreate("a.csv", 100)
	if r := e.tus(http.MethodPatch, loc, "admin", []byte("a,b\n1,2\n"), map[string]string{"Upload-Offset": "0"}); r.StatusCode != 204 {
		t.Fatalf("PATCH %d", r.StatusCode)
	}
	loc2 := e.tusCreate("b.csv", 100)
	advance(2 * time.Hour)
	if r := e.tus(http.MethodHead, loc, "admin", nil, nil); r.StatusCode != 410 {
		t.Fatalf("HEAD of an expired upload: %d", r.StatusCode)
	}
	if err := e.m.sweep(context.Background()); err != nil { // what the janitor does
		t.Fatal(err)
	}
	if r := e.tus(http.MethodHead, loc2, "admin", nil, nil); r.StatusCode != 404 {
		t.Fatalf("HEAD after the janitor: %d", r.StatusCode)
	}
	e.requireEmpty()
	if !strings.Contains(e.logs.String(), `"event":"upload.expired"`) {
		t.Fatal("expiry not audited")
	}
}

// TestTusDropsUnacknowledgedBytes: bytes written after the last recorded
// offset (a crash mid-PATCH) are cut off before the next PATCH.
func TestTusDropsUnacknowledgedBytes(t *testing.T) {
	e := newEnv(t, Options{})
	content := []byte("a,b\n" + strings.Repeat("3,4\n", 50))
	loc := e.tusCreate("a.csv", len(content))
	id := strings.TrimPrefix(loc, "/uploads/tus/")
	if r := e.tus(http.MethodPatch, loc, "admin", content[:100], map[string]string{"Upload-Offset": "0"}); r.StatusCode != 204 {
		t.Fatal(r.StatusCode)
	}
	s, _ := e.store.GetSession(context.Background(), id)
	f, err := os.OpenFile(filepath.Join(e.dir, tempDir, s.Temp), os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = f.WriteString("GARBAGE FROM A HALF-WRITTEN CHUNK")
	f.Close()
	if r := e.tus(http.MethodPatch, loc, "admin", content[100:], map[string]string{"Upload-Offset": "100"}); r.StatusCode != 204 {
		t.Fatal(r.StatusCode)
	}
	u := e.wait(id)
	want := sha256.Sum256(content)
	if u.SHA256 != hex.EncodeToString(want[:]) {
		t.Fatal("stored hash differs")
	}
	if _, b := e.get("/uploads/" + id + "/content"); !bytes.Equal(b, content) {
		t.Fatal("stored bytes differ")
	}
}

type nodeEvent struct {
	Event  string `json:"event"`
	URL    string `json:"url"`
	Sent   int64  `json:"sent"`
	Offset int64  `json:"offset"`
}

// runTusClient runs the real tus-js-client; stop, when set, is asked after
// every event whether to SIGKILL the client.
func runTusClient(t *testing.T, node, endpoint, file, store string, slow bool, stop func(nodeEvent) bool) []nodeEvent {
	t.Helper()
	args := []string{filepath.Join("testdata", "tusclient", "upload.js"), endpoint, "admin", file, store}
	if slow {
		args = append(args, "--slow")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var events []nodeEvent
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		var ev nodeEvent
		if json.Unmarshal(sc.Bytes(), &ev) != nil {
			continue
		}
		events = append(events, ev)
		if !killed && stop != nil && stop(ev) {
			_ = cmd.Process.Kill() // SIGKILL: no chance to clean up
			killed = true
		}
	}
	err = cmd.Wait()
	if !killed && err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.String())
	}
	return events
}

func TestTusJSClientResumesAfterKill(t *testing.T) {
	node := testutil.RequireTool(t, "node")
	if _, err := os.Stat(filepath.Join("testdata", "tusclient", "node_modules", "tus-js-client")); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("tus-js-client is not installed: run `make deps`")
		}
		t.Skip("tus-js-client is not installed (make deps runs npm ci in upload/testdata/tusclient)")
	}
	e := newEnv(t, Options{})
	dir := t.TempDir()
	file := filepath.Join(dir, "history.csv")
	var content bytes.Buffer
	content.WriteString("date,close\n")
	for i := 0; content.Len() < 3<<20; i++ {
		fmt.Fprintf(&content, "2020-01-01,%d.%02d\n", 100+i%97, i%100)
	}
	if err := os.WriteFile(file, content.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	store := filepath.Join(dir, "tus-urls.json")
	endpoint := e.srv.URL + "/uploads/tus/"
	size := int64(content.Len())

	first := runTusClient(t, node, endpoint, file, store, true, func(ev nodeEvent) bool {
		return ev.Event == "progress" && ev.Sent > size/3
	})
	var url string
	for _, ev := range first {
		if ev.Event == "url" {
			url = ev.URL
		}
		if ev.Event == "success" {
			t.Fatal("the first client finished before it was killed")
		}
	}
	id := url[strings.LastIndex(url, "/")+1:]
	s, err := e.store.GetSession(context.Background(), id)
	if err != nil || s.Offset <= 0 || s.Offset >= size {
		t.Fatalf("after the kill: %+v %v", s, err)
	}
	second := runTusClient(t, node, endpoint, file, store, false, nil)
	var resumed bool
	var firstPatch int64 = -1
	for _, ev := range second {
		switch ev.Event {
		case "resume":
			resumed = ev.URL == url
		case "patch":
			if firstPatch < 0 {
				firstPatch = ev.Offset
			}
		}
	}
	if !resumed || firstPatch < s.Offset || second[len(second)-1].Event != "success" {
		t.Fatalf("second run did not resume at %d: resumed %v, first PATCH at %d, events %v", s.Offset, resumed, firstPatch, second[len(second)-1])
	}
	u := e.wait(id)
	want := sha256.Sum256(content.Bytes())
	if u.State != StateDone || u.SHA256 != hex.EncodeToString(want[:]) || u.Size != size || u.Name != "history.csv" {
		t.Fatalf("%+v", u)
	}
	if len(e.temps()) != 0 {
		t.Fatalf("temps %v", e.temps())
	}
}
