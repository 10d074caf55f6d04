package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finkit/finkit/internal/testutil"
	"github.com/finkit/finkit/pdfexport"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPDFFlagErrors(t *testing.T) {
	for _, args := range [][]string{
		{"--header", "no colon", "http://example.com", "o.pdf"},
		{"--header", "Bad Name: x", "http://example.com", "o.pdf"},
		{"--cookie", "novalue", "http://example.com", "o.pdf"},
		{"--cookie", "a=b;c", "http://example.com", "o.pdf"},
		{"--cookie", "a=b\x01", "http://example.com", "o.pdf"},
		{"--cookie", "a=say \"hi\"", "http://example.com", "o.pdf"},
		{"--cookie", "a=b\\c", "http://example.com", "o.pdf"},
		{"--cookie", "a(b)=c", "http://example.com", "o.pdf"},
		{"--cookie", "a=caf\u00e9", "http://example.com", "o.pdf"},
		{"--header", "X-A: b\x00c", "http://example.com", "o.pdf"},
		{"--header", "X-A: b\x7f", "http://example.com", "o.pdf"},
		{"--header", "X(A): b", "http://example.com", "o.pdf"},
		{"--wait-for", "#a", "--expect-selector", "#b", "http://example.com", "o.pdf"},
	} {
		e, _, _ := pdfTestEnv("")
		assert.ErrorIs(t, runPDF(context.Background(), e, args), errUsage, "%q", args)
	}
	e, _, _ := pdfTestEnv("")
	err := runPDF(context.Background(), e, []string{"no-such-file.html", "o.pdf"})
	assert.ErrorContains(t, err, "not a URL either")
	e, _, _ = pdfTestEnv("")
	err = runPDF(context.Background(), e, []string{t.TempDir(), "o.pdf"})
	assert.ErrorContains(t, err, "is a directory")
}

// A login-protected page sends a logged-out client to its login form;
// --fail-on-redirect turns that into an error (exit 1) before Chromium
// starts, and the same page with the session cookie passes.
func TestPDFFailOnRedirect(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if c, err := r.Cookie("session"); err != nil || c.Value != "s3cret" || r.Header.Get("X-Tenant") != "acme" {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		w.Write([]byte("<p>statement</p>"))
	}))
	defer ts.Close()
	out := filepath.Join(t.TempDir(), "o.pdf")
	e, _, _ := pdfTestEnv("")
	err := runPDF(context.Background(), e, []string{"--fail-on-redirect", ts.URL + "/statement", out})
	require.ErrorIs(t, err, errRedirect)
	assert.ErrorContains(t, err, "/login")
	assert.NoFileExists(t, out)

	assert.NoError(t, checkNoRedirect(context.Background(), ts.URL+"/statement", pdfOptions(t, "--cookie", "session=s3cret", "--header", "X-Tenant: acme")))
}

// pdfOptions parses the pdf command's header and cookie flags as runPDF does.
func pdfOptions(t *testing.T, args ...string) (o pdfexport.PageOptions) {
	t.Helper()
	var hs, cs multiFlag
	for i := 0; i+1 < len(args); i += 2 {
		switch args[i] {
		case "--header":
			hs = append(hs, args[i+1])
		case "--cookie":
			cs = append(cs, args[i+1])
		}
	}
	var err error
	o.Headers, err = parseHeaders(hs)
	require.NoError(t, err)
	o.Cookies, err = parseCookies(cs)
	require.NoError(t, err)
	return o
}

func TestPDFLocalFileAndStdin(t *testing.T) {
	testutil.RequireChrome(t)
	pdftotext := testutil.RequireTool(t, "pdftotext")
	dir := t.TempDir()
	require.NoError(t, os.Mkdir(filepath.Join(dir, "css"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "css", "style.css"), []byte(`body::after { content: "styled by the relative stylesheet" }`), 0o644))
	page := `<link rel="stylesheet" href="css/style.css"><h1>Local statement</h1>`
	require.NoError(t, os.WriteFile(filepath.Join(dir, "statement.html"), []byte(page), 0o644))
	text := func(path string) string {
		out, err := exec.Command(pdftotext, path, "-").Output()
		require.NoError(t, err)
		return string(out)
	}

	out := filepath.Join(t.TempDir(), "local.pdf")
	e, _, _ := pdfTestEnv("")
	require.NoError(t, runPDF(pdfTestCtx(t), e, []string{"--fail-on-redirect", "--deny-private", filepath.Join(dir, "statement.html"), out}))
	got := text(out)
	assert.Contains(t, got, "Local statement")
	assert.Contains(t, got, "styled by the relative stylesheet")

	// HTML on stdin resolves relative links against the current directory.
	t.Chdir(dir)
	out = filepath.Join(t.TempDir(), "stdin.pdf")
	e, _, _ = pdfTestEnv(`<link rel="stylesheet" href="css/style.css"><p>From stdin</p>`)
	require.NoError(t, runPDF(pdfTestCtx(t), e, []string{"-", out}))
	got = text(out)
	assert.Contains(t, got, "From stdin")
	assert.Contains(t, got, "styled by the relative stylesheet")

	// A page without the expected element fails instead of printing.
	out = filepath.Join(t.TempDir(), "login.pdf")
	e, _, _ = pdfTestEnv(`<form id="login">Sign in</form>`)
	err := runPDF(pdfTestCtx(t), e, []string{"--expect-selector", "#statement", "--timeout", "3s", "-", out})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--expect-selector")
	assert.NoFileExists(t, out)
}

// The loopback server of a local file serves that file's directory and
// nothing outside it: not through ../ (raw or encoded) and not through a
// symbolic link pointing out of it.
func TestPDFServeLocalStaysInsideItsDirectory(t *testing.T) {
	outside := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("outside secret"), 0o600))
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "page.html"), []byte("<p>page</p>"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "inside.txt"), []byte("inside"), 0o600))
	require.NoError(t, os.Symlink(filepath.Join(outside, "secret.txt"), filepath.Join(dir, "link.txt")))
	require.NoError(t, os.Symlink(outside, filepath.Join(dir, "linkdir")))

	page, stop, err := serveLocal(filepath.Join(dir, "page.html"), nil)
	require.NoError(t, err)
	defer stop()
	u, err := url.Parse(page)
	require.NoError(t, err)
	base := "http://" + u.Host + strings.TrimSuffix(u.Path, "page.html")
	get := func(raw string) (int, string) {
		t.Helper()
		conn, err := net.Dial("tcp", u.Host)
		require.NoError(t, err)
		defer conn.Close()
		// Written raw so that no client cleans the path first.
		fmt.Fprintf(conn, "GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", raw, u.Host)
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	code, body := get(strings.TrimPrefix(base, "http://"+u.Host) + "inside.txt")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "inside", body)
	rel, err := filepath.Rel(dir, filepath.Join(outside, "secret.txt"))
	require.NoError(t, err)
	prefix := strings.TrimPrefix(base, "http://"+u.Host)
	for _, p := range []string{
		prefix + filepath.ToSlash(rel), prefix + strings.ReplaceAll(filepath.ToSlash(rel), "/", "%2f"),
		prefix + strings.ReplaceAll(filepath.ToSlash(rel), "..", "%2e%2e"),
		prefix + "link.txt", prefix + "linkdir/secret.txt",
	} {
		_, body := get(p)
		assert.NotContains(t, body, "outside secret", p)
	}
}

// Another local user cannot read the served directory while a conversion
// runs: the files are only under a random path, and the server lists no
// directory and serves no dotfile (.ssh, .env) even there.
func TestPDFServeLocalIsNotAnOpenFileServer(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "page.html"), []byte("<p>page</p>"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, ".ssh"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".ssh", "id_ed25519"), []byte("private key"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, ".env"), []byte("TOKEN=x"), 0o600))
	require.NoError(t, os.Mkdir(filepath.Join(dir, "img"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "img", "logo.svg"), []byte("<svg/>"), 0o600))

	page, stop, err := serveLocal(filepath.Join(dir, "page.html"), nil)
	require.NoError(t, err)
	defer stop()
	u, err := url.Parse(page)
	require.NoError(t, err)
	get := func(p string) (int, string) {
		t.Helper()
		resp, err := http.Get("http://" + u.Host + p)
		require.NoError(t, err)
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	prefix := strings.TrimSuffix(u.Path, "page.html")
	assert.GreaterOrEqual(t, len(prefix), 20, "a random prefix: %q", u.Path)
	code, _ := get(u.Path)
	assert.Equal(t, http.StatusOK, code)
	// index.html is a page like any other (http.FileServer would redirect
	// it to its directory).
	require.NoError(t, os.WriteFile(filepath.Join(dir, "img", "index.html"), []byte("<p>index</p>"), 0o600))
	code, body := get(prefix + "img/index.html")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "<p>index</p>", body)
	code, body = get(prefix + "img/logo.svg")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "<svg/>", body)
	for _, p := range []string{"/page.html", "/", "/img/logo.svg", prefix, prefix + "img/", prefix + ".env", prefix + ".ssh/id_ed25519", prefix + "img/../.env"} {
		code, body := get(p)
		assert.Equal(t, http.StatusNotFound, code, p)
		assert.NotContains(t, body, "private key", p)
		assert.NotContains(t, body, "TOKEN", p)
		assert.NotContains(t, body, "page.html", p)
	}
}
