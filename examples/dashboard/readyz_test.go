package main

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReadyzReportsEachDependency: /readyz answers 200 with the database
// ok, and 503 naming the database once it is down (here: closed), without
// the error itself.
func TestReadyzReportsEachDependency(t *testing.T) {
	e := newTestEnv(t)
	anon := e.client(t)
	status, body, _ := e.get(t, anon, "/readyz")
	require.Equal(t, http.StatusOK, status, body)
	var got struct {
		Status string            `json:"status"`
		Checks map[string]string `json:"checks"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, "ok", got.Status)
	assert.Equal(t, map[string]string{"database": "ok"}, got.Checks, "no object storage configured")

	require.NoError(t, e.app.db.Close())
	status, body, _ = e.get(t, anon, "/readyz")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	require.NoError(t, json.Unmarshal([]byte(body), &got))
	assert.Equal(t, "unavailable", got.Status)
	assert.Equal(t, "unavailable", got.Checks["database"])
	assert.NotContains(t, body, "closed", "the cause is logged, not shown")
}

// TestDatabaseDownAnswers503: with the database down, a request that
// fails for it answers 503 with Retry-After and a plain message (JSON for
// the API), not a 500.
func TestDatabaseDownAnswers503(t *testing.T) {
	e := newTestEnv(t)
	user := e.user(t, "outage", "")
	status, _, _ := e.get(t, user, "/api/portfolio")
	require.Equal(t, http.StatusOK, status)
	require.NoError(t, e.app.db.Close())
	for _, path := range []string{"/api/portfolio", "/portfolio"} {
		status, body, h := e.get(t, user, path)
		assert.Equal(t, http.StatusServiceUnavailable, status, path)
		assert.Equal(t, "5", h.Get("Retry-After"), path)
		assert.Contains(t, body, "database is unavailable", path)
		assert.NotContains(t, body, "sql", path)
	}
}
