//go:build linux

package logging

import (
	"context"
	"io"
	"log/slog"
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// threadCPU returns the CPU time consumed by the calling OS thread.
func threadCPU(b *testing.B) int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		b.Fatal(err)
	}
	return ts.Nano()
}

// BenchmarkLoggerCPU is BenchmarkLoggerInterleaved measured in CPU time of
// the benchmark's (locked) thread instead of wall time, so time spent
// waiting for a core on a loaded machine is not counted. It reports the
// bare JSON logger, finkit's logger (redaction + context attributes), their
// ratio, finkit's cost when every record has a fresh context (no cached
// handler yet), and the cost of a disabled Debug call on both.
func BenchmarkLoggerCPU(b *testing.B) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	bare := slog.New(slog.NewJSONHandler(io.Discard, nil))
	finkit, closer, err := New(Options{Output: io.Discard})
	if err != nil {
		b.Fatal(err)
	}
	defer closer.Close()
	ctx := WithRequestID(context.Background(), "req-0123456789abcdef")
	const batch, debugBatch = 500, 50_000
	var bareNS, finkitNS, firstNS, bareDbg, finkitDbg int64
	fresh := make([]context.Context, batch)
	n := 0
	for b.Loop() {
		// Contexts logged with only once: the first-record path, as for an
		// HTTP request that logs a single line.
		for i := range fresh {
			fresh[i] = WithRequestID(context.Background(), "req-0123456789abcdef")
		}
		tf := threadCPU(b)
		for i := range batch {
			logBenchRecord(fresh[i], finkit)
		}
		t0 := threadCPU(b)
		for range batch {
			logBenchRecord(ctx, bare)
		}
		t1 := threadCPU(b)
		for range batch {
			logBenchRecord(ctx, finkit)
		}
		t2 := threadCPU(b)
		for range debugBatch {
			bare.Debug("cache miss", "key", "k1")
		}
		t3 := threadCPU(b)
		for range debugBatch {
			finkit.Debug("cache miss", "key", "k1")
		}
		t4 := threadCPU(b)
		firstNS += t0 - tf
		bareNS += t1 - t0
		finkitNS += t2 - t1
		bareDbg += t3 - t2
		finkitDbg += t4 - t3
		n++
	}
	b.ReportMetric(float64(bareNS)/float64(n*batch), "bare-cpu-ns/log")
	b.ReportMetric(float64(finkitNS)/float64(n*batch), "finkit-cpu-ns/log")
	b.ReportMetric(float64(finkitNS)/float64(bareNS), "ratio")
	b.ReportMetric(float64(firstNS)/float64(n*batch), "finkit-fresh-ctx-cpu-ns/log")
	b.ReportMetric(float64(bareDbg)/float64(n*debugBatch), "bare-cpu-ns/debug-off")
	b.ReportMetric(float64(finkitDbg)/float64(n*debugBatch), "finkit-cpu-ns/debug-off")
}
