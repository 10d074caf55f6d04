package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/finkit/finkit/pdfexport"
)

// maxStdinHTML bounds the HTML read from stdin.
const maxStdinHTML = 32 << 20

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ", ") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// isLocalSource reports whether the pdf command's source is HTML on stdin
// ("-") or a path rather than a URL.
func isLocalSource(arg string) bool {
	return arg == "-" || !strings.Contains(arg, "://")
}

// serveLocal serves a local HTML file (or stdin's HTML for "-") from a
// loopback server rooted at the file's directory (the current directory
// for stdin) under a random path, and returns the URL to print. os.Root
// keeps every request inside that directory, symbolic links included;
// directories and dotfiles are not served. stop shuts the server.
func serveLocal(arg string, stdin io.Reader) (page string, stop func(), err error) {
	dir, name := ".", ""
	var html []byte
	if arg == "-" {
		if html, err = io.ReadAll(io.LimitReader(stdin, maxStdinHTML+1)); err != nil {
			return "", nil, fmt.Errorf("reading HTML from stdin: %w", err)
		}
		if len(html) > maxStdinHTML {
			return "", nil, fmt.Errorf("HTML on stdin is larger than %d MiB", maxStdinHTML>>20)
		}
		name = ".finkit-stdin.html"
	} else {
		st, err := os.Stat(arg)
		if err != nil {
			return "", nil, fmt.Errorf("%w (not a URL either: URLs start with http:// or https://)", err)
		}
		if st.IsDir() {
			return "", nil, fmt.Errorf("%s is a directory, not an HTML file", arg)
		}
		dir, name = filepath.Split(arg)
		if dir == "" {
			dir = "."
		}
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return "", nil, err
	}
	// Any local user can connect to a loopback port, so the files are
	// served only under a random path, and never a directory listing or a
	// dotfile (.ssh, .env) of the directory.
	secret := "/" + rand.Text() + "/"
	fsys := root.FS()
	handler := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if html != nil && r.URL.Path == "/"+name {
			http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(html))
			return
		}
		p := strings.TrimPrefix(path.Clean(r.URL.Path), "/")
		if p != name && (p == "." || strings.HasPrefix(p, ".") || strings.Contains(p, "/.")) {
			http.NotFound(w, r)
			return
		}
		f, err := fsys.Open(p)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		st, err := f.Stat()
		rs, seeks := f.(io.ReadSeeker)
		if err != nil || st.IsDir() || !seeks {
			http.NotFound(w, r)
			return
		}
		http.ServeContent(w, r, st.Name(), st.ModTime(), rs)
	})
	mux := http.NewServeMux()
	mux.Handle(secret, http.StripPrefix(strings.TrimSuffix(secret, "/"), handler))
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		root.Close()
		return "", nil, err
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	stop = func() {
		_ = srv.Close()
		_ = root.Close()
	}
	return "http://" + ln.Addr().String() + secret + url.PathEscape(name), stop, nil
}

// parseHeaders parses repeated --header "Name: value" flags.
func parseHeaders(raw []string) (map[string]string, error) {
	if len(raw) == 0 {
		return nil, nil
	}
	h := make(map[string]string, len(raw))
	for _, r := range raw {
		name, value, ok := strings.Cut(r, ":")
		name = strings.TrimSpace(name)
		if !ok || !isToken(name) || !isHeaderValue(value) {
			return nil, usageErrorf("--header %q: want \"Name: value\"", r)
		}
		h[http.CanonicalHeaderKey(name)] = strings.TrimSpace(value)
	}
	return h, nil
}

// parseCookies parses repeated --cookie NAME=VALUE flags; each cookie is
// sent to the page's own host.
func parseCookies(raw []string) ([]pdfexport.Cookie, error) {
	var out []pdfexport.Cookie
	for _, r := range raw {
		name, value, ok := strings.Cut(r, "=")
		if !ok || !isToken(name) || !isCookieValue(value) {
			return nil, usageErrorf("--cookie %q: want NAME=VALUE", r)
		}
		out = append(out, pdfexport.Cookie{Name: name, Value: value, Path: "/"})
	}
	return out, nil
}

// isToken reports whether s is an HTTP token (RFC 9110 section 5.6.2), the
// form of a header or cookie name.
func isToken(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`"(),/:;<=>?@[\]{}`, c) >= 0 {
			return false
		}
	}
	return s != ""
}

// isHeaderValue reports whether s holds no control character but tab: no
// CR or LF to start a header of its own, no NUL or DEL that a browser
// refuses with an error of its own.
func isHeaderValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; (c < ' ' && c != '\t') || c == 0x7f {
			return false
		}
	}
	return true
}

// isCookieValue reports whether s is made of cookie-octets (RFC 6265
// section 4.1.1): printable ASCII but space, '"', ',', ';' and '\'.
func isCookieValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c >= 0x7f || c == '"' || c == ',' || c == ';' || c == '\\' {
			return false
		}
	}
	return true
}

// errRedirect is returned by --fail-on-redirect.
var errRedirect = errors.New("the page redirects")

// checkNoRedirect asks the URL once, with the same headers and cookies,
// and fails when it answers with a redirect: a login-protected page
// usually sends a logged-out client to its login form, which would
// otherwise be printed with exit code 0.
func checkNoRedirect(ctx context.Context, raw string, o pdfexport.PageOptions) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, raw, nil)
	if err != nil {
		return err
	}
	for k, v := range o.Headers {
		req.Header.Set(k, v)
	}
	for _, c := range o.Cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	client := &http.Client{
		Timeout:       o.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("--fail-on-redirect: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		return fmt.Errorf("%w: %s answered %d, to %s (log in first: --cookie NAME=VALUE)", errRedirect, raw, resp.StatusCode, resp.Header.Get("Location"))
	}
	return nil
}
