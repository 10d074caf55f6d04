package logging

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseLevel(t *testing.T) {
	for in, want := range map[string]slog.Level{
		"debug": slog.LevelDebug, "DEBUG": slog.LevelDebug, "Info": slog.LevelInfo,
		"warn": slog.LevelWarn, "WARN": slog.LevelWarn, "error": slog.LevelError, "eRRor": slog.LevelError,
	} {
		got, err := ParseLevel(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
	}
	for _, bad := range []string{"", "loud", "warning", "info+2", " info", "trace", "1"} {
		_, err := ParseLevel(bad)
		require.ErrorIs(t, err, ErrInvalidLevel, bad)
		assert.Contains(t, err.Error(), fmt.Sprintf("%q", bad))
	}
	assert.Equal(t, "warn", LevelName(slog.LevelWarn))
	assert.Equal(t, "info+2", LevelName(slog.LevelInfo+2))
}

func TestNewErrors(t *testing.T) {
	dir := t.TempDir()
	notADir := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notADir, nil, 0o600))
	var nilBuf *bytes.Buffer

	tests := []struct {
		name    string
		opts    Options
		wantErr error
		wantMsg string
	}{
		{"bad level", Options{Output: io.Discard, Level: "loud"}, ErrInvalidLevel, `"loud"`},
		{"bad format", Options{Output: io.Discard, Format: "xml"}, ErrInvalidFormat, `"xml"`},
		{"no output", Options{}, ErrNoOutput, "Output"},
		{"typed nil writer", Options{Output: nilBuf}, ErrNoOutput, "Output"},
		{"both outputs", Options{Output: io.Discard, File: FileOptions{Path: filepath.Join(dir, "x.log")}}, ErrInvalidOption, "both"},
		{"negative size", Options{File: FileOptions{Path: filepath.Join(dir, "x.log"), MaxSizeMB: -1}}, ErrInvalidOption, "negative"},
		{"empty redact key", Options{Output: io.Discard, RedactKeys: []string{"-_"}}, ErrInvalidOption, `"-_"`},
		{"path is a directory", Options{File: FileOptions{Path: dir}}, nil, dir},
		{"parent is a file", Options{File: FileOptions{Path: filepath.Join(notADir, "app.log")}}, nil, "app.log"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var (
				l   *slog.Logger
				c   io.Closer
				err error
			)
			require.NotPanics(t, func() { l, c, err = New(tt.opts) })
			require.Error(t, err)
			assert.Nil(t, l)
			assert.Nil(t, c)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			assert.Contains(t, err.Error(), tt.wantMsg)
		})
	}
}

func TestNewFormatsLevelsAndAttrs(t *testing.T) {
	var buf bytes.Buffer
	lv := new(slog.LevelVar)
	l, c, err := New(Options{Output: &buf, Format: "TEXT", Level: "warn", LevelVar: lv,
		Service: "dashboard", Version: "1.2.3", AddSource: true})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	require.NoError(t, c.Close(), "Close twice is fine")

	l.Info("hidden")
	l.Warn("shown", "password", secretValue)
	assert.Equal(t, slog.LevelWarn, lv.Level())
	lv.Set(slog.LevelDebug)
	l.Debug("now shown")

	out := buf.String()
	assert.NotContains(t, out, "hidden")
	assert.NotContains(t, out, secretValue)
	assert.Regexp(t, `level=WARN source=\S+logger_test.go:\d+ msg=shown`, out)
	assert.Contains(t, out, "password="+RedactedValue)
	assert.Contains(t, out, "service=dashboard version=1.2.3")
	assert.Contains(t, out, "source=")
	assert.Contains(t, out, "logger_test.go:")
	assert.Contains(t, out, "msg=\"now shown\"")

	// JSON is the default, info the default level.
	buf.Reset()
	l, _, err = New(Options{Output: &buf})
	require.NoError(t, err)
	l.Debug("hidden")
	l.Info("json")
	lines := decodeLines(t, &buf)
	require.Len(t, lines, 1)
	assert.Equal(t, "json", lines[0]["msg"])
}

func TestFileOutputNoLinesLost(t *testing.T) {
	path := filepath.Join(t.TempDir(), "logs", "app.log")
	l, c, err := New(Options{File: FileOptions{Path: path}})
	require.NoError(t, err)

	const workers, perWorker = 8, 250
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perWorker {
				l.Info("line", "w", w, "i", i)
			}
		}()
	}
	wg.Wait()
	require.NoError(t, c.Close())
	l.Info("after close") // refused, not written, no panic

	assert.Equal(t, workers*perWorker, countLines(t, path))
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.NotContains(t, string(data), "after close")
}

func TestFileRotation(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	l, c, err := New(Options{File: FileOptions{Path: path, MaxSizeMB: 1, MaxBackups: 2}})
	require.NoError(t, err)

	// About 3.5 MB in ~1 KB lines: at least three rotations.
	pad := strings.Repeat("x", 1000)
	const lines = 3500
	for i := range lines {
		l.Info("fill", "i", i, "pad", pad)
	}
	require.NoError(t, c.Close())

	// lumberjack removes surplus backups in its own goroutine; wait for it.
	var backups []string
	require.Eventually(t, func() bool {
		backups, _ = filepath.Glob(filepath.Join(dir, "app-*.log"))
		return len(backups) == 2
	}, 5*time.Second, 10*time.Millisecond, "want 2 backups, have %v", backups)

	info, err := os.Stat(path)
	require.NoError(t, err)
	assert.LessOrEqual(t, info.Size(), int64(1<<20))
	for _, b := range backups {
		bi, err := os.Stat(b)
		require.NoError(t, err)
		assert.LessOrEqual(t, bi.Size(), int64(1<<20))
		assert.Greater(t, bi.Size(), int64(900_000), "backups are full files")
	}
	// The newest lines are in the current file; the last one is the last logged.
	last := lastLine(t, path)
	assert.Contains(t, last, fmt.Sprintf(`"i":%d`, lines-1))
}

func TestFileRotationCompress(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "app.log")
	l, c, err := New(Options{File: FileOptions{Path: path, MaxSizeMB: 1, Compress: true}})
	require.NoError(t, err)
	pad := strings.Repeat("y", 1000)
	for i := range 1500 {
		l.Info("fill", "i", i, "pad", pad)
	}
	require.NoError(t, c.Close())

	var gz []string
	require.Eventually(t, func() bool {
		gz, _ = filepath.Glob(filepath.Join(dir, "app-*.log.gz"))
		plain, _ := filepath.Glob(filepath.Join(dir, "app-*.log"))
		return len(gz) == 1 && len(plain) == 0
	}, 10*time.Second, 20*time.Millisecond)

	f, err := os.Open(gz[0])
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	first, err := bufio.NewReader(zr).ReadString('\n')
	require.NoError(t, err)
	assert.Contains(t, first, `"i":0`)
}

func countLines(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	n := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		n++
	}
	require.NoError(t, sc.Err())
	return n
}

func lastLine(t *testing.T, path string) string {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	return lines[len(lines)-1]
}

func TestWriteAfterCloseError(t *testing.T) {
	fw, err := openFile(FileOptions{Path: filepath.Join(t.TempDir(), "a.log")})
	require.NoError(t, err)
	_, err = fw.Write([]byte("one\n"))
	require.NoError(t, err)
	require.NoError(t, fw.Close())
	_, err = fw.Write([]byte("two\n"))
	assert.True(t, errors.Is(err, ErrClosed))
}

func TestNewNilContextSafe(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	//lint:ignore SA1012 a nil context must not panic
	l.Log(nil, slog.LevelInfo, "nil ctx")
	l.Log(context.TODO(), slog.LevelInfo, "todo")
	assert.Len(t, decodeLines(t, buf), 2)
}
