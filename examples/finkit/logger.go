package main

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
)

// newLogger builds the CLI's logger writing to w. It returns a function that
// flushes and closes it.
func newLogger(level, format string, w io.Writer) (*slog.Logger, func(), error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, nil, fmt.Errorf("bad --log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lvl}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), func() {}, nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), func() {}, nil
	default:
		return nil, nil, fmt.Errorf("bad --log-format %q: want json or text", format)
	}
}
