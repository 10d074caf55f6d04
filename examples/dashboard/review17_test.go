package main

import (
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/finkit/finkit/auth"
)

// TestPersonalPagesNotStored: what a logged-in user is served (the
// portfolio page and JSON cached per owner, the overview, the paper page)
// carries Cache-Control: no-store, so a browser shared by two people
// keeps no copy of the first one's books to show the next after a logout
// (the back button, the history); static files stay cacheable. (No page
// said anything about caching.)
func TestPersonalPagesNotStored(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "private", auth.RoleUser)
	for _, path := range []string{"/", "/portfolio", "/api/portfolio", "/paper", "/transactions", "/account"} {
		status, _, h := e.get(t, c, path)
		assert.Equal(t, http.StatusOK, status, path)
		assert.Contains(t, h.Get("Cache-Control"), "no-store", path)
	}
	for _, path := range []string{"/static/style.css", "/favicon.ico"} {
		status, _, h := e.get(t, c, path)
		assert.Equal(t, http.StatusOK, status, path)
		assert.NotContains(t, h.Get("Cache-Control"), "no-store", path)
	}
	anon := e.client(t)
	_, _, h := e.get(t, anon, "/static/style.css")
	assert.NotContains(t, h.Get("Cache-Control"), "no-store")
}
