// Package logging is finkit's logger: a log/slog setup with JSON or text
// output, runtime-adjustable levels, request-scoped attributes, redaction of
// secrets, HTTP access-log middleware, file rotation and an audit log.
package logging
