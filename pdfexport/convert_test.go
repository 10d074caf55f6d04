package pdfexport

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// site serves the test pages.
func site(t *testing.T) *httptest.Server {
	t.Helper()
	mux := http.NewServeMux()
	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, body)
		}
	}
	mux.HandleFunc("/text", html(`<!doctype html><title>Text</title><h1>Quarterly portfolio report</h1><p>Net worth 12,345.67 EUR</p>`))
	mux.HandleFunc("/print-css", html(`<!doctype html><style>
		.print-only { display: none }
		@media print { .print-only { display: block } .screen-only { display: none } }
	</style><p class="print-only">PRINTMEDIA visible</p><p class="screen-only">SCREENMEDIA visible</p>`))
	mux.HandleFunc("/image", html(`<!doctype html><style>body{margin:0} img{display:block;width:100%;height:900px}</style><img src="/red.png" alt="">`))
	mux.HandleFunc("/red.png", func(w http.ResponseWriter, r *http.Request) {
		img := image.NewRGBA(image.Rect(0, 0, 8, 8))
		for x := range 8 {
			for y := range 8 {
				img.Set(x, y, color.RGBA{R: 255, A: 255})
			}
		}
		w.Header().Set("Content-Type", "image/png")
		_ = png.Encode(w, img)
	})
	mux.HandleFunc("/css-page", html(`<!doctype html><style>@page { size: 100mm 100mm }</style><p>square page</p>`))
	mux.HandleFunc("/background", html(`<!doctype html><style>html,body{background:#0000ff;height:100%;margin:0}</style><p>blue</p>`))
	mux.HandleFunc("/late", html(`<!doctype html><p>early text</p><script>
		setTimeout(() => fetch('/late-data').then(r => r.text()).then(t => {
			const p = document.createElement('p'); p.id = 'late'; p.textContent = t; document.body.appendChild(p);
			window.lateDone = true;
		}), 300);
	</script>`))
	mux.HandleFunc("/late-data", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(700 * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "LATE ELEMENT inserted")
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(20 * time.Second):
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/missing", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, "<h1>Custom not found page</h1>")
	})
	mux.HandleFunc("/long", func(w http.ResponseWriter, r *http.Request) {
		var b strings.Builder
		b.WriteString(`<!doctype html><title>Long report</title><style>p{height:200px;margin:0}</style>`)
		for i := range 12 {
			fmt.Fprintf(&b, "<p>Paragraph %d</p>", i)
		}
		fmt.Fprint(w, b.String())
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		ck, _ := r.Cookie("session")
		val := ""
		if ck != nil {
			val = ck.Value
		}
		fmt.Fprintf(w, "<p>header=%s</p><p>cookie=%s</p><p>ua=%s</p>", r.Header.Get("X-Report"), val, r.UserAgent())
	})
	mux.HandleFunc("/throws", html(`<!doctype html><p>throws</p><script>throw new Error("boom from page")</script>`))
	mux.HandleFunc("/broken-img", html(`<!doctype html><p>broken</p><img src="/nope.png">`))
	mux.HandleFunc("/page/{n}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "<p>Document number %s</p>", r.PathValue("n"))
	})
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return ts
}

func TestConvertText(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	pdf, err := c.Convert(testCtx(t), ts.URL+"/text", PageOptions{})
	require.NoError(t, err)
	text := pdfText(t, pdf, 0)
	assert.Contains(t, text, "Quarterly portfolio report")
	assert.Contains(t, text, "Net worth 12,345.67 EUR")
	assert.Equal(t, 1, pdfInfoOf(t, pdf).pages)
}

func TestConvertHTMLAndStream(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	var buf bytes.Buffer
	err := c.ConvertHTMLTo(testCtx(t), &buf, `<!doctype html><h1>Inline report ü €</h1>`, PageOptions{})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, buf.Bytes(), 0), "Inline report ü €")

	// A failing writer surfaces its error and does not break the pool.
	err = c.ConvertHTMLTo(testCtx(t), failingWriter{}, `<p>x</p>`, PageOptions{})
	require.ErrorContains(t, err, "disk full")
	_, err = c.ConvertHTML(testCtx(t), `<p>still fine</p>`, PageOptions{})
	require.NoError(t, err)
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestPrintCSSAndMedia(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	pdf, err := c.Convert(testCtx(t), ts.URL+"/print-css", PageOptions{})
	require.NoError(t, err)
	text := pdfText(t, pdf, 0)
	assert.Contains(t, text, "PRINTMEDIA visible")
	assert.NotContains(t, text, "SCREENMEDIA")

	pdf, err = c.Convert(testCtx(t), ts.URL+"/print-css", PageOptions{Media: "screen"})
	require.NoError(t, err)
	text = pdfText(t, pdf, 0)
	assert.Contains(t, text, "SCREENMEDIA visible")
	assert.NotContains(t, text, "PRINTMEDIA")
}

func TestImage(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	pdf, err := c.Convert(testCtx(t), ts.URL+"/image", PageOptions{Margins: UniformMargins(0)})
	require.NoError(t, err)
	r, g, b := pixelAt(t, pdf, 0.5, 0.3)
	assert.True(t, r > 200 && g < 60 && b < 60, "pixel is %d,%d,%d, want red from the image", r, g, b)
}

func TestWaitStrategies(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	tests := []struct {
		name     string
		wait     WaitFor
		wantLate bool
	}{
		{"load", ForLoad(), false},
		{"network idle", ForNetworkIdle(), true},
		{"selector", ForVisible("#late"), true},
		{"expression", ForExpression("window.lateDone === true"), true},
		{"delay", ForDelay(5 * time.Second), true}, // the late element comes after ~1s; room for a busy machine
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			pdf, err := c.Convert(testCtx(t), ts.URL+"/late", PageOptions{Wait: tt.wait})
			require.NoError(t, err)
			text := pdfText(t, pdf, 0)
			assert.Contains(t, text, "early text")
			if tt.wantLate {
				assert.Contains(t, text, "LATE ELEMENT inserted")
			} else {
				assert.NotContains(t, text, "LATE ELEMENT", "a plain load wait printed before the late element")
			}
		})
	}
}

func TestTimeoutSaysWhatItWaitedFor(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	start := time.Now()
	_, err := c.Convert(testCtx(t), ts.URL+"/slow", PageOptions{Timeout: 4 * time.Second})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), "loading "+ts.URL+"/slow")
	assert.Less(t, time.Since(start), 12*time.Second)

	// Long enough for the page itself to load on a busy machine (every
	// conversion opens a fresh tab), so the wait that times out is the
	// selector's.
	_, err = c.Convert(testCtx(t), ts.URL+"/text", PageOptions{Timeout: 10 * time.Second, Wait: ForVisible("#never")})
	require.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Contains(t, err.Error(), `selector "#never"`)

	// The caller's own cancellation is reported as such.
	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(300*time.Millisecond, cancel)
	_, err = c.Convert(ctx, ts.URL+"/slow", PageOptions{})
	require.ErrorIs(t, err, context.Canceled)

	// The pool is not poisoned.
	pdf, err := c.Convert(testCtx(t), ts.URL+"/text", PageOptions{})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "Quarterly")
}

func TestHTTPStatusError(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	_, err := c.Convert(testCtx(t), ts.URL+"/missing", PageOptions{})
	var hs *HTTPStatusError
	require.ErrorAs(t, err, &hs)
	assert.Equal(t, 404, hs.StatusCode)
	assert.Equal(t, ts.URL+"/missing", hs.URL)
	assert.ErrorIs(t, err, ErrHTTPStatus)

	pdf, err := c.Convert(testCtx(t), ts.URL+"/missing", PageOptions{AllowHTTPErrors: true})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "Custom not found page")
}

func TestNavigationError(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := httptest.NewServer(http.NotFoundHandler())
	dead := ts.URL
	ts.Close() // nothing listens there any more
	_, err := c.Convert(testCtx(t), dead+"/", PageOptions{})
	var ne *NavigationError
	require.ErrorAs(t, err, &ne)
	assert.ErrorIs(t, err, ErrNavigation)
	assert.Contains(t, ne.Reason, "ERR_CONNECTION_REFUSED")

	// .invalid never resolves (RFC 6761).
	_, err = c.Convert(testCtx(t), "http://no-such-host.invalid/", PageOptions{})
	require.ErrorAs(t, err, &ne)
	assert.Contains(t, ne.Reason, "ERR_NAME_NOT_RESOLVED")
}

func TestPageSizes(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	tests := []struct {
		name      string
		opts      PageOptions
		wantW, wH float64
	}{
		{"default is A4", PageOptions{}, 595, 842},
		{"A4", PageOptions{Paper: A4()}, 595, 842},
		{"Letter", PageOptions{Paper: Letter()}, 612, 792},
		{"Letter landscape", PageOptions{Paper: Letter(), Landscape: true}, 792, 612},
		{"A4 landscape", PageOptions{Paper: A4(), Landscape: true}, 842, 595},
		{"Legal", PageOptions{Paper: Legal()}, 612, 1008},
		{"A5", PageOptions{Paper: A5()}, 420, 595},
		{"custom 100x150mm", PageOptions{Paper: PaperSize{Millimeters(100), Millimeters(150)}}, 283.5, 425.2},
		{"CSS @page size wins when preferred", PageOptions{Paper: A4(), PreferCSSPageSize: true}, 283.5, 283.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			path := "/text"
			if tt.opts.PreferCSSPageSize {
				path = "/css-page"
			}
			pdf, err := c.Convert(testCtx(t), ts.URL+path, tt.opts)
			require.NoError(t, err)
			info := pdfInfoOf(t, pdf)
			assert.InDelta(t, tt.wantW, info.width, 1.5)
			assert.InDelta(t, tt.wH, info.height, 1.5)
		})
	}
}

func TestBackgroundOnlyWithPrintBackground(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	for _, bg := range []bool{false, true} {
		t.Run(fmt.Sprint("background=", bg), func(t *testing.T) {
			t.Parallel()
			pdf, err := c.Convert(testCtx(t), ts.URL+"/background", PageOptions{PrintBackground: bg, Margins: UniformMargins(0)})
			require.NoError(t, err)
			r, g, b := pixelAt(t, pdf, 0.5, 0.6)
			if bg {
				assert.True(t, b > 200 && r < 60 && g < 60, "pixel %d,%d,%d, want blue", r, g, b)
			} else {
				assert.True(t, r > 240 && g > 240 && b > 240, "pixel %d,%d,%d, want white", r, g, b)
			}
		})
	}
}

func TestHeaderFooterOnEveryPage(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	pdf, err := c.Convert(testCtx(t), ts.URL+"/long", PageOptions{
		Paper:      A5(),
		Margins:    UniformMargins(Millimeters(20)),
		HeaderHTML: `<div style="font-size:10px;width:100%;text-align:center">FINKIT HEADER <span class="title"></span></div>`,
		FooterHTML: `<div style="font-size:10px;width:100%;text-align:center">Page <span class="pageNumber"></span> of <span class="totalPages"></span></div>`,
	})
	require.NoError(t, err)
	info := pdfInfoOf(t, pdf)
	require.Greater(t, info.pages, 1)
	for p := 1; p <= info.pages; p++ {
		text := pdfText(t, pdf, p)
		assert.Contains(t, text, "FINKIT HEADER Long report", "page %d", p)
		assert.Contains(t, text, fmt.Sprintf("Page %d of %d", p, info.pages), "page %d", p)
	}
}

func TestPageRangesScaleTitle(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	pdf, err := c.Convert(testCtx(t), ts.URL+"/long", PageOptions{Paper: A5(), PageRanges: "2", Scale: 0.8, Title: "Annual Statement 2026"})
	require.NoError(t, err)
	assert.Equal(t, 1, pdfInfoOf(t, pdf).pages)
	out := pdfText(t, pdf, 0)
	assert.NotContains(t, out, "Paragraph 0")

	tool := "pdfinfo"
	info := runTool(t, tool, writePDF(t, pdf))
	assert.Contains(t, info, "Annual Statement 2026")
}

func TestHeadersCookiesUserAgent(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	pdf, err := c.Convert(testCtx(t), ts.URL+"/echo", PageOptions{
		Headers:   map[string]string{"X-Report": "q3-2026"},
		Cookies:   []Cookie{{Name: "session", Value: "abc123"}},
		UserAgent: "finkit-pdf-test/1.0",
	})
	require.NoError(t, err)
	text := pdfText(t, pdf, 0)
	assert.Contains(t, text, "header=q3-2026")
	assert.Contains(t, text, "cookie=abc123")
	assert.Contains(t, text, "ua=finkit-pdf-test/1.0")

	// Cookies do not leak into the next conversion: each has its own
	// browser context.
	pdf, err = c.Convert(testCtx(t), ts.URL+"/echo", PageOptions{})
	require.NoError(t, err)
	assert.NotContains(t, pdfText(t, pdf, 0), "abc123")
}

func TestFailOnJSAndResourceErrors(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	_, err := c.Convert(testCtx(t), ts.URL+"/throws", PageOptions{FailOnJSError: true})
	require.ErrorIs(t, err, ErrJSException)
	assert.Contains(t, err.Error(), "boom from page")
	_, err = c.Convert(testCtx(t), ts.URL+"/throws", PageOptions{})
	require.NoError(t, err)

	_, err = c.Convert(testCtx(t), ts.URL+"/broken-img", PageOptions{FailOnResourceError: true})
	require.ErrorIs(t, err, ErrResourceFailed)
	assert.Contains(t, err.Error(), "/nope.png")
	_, err = c.Convert(testCtx(t), ts.URL+"/broken-img", PageOptions{})
	require.NoError(t, err)
}

func TestRejectsUnsupportedURLs(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	for _, u := range []string{
		"file:///etc/passwd", "FILE:///etc/passwd", "data:text/html,<p>x</p>", "javascript:alert(1)",
		"chrome://version", "about:blank", "ftp://example.com/", "", "   ", "relative/page.html", "http://", "//example.com/x",
	} {
		_, err := c.Convert(testCtx(t), u, PageOptions{})
		assert.ErrorIs(t, err, ErrUnsupportedURL, "URL %q", u)
	}
}

func TestInvalidPageOptions(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	bad := []PageOptions{
		{Scale: 3},
		{Scale: -1},
		{Media: "tv"},
		{Timeout: -time.Second},
		{Wait: WaitFor{Kind: WaitVisible}},
		{Wait: WaitFor{Kind: WaitExpression, Expression: "  "}},
		{Wait: WaitFor{Kind: WaitDelay, Delay: -1}},
		{Wait: WaitFor{Kind: 42}},
		{Paper: PaperSize{Width: 0.01, Height: 1}},
		{Margins: &Margins{Top: -1}},
		{Headers: map[string]string{"Bad Header": "x"}},
		{Headers: map[string]string{"X-Ok": "a\r\nInjected: 1"}},
		{Headers: map[string]string{"host": "evil"}},
		{Cookies: []Cookie{{Name: ""}}},
		{UserAgent: "a\nb"},
	}
	for i, o := range bad {
		_, err := c.Convert(testCtx(t), "http://127.0.0.1:1/", o)
		assert.ErrorIs(t, err, ErrInvalidOption, "case %d: %+v", i, o)
	}
	_, err := c.ConvertHTML(testCtx(t), "<p>x</p>", PageOptions{Wait: ForVisible("#[invalid")})
	assert.ErrorIs(t, err, ErrInvalidOption)
}

func TestTwentyParallelConversions(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	ts := site(t)
	var wg sync.WaitGroup
	var failures atomic.Int32
	for i := range 20 {
		wg.Go(func() {
			pdf, err := c.Convert(testCtx(t), fmt.Sprintf("%s/page/%d", ts.URL, i), PageOptions{})
			if !assert.NoError(t, err, "conversion %d", i) {
				failures.Add(1)
				return
			}
			assert.Contains(t, pdfText(t, pdf, 0), fmt.Sprintf("Document number %d", i))
		})
	}
	wg.Wait()
	assert.Zero(t, failures.Load())
}
