package logging

import (
	"context"
	"log/slog"
)

// AuditKey is the attribute every audit record carries (audit=true), so
// operators can filter security events from the rest of the log.
const AuditKey = "audit"

// Audit logs a security event (such as "login.success", "login.failure",
// "user.created", "upload.accepted") with the attribute audit=true at Info
// level. Attributes stored in ctx with WithAttrs are added by the context
// handler, and sensitive attributes are redacted like any others. A nil
// logger is a no-op, so callers may leave auditing unset.
func Audit(ctx context.Context, l *slog.Logger, event string, attrs ...slog.Attr) {
	if l == nil || !l.Enabled(ctx, slog.LevelInfo) {
		return
	}
	all := make([]slog.Attr, 0, len(attrs)+2)
	all = append(all, slog.Bool(AuditKey, true), slog.String("event", event))
	all = append(all, attrs...)
	l.LogAttrs(ctx, slog.LevelInfo, event, all...)
}
