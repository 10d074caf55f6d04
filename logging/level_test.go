package logging

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLevelHandler(t *testing.T) {
	lv := new(slog.LevelVar)
	l, buf := newTestLogger(t, Options{Level: "info", LevelVar: lv})
	srv := httptest.NewServer(LevelHandler(lv))
	defer srv.Close()

	do := func(method, body string) (int, map[string]string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL, strings.NewReader(body))
		require.NoError(t, err)
		resp, err := srv.Client().Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var m map[string]string
		if method != http.MethodHead {
			require.NoError(t, json.Unmarshal(data, &m), string(data))
			assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, m
	}

	code, m := do(http.MethodGet, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "info", m["level"])

	code, m = do(http.MethodPut, `{"level":"DEBUG"}`)
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, "debug", m["level"])
	assert.Equal(t, slog.LevelDebug, lv.Level())
	l.Debug("now visible")
	assert.Contains(t, buf.String(), "now visible")

	bad := []struct{ name, body string }{
		{"not json", `level=warn`},
		{"unknown level", `{"level":"loud"}`},
		{"missing level", `{}`},
		{"null level", `{"level":null}`},
		{"unknown field", `{"level":"warn","extra":1}`},
		{"trailing data", `{"level":"warn"} {"level":"error"}`},
		{"wrong type", `{"level":3}`},
		{"empty", ``},
		{"too large", `{"level":"warn","pad":"` + strings.Repeat("x", 2000) + `"}`},
	}
	for _, b := range bad {
		t.Run(b.name, func(t *testing.T) {
			code, m := do(http.MethodPut, b.body)
			assert.Equal(t, http.StatusBadRequest, code)
			assert.NotEmpty(t, m["error"])
			assert.Equal(t, slog.LevelDebug, lv.Level(), "level unchanged")
		})
	}
	_, m = do(http.MethodPut, `{"level":"loud"}`)
	assert.Contains(t, m["error"], `"loud"`)

	code, _ = do(http.MethodPost, `{"level":"warn"}`)
	assert.Equal(t, http.StatusMethodNotAllowed, code)
	code, _ = do(http.MethodHead, "")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, slog.LevelDebug, lv.Level())

	rec := httptest.NewRecorder()
	LevelHandler(nil).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
}
