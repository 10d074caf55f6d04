package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestTusConcurrentPatchesOneUpload: many PATCHes at the same offset of one
// upload, each with other bytes: exactly one is taken (204), the others get
// 409, and the stored file is the winner's bytes plus the rest, whole.
func TestTusConcurrentPatchesOneUpload(t *testing.T) {
	e := newEnv(t, Options{})
	const n = 12
	chunk := func(i int) []byte {
		return []byte("a,b\n" + strings.Repeat(fmt.Sprintf("%02d,x\n", i), 400))
	}
	rest := []byte(strings.Repeat("9,9\n", 300))
	size := len(chunk(0)) + len(rest)
	loc := e.tusCreate("race.csv", size)
	id := strings.TrimPrefix(loc, "/uploads/tus/")
	codes := make([]int, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			hdr := map[string]string{"Upload-Offset": "0"}
			if i%2 == 0 { // half with a checksum, half without
				hdr["Upload-Checksum"] = "sha256 " + sumOf(chunk(i))
			}
			codes[i] = e.tus(http.MethodPatch, loc, "admin", chunk(i), hdr).StatusCode
		})
	}
	wg.Wait()
	winner := -1
	for i, c := range codes {
		switch c {
		case 204:
			if winner >= 0 {
				t.Fatalf("two PATCHes at offset 0 accepted: %v", codes)
			}
			winner = i
		case 409:
		default:
			t.Fatalf("PATCH %d: %d (%v)", i, c, codes)
		}
	}
	if winner < 0 {
		t.Fatalf("none accepted: %v", codes)
	}
	off := fmt.Sprint(len(chunk(0)))
	if r := e.tus(http.MethodHead, loc, "admin", nil, nil); r.Header.Get("Upload-Offset") != off {
		t.Fatalf("offset %s, want %s", r.Header.Get("Upload-Offset"), off)
	}
	// The rest, raced again: one completes the upload, the other is 409 or,
	// when it comes after completion, 404 (the session is a job now).
	var done [2]int
	for i := range 2 {
		wg.Go(func() {
			done[i] = e.tus(http.MethodPatch, loc, "admin", rest, map[string]string{"Upload-Offset": off}).StatusCode
		})
	}
	wg.Wait()
	lost := func(c int) bool { return c == 409 || c == 404 }
	if !(done[0] == 204 && lost(done[1]) || lost(done[0]) && done[1] == 204) {
		t.Fatalf("final chunk raced: %v", done)
	}
	u := e.wait(id)
	want := append(chunk(winner), rest...)
	sum := sha256.Sum256(want)
	if u.State != StateDone || u.SHA256 != hex.EncodeToString(sum[:]) || u.Size != int64(size) {
		t.Fatalf("%+v", u)
	}
	if resp, b := e.get("/uploads/" + id + "/content"); resp.StatusCode != 200 || !bytes.Equal(b, want) {
		t.Fatalf("content %d, %d bytes", resp.StatusCode, len(b))
	}
	if len(e.temps()) != 0 {
		t.Fatalf("temps %v", e.temps())
	}
}

// TestTusHostileLengths: lengths at and past the edges are refused before
// anything is stored; a PATCH after completion is not taken.
func TestTusHostileLengths(t *testing.T) {
	e := newEnv(t, Options{MaxResumable: 1 << 20})
	for _, l := range []string{"9223372036854775807", "9223372036854775808", "-5", "1048577"} {
		r := e.tus(http.MethodPost, "/uploads/tus/", "admin", nil, map[string]string{"Upload-Length": l, "Upload-Metadata": "filename " + b64("x.csv")})
		if r.StatusCode != 400 && r.StatusCode != 413 {
			t.Errorf("Upload-Length %s: %d", l, r.StatusCode)
		}
	}
	for _, tok := range []string{"", "user"} {
		r := e.tus(http.MethodPost, "/uploads/tus/", tok, nil, map[string]string{"Upload-Length": "10", "Upload-Metadata": "filename " + b64("x.csv")})
		if r.StatusCode != 401 && r.StatusCode != 403 {
			t.Errorf("token %q: %d", tok, r.StatusCode)
		}
	}
	content := []byte("a,b\n1,2\n")
	loc := e.tusCreate("small.csv", len(content))
	if r := e.tus(http.MethodPatch, loc, "admin", content, map[string]string{"Upload-Offset": "0"}); r.StatusCode != 204 {
		t.Fatalf("PATCH %d", r.StatusCode)
	}
	id := strings.TrimPrefix(loc, "/uploads/tus/")
	e.wait(id)
	for _, off := range []string{"0", fmt.Sprint(len(content))} {
		if r := e.tus(http.MethodPatch, loc, "admin", []byte("3,4\n"), map[string]string{"Upload-Offset": off}); r.StatusCode/100 == 2 {
			t.Fatalf("PATCH at %s after completion: %d", off, r.StatusCode)
		}
	}
	if resp, b := e.get("/uploads/" + id + "/content"); resp.StatusCode != 200 || !bytes.Equal(b, content) {
		t.Fatalf("content changed: %q", b)
	}
	if len(e.temps()) != 0 {
		t.Fatalf("temps %v", e.temps())
	}
}

// TestShutdownDoesNotWaitForStalledBody: a client that stops sending in
// the middle of a body (multipart or tus PATCH) must not keep Shutdown
// waiting past its deadline (nor race the WaitGroup it waits on).
func TestShutdownDoesNotWaitForStalledBody(t *testing.T) {
	e := newEnv(t, Options{})
	loc := e.tusCreate("stall.csv", 1<<20)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, req := range []string{
		"POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: 100000\r\n\r\n" +
			"--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\n1,2\n",
		"PATCH " + loc + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 1048576\r\n\r\na,b\n1,2\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(300 * time.Millisecond) // the handlers are reading
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- e.m.Shutdown(ctx) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Shutdown still waits for a stalled request body 10 s after its deadline")
	}
}
