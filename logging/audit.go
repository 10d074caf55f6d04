package logging

import (
	"context"
	"log/slog"
)

// AuditKey is the attribute every audit record carries (audit=true), so
// operators can filter security events from the rest of the log.
const AuditKey = "audit"

// Audit logs a security event (such as "login.success", "login.failure",
// "user.created", "upload.accepted") with the attributes audit=true and
// event=NAME. It logs at Info; when the logger's level hides Info (an
// operator turned it down to warn or error), it logs at the lowest of Warn
// and Error that is still enabled, so security events are not silently
// lost. Only a logger that drops even Error records drops audit events.
// Attributes stored in ctx with WithAttrs are added by the context handler,
// and sensitive attributes are redacted like any others. A nil logger is a
// no-op, so callers may leave auditing unset.
func Audit(ctx context.Context, l *slog.Logger, event string, attrs ...slog.Attr) {
	if l == nil {
		return
	}
	if ctx == nil {
		ctx = context.Background()
	}
	level := slog.LevelInfo
	for !l.Enabled(ctx, level) {
		if level >= slog.LevelError {
			return
		}
		level += slog.LevelWarn - slog.LevelInfo
	}
	all := make([]slog.Attr, 0, len(attrs)+2)
	all = append(all, slog.Bool(AuditKey, true), slog.String("event", event))
	all = append(all, attrs...)
	l.LogAttrs(ctx, level, event, all...)
}
