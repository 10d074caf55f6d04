package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/slogtest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var testTime = time.Date(2026, 3, 14, 15, 9, 26, 0, time.UTC)

// recordingHandler keeps the last record it was given.
type recordingHandler struct{ rec *slog.Record }

func (recordingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h recordingHandler) Handle(_ context.Context, r slog.Record) error {
	*h.rec = r.Clone()
	return nil
}
func (h recordingHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h recordingHandler) WithGroup(string) slog.Handler      { return h }

// runSlogtest runs testing/slogtest against wrap(JSON handler).
func runSlogtest(t *testing.T, wrap func(slog.Handler) slog.Handler) {
	var buf *bytes.Buffer
	slogtest.Run(t, func(*testing.T) slog.Handler {
		buf = new(bytes.Buffer)
		return wrap(slog.NewJSONHandler(buf, nil))
	}, func(t *testing.T) map[string]any {
		var m map[string]any
		require.NoError(t, json.Unmarshal(buf.Bytes(), &m), buf.String())
		return m
	})
}

func TestSlogtest(t *testing.T) {
	t.Run("context handler", func(t *testing.T) {
		runSlogtest(t, func(h slog.Handler) slog.Handler { return NewContextHandler(h) })
	})
	t.Run("redact handler", func(t *testing.T) {
		runSlogtest(t, func(h slog.Handler) slog.Handler { return NewRedactHandler(h) })
	})
	t.Run("both", func(t *testing.T) {
		runSlogtest(t, func(h slog.Handler) slog.Handler {
			return NewHandler(h, HandlerOptions{ContextAttrs: true, Redact: true})
		})
	})
	t.Run("text inner", func(t *testing.T) {
		// The wrapper works with any inner handler: run slogtest on the
		// text handler too, parsing its key=value output.
		var buf *bytes.Buffer
		slogtest.Run(t, func(*testing.T) slog.Handler {
			buf = new(bytes.Buffer)
			return NewContextHandler(slog.NewTextHandler(buf, nil))
		}, func(t *testing.T) map[string]any {
			return parseTextLine(t, buf.String())
		})
	})
}

// parseTextLine parses a text-handler line of unquoted key=value pairs
// into nested maps (keys with dots become groups), enough for slogtest.
func parseTextLine(t *testing.T, line string) map[string]any {
	t.Helper()
	m := map[string]any{}
	for _, field := range strings.Fields(line) {
		k, v, ok := strings.Cut(field, "=")
		require.True(t, ok, "field %q in %q", field, line)
		parts := strings.Split(k, ".")
		cur := m
		for _, p := range parts[:len(parts)-1] {
			next, ok := cur[p].(map[string]any)
			if !ok {
				next = map[string]any{}
				cur[p] = next
			}
			cur = next
		}
		cur[parts[len(parts)-1]] = v
	}
	return m
}

func TestContextAttrs(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	ctx := WithAttrs(context.Background(), slog.String("user_id", "u1"), slog.String("route", "/a"))
	ctx2 := WithAttrs(ctx, slog.String("route", "/b"), slog.Int("attempt", 2))

	l.InfoContext(ctx, "first", "k", 1)
	l.InfoContext(ctx2, "second")
	l.Info("no context") // Logger.Info uses context.Background()
	l.With("svc", "x").InfoContext(ctx, "derived")
	l.WithGroup("g").InfoContext(ctx, "grouped", "k", 1)

	lines := decodeLines(t, buf)
	require.Len(t, lines, 5)
	assert.Equal(t, "u1", lines[0]["user_id"])
	assert.Equal(t, "/a", lines[0]["route"])
	assert.EqualValues(t, 1, lines[0]["k"])

	assert.Equal(t, "u1", lines[1]["user_id"])
	assert.Equal(t, "/b", lines[1]["route"], "a later attribute with the same key replaces the earlier")
	assert.EqualValues(t, 2, lines[1]["attempt"])

	assert.NotContains(t, lines[2], "user_id")

	assert.Equal(t, "u1", lines[3]["user_id"])
	assert.Equal(t, "x", lines[3]["svc"])

	got, _ := lookup(lines[4], "g", "user_id")
	assert.Equal(t, "u1", got, "context attributes go inside an open group")

	// The parent context is unchanged by the child.
	assert.Len(t, ContextAttrs(ctx), 2)
	assert.Len(t, ContextAttrs(ctx2), 3)
	assert.Same(t, ctx, WithAttrs(ctx), "no attrs: same context")
	//lint:ignore SA1012 a nil context must not panic
	assert.Nil(t, ContextAttrs(nil))
}

func TestContextHandlerWithoutRedaction(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewContextHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := WithAttrs(context.Background(), slog.String("request_id", "r-1"))
	l.InfoContext(ctx, "m", "password", "visible")
	assert.Contains(t, buf.String(), `"request_id":"r-1"`)
	assert.Contains(t, buf.String(), `"password":"visible"`, "context handler alone does not redact")

	// The first record (attributes added to the record) and later ones
	// (cached handler with the attributes attached) print alike.
	var b2 bytes.Buffer
	l2 := slog.New(NewContextHandler(slog.NewJSONHandler(&b2, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}})))
	ctx2 := WithAttrs(context.Background(), slog.String("request_id", "r-2"))
	for range 2 {
		l2.InfoContext(ctx2, "m", "k", "v")
	}
	lines := strings.Split(strings.TrimSpace(b2.String()), "\n")
	require.Len(t, lines, 2)
	assert.Equal(t, lines[0], lines[1])
}

func TestRequestIDContext(t *testing.T) {
	ctx := WithRequestID(context.Background(), "abc-123")
	assert.Equal(t, "abc-123", RequestIDFrom(ctx))
	assert.Equal(t, "", RequestIDFrom(context.Background()))
	assert.Equal(t, []slog.Attr{slog.String(RequestIDKey, "abc-123")}, ContextAttrs(ctx))

	id := NewRequestID()
	assert.True(t, ValidRequestID(id), id)
	assert.NotEqual(t, id, NewRequestID())
}

func TestConcurrentWriters(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	const workers, perWorker = 8, 200
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ctx := WithRequestID(context.Background(), fmt.Sprintf("req-%d", w))
			wl := l.With("worker", w)
			for i := range perWorker {
				wl.InfoContext(ctx, "tick", "i", i, "password", secretValue)
			}
		}()
	}
	wg.Wait()
	assert.NotContains(t, buf.String(), secretValue)
	lines := decodeLines(t, buf)
	require.Len(t, lines, workers*perWorker)
	for _, m := range lines {
		assert.Equal(t, fmt.Sprintf("req-%v", m["worker"]), m["request_id"])
	}
}

func TestAudit(t *testing.T) {
	l, buf := newTestLogger(t, Options{Level: "info"})
	ctx := WithRequestID(context.Background(), "r-9")
	Audit(ctx, l, "login.failure", slog.String("user", "bob"), slog.String("password", secretValue))
	Audit(ctx, nil, "ignored") // nil logger: no-op

	for _, tc := range []struct{ level, want string }{{"warn", "WARN"}, {"error", "ERROR"}} {
		quiet, qbuf := newTestLogger(t, Options{Level: tc.level})
		Audit(ctx, quiet, "login.success", slog.String("user", "bob"))
		Audit(ctx, quiet, "login.failure")
		ql := decodeLines(t, qbuf)
		require.Len(t, ql, 2, "a %s-level logger still records audit events", tc.level)
		assert.Equal(t, tc.want, ql[0]["level"])
		assert.Equal(t, true, ql[0][AuditKey])
		assert.Equal(t, "login.success", ql[0]["event"])
	}
	off := slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelError + 1}))
	assert.NotPanics(t, func() { Audit(ctx, off, "dropped") })

	assert.NotContains(t, buf.String(), secretValue)
	lines := decodeLines(t, buf)
	require.Len(t, lines, 1)
	assert.Equal(t, true, lines[0][AuditKey])
	assert.Equal(t, "login.failure", lines[0]["event"])
	assert.Equal(t, "login.failure", lines[0]["msg"])
	assert.Equal(t, "INFO", lines[0]["level"])
	assert.Equal(t, "bob", lines[0]["user"])
	assert.Equal(t, "r-9", lines[0]["request_id"])
}

func TestOddArgumentsNeverPanic(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	ctx := WithAttrs(context.Background(), slog.Attr{}, slog.Group("empty"))
	// Passed through slices so that vet's printf-style check does not
	// reject the deliberately malformed calls.
	dangling := []any{"dangling"}
	badKey := []any{42, "x", nil}
	assert.NotPanics(t, func() {
		l.Info("odd", dangling...)
		l.Info("odd", badKey...)
		l.Info("odd", slog.Attr{}, slog.Group(""), slog.Group("password"))
		l.Info("nil valuer", "v", slog.LogValuer(nil), "e", error(nil))
		l.InfoContext(ctx, "ctx with odd attrs")
		l.With(dangling...).WithGroup("").Info("odd")
		l.Info("typed nil", "p", (*int)(nil), "token", (*int)(nil))
		//lint:ignore SA1012 a nil context must not panic
		l.InfoContext(nil, "nil ctx")
		l.Info("header nil", "h", map[string][]string(nil))
	})
	assert.NotEmpty(t, buf.String())
}

func TestContextAttrsCachedPathMatchesFirstRecord(t *testing.T) {
	// The first record logged with a context carries the context attributes
	// in the record; later ones use a cached handler with them attached.
	// Both must print the same.
	for _, format := range []string{"json", "text"} {
		t.Run(format, func(t *testing.T) {
			var buf bytes.Buffer
			l, _, err := New(Options{Output: &buf, Format: format, Service: "svc",
				ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
					if a.Key == slog.TimeKey {
						return slog.Attr{}
					}
					return a
				}})
			require.NoError(t, err)
			ctx := WithAttrs(WithRequestID(context.Background(), "r-1"), slog.String("token", secretValue),
				slog.Group("user", slog.String("id", "u1"), slog.String("password", secretValue)))
			for i, lg := range []*slog.Logger{l, l.With("component", "ledger"), l.WithGroup("g").With("a", 1), l.WithGroup("session")} {
				buf.Reset()
				for range 3 {
					lg.InfoContext(ctx, "m", "k", "v", "api_key", secretValue)
				}
				lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
				require.Len(t, lines, 3)
				assert.Equal(t, lines[0], lines[1])
				assert.Equal(t, lines[1], lines[2])
				assert.NotContains(t, buf.String(), secretValue)
				if i < 3 {
					assert.Contains(t, lines[0], "r-1")
				} else {
					assert.NotContains(t, lines[0], "r-1", "everything inside a sensitive group is redacted")
				}
			}
		})
	}
}

func TestContextCacheManyLoggersConcurrently(t *testing.T) {
	logs := &syncBuffer{}
	l, _, err := New(Options{Output: logs})
	require.NoError(t, err)
	ctx := WithAttrs(context.Background(), slog.String("request_id", "shared"))
	const loggers, perLogger = 2 * ctxCacheSize, 50
	var wg sync.WaitGroup
	for i := range loggers {
		lg := l.With("logger", i)
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for j := range perLogger {
					lg.InfoContext(ctx, "tick", "j", j)
				}
			}()
		}
	}
	wg.Wait()
	lines := logs.lines(t, "tick")
	require.Len(t, lines, loggers*2*perLogger)
	counts := map[float64]int{}
	for _, m := range lines {
		assert.Equal(t, "shared", m["request_id"])
		counts[m["logger"].(float64)]++
	}
	for i := range loggers {
		assert.Equal(t, 2*perLogger, counts[float64(i)], "logger %d", i)
	}
}

func TestContextHandlerOnlyCachedPath(t *testing.T) {
	var buf bytes.Buffer
	l := slog.New(NewContextHandler(slog.NewJSONHandler(&buf, nil)))
	ctx := WithAttrs(context.Background(), slog.String("user_id", "u1"))
	for range 3 {
		l.InfoContext(ctx, "m")
	}
	for _, m := range decodeLines(t, &buf) {
		assert.Equal(t, "u1", m["user_id"])
	}
}
