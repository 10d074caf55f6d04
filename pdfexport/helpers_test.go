package pdfexport

import (
	"bytes"
	"context"
	"fmt"
	"image/png"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// shared is the one converter most tests use, so the suite starts Chromium
// only a few times. TestMain closes it.
var shared struct {
	once sync.Once
	conv *Converter
	err  error
	log  syncBuffer
}

// syncBuffer collects converter logs; tests print them when they fail.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestMain(m *testing.M) {
	code := m.Run()
	if code != 0 && os.Getenv("PDFEXPORT_TEST_LOG") != "" {
		fmt.Fprintln(os.Stderr, shared.log.String())
	}
	if shared.conv != nil {
		if err := shared.conv.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "closing the shared converter:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// sharedConverter returns the shared converter, or skips (fails on CI) when
// Chromium is missing.
func sharedConverter(t *testing.T) *Converter {
	t.Helper()
	testutil.RequireChrome(t)
	shared.once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		shared.conv, shared.err = New(ctx, Options{PoolSize: 4, DefaultTimeout: 45 * time.Second, Logger: slog.New(slog.NewTextHandler(&shared.log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	})
	require.NoError(t, shared.err)
	return shared.conv
}

// newConverter starts a converter of its own for a test, closed at cleanup.
func newConverter(t *testing.T, opts Options) *Converter {
	t.Helper()
	testutil.RequireChrome(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var logs syncBuffer
	opts.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	if opts.DefaultTimeout == 0 {
		opts.DefaultTimeout = 45 * time.Second
	}
	c, err := New(ctx, opts)
	require.NoError(t, err)
	t.Cleanup(func() {
		require.NoError(t, c.Close())
		if t.Failed() {
			t.Log("converter log:\n" + logs.String())
		}
	})
	return c
}

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// writePDF stores pdf in a temp file and returns its path.
func writePDF(t *testing.T, pdf []byte) string {
	t.Helper()
	require.True(t, bytes.HasPrefix(pdf, []byte("%PDF-")), "not a PDF: %q", pdf[:min(len(pdf), 20)])
	p := filepath.Join(t.TempDir(), "out.pdf")
	require.NoError(t, os.WriteFile(p, pdf, 0o600))
	return p
}

// pdfText extracts the text of pdf with pdftotext; page is 0 for all pages.
func pdfText(t *testing.T, pdf []byte, page int) string {
	t.Helper()
	tool := testutil.RequireTool(t, "pdftotext")
	args := []string{"-layout"}
	if page > 0 {
		args = append(args, "-f", strconv.Itoa(page), "-l", strconv.Itoa(page))
	}
	args = append(args, writePDF(t, pdf), "-")
	out, err := exec.Command(tool, args...).Output()
	require.NoError(t, err)
	return string(out)
}

type pdfInfo struct {
	pages         int
	width, height float64 // points
}

// pdfInfoOf runs pdfinfo and parses the page count and the first page size.
func pdfInfoOf(t *testing.T, pdf []byte) pdfInfo {
	t.Helper()
	tool := testutil.RequireTool(t, "pdfinfo")
	out, err := exec.Command(tool, writePDF(t, pdf)).Output()
	require.NoError(t, err)
	var info pdfInfo
	for line := range strings.SplitSeq(string(out), "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch k {
		case "Pages":
			info.pages, err = strconv.Atoi(v)
			require.NoError(t, err)
		case "Page size":
			// "595.276 x 841.89 pts (A4)"
			_, err := fmt.Sscanf(v, "%g x %g pts", &info.width, &info.height)
			require.NoError(t, err, v)
		}
	}
	return info
}

// pixelAt renders page 1 of pdf at 20 dpi with pdftoppm and returns the RGB
// colour of the pixel at the given fractions of the width and height.
func pixelAt(t *testing.T, pdf []byte, fx, fy float64) (r, g, b uint8) {
	t.Helper()
	tool := testutil.RequireTool(t, "pdftoppm")
	out, err := exec.Command(tool, "-r", "20", "-png", "-f", "1", "-singlefile", writePDF(t, pdf)).Output()
	require.NoError(t, err)
	img, err := png.Decode(bytes.NewReader(out))
	require.NoError(t, err)
	bnd := img.Bounds()
	x := bnd.Min.X + int(float64(bnd.Dx())*fx)
	y := bnd.Min.Y + int(float64(bnd.Dy())*fy)
	cr, cg, cb, _ := img.At(x, y).RGBA()
	return uint8(cr >> 8), uint8(cg >> 8), uint8(cb >> 8)
}

func runTool(t *testing.T, name string, args ...string) string {
	t.Helper()
	tool := testutil.RequireTool(t, name)
	out, err := exec.Command(tool, args...).Output()
	require.NoError(t, err)
	return string(out)
}
