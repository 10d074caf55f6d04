package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
)

// FuzzRedact logs an attribute with an arbitrary key and value, nested in
// groups, through the record, Logger.With or the context, and checks the
// output is one valid JSON object in which a sensitive key's value is
// RedactedValue.
func FuzzRedact(f *testing.F) {
	f.Add("password", "hunter2", uint8(0), uint8(0))
	f.Add("X-Api-Key", "k", uint8(2), uint8(1))
	f.Add("Set-Cookie", "sid=1", uint8(1), uint8(2))
	f.Add("user", "alice", uint8(3), uint8(0))
	f.Add("", "", uint8(0), uint8(1))
	f.Add("__", "\x00\xff", uint8(1), uint8(0))
	f.Add("to\u00e9ken", "v", uint8(0), uint8(2))
	f.Add("Access-Token", "t0k", uint8(2), uint8(3))
	ks := newKeySet(DefaultRedactKeys())
	f.Fuzz(func(t *testing.T, key, value string, depth, via uint8) {
		var buf bytes.Buffer
		l, _, err := New(Options{Output: &buf})
		if err != nil {
			t.Fatal(err)
		}
		attr := slog.String(key, value)
		path := []string{key}
		for i := int(depth % 4); i > 0; i-- {
			name := fmt.Sprintf("g%d", i)
			attr = slog.Group(name, attr)
			path = append([]string{name}, path...)
		}
		switch via % 4 {
		case 3:
			// The same key inside a map, as from a decoded JSON body or a
			// parsed form, logged under the innermost group's name.
			inner := map[string]any{key: value}
			gpath := append([]string{"m"}, path...)
			l.Info("m", "m", groupMap(path[:len(path)-1], inner))
			path = gpath
		case 0:
			l.LogAttrs(context.Background(), slog.LevelInfo, "m", attr)
		case 1:
			l.With(attr).Info("m")
		case 2:
			ctx := WithAttrs(context.Background(), attr)
			l.InfoContext(ctx, "m")
			l.InfoContext(ctx, "m") // second record: cached handler path
		}
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var m map[string]any
			if err := json.Unmarshal([]byte(line), &m); err != nil {
				t.Fatalf("invalid JSON %q: %v", line, err)
			}
			if !ks.match(key) || !json.Valid([]byte(fmt.Sprintf("%q", key))) {
				continue
			}
			switch key {
			case slog.TimeKey, slog.LevelKey, slog.MessageKey:
				if depth%4 == 0 {
					continue // collides with a built-in key
				}
			}
			if got, ok := lookup(m, path...); ok && got != RedactedValue {
				t.Fatalf("key %q: value %q not redacted in %s", key, got, line)
			}
		}
	})
}

// FuzzClientIP feeds arbitrary peer addresses and proxy headers: the
// result is the unparsable peer verbatim or a valid IP address.
func FuzzClientIP(f *testing.F) {
	f.Add("10.0.0.1:80", "198.51.100.1, 10.0.0.2", "198.51.100.9")
	f.Add("[::ffff:10.0.0.1]:1", "garbage,,", "")
	f.Add("pipe", "", "::1")
	f.Add("10.0.0.1", "[2001:db8::1]:443", "x")
	m := Middleware{TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")}}.Wrap(http.NotFoundHandler()).(*middleware)
	f.Fuzz(func(t *testing.T, remote, xff, realIP string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		r.Header.Set("X-Real-IP", realIP)
		got := m.clientIP(r)
		if got == remote {
			return
		}
		if _, err := netip.ParseAddr(got); err != nil {
			t.Fatalf("clientIP(%q, %q, %q) = %q: not an IP", remote, xff, realIP, got)
		}
	})
}

// FuzzLevelHandler PUTs arbitrary bodies: the answer is 200 with the new
// level or 400 with the level unchanged.
func FuzzLevelHandler(f *testing.F) {
	f.Add(`{"level":"debug"}`)
	f.Add(`{"level":"loud"}`)
	f.Add(`{"level":"WARN","x":1}`)
	f.Add(`[]`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, body string) {
		lv := new(slog.LevelVar)
		lv.Set(slog.LevelError + 4)
		rec := httptest.NewRecorder()
		LevelHandler(lv).ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/", strings.NewReader(body)))
		switch rec.Code {
		case http.StatusOK:
			if lv.Level() == slog.LevelError+4 {
				t.Fatalf("200 but level unchanged for %q", body)
			}
		case http.StatusBadRequest:
			if lv.Level() != slog.LevelError+4 {
				t.Fatalf("400 but level changed for %q", body)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
	})
}

// FuzzRequestIDHeader sends arbitrary X-Request-ID values: the response id
// is always sane, and equals the request's only when that was sane.
func FuzzRequestIDHeader(f *testing.F) {
	f.Add("abc-123")
	f.Add(strings.Repeat("x", 65))
	f.Add("a b")
	// httptest.NewRequest comes from 192.0.2.1: make it a trusted proxy,
	// whose ids are taken.
	h := Middleware{Logger: slog.New(slog.DiscardHandler), TrustedProxies: []netip.Prefix{netip.MustParsePrefix("192.0.2.0/24")}}.Wrap(
		http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	f.Fuzz(func(t *testing.T, id string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set(RequestIDHeader, id)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		got := rec.Header().Get(RequestIDHeader)
		if !ValidRequestID(got) {
			t.Fatalf("response id %q for %q", got, id)
		}
		if ValidRequestID(id) != (got == id) {
			t.Fatalf("request id %q, response id %q", id, got)
		}
	})
}

// groupMap nests m in map[string]any values named by names, outermost
// first.
func groupMap(names []string, m map[string]any) map[string]any {
	for i := len(names) - 1; i >= 0; i-- {
		m = map[string]any{names[i]: m}
	}
	return m
}
