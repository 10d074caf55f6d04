package logging

import (
	"context"
	"crypto/rand"
	"log/slog"
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
// the request id, the user id or the route.
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
	return context.WithValue(ctx, attrsKey{}, merged)
}

func hasKey(attrs []slog.Attr, key string) bool {
	for _, a := range attrs {
		if a.Key == key {
			return true
		}
	}
	return false
}

// attrsFrom returns the attributes stored in ctx; callers must not modify
// the slice.
func attrsFrom(ctx context.Context) []slog.Attr {
	v, _ := ctx.Value(attrsKey{}).([]slog.Attr)
	return v
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
