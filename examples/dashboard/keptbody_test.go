package main

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// gunzip decompresses b, failing the test if it is no gzip stream.
func gunzip(t *testing.T, b []byte) []byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(b))
	require.NoError(t, err)
	out, err := io.ReadAll(zr)
	require.NoError(t, err)
	return out
}

// serveKept answers one request for k with the Accept-Encoding field
// lines accept, and returns the response as sent.
func serveKept(t *testing.T, k *keptBody, method string, accept ...string) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, "/kept", nil)
	for _, a := range accept {
		req.Header.Add("Accept-Encoding", a)
	}
	w := httptest.NewRecorder()
	k.serve(w, req, http.StatusOK)
	return w.Result()
}

// TestKeptBodyServesGzipToWhoAcceptsIt: a request accepting gzip gets
// the compressed copy, which decompresses byte for byte to the body;
// one refusing it (q=0), naming only other codings or sending no
// Accept-Encoding gets the body as it is. Both carry Vary:
// Accept-Encoding and the Content-Length of what is sent; HEAD gets the
// same header and no body.
func TestKeptBodyServesGzipToWhoAcceptsIt(t *testing.T) {
	plain := []byte(strings.Repeat("<tr><td>AAPL</td><td>1,234.56 USD</td></tr>\n", 1500))
	k := newKeptBody("text/html; charset=utf-8", plain, true)
	for _, tc := range []struct {
		accept []string
		gzip   bool
	}{
		{nil, false},
		{[]string{"gzip"}, true},
		{[]string{"gzip, deflate, br, zstd"}, true},
		{[]string{"br", "gzip;q=0.5"}, true}, // two field lines
		{[]string{"*"}, true},
		{[]string{"gzip;q=0"}, false},
		{[]string{"gzip;q=0.000, br"}, false},
		{[]string{"identity"}, false},
		{[]string{"br, deflate"}, false},
		{[]string{"*;q=0"}, false},
		{[]string{"gzip;q=abc"}, false},
	} {
		for _, method := range []string{http.MethodGet, http.MethodHead} {
			resp := serveKept(t, k, method, tc.accept...)
			name := method + " " + strings.Join(tc.accept, " | ")
			body, err := io.ReadAll(resp.Body)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.StatusCode, name)
			assert.Equal(t, "text/html; charset=utf-8", resp.Header.Get("Content-Type"), name)
			assert.Equal(t, []string{"Accept-Encoding"}, resp.Header.Values("Vary"), name)
			sent := plain
			if tc.gzip {
				assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), name)
				sent = k.gzipped()
				require.NotNil(t, sent)
				assert.Less(t, len(sent), len(plain)/4, "compressed")
				assert.Equal(t, plain, gunzip(t, sent), "the copy is the body")
			} else {
				assert.Empty(t, resp.Header.Get("Content-Encoding"), name)
			}
			assert.Equal(t, strconv.Itoa(len(sent)), resp.Header.Get("Content-Length"), name)
			if method == http.MethodHead {
				assert.Empty(t, body, name)
			} else {
				assert.Equal(t, sent, body, name)
			}
		}
	}
}

// TestKeptBodyTooSmallToCompress: a body whose gzip form would be no
// smaller is sent as it is, also to a client accepting gzip, still with
// Vary.
func TestKeptBodyTooSmallToCompress(t *testing.T) {
	k := newKeptBody("application/json; charset=utf-8", []byte(`{}`), true)
	resp := serveKept(t, k, http.MethodGet, "gzip")
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, `{}`, string(body))
	assert.Empty(t, resp.Header.Get("Content-Encoding"))
	assert.Equal(t, "2", resp.Header.Get("Content-Length"))
	assert.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	assert.Equal(t, int64(2), k.size(), "nothing more kept")
}

// TestKeptBodyCompressedOnceForConcurrentRequests: requests that arrive
// together before the copy exists all get the one copy (race detector),
// and size counts it once.
func TestKeptBodyCompressedOnceForConcurrentRequests(t *testing.T) {
	plain := []byte(strings.Repeat("1,234.56 USD ", 5000))
	k := newKeptBody("text/html; charset=utf-8", plain, true)
	assert.Equal(t, int64(len(plain)), k.size(), "no copy before a gzip request")
	var wg sync.WaitGroup
	got := make([][]byte, 16)
	for i := range got {
		wg.Go(func() {
			resp := serveKept(t, k, http.MethodGet, "gzip")
			got[i], _ = io.ReadAll(resp.Body)
		})
	}
	wg.Wait()
	gz := k.gzipped()
	for _, b := range got {
		assert.Equal(t, gz, b)
	}
	assert.Equal(t, int64(len(plain)+len(gz)), k.size(), "the copy is counted")
}

// getEncoded GETs path as c with the Accept-Encoding accept (none when
// empty; the transport adds nothing and decodes nothing) and c's
// cookies, keeps the cookies set in c's jar, checks that
// Content-Length is the length of what came, and returns the status, the
// body decoded as its Content-Encoding says, and the header.
func (e *testEnv) getEncoded(t *testing.T, c *http.Client, path, accept string) (int, string, http.Header) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.srv.URL+path, nil)
	require.NoError(t, err)
	if accept != "" {
		req.Header.Set("Accept-Encoding", accept)
	}
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := tr.RoundTrip(withCookies(t, c, req))
	require.NoError(t, err)
	defer resp.Body.Close()
	c.Jar.SetCookies(req.URL, resp.Cookies()) // a flash message is shown once
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, strconv.Itoa(len(raw)), resp.Header.Get("Content-Length"), path)
	switch ce := resp.Header.Get("Content-Encoding"); ce {
	case "":
		return resp.StatusCode, string(raw), resp.Header
	case "gzip":
		return resp.StatusCode, string(gunzip(t, raw)), resp.Header
	default:
		t.Fatalf("%s: Content-Encoding %q", path, ce)
		return 0, "", nil
	}
}

// TestCachedPagesServedGzip: the portfolio page, the home page and
// /api/portfolio go compressed to a client accepting gzip and as they
// are to one that does not (no Accept-Encoding, identity, gzip;q=0), the
// same document all ways, with Vary on each; a page with a flash message
// goes as it is. The owner's cache weighs the compressed copies too.
func TestCachedPagesServedGzip(t *testing.T) {
	e := newTestEnvWith(t, config{dataDir: t.TempDir(), gzip: true})
	c := e.user(t, "zipped", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	e.get(t, c, "/portfolio") // shows the demo's flash message
	for _, path := range []string{"/portfolio?period=1Y", "/", "/api/portfolio?base=USD"} {
		for try := 0; ; try++ {
			require.Less(t, try, 5, "%s: revalued during every try", path)
			r, _ := e.currentRender(t, "zipped")
			before := r.size()
			status, zipped, hz := e.getEncoded(t, c, path, "gzip, deflate, br")
			require.Equal(t, http.StatusOK, status, path)
			assert.Equal(t, "gzip", hz.Get("Content-Encoding"), path)
			assert.Equal(t, "Accept-Encoding", hz.Get("Vary"), path)
			grown := r.size() - before
			same := true
			for _, accept := range []string{"", "identity", "gzip;q=0"} {
				status, plain, hp := e.getEncoded(t, c, path, accept)
				require.Equal(t, http.StatusOK, status, path)
				assert.Empty(t, hp.Get("Content-Encoding"), "%s %q", path, accept)
				assert.Equal(t, "Accept-Encoding", hp.Get("Vary"), path)
				same = same && plain == zipped
			}
			if now, _ := e.currentRender(t, "zipped"); !same || now != r {
				continue // revalued meanwhile: try again
			}
			assert.Greater(t, len(zipped), 1000, path)
			compressed, err := strconv.Atoi(hz.Get("Content-Length"))
			require.NoError(t, err)
			assert.Less(t, compressed, len(zipped)/2, path)
			// The body the gzip request was answered from, its copy
			// included, is weighed (made by it, or its copy was).
			assert.GreaterOrEqual(t, grown, int64(compressed), "%s: the copy is weighed", path)
			break
		}
	}

	r, u := e.currentRender(t, "zipped")
	e.app.books.mu.Lock()
	require.Len(t, e.app.books.owners, 1)
	weight, ledger := e.app.books.weightLocked(), e.app.books.owners[u.ID].weight.Load()
	e.app.books.mu.Unlock()
	assert.Equal(t, ledger+r.size()/bytesPerWeight, weight, "the cache weighs what is rendered")
	assert.Greater(t, r.size()/bytesPerWeight, int64(0))

	msg := e.importRows(t, c, "date,account,kind,amount,note\n2026-01-05,broker,deposit,1,flash\n")
	require.Contains(t, msg, "Imported 1 new")
	status, body, h := e.getEncoded(t, c, "/portfolio", "gzip")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Imported 1 new")
	assert.Empty(t, h.Get("Content-Encoding"), "a page with a flash message goes as it is")
	assert.Equal(t, "Accept-Encoding", h.Get("Vary"))
}

// TestCachedPagesPlainByDefault: without --gzip the cached pages and
// /api/portfolio go as they are, also to a client that accepts gzip, with
// no Vary, and no compressed copy is made.
func TestCachedPagesPlainByDefault(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "plain", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	e.get(t, c, "/portfolio") // shows the demo's flash message
	for _, path := range []string{"/portfolio", "/", "/api/portfolio"} {
		for range 2 { // the first makes the kept body, the second is served from it
			status, body, h := e.getEncoded(t, c, path, "gzip, deflate, br")
			require.Equal(t, http.StatusOK, status, path)
			assert.Empty(t, h.Get("Content-Encoding"), path)
			assert.Empty(t, h.Get("Vary"), path)
			assert.Equal(t, strconv.Itoa(len(body)), h.Get("Content-Length"), path)
		}
	}
	r, _ := e.currentRender(t, "plain")
	assert.Equal(t, int64(len(r.json.plain)), r.json.size(), "no compressed copy of the JSON")
}
