package logging

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// syncBuffer is a bytes.Buffer safe for the server goroutines writing and
// the test reading.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.buf.String()
}

// lines returns the decoded JSON lines whose msg is msg.
func (s *syncBuffer) lines(t *testing.T, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(s.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), line)
		if m["msg"] == msg {
			out = append(out, m)
		}
	}
	return out
}

// waitAccess waits for n access-log lines (the line is written when the
// handler returns, which can be after the client has read the response).
func (s *syncBuffer) waitAccess(t *testing.T, n int) []map[string]any {
	t.Helper()
	var lines []map[string]any
	require.Eventually(t, func() bool {
		lines = s.lines(t, "http request")
		return len(lines) >= n
	}, 5*time.Second, 5*time.Millisecond, "want %d access lines; log:\n%s", n, s)
	return lines
}

// newMiddlewareServer serves h through m with a finkit JSON logger.
func newMiddlewareServer(t *testing.T, m Middleware, h http.Handler) (*httptest.Server, *syncBuffer, *slog.Logger) {
	t.Helper()
	logs := &syncBuffer{}
	l, c, err := New(Options{Output: logs, Level: "debug"})
	require.NoError(t, err)
	m.Logger = l
	srv := httptest.NewUnstartedServer(m.Wrap(h))
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		_ = c.Close()
	})
	return srv, logs, l
}

func get(t *testing.T, srv *httptest.Server, path string, hdr http.Header) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = v
	}
	client := *srv.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, string(body)
}

func TestMiddlewareAccessLog(t *testing.T) {
	tests := []struct {
		name      string
		handler   http.HandlerFunc
		wantCode  int
		wantBytes int
		wantLevel string
	}{
		{"200 with body", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "hello") }, 200, 5, "INFO"},
		{"implicit 200 no body", func(http.ResponseWriter, *http.Request) {}, 200, 0, "INFO"},
		{"204", func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusNoContent) }, 204, 0, "INFO"},
		{"302", func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, "/elsewhere", http.StatusFound) }, 302, len("<a href=\"/elsewhere\">Found</a>.\n\n"), "INFO"},
		{"404", http.NotFound, 404, len("404 page not found\n"), "WARN"},
		{"503", func(w http.ResponseWriter, _ *http.Request) {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte("later"))
		}, 503, 5, "ERROR"},
		{"103 early hints then 200", func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Link", "</app.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			_, _ = w.Write([]byte("ok"))
		}, 200, 2, "INFO"},
		{"slow", func(w http.ResponseWriter, _ *http.Request) {
			time.Sleep(30 * time.Millisecond)
			_, _ = w.Write([]byte("zz"))
		}, 200, 2, "INFO"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv, logs, _ := newMiddlewareServer(t, Middleware{}, tt.handler)
			start := time.Now()
			resp, _ := get(t, srv, "/some/path?token=abc&x=1", http.Header{"User-Agent": {"finkit-test/1.0"}})
			elapsed := time.Since(start)
			assert.Equal(t, tt.wantCode, resp.StatusCode)
			lines := logs.waitAccess(t, 1)
			require.Len(t, lines, 1)
			a := lines[0]
			assert.Equal(t, tt.wantLevel, a["level"])
			assert.Equal(t, "GET", a["method"])
			assert.Equal(t, "/some/path", a["path"])
			assert.NotContains(t, a, "query", "query left out by default")
			assert.EqualValues(t, tt.wantCode, a["status"])
			assert.EqualValues(t, tt.wantBytes, a["bytes"])
			assert.Equal(t, "127.0.0.1", a["client_ip"])
			assert.Equal(t, "finkit-test/1.0", a["user_agent"])
			assert.Equal(t, resp.Header.Get(RequestIDHeader), a[RequestIDKey])
			d := time.Duration(a["duration"].(float64))
			assert.Greater(t, d, time.Duration(0))
			assert.LessOrEqual(t, d, elapsed+time.Second)
			if tt.name == "slow" {
				assert.GreaterOrEqual(t, d, 30*time.Millisecond)
			}
		})
	}
}

func TestMiddlewareRequestID(t *testing.T) {
	var l *slog.Logger // set before the first request
	// The test client is a trusted proxy, so its ids are taken (see
	// TestRequestIDOnlyFromTrustedProxies for the others).
	loopback := []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	srv, logs, logger := newMiddlewareServer(t, Middleware{TrustedProxies: loopback}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := RequestIDFrom(r.Context())
		l.InfoContext(r.Context(), "inside handler")
		_, _ = io.WriteString(w, id)
	}))
	l = logger
	tests := []struct {
		name, in string
		keep     bool
	}{
		{"valid", "abc-123_X.y", true},
		{"64 chars", strings.Repeat("a", 64), true},
		{"65 chars", strings.Repeat("a", 65), false},
		{"empty", "", false},
		{"space", "abc 123", false},
		{"slash", "../etc/passwd", false},
		{"newline injection", "abc\\n{\"level\":\"ERROR\"}", false},
		{"unicode", "idé", false},
		{"quote", `a"b`, false},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := http.Header{}
			if tt.in != "" {
				hdr.Set(RequestIDHeader, tt.in)
			}
			resp, body := get(t, srv, "/", hdr)
			got := resp.Header.Get(RequestIDHeader)
			assert.Equal(t, got, body, "handler sees the same id in its context")
			assert.True(t, ValidRequestID(got), got)
			if tt.keep {
				assert.Equal(t, tt.in, got)
			} else {
				assert.NotEqual(t, tt.in, got)
				assert.Len(t, got, 26)
			}
			lines := logs.waitAccess(t, i+1)
			assert.Equal(t, got, lines[i][RequestIDKey])
			inside := logs.lines(t, "inside handler")
			require.Len(t, inside, i+1)
			assert.Equal(t, got, inside[i][RequestIDKey], "records logged with the request context carry request_id")
		})
	}
}

func TestMiddlewarePanic(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("/boom", func(w http.ResponseWriter, _ *http.Request) {
		// Headers prepared for a response that never happens.
		http.SetCookie(w, &http.Cookie{Name: "session", Value: "issued-before-the-panic"})
		w.Header().Set("Content-Encoding", "gzip")
		w.Header().Set("Content-Disposition", "attachment; filename=report.pdf")
		panic("boom: secret internals")
	})
	mux.HandleFunc("/late", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "partial")
		http.NewResponseController(w).Flush()
		panic(fmt.Errorf("late failure"))
	})
	mux.HandleFunc("/abort", func(http.ResponseWriter, *http.Request) { panic(http.ErrAbortHandler) })
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "fine") })
	srv, logs, _ := newMiddlewareServer(t, Middleware{SkipPaths: []string{"/boom"}}, mux)

	resp, body := get(t, srv, "/boom", nil)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "Internal Server Error\n", body)
	assert.NotContains(t, body, "goroutine")
	assert.NotContains(t, body, "boom")
	assert.Empty(t, resp.Header.Values("Set-Cookie"), "a failed request issues no cookie")
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Empty(t, resp.Header.Get("Content-Disposition"))
	assert.NotEmpty(t, resp.Header.Get(RequestIDHeader), "the request id survives")

	panics := logs.lines(t, "http handler panic")
	require.Len(t, panics, 1)
	assert.Equal(t, "ERROR", panics[0]["level"])
	assert.Equal(t, "boom: secret internals", panics[0]["panic"])
	assert.Contains(t, panics[0]["stack"], "middleware_test.go")
	assert.Equal(t, resp.Header.Get(RequestIDHeader), panics[0][RequestIDKey])
	access := logs.waitAccess(t, 1)
	assert.EqualValues(t, 500, access[0]["status"], "a panicking skip path is still logged")
	assert.Equal(t, true, access[0]["panic"])
	assert.Equal(t, "ERROR", access[0]["level"])

	// A panic after the response started: the connection is aborted, so
	// the client sees an error instead of a truncated body that looks
	// complete.
	resp, err := srv.Client().Get(srv.URL + "/late")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	got, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "a truncated response must not end cleanly")
	assert.Equal(t, "partial", string(got))
	require.Len(t, logs.lines(t, "http handler panic"), 2, "the late panic is logged once with its stack")
	access = logs.waitAccess(t, 2)
	assert.EqualValues(t, 200, access[1]["status"])
	assert.Equal(t, true, access[1]["panic"])
	assert.Equal(t, "ERROR", access[1]["level"])

	// http.ErrAbortHandler aborts the response as net/http intends.
	_, err = srv.Client().Get(srv.URL + "/abort")
	require.Error(t, err)
	logs.waitAccess(t, 3)
	assert.Len(t, logs.lines(t, "http handler panic"), 2, "abort is not reported as a panic")

	// The server keeps serving.
	resp, body = get(t, srv, "/ok", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "fine", body)
}

func TestMiddlewareStreaming(t *testing.T) {
	next := make(chan struct{})
	srv, logs, _ := newMiddlewareServer(t, Middleware{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		rc := http.NewResponseController(w)
		require.NoError(t, rc.SetWriteDeadline(time.Now().Add(10*time.Second)), "Unwrap reaches the deadline support")
		for i := range 3 {
			_, _ = fmt.Fprintf(w, "data: event %d\n\n", i)
			if i%2 == 0 {
				require.NoError(t, rc.Flush())
			} else {
				w.(http.Flusher).Flush()
			}
			select {
			case <-next: // the client saw the event: the flush really happened
			case <-r.Context().Done():
				return
			}
		}
	}))
	resp, err := srv.Client().Get(srv.URL + "/events")
	require.NoError(t, err)
	defer resp.Body.Close()
	br := bufio.NewReader(resp.Body)
	total := 0
	for i := range 3 {
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("data: event %d\n", i), line)
		blank, err := br.ReadString('\n')
		require.NoError(t, err)
		total += len(line) + len(blank)
		next <- struct{}{}
	}
	access := logs.waitAccess(t, 1)
	assert.EqualValues(t, 200, access[0]["status"])
	assert.EqualValues(t, total, access[0]["bytes"])
}

func TestMiddlewareHijack(t *testing.T) {
	srv, logs, _ := newMiddlewareServer(t, Middleware{}, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		hj, ok := w.(http.Hijacker)
		require.True(t, ok)
		conn, brw, err := hj.Hijack()
		require.NoError(t, err)
		defer conn.Close()
		_, _ = brw.WriteString("HTTP/1.1 101 Switching Protocols\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
		_ = brw.Flush()
		line, err := brw.ReadString('\n')
		if err == nil {
			_, _ = brw.WriteString("echo: " + line)
			_ = brw.Flush()
		}
	}))
	conn, err := net.Dial("tcp", srv.Listener.Addr().String())
	require.NoError(t, err)
	defer conn.Close()
	_, err = io.WriteString(conn, "GET /raw HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n")
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	assert.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)
	_, err = io.WriteString(conn, "ping\n")
	require.NoError(t, err)
	echo, err := br.ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "echo: ping\n", echo)

	access := logs.waitAccess(t, 1)
	assert.EqualValues(t, 101, access[0]["status"])
	assert.Equal(t, true, access[0]["hijacked"])
	assert.Equal(t, "INFO", access[0]["level"])
}

func TestMiddlewareWebSocket(t *testing.T) {
	srv, logs, _ := newMiddlewareServer(t, Middleware{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		defer c.CloseNow()
		typ, msg, err := c.Read(r.Context())
		if err != nil {
			return
		}
		_ = c.Write(r.Context(), typ, append([]byte("echo: "), msg...))
		_ = c.Close(websocket.StatusNormalClosure, "")
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(srv.URL, "http")+"/ws", nil)
	require.NoError(t, err)
	defer c.CloseNow()
	assert.NotEmpty(t, resp.Header.Get(RequestIDHeader))
	require.NoError(t, c.Write(ctx, websocket.MessageText, []byte("hi")))
	_, msg, err := c.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, "echo: hi", string(msg))
	_ = c.Close(websocket.StatusNormalClosure, "")

	access := logs.waitAccess(t, 1)
	assert.EqualValues(t, 101, access[0]["status"])
	assert.Equal(t, "/ws", access[0]["path"])
}

func TestMiddlewareReadFromCountsBytes(t *testing.T) {
	dir := t.TempDir()
	content := bytes.Repeat([]byte("0123456789"), 10_000)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "data.bin"), content, 0o600))
	mux := http.NewServeMux()
	mux.HandleFunc("/file", func(w http.ResponseWriter, r *http.Request) {
		http.ServeFile(w, r, filepath.Join(dir, "data.bin"))
	})
	mux.HandleFunc("/copy", func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.Copy(w, io.LimitReader(bytes.NewReader(content), 12345))
	})
	srv, logs, _ := newMiddlewareServer(t, Middleware{}, mux)
	_, body := get(t, srv, "/file", nil)
	assert.Len(t, body, len(content))
	_, body = get(t, srv, "/copy", nil)
	assert.Len(t, body, 12345)
	access := logs.waitAccess(t, 2)
	assert.EqualValues(t, len(content), access[0]["bytes"])
	assert.EqualValues(t, 12345, access[1]["bytes"])

	// Without a ReaderFrom underneath (httptest.ResponseRecorder), too.
	rw := &responseWriter{ResponseWriter: httptest.NewRecorder()}
	n, err := rw.ReadFrom(strings.NewReader("abc"))
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	assert.EqualValues(t, 3, rw.bytes)
	assert.Equal(t, http.StatusOK, rw.status)
}

func TestResponseWriterWithoutOptionalInterfaces(t *testing.T) {
	// A writer that is neither Flusher nor Hijacker: the wrapper reports
	// http.ErrNotSupported instead of pretending.
	rw := &responseWriter{ResponseWriter: plainWriter{httptest.NewRecorder()}}
	assert.ErrorIs(t, http.NewResponseController(rw).Flush(), http.ErrNotSupported)
	_, _, err := rw.Hijack()
	assert.ErrorIs(t, err, http.ErrNotSupported)
	assert.False(t, rw.hijacked)
	assert.NotPanics(t, rw.Flush)
}

// plainWriter hides every optional interface of the recorder.
type plainWriter struct{ rec *httptest.ResponseRecorder }

func (p plainWriter) Header() http.Header         { return p.rec.Header() }
func (p plainWriter) Write(b []byte) (int, error) { return p.rec.Write(b) }
func (p plainWriter) WriteHeader(code int)        { p.rec.WriteHeader(code) }

func TestMiddlewareRouteQueryHeadersExtraAttrs(t *testing.T) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /items/{id}", func(w http.ResponseWriter, r *http.Request) {
		AddAccessAttrs(r.Context(), slog.String("user_id", "u-7"))
		_, _ = io.WriteString(w, r.PathValue("id"))
	})
	mux.HandleFunc("/gin-like", func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "/gin/:id")
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok") })
	srv, logs, _ := newMiddlewareServer(t, Middleware{
		LogQuery:   true,
		LogHeaders: []string{"authorization", "X-Api-Key", "Accept", "Cookie", "X-Missing"},
		SkipPaths:  []string{"/healthz"},
	}, mux)

	hdr := http.Header{}
	hdr.Set("Authorization", "Bearer "+secretValue)
	hdr.Set("X-Api-Key", secretValue)
	hdr.Set("Cookie", "sid="+secretValue)
	hdr.Set("Accept", "application/json")
	_, body := get(t, srv, "/items/42?b=2&access_token="+secretValue+"&a=x%20y&Password="+secretValue, hdr)
	assert.Equal(t, "42", body)
	get(t, srv, "/healthz", nil)
	get(t, srv, "/gin-like", nil)

	access := logs.waitAccess(t, 2)
	require.Len(t, access, 2, "the skipped path is not logged")
	assert.NotContains(t, logs.String(), secretValue)
	a := access[0]
	assert.Equal(t, "GET /items/{id}", a["route"])
	assert.Equal(t, "Password=[REDACTED]&a=x+y&access_token=[REDACTED]&b=2", a["query"])
	assert.Equal(t, "u-7", a["user_id"])
	hs, ok := a["headers"].(map[string]any)
	require.True(t, ok, "%v", a)
	assert.Equal(t, map[string]any{
		"Authorization": RedactedValue, "X-Api-Key": RedactedValue,
		"Cookie": RedactedValue, "Accept": "application/json",
	}, hs)
	assert.Equal(t, "/gin/:id", access[1]["route"])

	// Outside the middleware both helpers are no-ops.
	assert.NotPanics(t, func() {
		SetRoute(context.Background(), "/x")
		AddAccessAttrs(context.Background(), slog.Int("n", 1))
	})
}

func TestClientIP(t *testing.T) {
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("2001:db8::/32")}
	tests := []struct {
		name     string
		proxies  []netip.Prefix
		remote   string
		xff      []string
		realIP   string
		expected string
	}{
		{"direct peer", nil, "203.0.113.5:5555", nil, "", "203.0.113.5"},
		{"untrusted peer: XFF ignored", trusted, "203.0.113.5:5555", []string{"198.51.100.1"}, "", "203.0.113.5"},
		{"no proxies configured: XFF ignored", nil, "10.0.0.1:80", []string{"198.51.100.1"}, "", "10.0.0.1"},
		{"untrusted peer: X-Real-IP ignored", trusted, "203.0.113.5:1", nil, "198.51.100.1", "203.0.113.5"},
		{"trusted peer, one hop", trusted, "10.0.0.1:80", []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"spoofed left entry ignored", trusted, "10.0.0.1:80", []string{"1.2.3.4, 198.51.100.1"}, "", "198.51.100.1"},
		{"trusted hops skipped", trusted, "10.0.0.1:80", []string{"198.51.100.1, 10.0.0.7, 10.0.0.8"}, "", "198.51.100.1"},
		{"multiple header lines", trusted, "10.0.0.1:80", []string{"1.2.3.4", "198.51.100.1, 10.9.9.9"}, "", "198.51.100.1"},
		{"all hops trusted", trusted, "10.0.0.1:80", []string{"10.1.1.1, 10.2.2.2"}, "", "10.1.1.1"},
		{"garbage hop", trusted, "10.0.0.1:80", []string{"198.51.100.1, garbage, 10.2.2.2"}, "", "10.2.2.2"},
		{"garbage only", trusted, "10.0.0.1:80", []string{"garbage"}, "", "10.0.0.1"},
		{"hop with port", trusted, "10.0.0.1:80", []string{"198.51.100.1:4711"}, "", "198.51.100.1"},
		{"IPv6 hop with port", trusted, "10.0.0.1:80", []string{"[2a00:1450::1]:443"}, "", "2a00:1450::1"},
		{"X-Real-IP from trusted", trusted, "10.0.0.1:80", nil, " 198.51.100.2 ", "198.51.100.2"},
		{"bad X-Real-IP", trusted, "10.0.0.1:80", nil, "nope", "10.0.0.1"},
		{"XFF wins over X-Real-IP", trusted, "10.0.0.1:80", []string{"198.51.100.1"}, "198.51.100.2", "198.51.100.1"},
		{"IPv6 trusted peer", trusted, "[2001:db8::1]:443", []string{"2a00:1450::5"}, "", "2a00:1450::5"},
		{"IPv4-mapped peer", trusted, "[::ffff:10.0.0.1]:80", []string{"198.51.100.1"}, "", "198.51.100.1"},
		{"IPv4-mapped hop", trusted, "10.0.0.1:80", []string{"::ffff:198.51.100.1"}, "", "198.51.100.1"},
		{"zone stripped", nil, "[fe80::1%eth0]:80", nil, "", "fe80::1"},
		{"unparsable remote", trusted, "pipe", []string{"198.51.100.1"}, "", "pipe"},
	}
	assert.Empty(t, ClientIPFrom(context.Background()), "outside the middleware")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen string
			// Rows with an X-Real-IP are about a proxy that sets it.
			h := Middleware{TrustedProxies: tt.proxies, TrustRealIP: tt.realIP != "", Logger: slog.New(slog.DiscardHandler)}.Wrap(
				http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) { seen = ClientIPFrom(r.Context()) }))
			m := h.(*middleware)
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tt.remote
			for _, v := range tt.xff {
				r.Header.Add("X-Forwarded-For", v)
			}
			if tt.realIP != "" {
				r.Header.Set("X-Real-IP", tt.realIP)
			}
			assert.Equal(t, tt.expected, m.clientIP(r))
			h.ServeHTTP(httptest.NewRecorder(), r)
			assert.Equal(t, tt.expected, seen, "handlers see the same address via ClientIPFrom")
		})
	}
}

func TestMiddlewareConcurrent(t *testing.T) {
	srv, logs, _ := newMiddlewareServer(t, Middleware{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, RequestIDFrom(r.Context()))
	}))
	const n = 40
	var wg sync.WaitGroup
	ids := make([]string, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Get(srv.URL + "/c")
			if !assert.NoError(t, err) {
				return
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			ids[i] = string(b)
		}()
	}
	wg.Wait()
	access := logs.waitAccess(t, n)
	seen := map[string]bool{}
	for _, a := range access {
		seen[a[RequestIDKey].(string)] = true
	}
	for _, id := range ids {
		assert.True(t, seen[id], id)
	}
	assert.Len(t, seen, n)
}

func TestMiddlewareNilLoggerAndHandler(t *testing.T) {
	h := Middleware{}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {}))
	assert.NotNil(t, h.(*middleware).log, "nil Logger: slog.Default()")

	logs := &syncBuffer{}
	l, _, err := New(Options{Output: logs})
	require.NoError(t, err)
	rec := httptest.NewRecorder()
	Middleware{Logger: l}.Wrap(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.Equal(t, http.StatusNotFound, rec.Code)
	assert.Empty(t, logs.lines(t, "http handler panic"))
}

func TestMiddlewareLevelFiltered(t *testing.T) {
	logs := &syncBuffer{}
	l, _, err := New(Options{Output: logs, Level: "warn"})
	require.NoError(t, err)
	h := Middleware{Logger: l}.Wrap(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
		}
	}))
	for _, p := range []string{"/", "/missing"} {
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest(http.MethodGet, p, nil))
	}
	access := logs.lines(t, "http request")
	require.Len(t, access, 1, "the 200 is below warn")
	assert.Equal(t, "/missing", access[0]["path"])
}

// TestAccessAttrsAddedAfterTheResponse: a goroutine the handler left behind
// keeps adding access attributes while the access line is written; the line
// has the ones added before the handler returned, in order, and nothing
// races (run with -race).
func TestAccessAttrsAddedAfterTheResponse(t *testing.T) {
	var wg sync.WaitGroup
	defer wg.Wait()
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		AddAccessAttrs(ctx, slog.String("a", "1"))
		AddAccessAttrs(ctx, slog.String("b", "2"))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 200 {
				AddAccessAttrs(ctx, slog.Int(fmt.Sprint("late", i), i))
			}
		}()
		_, _ = io.WriteString(w, "ok")
	})
	srv, logs, _ := newMiddlewareServer(t, Middleware{}, mux)
	for range 20 {
		get(t, srv, "/", nil)
	}
	access := logs.waitAccess(t, 20)
	require.Len(t, access, 20)
	for _, a := range access {
		assert.Equal(t, "1", a["a"])
		assert.Equal(t, "2", a["b"])
	}
}
