package logging

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// RequestIDHeader is the header carrying the request id, read from requests
// and set on responses.
const RequestIDHeader = "X-Request-ID"

// StatusClientClosedRequest is the status the access log gives a request
// whose client went away (its context ended) before the handler answered,
// or while it answered with a server error: nginx's 499 "client closed
// request". A handler that notices its client left may write it itself;
// nobody is left to receive it, it is for the log.
const StatusClientClosedRequest = 499

// Middleware is the HTTP access-log middleware's configuration. Use its
// Wrap method as a func(http.Handler) http.Handler:
//
//	mux := http.NewServeMux()
//	srv.Handler = logging.Middleware{Logger: logger}.Wrap(mux)
//
// For every request it
//   - takes the X-Request-ID header if it comes from one of TrustedProxies
//     and is a sane value (ValidRequestID), otherwise generates one
//     (NewRequestID), so a client cannot choose the id that its audit
//     records carry; sets it on the response and in the request context
//     (RequestIDFrom, and the request_id log attribute);
//   - recovers panics: the panic is logged at Error with its stack and the
//     server keeps serving; if nothing was written yet the client gets a
//     plain 500 (no stack), otherwise the connection is aborted (by
//     re-panicking with http.ErrAbortHandler, which net/http handles
//     quietly) so a truncated body never looks complete;
//   - writes one access-log line "http request" with method, path, query
//     (only with LogQuery, sensitive parameters redacted), route, status,
//     bytes, duration, client_ip, user_agent, request_id and the configured
//     headers (sensitive ones redacted), each value cut at 2048 bytes
//     with a marker, at Info for 1xx-3xx, Warn for 4xx and Error for 5xx;
//     a request whose client left before it was answered (or while the
//     handler answered 5xx because its context ended) is logged at Info
//     with status 499 (StatusClientClosedRequest) and cancelled=true.
//
// The response writer it passes on keeps http.Flusher and http.Hijacker
// working and has Unwrap, so http.ResponseController, server-sent events and
// WebSocket upgrades go through it.
type Middleware struct {
	// Logger receives the access log and panic reports; nil means
	// slog.Default().
	Logger *slog.Logger
	// TrustedProxies lists the networks of reverse proxies whose
	// X-Forwarded-For, X-Request-ID and (with TrustRealIP) X-Real-IP
	// headers are believed. Without it the client IP is always the direct
	// peer and every request gets a new id.
	TrustedProxies []netip.Prefix
	// SkipPaths are URL paths (exact match, such as "/healthz") that get no
	// access-log line unless they panic.
	SkipPaths []string
	// LogQuery adds the query string to the access log. It is off by
	// default because query strings can carry secrets; values of sensitive
	// parameters are redacted either way.
	LogQuery bool
	// LogHeaders names request headers to add to the access log as the
	// group "headers". Values of sensitive headers (Authorization, Cookie,
	// X-Api-Key, …) are redacted.
	LogHeaders []string
	// RedactKeys are sensitive query parameters and headers redacted in
	// addition to DefaultRedactKeys (pass the same list as to
	// Options.RedactKeys). Parameters and headers named key, code or sig,
	// or ending in one of the default keys (X-Amz-Signature,
	// X-Amz-Credential), are redacted too.
	RedactKeys []string
	// TrustRealIP believes the X-Real-IP header of a trusted proxy that
	// sends no X-Forwarded-For. Set it only when your proxy sets X-Real-IP
	// itself, overwriting what the client sent; otherwise a client behind
	// a proxy that only forwards headers could choose its address.
	TrustRealIP bool
}

// maxAccessField bounds each request-supplied value in the access log
// (path, query, user agent, route, each logged header): a longer one is
// cut, with a marker saying how much was dropped.
const maxAccessField = 2048

// Wrap returns next wrapped with request ids, panic recovery and access
// logging. The configuration is copied: later changes to m have no effect.
// A nil next answers 404 to everything.
func (m Middleware) Wrap(next http.Handler) http.Handler {
	if next == nil {
		next = http.NotFoundHandler()
	}
	mw := &middleware{
		next:    next,
		log:     m.Logger,
		proxies: slices.Clone(m.TrustedProxies),
		query:   m.LogQuery,
		realIP:  m.TrustRealIP,
		keys:    newKeySet(append(DefaultRedactKeys(), m.RedactKeys...)),
		skip:    make(map[string]bool, len(m.SkipPaths)),
	}
	if mw.log == nil {
		mw.log = slog.Default()
	}
	for _, p := range m.SkipPaths {
		mw.skip[p] = true
	}
	for _, h := range m.LogHeaders {
		mw.headers = append(mw.headers, http.CanonicalHeaderKey(h))
	}
	return mw
}

type middleware struct {
	next    http.Handler
	log     *slog.Logger
	proxies []netip.Prefix
	skip    map[string]bool
	query   bool
	realIP  bool
	headers []string
	keys    *keySet
}

type requestStateKey struct{}

// requestState is what handlers further down can add to the access-log line.
type requestState struct {
	clientIP string // set before the handler runs, then read-only

	mu    sync.Mutex
	route string
	attrs []slog.Attr
}

// ClientIPFrom returns the client address the middleware determined for
// the current request: the direct peer, or, when the peer is one of
// Middleware.TrustedProxies, the right-most untrusted X-Forwarded-For hop
// (or X-Real-IP, with TrustRealIP). A spoofed X-Forwarded-For from an untrusted peer is
// ignored. Outside the middleware it returns "". Use it wherever the
// client address matters (throttling, audit) so every component agrees
// with the access log.
func ClientIPFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		return st.clientIP
	}
	return ""
}

// SetRoute records the route pattern of the current request for the access
// log, for routers that do not set http.Request.Pattern (with Gin:
// logging.SetRoute(c.Request.Context(), c.FullPath())). Outside the
// middleware it does nothing.
func SetRoute(ctx context.Context, route string) {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		st.mu.Lock()
		st.route = route
		st.mu.Unlock()
	}
}

// AddAccessAttrs adds attributes to the access-log line of the current
// request, such as the user id once a handler has authenticated the user.
// Outside the middleware it does nothing. To add attributes to every record
// logged during the request, use WithAttrs instead.
func AddAccessAttrs(ctx context.Context, attrs ...slog.Attr) {
	if st, ok := ctx.Value(requestStateKey{}).(*requestState); ok {
		st.mu.Lock()
		st.attrs = append(st.attrs, attrs...)
		st.mu.Unlock()
	}
}

func (m *middleware) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	id := ""
	if peer, ok := parseIP(r.RemoteAddr); ok && m.trusted(peer) {
		id = r.Header.Get(RequestIDHeader)
	}
	if !ValidRequestID(id) {
		id = NewRequestID()
	}
	w.Header().Set(RequestIDHeader, id)

	logCtx := r.Context() // the access line carries request_id explicitly
	st := &requestState{clientIP: m.clientIP(r)}
	ctx := context.WithValue(WithRequestID(logCtx, id), requestStateKey{}, st)
	r2 := r.WithContext(ctx)
	rw := &responseWriter{ResponseWriter: w}

	defer func() {
		p := recover()
		if p != nil && p != http.ErrAbortHandler {
			m.log.LogAttrs(logCtx, slog.LevelError, "http handler panic",
				slog.String("panic", fmt.Sprint(p)),
				slog.String("stack", string(debug.Stack())),
				slog.String("method", truncate(r.Method, maxAccessField)),
				slog.String("path", truncate(r.URL.Path, maxAccessField)),
				slog.String(RequestIDKey, id))
			if !rw.wroteHeader && !rw.hijacked {
				// Drop what the handler prepared for its own response
				// (Set-Cookie, Content-Encoding, Content-Disposition, …):
				// the 500 must not issue a session or be mislabelled.
				h := rw.Header()
				for k := range h {
					if k != http.CanonicalHeaderKey(RequestIDHeader) {
						delete(h, k)
					}
				}
				http.Error(rw, http.StatusText(http.StatusInternalServerError), http.StatusInternalServerError)
			} else {
				// The response has started: ending it normally would hand
				// the client a truncated body that looks complete. Abort
				// the connection instead, as net/http does for a panic,
				// without a second stack trace in the server's log.
				p = http.ErrAbortHandler
			}
		}
		if p != nil || !m.skip[r.URL.Path] {
			m.access(logCtx, r2, rw, st, id, time.Since(start), p != nil)
		}
		if p == http.ErrAbortHandler {
			panic(p)
		}
	}()
	m.next.ServeHTTP(rw, r2)
}

// access writes the access-log line.
func (m *middleware) access(ctx context.Context, r *http.Request, rw *responseWriter, st *requestState, id string, d time.Duration, panicked bool) {
	status := rw.status
	switch {
	case status == 0 && rw.hijacked:
		status = http.StatusSwitchingProtocols
	case status == 0 && panicked:
		status = http.StatusInternalServerError
	case status == 0:
		status = http.StatusOK
	}
	// A client that left before its answer was complete is not a server
	// error: the handler saw its context end and gave up. Logged as 499
	// (nginx's "client closed request") at Info, whatever the handler
	// tried to answer after it was gone.
	cancelled := !panicked && !rw.hijacked && r.Context().Err() != nil &&
		(rw.status == 0 || rw.status == StatusClientClosedRequest || rw.status >= 500)
	if cancelled {
		status = StatusClientClosedRequest
	}
	level := slog.LevelInfo
	switch {
	case cancelled:
	case status >= 500 || panicked:
		level = slog.LevelError
	case status >= 400:
		level = slog.LevelWarn
	}
	if !m.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 16)
	attrs = append(attrs,
		slog.String("method", truncate(r.Method, maxAccessField)),
		slog.String("path", truncate(r.URL.Path, maxAccessField)))
	if m.query && r.URL.RawQuery != "" {
		attrs = append(attrs, slog.String("query", truncate(m.redactQuery(r.URL.RawQuery), maxAccessField)))
	}
	// AddAccessAttrs only appends, so the attributes added so far stay as
	// they are in their array: a view capped at their count needs no copy,
	// whatever a handler's leftover goroutine appends meanwhile.
	st.mu.Lock()
	route, extra := st.route, st.attrs[:len(st.attrs):len(st.attrs)]
	st.mu.Unlock()
	if route == "" {
		route = r.Pattern // set by http.ServeMux on the request we passed on
	}
	if route != "" {
		attrs = append(attrs, slog.String("route", truncate(route, maxAccessField)))
	}
	attrs = append(attrs,
		slog.Int("status", status),
		slog.Int64("bytes", rw.bytes),
		slog.Duration("duration", d),
		slog.String("client_ip", st.clientIP),
		slog.String("user_agent", truncate(r.UserAgent(), maxAccessField)),
		slog.String(RequestIDKey, id))
	if rw.hijacked {
		attrs = append(attrs, slog.Bool("hijacked", true))
	}
	if cancelled {
		attrs = append(attrs, slog.Bool("cancelled", true))
	}
	if panicked {
		attrs = append(attrs, slog.Bool("panic", true))
	}
	if len(m.headers) > 0 {
		hs := make([]slog.Attr, 0, len(m.headers))
		for _, name := range m.headers {
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				continue
			}
			v := strings.Join(vals, ", ")
			if m.keys.params.match(name) {
				v = RedactedValue
			}
			hs = append(hs, slog.String(name, truncate(v, maxAccessField)))
		}
		attrs = append(attrs, slog.Attr{Key: "headers", Value: slog.GroupValue(hs...)})
	}
	attrs = append(attrs, extra...)
	m.log.LogAttrs(ctx, level, "http request", attrs...)
}

// redactQuery re-encodes raw (keys sorted) with the values of sensitive
// parameters replaced by RedactedValue. Unparsable parts are dropped rather
// than logged raw.
func (m *middleware) redactQuery(raw string) string {
	vals, _ := url.ParseQuery(raw)
	keys := make([]string, 0, len(vals))
	for k := range vals {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		sensitive := m.keys.params.matchParam(k)
		for _, v := range vals[k] {
			if b.Len() > 0 {
				b.WriteByte('&')
			}
			b.WriteString(url.QueryEscape(k))
			b.WriteByte('=')
			if sensitive {
				b.WriteString(RedactedValue)
			} else {
				b.WriteString(url.QueryEscape(v))
			}
		}
	}
	return b.String()
}

// clientIP returns the client address: the direct peer, unless the peer is
// a trusted proxy, in which case X-Forwarded-For is walked from the right
// past trusted proxies (the first untrusted hop is the client), falling
// back to X-Real-IP only with TrustRealIP.
func (m *middleware) clientIP(r *http.Request) string {
	peer, ok := parseIP(r.RemoteAddr)
	if !ok {
		return r.RemoteAddr
	}
	if !m.trusted(peer) {
		return peer.String()
	}
	var hops []string
	for _, v := range r.Header.Values("X-Forwarded-For") {
		hops = append(hops, strings.Split(v, ",")...)
	}
	if len(hops) > 0 {
		cur := peer
		for i := len(hops) - 1; i >= 0; i-- {
			ip, ok := parseIP(strings.TrimSpace(hops[i]))
			if !ok {
				// A hop we cannot read: the nearest trusted hop is all we know.
				return cur.String()
			}
			if !m.trusted(ip) {
				return ip.String()
			}
			cur = ip
		}
		return cur.String()
	}
	if !m.realIP {
		return peer.String()
	}
	if ip, ok := parseIP(strings.TrimSpace(r.Header.Get("X-Real-IP"))); ok {
		return ip.String()
	}
	return peer.String()
}

// truncate returns s cut to at most n bytes, on a character boundary, with
// a marker saying how many bytes were dropped.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…[" + strconv.Itoa(len(s)-n) + " bytes truncated]"
}

func (m *middleware) trusted(ip netip.Addr) bool {
	for _, p := range m.proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// parseIP parses "ip" or "ip:port" / "[ip]:port", unmapping IPv4-in-IPv6.
func parseIP(s string) (netip.Addr, bool) {
	if ip, err := netip.ParseAddr(s); err == nil {
		return ip.Unmap().WithZone(""), true
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	return netip.Addr{}, false
}

// responseWriter records the status and counts body bytes. It keeps the
// optional interfaces of the writer it wraps reachable: Flush and Hijack
// delegate through http.ResponseController, and Unwrap exposes the
// original for ResponseController's deadline and full-duplex methods.
type responseWriter struct {
	http.ResponseWriter
	status      int
	bytes       int64
	wroteHeader bool
	hijacked    bool
}

func (w *responseWriter) WriteHeader(code int) {
	if !w.wroteHeader && !w.hijacked {
		// 1xx responses other than 101 are informational: the final status
		// is still to come.
		if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
			w.ResponseWriter.WriteHeader(code)
			return
		}
		w.status = code
		w.wroteHeader = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *responseWriter) Write(b []byte) (int, error) {
	if !w.wroteHeader && !w.hijacked {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

// ReadFrom keeps the sendfile path of the underlying writer (used by
// io.Copy and http.ServeContent) while counting bytes.
func (w *responseWriter) ReadFrom(r io.Reader) (int64, error) {
	if !w.wroteHeader && !w.hijacked {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	var (
		n   int64
		err error
	)
	if rf, ok := w.ResponseWriter.(io.ReaderFrom); ok {
		n, err = rf.ReadFrom(r)
	} else {
		n, err = io.Copy(writerOnly{w.ResponseWriter}, r)
	}
	w.bytes += n
	return n, err
}

// writerOnly hides every method but Write, so io.Copy does not loop back
// into ReadFrom.
type writerOnly struct{ io.Writer }

// Flush implements http.Flusher; it does nothing if the underlying writer
// cannot flush.
func (w *responseWriter) Flush() { _ = w.FlushError() }

// FlushError flushes like Flush but reports http.ErrNotSupported (wrapped)
// when the underlying writer cannot flush; http.ResponseController uses it.
func (w *responseWriter) FlushError() error {
	if !w.wroteHeader && !w.hijacked {
		w.status = http.StatusOK
		w.wroteHeader = true
	}
	return http.NewResponseController(w.ResponseWriter).Flush()
}

// Hijack implements http.Hijacker. After a successful hijack the access log
// reports status 101 unless a status was written before, and bytes
// written to the connection are not counted.
func (w *responseWriter) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, brw, err := http.NewResponseController(w.ResponseWriter).Hijack()
	if err == nil {
		w.hijacked = true
	}
	return conn, brw, err
}

// Unwrap returns the wrapped writer, for http.ResponseController.
func (w *responseWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
