package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestClientAcceptsGzipUnlessPlain: the load generator's client asks for
// gzip and reads the body decoded, as hey does; with -raw it asks for gzip
// and reads the body as sent; with -plain it asks for nothing and the
// server answers uncompressed.
func TestClientAcceptsGzipUnlessPlain(t *testing.T) {
	const page = "<p>portfolio</p>"
	var asked []string
	var zipped []byte
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Header.Get("Accept-Encoding"))
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(w, page)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		var b bytes.Buffer
		zw := gzip.NewWriter(&b)
		_, _ = io.WriteString(zw, page)
		require.NoError(t, zw.Close())
		zipped = b.Bytes()
		_, _ = w.Write(zipped)
	}))
	defer srv.Close()
	for _, tc := range []struct {
		enc    encoding
		gzip   bool
		accept string
	}{{gzipDecoded, true, "gzip"}, {gzipRaw, true, "gzip"}, {identity, false, ""}} {
		c := newClient(1, tc.enc)
		status, gzipped := do(context.Background(), c, srv.URL, target{path: "/portfolio"})
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, tc.gzip, gzipped, "%v", tc.enc)
		assert.Equal(t, tc.accept, asked[len(asked)-1], "%v", tc.enc)
		resp, err := c.Get(srv.URL)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		resp.Body.Close()
		if tc.enc == gzipRaw {
			assert.Equal(t, zipped, body, "read as sent")
		} else {
			assert.Equal(t, page, string(body), "%v", tc.enc)
		}
		c.CloseIdleConnections()
	}
}
