package logging

import (
	"context"
	"log/slog"
	"slices"
)

// HandlerOptions configures a Handler.
type HandlerOptions struct {
	// ContextAttrs adds the attributes stored in the context with WithAttrs
	// to every record logged with a context (Logger.InfoContext, LogAttrs, …).
	ContextAttrs bool
	// Redact replaces the values of sensitive keys with RedactedValue: the
	// DefaultRedactKeys plus RedactKeys.
	Redact bool
	// RedactKeys are extra sensitive keys (used only when Redact is set).
	RedactKeys []string
}

// Handler is finkit's slog.Handler wrapper. It adds request-scoped
// attributes from the context and redacts sensitive values in one pass, then
// hands the record to an inner handler of any kind (JSON, text, or a
// third-party handler).
//
// Redaction covers record attributes, attributes attached with
// Logger.With (WithAttrs), nested groups at any depth, values produced by
// slog.LogValuer (resolved once, here), http.Header and *http.Header values
// (turned into a group of fields), string-keyed maps that hold a sensitive
// key (url.Values, map[string][]string, map[string]string and
// map[string]any, nested up to 8 deep; they are turned into groups) and
// every attribute inside a group opened with Logger.WithGroup under a
// sensitive name. Values inside other kinds of slog.AnyValue (structs,
// other maps) are not inspected: log them as groups or wrap secrets in
// Secret.
//
// Context attributes come after the logger's own (Logger.With) attributes
// and before the record's. On a logger derived with WithGroup they appear
// inside that group.
//
// Cost: Enabled only asks the inner handler (or the shared LevelVar), so a
// disabled call does no work. A record with no context attributes and
// nothing to redact is passed through untouched. A record that needs
// redaction is rebuilt once, which allocates only when it holds more than
// five attributes. The first record logged with a context carries its
// attributes in the record; later ones go through a handler with the
// context attributes already attached, cached in the context (see
// WithAttrs), so they cost no per-record formatting or allocation.
type Handler struct {
	inner     slog.Handler
	keys      *keySet // nil: no redaction
	ctxAttrs  bool
	redactAll bool // inside a WithGroup whose name is sensitive
	// level, when set, is the inner handler's own level (New shares one
	// LevelVar), so Enabled can answer without calling the inner handler.
	level *slog.LevelVar
}

// NewHandler wraps inner. A nil inner is replaced by a handler that
// discards everything (slog.DiscardHandler).
func NewHandler(inner slog.Handler, opts HandlerOptions) *Handler {
	if inner == nil {
		inner = slog.DiscardHandler
	}
	h := &Handler{inner: inner, ctxAttrs: opts.ContextAttrs}
	if opts.Redact {
		h.keys = newKeySet(append(DefaultRedactKeys(), opts.RedactKeys...))
	}
	return h
}

// NewContextHandler wraps inner so that attributes stored with WithAttrs are
// added to records logged with a context.
func NewContextHandler(inner slog.Handler) *Handler {
	return NewHandler(inner, HandlerOptions{ContextAttrs: true})
}

// NewRedactHandler wraps inner so that the values of the DefaultRedactKeys
// and of extraKeys are replaced with RedactedValue.
func NewRedactHandler(inner slog.Handler, extraKeys ...string) *Handler {
	return NewHandler(inner, HandlerOptions{Redact: true, RedactKeys: extraKeys})
}

// Enabled reports whether the inner handler handles records at level. It
// does no other work, so disabled log calls stay cheap.
func (h *Handler) Enabled(ctx context.Context, level slog.Level) bool {
	if h.level != nil {
		return level >= h.level.Level()
	}
	return h.inner.Enabled(ctx, level)
}

// Handle adds context attributes, redacts, and passes the record on.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	inner := h.inner
	var extra []slog.Attr
	if h.ctxAttrs && ctx != nil {
		if c, ok := ctx.Value(attrsKey{}).(*ctxAttrs); ok && len(c.attrs) > 0 {
			if c.seen.Load() {
				inner = c.handlerFor(h)
			} else {
				c.seen.Store(true)
				extra = c.attrs
			}
		}
	}
	if h.keys == nil {
		if len(extra) == 0 {
			return inner.Handle(ctx, r)
		}
		// Context attributes go before the record's, as on the cached
		// path (inner.WithAttrs), so every record prints the same.
		nr := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
		nr.AddAttrs(extra...)
		r.Attrs(func(a slog.Attr) bool {
			nr.AddAttrs(a)
			return true
		})
		return inner.Handle(ctx, nr)
	}
	// One pass over the record: copy its attributes (redacted) to a stack
	// buffer (big enough for the access log's record), noting whether
	// anything changed. A record with nothing to change and no context
	// attributes to add is passed on as it is.
	var stack [16]slog.Attr
	buf := stack[:0]
	if n := len(extra) + r.NumAttrs(); n > len(stack) {
		buf = make([]slog.Attr, 0, n)
	}
	for _, a := range extra {
		a, _ = h.keys.redact(a, h.redactAll)
		buf = append(buf, a)
	}
	msg, changed := h.keys.redactURLs(r.Message)
	r.Attrs(func(a slog.Attr) bool {
		a, c := h.keys.redact(a, h.redactAll)
		changed = changed || c
		buf = append(buf, a)
		return true
	})
	if !changed && len(extra) == 0 {
		return inner.Handle(ctx, r)
	}
	nr := slog.NewRecord(r.Time, r.Level, msg, r.PC)
	nr.AddAttrs(buf...)
	return inner.Handle(ctx, nr)
}

// WithAttrs redacts attrs and attaches them to the inner handler.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	if h.keys != nil && slices.ContainsFunc(attrs, func(a slog.Attr) bool { return h.keys.needsChange(a, h.redactAll) }) {
		red := make([]slog.Attr, len(attrs))
		for i, a := range attrs {
			red[i], _ = h.keys.redact(a, h.redactAll)
		}
		attrs = red
	}
	h2 := *h
	h2.inner = h.inner.WithAttrs(attrs)
	return &h2
}

// WithGroup opens a group on the inner handler. When name is a sensitive
// key, every value logged inside the group is redacted.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.inner = h.inner.WithGroup(name)
	if h.keys != nil && h.keys.match(name) {
		h2.redactAll = true
	}
	return &h2
}
