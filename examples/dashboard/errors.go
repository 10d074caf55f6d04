package main

import (
	"bytes"
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/logging"
)

// Errors reach people as plain sentences: an HTML page for browsers, a
// JSON object for /api/ and scripts. The error chain goes to the log only,
// with the request id, which the page shows so a report can be matched to
// its log lines.

// apiError is the JSON body of every error answer.
type apiError struct {
	Error     string `json:"error"`   // a stable code: not_found, forbidden, internal, …
	Message   string `json:"message"` // a sentence for people
	RequestID string `json:"request_id,omitempty"`
}

// wantsJSON reports whether the client gets JSON rather than a page: the
// API, and clients that ask for JSON and not HTML.
func wantsJSON(r *http.Request) bool {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		return true
	}
	acc := r.Header.Get("Accept")
	return !strings.Contains(acc, "text/html") && (strings.Contains(acc, "application/json") || r.Method != http.MethodGet)
}

// errorPage answers status with heading and text, as JSON or as a page.
func (a *app) errorPage(c *gin.Context, status int, code, heading, text string) {
	id := logging.RequestIDFrom(c.Request.Context())
	c.Abort()
	if wantsJSON(c.Request) {
		c.JSON(status, apiError{Error: code, Message: text, RequestID: id})
		return
	}
	m := message{Heading: heading, Text: text, Link: "Go to the overview", LinkTo: "/"}
	if status >= 500 && id != "" {
		m.Hint = "Request id: " + id + " (quote it if you report the problem)."
	}
	v := view{Title: heading, Data: m}
	if u, ok := auth.UserFrom(c.Request.Context()); ok {
		v.User = &u
	}
	var buf bytes.Buffer
	if t, ok := a.pages.byName["message"]; !ok || t.ExecuteTemplate(&buf, "layout", v) != nil {
		c.Data(status, "text/plain; charset=utf-8", []byte(heading+". "+text+"\n"))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// fail logs err with the request id and answers a generic 500. When the
// client has left (its request's context ended, which is why the work
// failed) it is no error: the access log shows 499.
func (a *app) fail(c *gin.Context, err error) {
	ctx := c.Request.Context()
	if ctx.Err() != nil {
		a.log.DebugContext(ctx, "request cancelled by the client", "error", err)
		c.Status(logging.StatusClientClosedRequest)
		c.Abort()
		return
	}
	a.log.ErrorContext(ctx, "request failed", "error", err)
	a.errorPage(c, http.StatusInternalServerError, "internal", "Something went wrong",
		"The server could not finish this request. The details are in its log.")
}

// notFound answers 404 for paths without a route.
func (a *app) notFound(c *gin.Context) {
	a.errorPage(c, http.StatusNotFound, "not_found", "Page not found", "There is no page at "+c.Request.URL.Path+".")
}

// methodNotAllowed answers 405 for a known path asked with another method.
func (a *app) methodNotAllowed(c *gin.Context) {
	a.errorPage(c, http.StatusMethodNotAllowed, "method_not_allowed", "Not allowed",
		c.Request.Method+" is not allowed at "+c.Request.URL.Path+".")
}

// requireRole lets users with role through, by auth.RequireRole's rule.
// Anonymous browsers are sent to the login page and anonymous scripts get
// 401; a logged-in user without the role gets a 403 page (JSON for the
// API) instead of auth's bare JSON.
func (a *app) requireRole(role auth.Role) gin.HandlerFunc {
	check := auth.RequireRole(role)
	return func(c *gin.Context) {
		passed := false
		var rec statusRecorder
		check(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { passed = true })).ServeHTTP(&rec, c.Request)
		switch {
		case passed:
			c.Next()
		case rec.status == http.StatusUnauthorized && strings.Contains(c.GetHeader("Accept"), "text/html"):
			a.requireLogin(c) // a browser: to the login page
		case rec.status == http.StatusUnauthorized:
			c.Abort()
			auth.WriteError(c.Writer, auth.ErrUnauthenticated)
		default:
			u, _ := auth.UserFrom(c.Request.Context())
			a.log.InfoContext(c.Request.Context(), "forbidden", "needs_role", string(role))
			a.errorPage(c, http.StatusForbidden, "forbidden", "Not for your account",
				"This page is for administrators, and your account ("+u.Username+") is not one.")
		}
	}
}

// statusRecorder keeps the status a middleware answered with and drops
// its body.
type statusRecorder struct {
	h      http.Header
	status int
}

func (r *statusRecorder) Header() http.Header {
	if r.h == nil {
		r.h = http.Header{}
	}
	return r.h
}

func (r *statusRecorder) WriteHeader(status int) {
	if r.status == 0 {
		r.status = status
	}
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	r.WriteHeader(http.StatusOK)
	return len(b), nil
}
