package upload

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestStalledBodyTimesOut: a client that sends the start of a body and
// then nothing more (slowloris) is answered 408 after Options.BodyIdleTimeout
// and leaves nothing behind: no temporary file, no upload, no queue slot,
// no lock on the resumable upload (a later PATCH from the acknowledged
// offset goes through).
func TestStalledBodyTimesOut(t *testing.T) {
	e := newEnv(t, Options{BodyIdleTimeout: 300 * time.Millisecond, QueueSize: 1})
	loc := e.tusCreate("stall.csv", 16)
	addr := strings.TrimPrefix(e.srv.URL, "http://")
	for _, req := range []string{
		"POST /uploads HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\nContent-Type: multipart/form-data; boundary=BB\r\nContent-Length: 100000\r\n\r\n" +
			"--BB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.csv\"\r\n\r\na,b\n1,2\n",
		"PATCH " + loc + " HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer admin\r\nTus-Resumable: 1.0.0\r\nContent-Type: application/offset+octet-stream\r\nUpload-Offset: 0\r\nContent-Length: 16\r\n\r\na,b\n1,2\n",
	} {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		if _, err := c.Write([]byte(req)); err != nil {
			t.Fatal(err)
		}
		_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(c), nil)
		if err != nil {
			t.Fatalf("%s: no answer to a stalled body within 10 s: %v", strings.Fields(req)[0], err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusRequestTimeout {
			t.Fatalf("%s: status %d, want 408", strings.Fields(req)[0], resp.StatusCode)
		}
	}
	// The multipart request left nothing, and its queue slot is free again.
	if ups, _ := e.store.List(context.Background(), ListOptions{}); len(ups) != 0 {
		t.Fatalf("uploads recorded: %d", len(ups))
	}
	// The PATCH kept its 8 bytes (fsynced, offset recorded); the rest
	// arrives from there.
	r := e.tus(http.MethodPatch, loc, "admin", []byte("3,4\n5,6\n"), map[string]string{"Upload-Offset": "8"})
	if r.StatusCode != http.StatusNoContent {
		t.Fatalf("PATCH after the stall: %d", r.StatusCode)
	}
	if u := e.wait(loc[strings.LastIndex(loc, "/")+1:]); u.State != StateDone || u.Size != 16 {
		t.Fatalf("resumed upload: %+v", u)
	}
	if got := e.temps(); len(got) != 0 {
		t.Fatalf("temporary files left: %v", got)
	}
}
