package logging

import (
	"context"
	"crypto/rand"
	"log/slog"
	"slices"
	"sync/atomic"
)

// RequestIDKey is the attribute key of the request id in log records.
const RequestIDKey = "request_id"

type (
	attrsKey     struct{}
	requestIDKey struct{}
)

// WithAttrs returns a copy of ctx carrying attrs in addition to the
// attributes already stored in ctx; an attribute with the same key as an
// earlier one replaces it. A Handler created with ContextAttrs (as New does)
// adds them to every record logged with the returned context, for example
// the request id, the user id or the route. From the second record logged
// with the context, each logger reuses a handler with the attributes
// already formatted, kept in the context.
func WithAttrs(ctx context.Context, attrs ...slog.Attr) context.Context {
	if ctx == nil {
		ctx = context.Background()
	}
	if len(attrs) == 0 {
		return ctx
	}
	old := attrsFrom(ctx)
	merged := make([]slog.Attr, 0, len(old)+len(attrs))
	for _, a := range old {
		if !hasKey(attrs, a.Key) {
			merged = append(merged, a)
		}
	}
	for i, a := range attrs {
		if !hasKey(attrs[i+1:], a.Key) {
			merged = append(merged, a)
		}
	}
	return context.WithValue(ctx, attrsKey{}, &ctxAttrs{attrs: merged})
}

func hasKey(attrs []slog.Attr, key string) bool {
	for _, a := range attrs {
		if a.Key == key {
			return true
		}
	}
	return false
}

// ctxAttrs is what WithAttrs stores in a context: the attributes, and a
// small cache of handlers with the attributes already attached.
//
// The first record logged with the context adds the attributes to the
// record (cheap for a context that logs once). From the second record on,
// each Handler logs through inner.WithAttrs(attrs), built once per Handler
// and kept here, so the attributes are formatted once instead of on every
// record, and the record is not rebuilt just to carry them.
type ctxAttrs struct {
	attrs []slog.Attr
	seen  atomic.Bool
	cache atomic.Pointer[ctxCacheEntry]
}

// ctxCacheEntry is an immutable list node of the handler cache.
type ctxCacheEntry struct {
	owner *Handler
	h     slog.Handler
	next  *ctxCacheEntry
	n     int // length of the list starting here
}

// ctxCacheSize bounds the handlers cached per context (a request usually
// logs through one or two loggers).
const ctxCacheSize = 4

// handlerFor returns owner's inner handler with the context attributes
// attached, building and caching it on a miss.
func (c *ctxAttrs) handlerFor(owner *Handler) slog.Handler {
	head := c.cache.Load()
	for e := head; e != nil; e = e.next {
		if e.owner == owner {
			return e.h
		}
	}
	attrs := c.attrs
	if owner.keys != nil && slices.ContainsFunc(attrs, func(a slog.Attr) bool { return owner.keys.needsChange(a, owner.redactAll) }) {
		red := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			red[i], _ = owner.keys.redact(a, owner.redactAll)
		}
		attrs = red
	}
	e := &ctxCacheEntry{owner: owner, h: owner.inner.WithAttrs(attrs), n: 1}
	if head != nil && head.n < ctxCacheSize {
		e.next, e.n = head, head.n+1
	}
	// Losing a race only means this handler is built again next time.
	c.cache.CompareAndSwap(head, e)
	return e.h
}

// attrsFrom returns the attributes stored in ctx; callers must not modify
// the slice.
func attrsFrom(ctx context.Context) []slog.Attr {
	if c, ok := ctx.Value(attrsKey{}).(*ctxAttrs); ok {
		return c.attrs
	}
	return nil
}

// ContextAttrs returns a copy of the attributes stored in ctx with WithAttrs.
func ContextAttrs(ctx context.Context) []slog.Attr {
	if ctx == nil {
		return nil
	}
	return append([]slog.Attr(nil), attrsFrom(ctx)...)
}

// WithRequestID returns a copy of ctx carrying the request id id, both for
// RequestIDFrom and as the request_id log attribute. Use it for work that
// does not come through the HTTP middleware, such as background jobs.
func WithRequestID(ctx context.Context, id string) context.Context {
	ctx = WithAttrs(ctx, slog.String(RequestIDKey, id))
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id stored in ctx by the middleware or
// WithRequestID, or "" if there is none.
func RequestIDFrom(ctx context.Context) string {
	if ctx == nil {
		return ""
	}
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// NewRequestID returns a new random request id: 26 characters of
// [A-Z2-7] carrying 128 bits from crypto/rand.
func NewRequestID() string {
	return rand.Text()
}

// ValidRequestID reports whether id is acceptable as a request id taken from
// a client: 1 to 64 characters of [A-Za-z0-9._-].
func ValidRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}
