package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHealthzAndIndex(t *testing.T) {
	a, err := newApp(context.Background(), config{dataDir: t.TempDir()}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	require.NoError(t, err)
	defer a.Close()
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()

	for _, tc := range []struct{ path, want string }{{"/healthz", "ok"}, {"/", "portfolio"}} {
		resp, err := http.Get(srv.URL + tc.path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, tc.path)
		assert.Contains(t, string(body), tc.want, tc.path)
	}
}
