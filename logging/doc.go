// Package logging is finkit's logger: a log/slog setup with JSON or text
// output, runtime-adjustable levels, request-scoped attributes, redaction of
// secrets, HTTP access-log middleware, file rotation and an audit log.
//
// Everything here produces or wraps standard library types: the logger is a
// plain *slog.Logger, the handler wrapper works with any slog.Handler, and
// the middleware is a func(http.Handler) http.Handler. Packages that log
// take a plain *slog.Logger, never a type of this package, and work with
// any logger. A library package imports logging only for its helpers on
// standard types: auth and upload log security events with Audit, and auth
// reads what the middleware stored in the request context (ClientIPFrom,
// RequestIDFrom) and checks a client's X-Request-ID with ValidRequestID.
// Without the middleware these return "" and the caller falls back.
//
// # Setting up
//
// New builds the logger from Options and returns its Sink, to close on
// shutdown:
//
//	lv := new(slog.LevelVar)
//	logger, closer, err := logging.New(logging.Options{
//		Level:    "info",           // debug|info|warn|error, any case
//		Format:   "json",           // json|text
//		LevelVar: lv,               // change the level at run time
//		File:     logging.FileOptions{Path: "logs/app.log", MaxSizeMB: 50, MaxBackups: 5, Compress: true},
//		Service:  "dashboard",
//	})
//	if err != nil { … }             // bad level/format/path: a clear error
//	defer closer.Close()            // closes the file; nothing written after
//	mux.Handle("/admin/log-level", requireAdmin(logging.LevelHandler(lv)))
//
// File output rotates by size and age through lumberjack
// (gopkg.in/natefinch/lumberjack.v2). New opens the file at once so an
// unwritable path is reported immediately. The file and its backups are
// 0600 and new directories 0700 (FileOptions.Mode, DirMode): logs hold
// user data. A file deleted or renamed under the logger is replaced by a
// new one at the path within a second. Records that cannot be written
// (disk full, closed output) are counted by Sink.Dropped; export it as a
// metric.
//
// # Redaction
//
// The values of sensitive keys are replaced with "[REDACTED]": the keys of
// DefaultRedactKeys (password, token, authorization, cookie, api_key,
// secret_key, credentials, jwt, session, …) and Options.RedactKeys. Keys
// match ignoring ASCII case, '-' and '_', and also as a suffix, so
// "db_password", "X-Api-Key", "aws_secret_access_key" and
// "Proxy-Authorization" are covered. Redaction reaches attributes in
// records, in Logger.With, in nested groups, values of slog.LogValuer,
// http.Header and *http.Header values, decoded JSON at any depth
// (string-keyed maps of any value type, url.Values, []any and
// []map[string]any, arrays kept as arrays) and attributes stored in the
// context. Other maps and structs are not inspected. A Secret string never
// prints its value in logs or with fmt.
//
// URLs are redacted wherever they appear — in string values, the message,
// *url.URL values and the text of errors (an *url.Error from http.Client
// quotes its URL): their userinfo, and the values of query and fragment
// parameters named like a sensitive key or key, code or sig
// (X-Amz-Signature, X-Amz-Credential, apikey, token, …).
//
// # Request-scoped attributes
//
// WithAttrs stores attributes in a context; records logged with that
// context (InfoContext, LogAttrs, …) carry them. The Middleware stores the
// request id this way, so every line a handler logs with r.Context() has
// request_id. RequestIDFrom reads it back, for example to return it in an
// error body.
//
// # HTTP middleware
//
// Middleware.Wrap adds request ids (X-Request-ID, taken from the request
// only when it comes from one of TrustedProxies), panic recovery and one
// access-log line per request (each request-supplied field cut at 2 KiB),
// with the client IP taken from X-Forwarded-For only behind TrustedProxies
// (the right-most untrusted hop; X-Real-IP only with TrustRealIP);
// handlers read that address with ClientIPFrom (auth uses it for
// throttling). A panic before the response started becomes a 500; after
// it started, the connection is aborted so the client cannot mistake a
// truncated body for a complete one. Its response writer keeps
// http.Flusher, http.Hijacker and Unwrap, so streaming responses and
// WebSocket upgrades work through it. With a router that does not set
// http.Request.Pattern, such as Gin, record the route template yourself:
//
//	engine.Use(func(c *gin.Context) { logging.SetRoute(c.Request.Context(), c.FullPath()); c.Next() })
//	srv.Handler = logging.Middleware{Logger: logger, SkipPaths: []string{"/healthz"}}.Wrap(engine)
//
// # Audit
//
// Audit logs security events (login.success, user.created,
// upload.accepted, …) at Info with audit=true, so operators can filter them;
// when the level hides Info, it logs them at Warn or Error rather than
// dropping them.
//
// # Cost
//
// A disabled call (Debug at info level) is decided by Handler.Enabled alone
// and does no other work or allocation. An enabled record with nothing to
// redact and no context attributes goes to the JSON or text handler
// unchanged; redaction rebuilds the record without allocating up to five
// attributes. Context attributes are formatted once per context and logger
// and reused from the second record on. See BenchmarkLogger.
package logging
