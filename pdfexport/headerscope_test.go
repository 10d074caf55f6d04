package pdfexport

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// headerLog records, per path, the secret headers a server was sent.
type headerLog struct {
	mu   sync.Mutex
	seen map[string][]string // path -> "Authorization|X-Api-Key" of each request
}

func (l *headerLog) record(r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen = map[string][]string{}
	}
	l.seen[r.URL.Path] = append(l.seen[r.URL.Path], r.Header.Get("Authorization")+"|"+r.Header.Get("X-Api-Key"))
}

func (l *headerLog) snapshot() map[string][]string {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := map[string][]string{}
	for k, v := range l.seen {
		out[k] = append([]string(nil), v...)
	}
	return out
}

// headerSites starts the page's server A and a third-party server B. A's
// pages pull scripts, styles, a font, an image, a fetch and an iframe
// from B, and redirect to B; B's own iframe comes back to A.
func headerSites(t *testing.T) (a, b *httptest.Server, aLog, bLog *headerLog) {
	t.Helper()
	aLog, bLog = &headerLog{}, &headerLog{}
	bMux := http.NewServeMux()
	b = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		bLog.record(r)
		bMux.ServeHTTP(w, r)
	}))
	t.Cleanup(b.Close)
	aMux := http.NewServeMux()
	a = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		aLog.record(r)
		aMux.ServeHTTP(w, r)
	}))
	t.Cleanup(a.Close)

	html := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			w.Header().Set("Access-Control-Allow-Origin", "*")
			fmt.Fprint(w, body)
		}
	}
	typed := func(ct, body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Header().Set("Access-Control-Allow-Origin", "*")
			fmt.Fprint(w, body)
		}
	}
	aMux.HandleFunc("/report", html(fmt.Sprintf(`<!doctype html><title>Report</title>
		<link rel="stylesheet" href="%[1]s/style.css">
		<script src="%[1]s/lib.js"></script>
		<p>REPORT PAGE</p>
		<img src="/own.png" alt=""><img src="%[1]s/pixel.png" alt=""><img src="/to-b.png" alt="">
		<iframe src="%[1]s/frame"></iframe><iframe src="/inner"></iframe>
		<script>fetch('%[1]s/api').catch(() => {}); fetch('/own-api').catch(() => {});</script>`, b.URL)))
	aMux.HandleFunc("/inner", html(fmt.Sprintf(`<img src="%s/inner-pixel.png" alt="">`, b.URL)))
	aMux.HandleFunc("/own.png", typed("image/png", ""))
	aMux.HandleFunc("/own-api", typed("text/plain", "ok"))
	aMux.HandleFunc("/back.png", typed("image/png", ""))
	aMux.HandleFunc("/to-b.png", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/redirected.png", http.StatusFound)
	})
	aMux.HandleFunc("/go", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, b.URL+"/landing", http.StatusFound)
	})
	bMux.HandleFunc("/style.css", typed("text/css", fmt.Sprintf(`@font-face { font-family: F; src: url(%s/font.woff2) }
		p { font-family: F, sans-serif }`, b.URL)))
	bMux.HandleFunc("/lib.js", typed("text/javascript", "window.libLoaded = true;"))
	bMux.HandleFunc("/frame", html(fmt.Sprintf(`<p>B FRAME</p><img src="%s/back.png" alt="">`, a.URL)))
	bMux.HandleFunc("/landing", html(`<p>B LANDING</p><img src="/landing-pixel.png" alt="">`))
	for _, p := range []string{"/pixel.png", "/inner-pixel.png", "/redirected.png", "/landing-pixel.png", "/font.woff2", "/api"} {
		bMux.HandleFunc(p, typed("application/octet-stream", ""))
	}
	return a, b, aLog, bLog
}

// TestHeadersOnlyToThePagesOrigin: PageOptions.Headers given for a page
// are sent to the page's origin only. A third-party host the page pulls
// scripts, styles, fonts, images, fetches and frames from never sees
// them, nor does the host a redirect leads to; the page's own
// sub-resources (and its own frames) still get them. With and without the
// private-network policy, whose browser-wide interception runs beside the
// tab's.
func TestHeadersOnlyToThePagesOrigin(t *testing.T) {
	t.Parallel()
	convs := map[string]*Converter{
		"open":         sharedConverter(t),
		"deny-private": newConverter(t, Options{PoolSize: 1, DenyPrivateNetworks: true, AllowHosts: []string{"127.0.0.1"}}),
	}
	const want = "Bearer s3cret|key-42"
	headers := map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "key-42"}
	for name, c := range convs {
		t.Run(name, func(t *testing.T) {
			a, _, aLog, bLog := headerSites(t)
			pdf, err := c.Convert(testCtx(t), a.URL+"/report", PageOptions{Headers: headers, Wait: ForNetworkIdle()})
			require.NoError(t, err)
			assert.Contains(t, pdfText(t, pdf, 0), "REPORT PAGE")

			pdf, err = c.Convert(testCtx(t), a.URL+"/go", PageOptions{Headers: headers, Wait: ForNetworkIdle()})
			require.NoError(t, err)
			assert.Contains(t, pdfText(t, pdf, 0), "B LANDING")

			as, bs := aLog.snapshot(), bLog.snapshot()
			for _, p := range []string{"/report", "/own.png", "/own-api", "/to-b.png", "/go", "/inner"} {
				if assert.NotEmpty(t, as[p], "A was never asked for %s", p) {
					for _, got := range as[p] {
						assert.Equal(t, want, got, "A's %s lacks the headers", p)
					}
				}
			}
			// The test is not vacuous: B served all of this.
			for _, p := range []string{"/style.css", "/lib.js", "/font.woff2", "/pixel.png", "/api", "/frame", "/inner-pixel.png", "/redirected.png", "/landing", "/landing-pixel.png"} {
				assert.NotEmpty(t, bs[p], "B was never asked for %s", p)
			}
			for p, got := range bs {
				for _, g := range got {
					assert.Equal(t, "|", g, "B's %s was sent the page's headers", p)
				}
			}
		})
	}
}

// TestHeadersNeedAURL: ConvertHTML's document has no origin on the
// network, so headers for it are refused rather than sent nowhere (or
// everywhere).
func TestHeadersNeedAURL(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	_, err := c.ConvertHTML(testCtx(t), "<p>x</p>", PageOptions{Headers: map[string]string{"Authorization": "Bearer x"}})
	require.ErrorIs(t, err, ErrInvalidOption)
	// Chromium asks for an international host in its ASCII form, which
	// the headers' origin would never match: refused, not sent nowhere.
	_, err = c.Convert(testCtx(t), "https://bücher.example/report", PageOptions{Headers: map[string]string{"Authorization": "Bearer x"}})
	require.ErrorIs(t, err, ErrInvalidOption)
	assert.Contains(t, err.Error(), "punycode")
}

func TestSameOrigin(t *testing.T) {
	for _, tc := range []struct {
		page, req string
		same      bool
	}{
		{"https://bank.example/report", "https://bank.example/img.png", true},
		{"https://bank.example/report", "https://BANK.example:443/x", true},
		{"http://bank.example:80/report", "http://bank.example/x", true},
		{"http://127.0.0.1:8080/r", "http://127.0.0.1:8080/x?y#z", true},
		{"http://[::1]:8080/r", "http://[::1]:8080/x", true},
		{"https://bank.example/report", "http://bank.example/x", false},
		{"https://bank.example/report", "https://bank.example:8443/x", false},
		{"http://127.0.0.1:8080/r", "http://127.0.0.1:8081/x", false},
		{"https://bank.example/report", "https://cdn.bank.example/x", false},
		{"https://bank.example/report", "https://bank.example.evil.example/x", false},
		{"https://bank.example/report", "https://evil.example/?u=https://bank.example/", false},
		{"https://bank.example/report", "https://u@evil.example/", false},
		{"https://bank.example/report", "wss://bank.example/", false},
		{"https://bank.example/report", "data:text/plain,x", false},
		{"https://bank.example/report", "blob:https://bank.example/1", false},
		{"https://bank.example/report", "", false},
		{"https://bank.example/report", "://", false},
		{"https://bank.example/report", "https://bank.example:0443/x", true},
		{"https://bank.example/report", "https://bank.example:99999/x", false},
	} {
		o, err := originOf(tc.page)
		require.NoError(t, err, tc.page)
		assert.Equal(t, tc.same, o.matches(tc.req), "%s vs %s", tc.page, tc.req)
	}
}
