package logging

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"

	"gopkg.in/natefinch/lumberjack.v2"
)

// Errors returned by New, ParseLevel and ParseFormat. They are wrapped with
// the offending value; check them with errors.Is.
var (
	ErrInvalidLevel  = errors.New("invalid log level")
	ErrInvalidFormat = errors.New("invalid log format")
	ErrNoOutput      = errors.New("no log output")
	ErrInvalidOption = errors.New("invalid logging option")
	ErrClosed        = errors.New("log output closed")
)

// Format is an output format: FormatJSON or FormatText.
type Format string

// The output formats.
const (
	FormatJSON Format = "json"
	FormatText Format = "text"
)

// Options configures New. The zero value is not usable: set Output or
// File.Path.
type Options struct {
	// Level is the minimum level: debug, info, warn or error, in any case.
	// Empty means info.
	Level string
	// LevelVar, if set, receives the parsed Level and becomes the logger's
	// level, so it can be changed at run time (see LevelHandler). If nil,
	// New uses a private one.
	LevelVar *slog.LevelVar
	// Format is json or text, in any case. Empty means json.
	Format string
	// Output receives the log lines. Exactly one of Output and File.Path
	// must be set. New never closes Output.
	Output io.Writer
	// File, when File.Path is set, writes to a rotated file instead.
	File FileOptions
	// AddSource adds the source file and line of the log call.
	AddSource bool
	// Service and Version, when set, are added to every record as the
	// attributes service and version.
	Service string
	Version string // added as the version attribute when set
	// RedactKeys are sensitive keys redacted in addition to
	// DefaultRedactKeys.
	RedactKeys []string
	// ReplaceAttr is passed to the JSON or text handler (see
	// slog.HandlerOptions). It sees attributes after redaction.
	ReplaceAttr func(groups []string, a slog.Attr) slog.Attr
}

// FileOptions configures file output with size- and age-based rotation.
type FileOptions struct {
	// Path of the log file; its directory is created if needed. Backups are
	// written next to it as NAME-TIMESTAMP.EXT.
	Path string
	// MaxSizeMB is the size in megabytes at which the file is rotated.
	// Zero means 100.
	MaxSizeMB int
	// MaxAgeDays removes backups older than this many days. Zero keeps them
	// regardless of age.
	MaxAgeDays int
	// MaxBackups is how many backups to keep. Zero keeps all (subject to
	// MaxAgeDays).
	MaxBackups int
	// Compress gzips rotated backups.
	//
	// lumberjack compresses and removes old backups in a goroutine of its
	// own, which Close does not wait for and which outlives Close (a
	// lumberjack v2 limitation). The current file is complete when Close
	// returns; a backup may still be being compressed.
	Compress bool
	// LocalTime uses local time in backup names instead of UTC.
	LocalTime bool
}

// ParseLevel parses debug, info, warn or error, ignoring case. Anything else
// is an error wrapping ErrInvalidLevel that names the value.
func ParseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info":
		return slog.LevelInfo, nil
	case "warn":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("logging: %w %q: want debug, info, warn or error", ErrInvalidLevel, s)
}

// LevelName returns the lower-case name of l as ParseLevel accepts it
// ("debug", "info", "warn", "error"), or slog's form such as "info+2" for
// levels in between.
func LevelName(l slog.Level) string {
	return strings.ToLower(l.String())
}

// ParseFormat parses json or text, ignoring case. Anything else is an error
// wrapping ErrInvalidFormat that names the value.
func ParseFormat(s string) (Format, error) {
	switch f := Format(strings.ToLower(s)); f {
	case FormatJSON, FormatText:
		return f, nil
	}
	return "", fmt.Errorf("logging: %w %q: want json or text", ErrInvalidFormat, s)
}

// New builds finkit's logger: a JSON or text handler behind a Handler that
// adds context attributes (WithAttrs, the middleware's request id) and
// redacts secrets. It returns the logger and a Closer that must be called
// on shutdown: for file output it closes the file, after which nothing is
// written; for Output it does nothing (the caller owns the writer). Close is
// safe to call more than once.
//
// The logger is a plain *slog.Logger so every package can take one without
// depending on this package; the runtime level lives in Options.LevelVar.
func New(opts Options) (*slog.Logger, io.Closer, error) {
	lvl := slog.LevelInfo
	if opts.Level != "" {
		var err error
		if lvl, err = ParseLevel(opts.Level); err != nil {
			return nil, nil, err
		}
	}
	format := FormatJSON
	if opts.Format != "" {
		var err error
		if format, err = ParseFormat(opts.Format); err != nil {
			return nil, nil, err
		}
	}
	for _, k := range opts.RedactKeys {
		if normalizeKey(k) == "" {
			return nil, nil, fmt.Errorf("logging: %w: redact key %q is empty after dropping '-' and '_'", ErrInvalidOption, k)
		}
	}

	var (
		w      io.Writer
		closer io.Closer = nopCloser{}
	)
	switch {
	case opts.File.Path != "" && opts.Output != nil:
		return nil, nil, fmt.Errorf("logging: %w: both Output and File.Path are set", ErrInvalidOption)
	case opts.File.Path != "":
		fw, err := openFile(opts.File)
		if err != nil {
			return nil, nil, err
		}
		w, closer = fw, fw
	case isNil(opts.Output):
		return nil, nil, fmt.Errorf("logging: %w: set Output or File.Path", ErrNoOutput)
	default:
		w = opts.Output
	}

	lv := opts.LevelVar
	if lv == nil {
		lv = new(slog.LevelVar)
	}
	lv.Set(lvl)
	hopts := &slog.HandlerOptions{Level: lv, AddSource: opts.AddSource, ReplaceAttr: opts.ReplaceAttr}
	var inner slog.Handler
	if format == FormatText {
		inner = slog.NewTextHandler(w, hopts)
	} else {
		inner = slog.NewJSONHandler(w, hopts)
	}
	fh := NewHandler(inner, HandlerOptions{ContextAttrs: true, Redact: true, RedactKeys: opts.RedactKeys})
	fh.level = lv // the inner handler uses the same LevelVar
	var h slog.Handler = fh
	var static []slog.Attr
	if opts.Service != "" {
		static = append(static, slog.String("service", opts.Service))
	}
	if opts.Version != "" {
		static = append(static, slog.String("version", opts.Version))
	}
	if len(static) > 0 {
		h = h.WithAttrs(static)
	}
	return slog.New(h), closer, nil
}

// isNil reports whether w is nil or a nil pointer (or other nil reference)
// wrapped in an interface, which would panic on the first write.
func isNil(w io.Writer) bool {
	if w == nil {
		return true
	}
	v := reflect.ValueOf(w)
	switch v.Kind() {
	case reflect.Pointer, reflect.Map, reflect.Slice, reflect.Func, reflect.Chan, reflect.Interface:
		return v.IsNil()
	}
	return false
}

type nopCloser struct{}

func (nopCloser) Close() error { return nil }

// fileWriter is a lumberjack logger that refuses writes once closed
// (lumberjack itself would reopen the file).
type fileWriter struct {
	mu     sync.RWMutex
	closed bool
	lj     *lumberjack.Logger
}

func openFile(o FileOptions) (*fileWriter, error) {
	if o.MaxSizeMB < 0 || o.MaxAgeDays < 0 || o.MaxBackups < 0 {
		return nil, fmt.Errorf("logging: %w: negative MaxSizeMB, MaxAgeDays or MaxBackups", ErrInvalidOption)
	}
	// lumberjack opens the file lazily; open it now so that an unwritable
	// path is reported by New rather than lost on the first log call.
	if err := os.MkdirAll(filepath.Dir(o.Path), 0o755); err != nil {
		return nil, fmt.Errorf("logging: log file %q: %w", o.Path, err)
	}
	f, err := os.OpenFile(o.Path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("logging: log file %q: %w", o.Path, err)
	}
	if err := f.Close(); err != nil {
		return nil, fmt.Errorf("logging: log file %q: %w", o.Path, err)
	}
	return &fileWriter{lj: &lumberjack.Logger{
		Filename:   o.Path,
		MaxSize:    o.MaxSizeMB,
		MaxAge:     o.MaxAgeDays,
		MaxBackups: o.MaxBackups,
		Compress:   o.Compress,
		LocalTime:  o.LocalTime,
	}}, nil
}

func (f *fileWriter) Write(p []byte) (int, error) {
	f.mu.RLock()
	defer f.mu.RUnlock()
	if f.closed {
		return 0, ErrClosed
	}
	return f.lj.Write(p)
}

// Close closes the log file once every write in progress has finished.
func (f *fileWriter) Close() error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return nil
	}
	f.closed = true
	return f.lj.Close()
}
