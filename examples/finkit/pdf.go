package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/finkit/finkit/pdfexport"
)

// runPDF implements `finkit pdf`: save the page at a URL as PDF.
//
//	finkit pdf [flags] URL|FILE.html|- OUT.pdf   (OUT.pdf may be - for stdout)
//	finkit pdf [flags] --from urls.txt --out-dir DIR
//
// A local HTML file (or HTML on stdin, "-") is served to Chromium from a
// loopback server of the command's own, rooted at the file's directory (the
// current directory for stdin), so its relative images and stylesheets
// load; nothing outside that directory is served.
//
// The batch form reads one URL per line (blank lines and # comments are
// skipped; --from - reads stdin), converts them concurrently through one
// warm Chromium and prints a progress line per URL on stderr. It fails when
// any URL failed, after converting the others.
func runPDF(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("pdf", e)
	paper := fs.String("paper", "A4", "paper size: A3, A4, A5, Letter, Legal, Tabloid or WIDTHxHEIGHT such as 210mmx297mm")
	landscape := fs.Bool("landscape", false, "landscape orientation")
	cssPageSize := fs.Bool("css-page-size", false, "use the page's CSS @page size (such as size: A5) instead of --paper")
	margin := fs.String("margin", "10mm", "margins: 1 to 4 lengths with units (mm, cm, in, pt, px), CSS order")
	background := fs.Bool("background", false, "print background colours and images")
	waitFor := fs.String("wait-for", "", "wait until this CSS selector matches a visible element")
	wait := fs.String("wait", "load", "what to wait for before printing: load or network-idle")
	delay := fs.Duration("delay", 0, "extra fixed wait after load (overrides --wait)")
	timeout := fs.Duration("timeout", 30*time.Second, "timeout per page")
	media := fs.String("media", "print", "emulated CSS media: print or screen")
	scale := fs.Float64("scale", 0, "rendering scale 0.1-2 (0 = 1)")
	pages := fs.String("pages", "", "page ranges to print, such as 1-3,5")
	header := fs.String("header-template", "", "HTML header template (classes pageNumber, totalPages, title, url, date)")
	footer := fs.String("footer-template", "", "HTML footer template")
	var httpHeaders, cookies multiFlag
	fs.Var(&httpHeaders, "header", "HTTP request header \"Name: value\" (repeatable), such as Authorization; sent only to the page URL's origin (scheme, host and port), never to other hosts the page loads scripts, images or fonts from nor to a redirect's other host")
	fs.Var(&cookies, "cookie", "cookie NAME=VALUE sent with the page's requests (repeatable), such as a session")
	expect := fs.String("expect-selector", "", "fail unless an element matching this CSS selector appears (guards against printing a login page)")
	failOnRedirect := fs.Bool("fail-on-redirect", false, "fail when the URL answers with a redirect (a login-protected page usually does)")
	title := fs.String("title", "", "document title (PDF metadata)")
	allowHTTPErrors := fs.Bool("allow-http-errors", false, "print pages that answer HTTP status >= 400 instead of failing")
	denyPrivate := fs.Bool("deny-private", false, "refuse pages and requests to loopback and private networks")
	from := fs.String("from", "", "batch: file with one URL per line (- for stdin)")
	outDir := fs.String("out-dir", "", "batch: directory for the PDFs")
	pool := fs.Int("pool", pdfexport.DefaultPoolSize, "batch: conversions at once")
	if err := parseFlags(fs, args); err != nil {
		return err
	}

	opts := pdfexport.PageOptions{
		Landscape: *landscape, PrintBackground: *background, Timeout: *timeout, Media: *media,
		Scale: *scale, PageRanges: *pages, HeaderHTML: *header, FooterHTML: *footer, Title: *title,
		AllowHTTPErrors: *allowHTTPErrors, PreferCSSPageSize: *cssPageSize,
	}
	var err error
	if opts.Headers, err = parseHeaders(httpHeaders); err != nil {
		return err
	}
	if opts.Cookies, err = parseCookies(cookies); err != nil {
		return err
	}
	if opts.Paper, err = pdfexport.ParsePaperSize(*paper); err != nil {
		return usageErrorf("--paper: %v", err)
	}
	if opts.Margins, err = pdfexport.ParseMargins(*margin); err != nil {
		return usageErrorf("--margin: %v", err)
	}
	switch {
	case *waitFor != "" && *expect != "":
		return usageErrorf("--wait-for and --expect-selector both name a selector: give one")
	case *expect != "":
		opts.Wait = pdfexport.ForVisible(*expect)
	case *waitFor != "":
		opts.Wait = pdfexport.ForVisible(*waitFor)
	case *delay > 0:
		opts.Wait = pdfexport.ForDelay(*delay)
	case *wait == "load":
		opts.Wait = pdfexport.ForLoad()
	case *wait == "network-idle":
		opts.Wait = pdfexport.ForNetworkIdle()
	default:
		return usageErrorf("--wait must be load or network-idle, not %q", *wait)
	}
	if *timeout <= 0 {
		return usageErrorf("--timeout must be positive")
	}
	if *pool < 1 || *pool > 64 {
		return usageErrorf("--pool must be between 1 and 64")
	}

	batch := *from != "" || *outDir != ""
	var urls []string
	var out string
	if batch {
		if *from == "" || *outDir == "" {
			return usageErrorf("the batch form needs both --from FILE and --out-dir DIR")
		}
		if fs.NArg() != 0 {
			return usageErrorf("the batch form takes no URL arguments")
		}
		if urls, err = pdfReadURLs(*from, e.stdin); err != nil {
			return err
		}
		if len(urls) == 0 {
			return fmt.Errorf("%s holds no URLs", *from)
		}
	} else {
		if fs.NArg() != 2 {
			return usageErrorf("want URL (or FILE.html, or - for HTML on stdin) and OUT.pdf (or --from FILE --out-dir DIR)")
		}
		urls, out = []string{fs.Arg(0)}, fs.Arg(1)
	}
	var allow []string
	if !batch && isLocalSource(urls[0]) {
		local, stop, err := serveLocal(urls[0], e.stdin)
		if err != nil {
			return err
		}
		defer stop()
		urls[0], allow = local, []string{"127.0.0.1"} // the file's own server
	}
	for _, u := range urls {
		if err := pdfCheckURL(u); err != nil {
			return usageErrorf("%v", err)
		}
		if *failOnRedirect {
			if err := checkNoRedirect(ctx, u, opts); err != nil {
				return err
			}
		}
	}

	conv, err := pdfexport.New(ctx, pdfexport.Options{PoolSize: *pool, DenyPrivateNetworks: *denyPrivate, AllowHosts: allow, DefaultTimeout: *timeout, Logger: e.log})
	if err != nil {
		return err
	}
	defer conv.Close()

	if !batch {
		err := pdfConvertOne(ctx, conv, e, urls[0], out, opts)
		if *expect != "" && errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("no element matches --expect-selector %q within %s (is it a login page?): %w", *expect, *timeout, err)
		}
		return err
	}
	return pdfBatch(ctx, conv, e, urls, *outDir, *pool, opts)
}

// pdfCheckURL rejects what the converter would reject, before Chromium
// starts, so a typo is a usage error.
func pdfCheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err == nil && u.Scheme == "file" {
		return fmt.Errorf("%q: give the file's path instead of a file: URL", raw)
	}
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%q is not an http or https URL (nor a local file)", raw)
	}
	return nil
}

func pdfReadURLs(path string, stdin io.Reader) ([]string, error) {
	r := stdin
	if path != "-" {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	var urls []string
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		urls = append(urls, line)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return urls, nil
}

// pdfConvertOne converts to out, or to stdout for "-". A file is written
// under a temporary name and renamed when complete, so a failure leaves no
// half-written PDF behind.
func pdfConvertOne(ctx context.Context, conv *pdfexport.Converter, e *env, rawURL, out string, opts pdfexport.PageOptions) error {
	if out == "-" {
		return conv.ConvertTo(ctx, e.stdout, rawURL, opts)
	}
	f, err := os.CreateTemp(filepath.Dir(out), "."+filepath.Base(out)+".*.tmp")
	if err != nil {
		return err
	}
	tmp := f.Name()
	err = conv.ConvertTo(ctx, f, rawURL, opts)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, out)
	}
	if err != nil {
		_ = os.Remove(tmp)
		return err
	}
	return nil
}

var pdfUnsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// pdfFileName makes a file name from the URL: NNN-host-path.pdf.
func pdfFileName(i int, raw string) string {
	name := raw
	if u, err := url.Parse(raw); err == nil {
		name = u.Host + u.Path
	}
	name = strings.Trim(pdfUnsafe.ReplaceAllString(name, "-"), "-.")
	if len(name) > 80 {
		name = name[:80]
	}
	if name == "" {
		name = "page"
	}
	return fmt.Sprintf("%03d-%s.pdf", i+1, name)
}

func pdfBatch(ctx context.Context, conv *pdfexport.Converter, e *env, urls []string, dir string, workers int, opts pdfexport.PageOptions) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var (
		mu     sync.Mutex
		done   int
		failed int
		wg     sync.WaitGroup
		sem    = make(chan struct{}, workers)
	)
	start := time.Now()
	for i, u := range urls {
		select {
		case sem <- struct{}{}:
		case <-ctx.Done():
			wg.Wait()
			return ctx.Err()
		}
		wg.Go(func() {
			defer func() { <-sem }()
			out := filepath.Join(dir, pdfFileName(i, u))
			err := pdfConvertOne(ctx, conv, e, u, out, opts)
			mu.Lock()
			defer mu.Unlock()
			done++
			if err != nil {
				failed++
				fmt.Fprintf(e.stderr, "[%d/%d] FAIL %s: %v\n", done, len(urls), u, err)
				return
			}
			fmt.Fprintf(e.stderr, "[%d/%d] ok   %s -> %s\n", done, len(urls), u, out)
		})
	}
	wg.Wait()
	fmt.Fprintf(e.stderr, "%d of %d converted in %s\n", len(urls)-failed, len(urls), time.Since(start).Round(time.Millisecond))
	if failed > 0 {
		return fmt.Errorf("%d of %d URLs failed", failed, len(urls))
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return nil
}
