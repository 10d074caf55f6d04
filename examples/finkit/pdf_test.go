package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func pdfTestEnv(stdin string) (*env, *bytes.Buffer, *bytes.Buffer) {
	var out, errOut bytes.Buffer
	return &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, &out, &errOut
}

func pdfTestCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestPDFUsageErrors(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"http://example.com"},
		{"--paper", "B9", "http://example.com", "o.pdf"},
		{"--margin", "10", "http://example.com", "o.pdf"},
		{"--wait", "forever", "http://example.com", "o.pdf"},
		{"--timeout", "0s", "http://example.com", "o.pdf"},
		{"--pool", "0", "http://example.com", "o.pdf"},
		{"file:///etc/passwd", "o.pdf"},
		{"--from", "x.txt"},
		{"--out-dir", dir},
		{"--from", "-", "--out-dir", dir, "http://example.com"},
		{"--bogus"},
	} {
		e, _, _ := pdfTestEnv("")
		err := runPDF(context.Background(), e, args)
		assert.ErrorIs(t, err, errUsage, "%q", args)
	}
	e, _, _ := pdfTestEnv("# only a comment\n\n")
	err := runPDF(context.Background(), e, []string{"--from", "-", "--out-dir", dir})
	assert.ErrorContains(t, err, "no URLs")
}

func TestPDFCommand(t *testing.T) {
	testutil.RequireChrome(t)
	pdftotext := testutil.RequireTool(t, "pdftotext")
	mux := http.NewServeMux()
	mux.HandleFunc("/report/{n}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<h1>CLI report %s</h1>", r.PathValue("n"))
	})
	mux.HandleFunc("/a5", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, "<style>@page { size: A5 }</style><h1>A5 page</h1>")
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	text := func(path string) string {
		out, err := exec.Command(pdftotext, path, "-").Output()
		require.NoError(t, err)
		return string(out)
	}

	t.Run("single URL to a file", func(t *testing.T) {
		out := filepath.Join(t.TempDir(), "report.pdf")
		e, _, _ := pdfTestEnv("")
		require.NoError(t, runPDF(pdfTestCtx(t), e, []string{"--paper", "Letter", "--landscape", "--margin", "5mm 10mm", ts.URL + "/report/1", out}))
		assert.Contains(t, text(out), "CLI report 1")
	})

	t.Run("CSS page size", func(t *testing.T) {
		// A page asking for A5 prints on A5 with --css-page-size, on the
		// --paper size (A4) without it.
		pdfinfo := testutil.RequireTool(t, "pdfinfo")
		for _, tc := range []struct {
			args []string
			want string
		}{
			{[]string{"--css-page-size"}, "(A5)"},
			{nil, "(A4)"},
		} {
			out := filepath.Join(t.TempDir(), "a5.pdf")
			e, _, _ := pdfTestEnv("")
			require.NoError(t, runPDF(pdfTestCtx(t), e, append(tc.args, ts.URL+"/a5", out)))
			info, err := exec.Command(pdfinfo, out).Output()
			require.NoError(t, err)
			assert.Regexp(t, `Page size: +[0-9.]+ x [0-9.]+ pts \Q`+tc.want+`\E`, string(info), "%v", tc.args)
		}
	})

	t.Run("stdout and failure", func(t *testing.T) {
		e, stdout, _ := pdfTestEnv("")
		require.NoError(t, runPDF(pdfTestCtx(t), e, []string{"--wait", "network-idle", ts.URL + "/report/2", "-"}))
		assert.True(t, bytes.HasPrefix(stdout.Bytes(), []byte("%PDF-")))

		dir := t.TempDir()
		out := filepath.Join(dir, "missing.pdf")
		e, _, _ = pdfTestEnv("")
		err := runPDF(pdfTestCtx(t), e, []string{ts.URL + "/nope", out})
		require.ErrorContains(t, err, "404")
		assert.NotContains(t, err.Error(), "\n", "a one-line reason")
		entries, _ := os.ReadDir(dir)
		assert.Empty(t, entries, "no partial file is left")
	})

	t.Run("batch", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		list := filepath.Join(t.TempDir(), "urls.txt")
		var b strings.Builder
		b.WriteString("# reports\n\n")
		for i := range 5 {
			fmt.Fprintf(&b, "%s/report/%d\n", ts.URL, i)
		}
		fmt.Fprintf(&b, "%s/missing\n", ts.URL)
		require.NoError(t, os.WriteFile(list, []byte(b.String()), 0o600))
		e, _, stderr := pdfTestEnv("")
		err := runPDF(pdfTestCtx(t), e, []string{"--pool", "3", "--from", list, "--out-dir", dir})
		require.ErrorContains(t, err, "1 of 6 URLs failed")
		assert.Contains(t, stderr.String(), "[6/6]")
		assert.Contains(t, stderr.String(), "5 of 6 converted")
		entries, err := os.ReadDir(dir)
		require.NoError(t, err)
		require.Len(t, entries, 5)
		for i := range 5 {
			name := filepath.Join(dir, pdfFileName(i, fmt.Sprintf("%s/report/%d", ts.URL, i)))
			assert.Contains(t, text(name), fmt.Sprintf("CLI report %d", i))
		}
	})
}

func TestPDFFileName(t *testing.T) {
	assert.Equal(t, "001-example.com-a-b.pdf", pdfFileName(0, "https://example.com/a/b"))
	assert.Equal(t, "012-127.0.0.1-8080-x.pdf", pdfFileName(11, "http://127.0.0.1:8080/x?q=1"))
	assert.Equal(t, "003-page.pdf", pdfFileName(2, "http://"))
}
