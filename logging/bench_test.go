package logging

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// benchAttrs is the record of BenchmarkLogger: message plus 5 attributes,
// one of them (password) sensitive.
func logBenchRecord(ctx context.Context, l *slog.Logger) {
	l.LogAttrs(ctx, slog.LevelInfo, "order filled",
		slog.String("symbol", "AAPL"),
		slog.Int("quantity", 10),
		slog.Float64("price", 189.25),
		slog.Duration("latency", 1500*time.Microsecond),
		slog.String("password", "hunter2"))
}

func BenchmarkLogger(b *testing.B) {
	bare := slog.New(slog.NewJSONHandler(io.Discard, nil))
	finkit, closer, err := New(Options{Output: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	ctx := WithRequestID(context.Background(), "req-0123456789abcdef")

	b.Run("slog_json_bare", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			logBenchRecord(ctx, bare)
		}
	})
	b.Run("slog_json_bare_same_output", func(b *testing.B) {
		// What finkit writes: request_id first and the password redacted.
		b.ReportAllocs()
		for b.Loop() {
			bare.LogAttrs(ctx, slog.LevelInfo, "order filled",
				slog.String(RequestIDKey, "req-0123456789abcdef"),
				slog.String("symbol", "AAPL"),
				slog.Int("quantity", 10),
				slog.Float64("price", 189.25),
				slog.Duration("latency", 1500*time.Microsecond),
				slog.String("password", RedactedValue))
		}
	})
	b.Run("finkit_redact_ctx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			logBenchRecord(ctx, finkit)
		}
	})
	b.Run("finkit_redact_noctx", func(b *testing.B) {
		b.ReportAllocs()
		bg := context.Background()
		for b.Loop() {
			logBenchRecord(bg, finkit)
		}
	})
	b.Run("slog_json_disabled_debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			bare.Debug("cache miss", "key", "k1")
		}
	})
	b.Run("finkit_disabled_debug", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			finkit.Debug("cache miss", "key", "k1")
		}
	})
	b.Run("finkit_disabled_debug_ctx", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			finkit.DebugContext(ctx, "cache miss", "key", "k1")
		}
	})
}

// nopHandler accepts everything and does nothing, so BenchmarkHandle
// measures only the Handler's own work.
type nopHandler struct{}

func (nopHandler) Enabled(context.Context, slog.Level) bool  { return true }
func (nopHandler) Handle(context.Context, slog.Record) error { return nil }
func (h nopHandler) WithAttrs([]slog.Attr) slog.Handler      { return h }
func (h nopHandler) WithGroup(string) slog.Handler           { return h }

// BenchmarkHandle measures Handler.Handle alone (inner handler does
// nothing): with and without context attributes, with and without a
// sensitive attribute.
func BenchmarkHandle(b *testing.B) {
	record := func(lastKey string) slog.Record {
		r := slog.NewRecord(time.Now(), slog.LevelInfo, "order filled", 0)
		r.AddAttrs(slog.String("symbol", "AAPL"),
			slog.Int("quantity", 10),
			slog.Float64("price", 189.25),
			slog.Duration("latency", 1500*time.Microsecond),
			slog.String(lastKey, "hunter2"))
		return r
	}
	secret, clean := record("password"), record("user")
	h := NewHandler(nopHandler{}, HandlerOptions{ContextAttrs: true, Redact: true})
	ctx := WithRequestID(context.Background(), "req-0123456789abcdef")
	bg := context.Background()
	for _, bc := range []struct {
		name string
		ctx  context.Context
		r    slog.Record
	}{
		{"ctx_redact", ctx, secret},
		{"ctx_clean", ctx, clean},
		{"noctx_redact", bg, secret},
		{"noctx_clean", bg, clean},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				_ = h.Handle(bc.ctx, bc.r)
			}
		})
	}
}

// BenchmarkLoggerInterleaved logs the BenchmarkLogger record through the
// bare JSON logger and finkit's logger in alternating batches and reports
// both costs and their ratio. On a shared, noisy machine this comparison is
// fairer than separate sub-benchmarks run seconds apart, because load
// spikes hit both sides alike.
func BenchmarkLoggerInterleaved(b *testing.B) {
	bare := slog.New(slog.NewJSONHandler(io.Discard, nil))
	finkit, closer, err := New(Options{Output: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	ctx := WithRequestID(context.Background(), "req-0123456789abcdef")
	const batch = 200
	var bareNS, finkitNS time.Duration
	n := 0
	for b.Loop() {
		t0 := time.Now()
		for range batch {
			logBenchRecord(ctx, bare)
		}
		t1 := time.Now()
		for range batch {
			logBenchRecord(ctx, finkit)
		}
		t2 := time.Now()
		bareNS += t1.Sub(t0)
		finkitNS += t2.Sub(t1)
		n += batch
	}
	b.ReportMetric(float64(bareNS.Nanoseconds())/float64(n), "bare-ns/log")
	b.ReportMetric(float64(finkitNS.Nanoseconds())/float64(n), "finkit-ns/log")
	b.ReportMetric(float64(finkitNS)/float64(bareNS), "ratio")
}

// BenchmarkAccessLog: one request through Middleware with the access log
// on (a logger from New, JSON to io.Discard), with a route and a user id as
// the dashboard's, what every dashboard request pays for its log line,
// against the same handler without the middleware.
func BenchmarkAccessLog(b *testing.B) {
	l, closer, err := New(Options{Output: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetRoute(r.Context(), "/api/quotes") // as the dashboard does
		AddAccessAttrs(r.Context(), slog.String("user_id", "u-1"))
		_, _ = w.Write([]byte(`{"ok":true}`))
	})
	req := httptest.NewRequest(http.MethodGet, "/api/quotes", nil)
	req.Header.Set("User-Agent", "loadbench/1")
	for _, bc := range []struct {
		name string
		h    http.Handler
	}{{"bare", ok}, {"access_log", Middleware{Logger: l}.Wrap(ok)}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				bc.h.ServeHTTP(httptest.NewRecorder(), req)
			}
		})
	}
}
