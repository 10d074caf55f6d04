package pdfexport

import (
	"context"
	"errors"
	"fmt"
	"net"
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

// Review tests of the scoping of PageOptions.Headers to the page's origin:
// the ways a page can make Chromium send a request elsewhere, requests in
// numbers, and headers Chromium would refuse.

// loggedServer is a server recording the secrets sent to it, serving mux.
func loggedServer(t *testing.T, mux *http.ServeMux) (*httptest.Server, *headerLog) {
	t.Helper()
	l := &headerLog{}
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		l.record(r)
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(s.Close)
	return s, l
}

func serveHTML(body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, body)
	}
}

func serveTyped(ct, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ct)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		fmt.Fprint(w, body)
	}
}

var revfixSecrets = map[string]string{"Authorization": "Bearer s3cret", "X-Api-Key": "key-42"}

const revfixWant = "Bearer s3cret|key-42"

// assertNoSecrets fails for every request of l that carried a secret.
func assertNoSecrets(t *testing.T, name string, l *headerLog) {
	t.Helper()
	for p, got := range l.snapshot() {
		for _, g := range got {
			assert.Equal(t, "|", g, "%s's %s was sent the page's headers", name, p)
		}
	}
}

// TestRevfixHeadersNeverFollowThePage: the page (on A) sends the browser
// to B in every way it can: a redirect chain A→B→A→B of the document
// and of an image, a preload, a no-cors fetch, a beacon, a form POST and
// a script navigation of the top frame, window.open, a service worker
// that fetches B. B never sees the headers; A's hops of the chains do.
func TestRevfixHeadersNeverFollowThePage(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	bMux, aMux := http.NewServeMux(), http.NewServeMux()
	b, bLog := loggedServer(t, bMux)
	a, aLog := loggedServer(t, aMux)
	hop := func(to string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) { http.Redirect(w, r, to, http.StatusFound) }
	}
	// The document: A /r1 → B /r2 → A /r3 → B /r4 → A /doc.
	aMux.HandleFunc("/r1", hop(b.URL+"/r2"))
	bMux.HandleFunc("/r2", hop(a.URL+"/r3"))
	aMux.HandleFunc("/r3", hop(b.URL+"/r4"))
	bMux.HandleFunc("/r4", hop(a.URL+"/doc"))
	// An image: A /i1 → B /i2 → A /i3 → B /i4.
	aMux.HandleFunc("/i1", hop(b.URL+"/i2"))
	bMux.HandleFunc("/i2", hop(a.URL+"/i3"))
	aMux.HandleFunc("/i3", hop(b.URL+"/i4"))
	bMux.HandleFunc("/i4", serveTyped("image/png", ""))
	aMux.HandleFunc("/doc", serveHTML(fmt.Sprintf(`<!doctype html><title>Doc</title><p>CHAIN DOC</p>
		<img src="/i1" alt="">
		<link rel="preload" as="image" href="%[1]s/preload.png">
		<link rel="prefetch" href="%[1]s/prefetch.txt">
		<script>
		fetch('%[1]s/nocors', {mode: 'no-cors', credentials: 'include'}).catch(() => {});
		navigator.sendBeacon('%[1]s/beacon', 'x');
		</script>`, b.URL)))
	for _, p := range []string{"/preload.png", "/prefetch.txt", "/nocors", "/beacon", "/popup", "/sw-fetch", "/posted", "/moved"} {
		bMux.HandleFunc(p, serveTyped("text/html", "<p>B "+strings.TrimPrefix(p, "/")+"</p>"))
	}
	// A service worker of A fetches B and A.
	aMux.HandleFunc("/sw.js", serveTyped("text/javascript", fmt.Sprintf(`
		self.addEventListener('install', e => e.waitUntil(Promise.all([fetch('%[1]s/sw-fetch'), fetch('/sw-own')]).catch(() => {})));
		self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
		self.addEventListener('fetch', e => e.respondWith(fetch(e.request)));`, b.URL)))
	aMux.HandleFunc("/sw-own", serveTyped("text/plain", "ok"))
	aMux.HandleFunc("/worker", serveHTML(`<!doctype html><title>SW</title><p>SW PAGE</p>
		<script>
		window.swDone = false;
		navigator.serviceWorker.register('/sw.js').then(r => navigator.serviceWorker.ready).then(() => { window.swDone = true; }, () => { window.swDone = true; });
		</script>`))
	// The page leaves for B: a form POST, a script navigation, a popup.
	aMux.HandleFunc("/post", serveHTML(fmt.Sprintf(`<!doctype html><form method="post" action="%s/posted"><input name="x" value="1"></form>
		<script>document.forms[0].submit()</script>`, b.URL)))
	aMux.HandleFunc("/move", serveHTML(fmt.Sprintf(`<!doctype html><script>window.open('%[1]s/popup'); location.href = '%[1]s/moved';</script>`, b.URL)))

	ctx := testCtx(t)
	pdf, err := c.Convert(ctx, a.URL+"/r1", PageOptions{Headers: revfixSecrets, Wait: ForNetworkIdle()})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "CHAIN DOC")
	pdf, err = c.Convert(ctx, a.URL+"/worker", PageOptions{Headers: revfixSecrets, Wait: ForExpression("window.swDone === true")})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "SW PAGE")
	// A page that leaves before its load event does not convert (with or
	// without headers): only where its requests went counts here.
	for _, p := range []string{"/post", "/move"} {
		_, _ = c.Convert(ctx, a.URL+p, PageOptions{Headers: revfixSecrets, Timeout: 6 * time.Second})
	}

	as, bs := aLog.snapshot(), bLog.snapshot()
	for _, p := range []string{"/r1", "/r3", "/doc", "/i1", "/i3", "/worker", "/post", "/move"} {
		if assert.NotEmpty(t, as[p], "A was never asked for %s", p) {
			for _, got := range as[p] {
				assert.Equal(t, revfixWant, got, "A's %s lacks the headers", p)
			}
		}
	}
	for _, p := range []string{"/r2", "/r4", "/i2", "/i4", "/preload.png", "/nocors", "/beacon", "/posted", "/moved"} {
		assert.NotEmpty(t, bs[p], "B was never asked for %s", p)
	}
	t.Logf("B served: %v", bs)
	assertNoSecrets(t, "B", bLog)
}

// TestRevfixHeadersWithCookies: a tab given both Headers and Cookies
// sends A both (continuing a request with headers must not drop the
// cookie Chromium adds, nor the page's own headers such as a POST's
// Content-Type).
func TestRevfixHeadersWithCookies(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	var mu sync.Mutex
	got := map[string]string{}
	a := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got[r.URL.Path] = r.Header.Get("X-Api-Key") + "|" + r.Header.Get("Cookie") + "|" + r.Header.Get("Content-Type") + "|" + r.Header.Get("X-Page")
		mu.Unlock()
		if r.URL.Path == "/" {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprint(w, `<!doctype html><p>COOKIE PAGE</p><script>window.ok = false;
				fetch('/api', {method: 'POST', headers: {'Content-Type': 'application/json', 'X-Page': 'p1'}, body: '{}'}).then(() => { window.ok = true; });</script>`)
			return
		}
		fmt.Fprint(w, "ok")
	}))
	t.Cleanup(a.Close)
	pdf, err := c.Convert(testCtx(t), a.URL+"/", PageOptions{
		Headers: map[string]string{"X-Api-Key": "key-42"},
		Cookies: []Cookie{{Name: "sid", Value: "abc"}},
		Wait:    ForExpression("window.ok === true"),
	})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "COOKIE PAGE")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "key-42|sid=abc||", got["/"])
	assert.Equal(t, "key-42|sid=abc|application/json|p1", got["/api"])
}

// TestRevfixHeadersManyRequests: a page of 300 images from its own
// origin and 300 from another converts, every own one with the headers,
// no other one with them: the tab's interception stalls and drops
// nothing.
func TestRevfixHeadersManyRequests(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	bMux, aMux := http.NewServeMux(), http.NewServeMux()
	b, bLog := loggedServer(t, bMux)
	a, aLog := loggedServer(t, aMux)
	const n = 300
	var page strings.Builder
	page.WriteString(`<!doctype html><p>MANY</p>`)
	for i := range n {
		fmt.Fprintf(&page, `<img src="/a%d.png" alt=""><img src="%s/b%d.png" alt="">`, i, b.URL, i)
	}
	aMux.HandleFunc("/", serveHTML(page.String()))
	for i := range n {
		aMux.HandleFunc(fmt.Sprintf("/a%d.png", i), serveTyped("image/png", ""))
		bMux.HandleFunc(fmt.Sprintf("/b%d.png", i), serveTyped("image/png", ""))
	}
	pdf, err := c.Convert(testCtx(t), a.URL+"/", PageOptions{Headers: revfixSecrets, Wait: ForNetworkIdle(), Timeout: 90 * time.Second})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "MANY")
	as, bs := aLog.snapshot(), bLog.snapshot()
	for i := range n {
		p := fmt.Sprintf("/a%d.png", i)
		if assert.Len(t, as[p], 1, p) {
			assert.Equal(t, revfixWant, as[p][0], p)
		}
		assert.Len(t, bs[fmt.Sprintf("/b%d.png", i)], 1)
	}
	assertNoSecrets(t, "B", bLog)
}

// TestRevfixHeadersCancelAndTimeout: a conversion with headers whose page
// never finishes loading ends at its timeout and at its caller's cancel,
// promptly, and the converter goes on converting with headers.
func TestRevfixHeadersCancelAndTimeout(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	mux := http.NewServeMux()
	a, aLog := loggedServer(t, mux)
	mux.HandleFunc("/hang", serveHTML(`<!doctype html><p>HANG</p><img src="/slow.png" alt="">`))
	mux.HandleFunc("/slow.png", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	})
	mux.HandleFunc("/ok", serveHTML(`<!doctype html><p>AFTER</p>`))

	start := time.Now()
	_, err := c.Convert(testCtx(t), a.URL+"/hang", PageOptions{Headers: revfixSecrets, Timeout: 3 * time.Second})
	require.Error(t, err)
	assert.Less(t, time.Since(start), 20*time.Second, "the timeout took too long")

	ctx, cancel := context.WithCancel(testCtx(t))
	time.AfterFunc(2*time.Second, cancel)
	start = time.Now()
	_, err = c.Convert(ctx, a.URL+"/hang", PageOptions{Headers: revfixSecrets})
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "%v", err)
	assert.Less(t, time.Since(start), 15*time.Second, "the cancel took too long")

	pdf, err := c.Convert(testCtx(t), a.URL+"/ok", PageOptions{Headers: revfixSecrets})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "AFTER")
	assert.Equal(t, []string{revfixWant}, aLog.snapshot()["/ok"])
}

// TestRevfixBadHeadersRefused: header names and values Chromium would not
// send are refused before any page loads (ErrInvalidOption), rather than
// leaving the tab's paused request waiting until the timeout.
func TestRevfixBadHeadersRefused(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	a := httptest.NewServer(serveHTML(`<p>x</p>`))
	t.Cleanup(a.Close)
	for _, h := range []map[string]string{
		{"X-Bad\r\nInjected": "1"},
		{"X-Bad": "a\r\nInjected: 1"},
		{"X-Bad": "a\nb"},
		{"X-Bad": "a\x00b"},
		{"X(Bad)": "1"},
		{"X-Bäd": "1"},
		{"X\x00Bad": "1"},
		{"X-Bad,Two": "1"},
		{"X/Bad": "1"},
		{"": "1"},
		{"Host": "evil.example"},
	} {
		start := time.Now()
		_, err := c.Convert(testCtx(t), a.URL+"/", PageOptions{Headers: h, Timeout: 20 * time.Second})
		assert.ErrorIs(t, err, ErrInvalidOption, "%q", h)
		assert.Less(t, time.Since(start), 5*time.Second, "%q", h)
	}
}

// TestRevfixHeadersToANonCanonicalHost: a page URL whose host Chromium
// writes otherwise (an IPv4 address in short or hex form, an IPv6 address
// not in its shortest form) either still gets its headers or is refused;
// the headers are never silently sent nowhere.
func TestRevfixHeadersToANonCanonicalHost(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	mux := http.NewServeMux()
	a, aLog := loggedServer(t, mux)
	mux.HandleFunc("/", serveHTML(`<!doctype html><p>HOST FORM</p>`))
	port := a.URL[strings.LastIndex(a.URL, ":")+1:]
	for _, host := range []string{"127.1", "0x7f.0.0.1", "2130706433", "127.000.000.001", "LOCALHOST"} {
		target := "http://" + host + ":" + port + "/" + strings.ReplaceAll(host, ".", "-")
		pdf, err := c.Convert(testCtx(t), target, PageOptions{Headers: revfixSecrets})
		if err != nil {
			assert.ErrorIs(t, err, ErrInvalidOption, target)
			continue
		}
		assert.Contains(t, pdfText(t, pdf, 0), "HOST FORM")
		assert.Equal(t, []string{revfixWant}, aLog.snapshot()["/"+strings.ReplaceAll(host, ".", "-")], "%s: converted without the headers", target)
	}
}

// TestRevfixCanonicalHost: IP hosts are written as Chromium (the WHATWG
// URL standard's host parser) writes them; answers from the standard's
// examples and url-setters/urltestdata cases.
func TestRevfixCanonicalHost(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"127.0.0.1", "127.0.0.1"},
		{"127.1", "127.0.0.1"},
		{"127.0.1", "127.0.0.1"},
		{"0x7f.0.0.1", "127.0.0.1"},
		{"0X7F.1", "127.0.0.1"},
		{"2130706433", "127.0.0.1"},
		{"0x7f000001", "127.0.0.1"},
		{"017700000001", "127.0.0.1"},
		{"0177.0.0.01", "127.0.0.1"},
		{"127.000.000.001", "127.0.0.1"},
		{"127.0.0.1.", "127.0.0.1"},
		{"0x", "0.0.0.0"},
		{"0", "0.0.0.0"},
		{"4294967295", "255.255.255.255"},
		{"::1", "::1"},
		{"0:0::1", "::1"},
		{"0:0:0:0:0:0:0:1", "::1"},
		{"::ffff:127.0.0.1", "::ffff:127.0.0.1"},
		{"example.com", "example.com"},
		{"localhost.", "localhost."},
		{"1.example", "1.example"},
		{"example.1a", "example.1a"},
		{"0x.example", "0x.example"},
	} {
		got, err := canonicalHost(tc.in)
		if assert.NoError(t, err, tc.in) {
			assert.Equal(t, tc.want, got, tc.in)
		}
	}
	for _, bad := range []string{"192.168.0.257", "4294967296", "256.0.0.1", "1.2.3.4.5", "1..2", "08", "0x1g.1", "example.08", "1.256.1", "1.2.65536", "fe80::1%eth0"} {
		_, err := canonicalHost(bad)
		assert.Error(t, err, bad)
	}
	// A page given in a short form gets the headers on the requests
	// Chromium writes in the long one, and only there.
	o, err := originOf("http://127.1:8080/r")
	require.NoError(t, err)
	assert.True(t, o.matches("http://127.0.0.1:8080/x"))
	assert.False(t, o.matches("http://127.0.0.2:8080/x"))
	o, err = originOf("http://[0:0::1]:8080/r")
	require.NoError(t, err)
	assert.True(t, o.matches("http://[::1]:8080/x"))
	o, err = originOf("http://[::ffff:127.0.0.1]/r")
	require.NoError(t, err)
	assert.True(t, o.matches("http://[::ffff:7f00:1]/x"))
}

// TestRevfixUnsendableHeaderFailsTheRequest: should Chromium refuse to
// continue a request with the headers (validation above keeps such
// headers out), the request is failed, not left paused: the conversion
// ends with an error at once instead of at its timeout.
func TestRevfixUnsendableHeaderFailsTheRequest(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	a := httptest.NewServer(serveHTML(`<p>x</p>`))
	t.Cleanup(a.Close)
	start := time.Now()
	var buf strings.Builder
	err := c.run(testCtx(t), &buf, a.URL+"/", PageOptions{Headers: map[string]string{"X(Bad)": "1"}, Timeout: 30 * time.Second})
	require.Error(t, err)
	assert.NotErrorIs(t, err, context.DeadlineExceeded)
	assert.Less(t, time.Since(start), 15*time.Second)
}

// TestRevfixHeadersKeepTheNetworkPolicy: with DenyPrivateNetworks, the
// tab's interception for the headers runs beside the browser-wide one of
// the policy; continuing a request with the headers must not let it past
// the policy: the page on an allow-listed host gets its headers, and its
// image, fetch and redirect into the private network are still blocked.
func TestRevfixHeadersKeepTheNetworkPolicy(t *testing.T) {
	t.Parallel()
	var secretHits atomic.Int32
	var mu sync.Mutex
	var pageGot []string
	mux := http.NewServeMux()
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1)
		fmt.Fprint(w, "secret")
	})
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "" && strings.HasPrefix(r.Host, "public.test") {
			mu.Lock()
			pageGot = append(pageGot, r.URL.Path+"="+r.Header.Get("X-Api-Key"))
			mu.Unlock()
		}
		mux.ServeHTTP(w, r)
	}))
	t.Cleanup(ts.Close)
	port := ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]
	internal := "http://127.0.0.1:" + port
	mux.HandleFunc("/page", serveHTML(fmt.Sprintf(`<p>POLICY PAGE</p><img src="%[1]s/secret"><img src="/own.png">
		<script>fetch(%[2]q).catch(() => {})</script>`, internal, internal+"/secret")))
	mux.HandleFunc("/own.png", serveTyped("image/png", ""))
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal+"/secret", http.StatusFound)
	})
	c := newConverter(t, Options{
		PoolSize:            1,
		DenyPrivateNetworks: true,
		AllowHosts:          []string{"public.test"},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			if host == "public.test" {
				address = net.JoinHostPort("127.0.0.1", p)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		DefaultTimeout: 20 * time.Second,
	})
	ctx := testCtx(t)
	h := map[string]string{"X-Api-Key": "key-42"}
	pdf, err := c.Convert(ctx, "http://public.test:"+port+"/page", PageOptions{Headers: h, Wait: ForNetworkIdle()})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "POLICY PAGE")
	_, err = c.Convert(ctx, "http://public.test:"+port+"/redirect", PageOptions{Headers: h})
	assert.ErrorIs(t, err, ErrBlockedURL, "redirect to a private address")
	_, err = c.Convert(ctx, internal+"/secret", PageOptions{Headers: h})
	assert.ErrorIs(t, err, ErrBlockedURL)
	assert.Zero(t, secretHits.Load(), "a request reached the private server")
	mu.Lock()
	defer mu.Unlock()
	assert.Subset(t, pageGot, []string{"/page=key-42", "/own.png=key-42", "/redirect=key-42"})
}
