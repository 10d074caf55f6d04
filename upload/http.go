package upload

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// retryAfterSeconds is the Retry-After of a 503 answer.
const retryAfterSeconds = 5

// Handler returns the HTTP API, to be mounted at Options.BasePath
// (default "/uploads"); every request is authorized first:
//
//	POST   /uploads                  multipart/form-data → 202 {"uploads": [...]}
//	GET    /uploads?limit=&before=   list, newest first → {"uploads": [...], "next": "id"}
//	GET    /uploads/{id}             status
//	GET    /uploads/{id}/events      status as server-sent events until the job ends
//	GET    /uploads/{id}/content     the stored file, as an attachment
//	POST   /uploads/{id}/cancel      cancel the job
//	DELETE /uploads/{id}             delete a finished upload
//	       /uploads/tus/…            tus 1.0 resumable uploads
//
// Errors are JSON {"error": "..."} with status 400, 401, 403, 404, 405, 408,
// 409, 410, 413, 415, 460 or 503 (with Retry-After).
func (m *Manager) Handler() http.Handler { return http.HandlerFunc(m.serve) }

func (m *Manager) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, strings.TrimSuffix(m.opts.BasePath, "/"))
	if !ok || rest != "" && rest[0] != '/' {
		writeError(w, fmt.Errorf("%w: no such endpoint", ErrNotFound))
		return
	}
	p, err := m.opts.Authorize(r)
	if err != nil {
		if !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrForbidden) {
			err = fmt.Errorf("%w: %w", ErrForbidden, err)
		}
		m.audit(r.Context(), "upload.denied", Principal{}, Upload{}, "denied",
			slog.String("method", r.Method), slog.String("path", r.URL.Path), slog.Int("status", StatusOf(err)))
		writeError(w, err)
		return
	}
	seg := strings.Split(strings.Trim(rest, "/"), "/")
	if seg[0] == "tus" {
		m.serveTus(w, r, p, seg[1:])
		return
	}
	m.route(w, r, p, seg)
}

func (m *Manager) route(w http.ResponseWriter, r *http.Request, p Principal, seg []string) {
	switch {
	case len(seg) == 1 && seg[0] == "":
		switch r.Method {
		case http.MethodPost:
			m.handleIntake(w, r, p)
		case http.MethodGet, http.MethodHead:
			m.handleList(w, r)
		default:
			methodNotAllowed(w, "GET, HEAD, POST")
		}
	case len(seg) == 1:
		switch r.Method {
		case http.MethodGet, http.MethodHead:
			m.handleStatus(w, r, seg[0])
		case http.MethodDelete:
			m.handleDelete(w, r, p, seg[0])
		default:
			methodNotAllowed(w, "GET, HEAD, DELETE")
		}
	case len(seg) == 2 && seg[1] == "events" && (r.Method == http.MethodGet):
		m.handleEvents(w, r, seg[0])
	case len(seg) == 2 && seg[1] == "content" && (r.Method == http.MethodGet || r.Method == http.MethodHead):
		m.handleContent(w, r, seg[0])
	case len(seg) == 2 && seg[1] == "cancel" && r.Method == http.MethodPost:
		u, err := m.Cancel(r.Context(), p, seg[0])
		if err != nil {
			writeError(w, err)
			return
		}
		writeJSON(w, http.StatusAccepted, u)
	case len(seg) == 2 && (seg[1] == "events" || seg[1] == "content" || seg[1] == "cancel"):
		methodNotAllowed(w, map[string]string{"events": "GET", "content": "GET, HEAD", "cancel": "POST"}[seg[1]])
	default:
		writeError(w, fmt.Errorf("%w: no such endpoint", ErrNotFound))
	}
}

func (m *Manager) handleList(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit := 50
	if s := q.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			writeError(w, fmt.Errorf("%w: limit must be 1–1000", ErrBadRequest))
			return
		}
		limit = n
	}
	ups, err := m.List(r.Context(), ListOptions{Limit: limit + 1, Before: q.Get("before")})
	if err != nil {
		if errors.Is(err, ErrNotFound) {
			err = fmt.Errorf("%w: unknown cursor", ErrBadRequest)
		}
		m.writeErrorLogged(w, r, err)
		return
	}
	body := map[string]any{"uploads": ups}
	if len(ups) > limit {
		body["uploads"] = ups[:limit]
		body["next"] = ups[limit-1].ID
	}
	writeJSON(w, http.StatusOK, body)
}

func (m *Manager) handleStatus(w http.ResponseWriter, r *http.Request, id string) {
	u, err := m.Get(r.Context(), id)
	if err != nil {
		m.writeErrorLogged(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, u)
}

func (m *Manager) handleDelete(w http.ResponseWriter, r *http.Request, p Principal, id string) {
	if err := m.Delete(r.Context(), p, id); err != nil {
		m.writeErrorLogged(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (m *Manager) handleContent(w http.ResponseWriter, r *http.Request, id string) {
	u, f, err := m.Open(r.Context(), id)
	if err != nil {
		m.writeErrorLogged(w, r, err)
		return
	}
	defer f.Close()
	h := w.Header()
	h.Set("Content-Type", u.Type)
	h.Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": u.Name}))
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Content-Security-Policy", "default-src 'none'; sandbox")
	h.Set("Cache-Control", "private, no-store")
	http.ServeContent(w, r, "", u.Created, f)
}

// handleEvents streams the job's status as server-sent events ("status"
// events with the upload JSON) until the job ends or the client leaves.
func (m *Manager) handleEvents(w http.ResponseWriter, r *http.Request, id string) {
	fl, ok := w.(http.Flusher)
	if !ok {
		writeError(w, errors.New("streaming unsupported"))
		return
	}
	ch, err := m.Watch(r.Context(), id)
	if err != nil {
		m.writeErrorLogged(w, r, err)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fl.Flush()
	beat := time.NewTicker(15 * time.Second)
	defer beat.Stop()
	for {
		select {
		case u, ok := <-ch:
			if !ok {
				return
			}
			b, _ := json.Marshal(u)
			if _, err := fmt.Fprintf(w, "event: status\nid: %d\ndata: %s\n\n", u.Updated.UnixNano(), b); err != nil {
				return
			}
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": keep-alive\n\n"); err != nil {
				return
			}
		}
		fl.Flush()
	}
}

func methodNotAllowed(w http.ResponseWriter, allow string) {
	w.Header().Set("Allow", allow)
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// publicMessage is what a client may see of err: the text of this
// package's own 4xx errors, and "internal error" for anything else.
func publicMessage(err error) string {
	if errors.Is(err, ErrUnavailable) { // not the storage's own error
		return strings.TrimPrefix(ErrUnavailable.Error(), "upload: ")
	}
	if StatusOf(err) >= 500 && !errors.Is(err, ErrQueueFull) && !errors.Is(err, ErrClosed) {
		return "internal error"
	}
	return strings.ReplaceAll(err.Error(), "upload: ", "")
}

// writeError answers err as JSON with its status.
func writeError(w http.ResponseWriter, err error) {
	status := StatusOf(err)
	if status == http.StatusServiceUnavailable {
		w.Header().Set("Retry-After", strconv.Itoa(retryAfterSeconds))
	}
	if status == http.StatusRequestEntityTooLarge || status == http.StatusBadRequest || status == http.StatusRequestTimeout {
		w.Header().Set("Connection", "close") // the rest of the body is not read
	}
	writeJSON(w, status, map[string]string{"error": publicMessage(err)})
}

func (m *Manager) writeErrorLogged(w http.ResponseWriter, r *http.Request, err error) {
	if StatusOf(err) >= 500 && !errors.Is(err, ErrQueueFull) && !errors.Is(err, ErrClosed) {
		m.opts.Logger.ErrorContext(r.Context(), "upload: request failed", slog.String("path", r.URL.Path), slog.Any("error", err))
	}
	writeError(w, err)
}
