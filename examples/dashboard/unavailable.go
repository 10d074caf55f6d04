package main

import (
	"bufio"
	"context"
	"net"
	"net/http"
	"strings"
	"time"
)

// unavailableMessage is what a client sees while the database is down.
const unavailableMessage = "The database is unavailable right now; try again in a few seconds."

// dbUnavailable turns the internal-error answers of next into 503 Service
// Unavailable with Retry-After and a plain message while the database does
// not answer: a request that failed because the database is down (a
// restart, a fail-over) is not the server's bug, and a client or load
// balancer may retry it. Whether the database answers is asked only when
// a response is about to be 500, so requests that succeed cost nothing.
func (a *app) dbUnavailable(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(&unavailableWriter{ResponseWriter: w, r: r, down: a.dbDown}, r)
	})
}

// recoveryWindow is how long after a failed ping a failing request still
// counts as failed by the outage: connections broken by it fail once more
// when the database is already back.
const recoveryWindow = 10 * time.Second

// dbDown reports whether the database fails to answer a ping within a
// second, or failed one within recoveryWindow.
func (a *app) dbDown(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
	defer cancel()
	now := time.Now()
	if a.db.PingContext(ctx) != nil {
		a.dbDownAt.Store(now.UnixNano())
		return true
	}
	return now.Sub(time.Unix(0, a.dbDownAt.Load())) < recoveryWindow
}

// unavailableWriter replaces a 500 with a 503 when down says so; the
// handler's own body is then dropped.
type unavailableWriter struct {
	http.ResponseWriter
	r        *http.Request
	down     func(context.Context) bool
	wrote    bool
	replaced bool
}

func (w *unavailableWriter) WriteHeader(status int) {
	if w.wrote {
		return
	}
	w.wrote = true
	if status != http.StatusInternalServerError || !w.down(w.r.Context()) {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.replaced = true
	h := w.ResponseWriter.Header()
	h.Del("Content-Length")
	h.Set("Retry-After", "5")
	h.Set("Cache-Control", "no-store")
	body := unavailableMessage + "\n"
	if strings.HasPrefix(w.r.URL.Path, "/api/") || strings.Contains(w.r.Header.Get("Accept"), "application/json") {
		h.Set("Content-Type", "application/json")
		body = `{"error":"unavailable","message":"` + unavailableMessage + `"}` + "\n"
	} else {
		h.Set("Content-Type", "text/plain; charset=utf-8")
	}
	w.ResponseWriter.WriteHeader(http.StatusServiceUnavailable)
	_, _ = w.ResponseWriter.Write([]byte(body))
}

func (w *unavailableWriter) Write(p []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.replaced {
		return len(p), nil
	}
	return w.ResponseWriter.Write(p)
}

// Unwrap lets http.ResponseController reach the underlying writer
// (flushes of the event streams).
func (w *unavailableWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Flush passes a flush on (the quote and upload event streams need it
// through gin's writer, which asks for http.Flusher).
func (w *unavailableWriter) Flush() {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	_ = http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack passes the connection on (the chat relay's WebSocket upgrade).
func (w *unavailableWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	return http.NewResponseController(w.ResponseWriter).Hijack()
}
