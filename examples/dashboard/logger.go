package main

import (
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/finkit/finkit/logging"
)

// newLogger builds the dashboard's logger writing to w through logging.New
// (redaction of secrets, request-scoped attributes such as the request id
// set by logging.Middleware). It returns a function that flushes and closes
// it. When lv is not nil it holds the level, so an admin can change it at
// run time through logging.LevelHandler.
func newLogger(level, format string, w io.Writer, lv *slog.LevelVar) (*slog.Logger, func(), error) {
	logger, closer, err := logging.New(logging.Options{
		Level:    level,
		LevelVar: lv,
		Format:   format,
		Output:   w,
		Service:  "dashboard",
	})
	switch {
	case errors.Is(err, logging.ErrInvalidLevel):
		return nil, nil, fmt.Errorf("bad --log-level (or FINKIT_LOG_LEVEL): %w", err)
	case errors.Is(err, logging.ErrInvalidFormat):
		return nil, nil, fmt.Errorf("bad --log-format (or FINKIT_LOG_FORMAT): %w", err)
	case err != nil:
		return nil, nil, err
	}
	return logger, func() { _ = closer.Close() }, nil
}
