package main

import (
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
// gzip and reads the body decoded, as hey does; with -plain it asks for
// nothing and the server answers uncompressed.
func TestClientAcceptsGzipUnlessPlain(t *testing.T) {
	const page = "<p>portfolio</p>"
	var asked []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		asked = append(asked, r.Header.Get("Accept-Encoding"))
		if !strings.Contains(r.Header.Get("Accept-Encoding"), "gzip") {
			_, _ = io.WriteString(w, page)
			return
		}
		w.Header().Set("Content-Encoding", "gzip")
		zw := gzip.NewWriter(w)
		_, _ = io.WriteString(zw, page)
		require.NoError(t, zw.Close())
	}))
	defer srv.Close()
	for _, plain := range []bool{false, true} {
		c := newClient(1, plain)
		status, gzipped := do(context.Background(), c, srv.URL, target{path: "/portfolio"})
		assert.Equal(t, http.StatusOK, status)
		assert.Equal(t, !plain, gzipped, "plain %v", plain)
		c.CloseIdleConnections()
	}
	assert.Equal(t, []string{"gzip", ""}, asked)
}
