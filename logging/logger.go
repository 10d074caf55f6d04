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
	"sync/atomic"
	"time"

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
	// Mode is the permission of the log file and of its rotated backups.
	// Zero means 0600: logs hold user data. An existing file is changed to
	// it.
	Mode os.FileMode
	// DirMode is the permission of the directories New creates for Path.
	// Zero means 0700. Existing directories are left as they are.
	DirMode os.FileMode
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
// redacts secrets. It returns the logger and its Sink, which must be closed
// on shutdown: for file output Close closes the file, after which nothing
// is written; for Output it does nothing (the caller owns the writer). Close
// is safe to call more than once.
//
// A log file that is deleted or renamed while in use (by an operator, or by
// logrotate without copytruncate) is noticed within a second and a new one
// is opened at File.Path, so no SIGHUP is needed. Records that cannot be
// written at all (disk full, closed sink, a failing Output) are counted by
// Sink.Dropped.
//
// The logger is a plain *slog.Logger so every package can take one without
// depending on this package; the runtime level lives in Options.LevelVar.
func New(opts Options) (*slog.Logger, *Sink, error) {
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

	sink := &Sink{}
	switch {
	case opts.File.Path != "" && opts.Output != nil:
		return nil, nil, fmt.Errorf("logging: %w: both Output and File.Path are set", ErrInvalidOption)
	case opts.File.Path != "":
		fw, err := openFile(opts.File)
		if err != nil {
			return nil, nil, err
		}
		sink.w, sink.closer = fw, fw
	case isNil(opts.Output):
		return nil, nil, fmt.Errorf("logging: %w: set Output or File.Path", ErrNoOutput)
	default:
		sink.w = opts.Output
	}
	w := sinkWriter{sink}

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
	return slog.New(h), sink, nil
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

// Sink is where the logger of New writes: a rotated log file or
// Options.Output.
type Sink struct {
	w       io.Writer
	closer  io.Closer // nil for Options.Output
	dropped atomic.Uint64
}

// Close closes the log file; nothing is written after it. For
// Options.Output it does nothing. It is safe to call more than once.
func (s *Sink) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// Dropped returns how many records could not be written (disk full, the
// file could not be reopened, the sink was closed, Output failed). slog
// ignores write errors, so this counter is the only trace of them: export
// it as a metric and alert when it grows.
func (s *Sink) Dropped() uint64 { return s.dropped.Load() }

// sinkWriter is what the handlers write to: each Write is one record.
type sinkWriter struct{ s *Sink }

func (w sinkWriter) Write(p []byte) (int, error) {
	n, err := w.s.w.Write(p)
	if err != nil {
		w.s.dropped.Add(1)
	}
	return n, err
}

// reopenCheckEvery is how often a write checks that the log file is still
// the one at the path.
const reopenCheckEvery = time.Second

// fileWriter is a lumberjack logger that refuses writes once closed
// (lumberjack itself would reopen the file), keeps the file's mode, and
// reopens the file when it was deleted or renamed.
type fileWriter struct {
	mu      sync.Mutex
	closed  bool
	lj      *lumberjack.Logger
	path    string
	mode    os.FileMode
	dirMode os.FileMode
	current os.FileInfo // the file at path when last checked
	checked time.Time
}

func openFile(o FileOptions) (*fileWriter, error) {
	if o.MaxSizeMB < 0 || o.MaxAgeDays < 0 || o.MaxBackups < 0 {
		return nil, fmt.Errorf("logging: %w: negative MaxSizeMB, MaxAgeDays or MaxBackups", ErrInvalidOption)
	}
	mode, dirMode := o.Mode, o.DirMode
	if mode == 0 {
		mode = 0o600
	}
	if dirMode == 0 {
		dirMode = 0o700
	}
	if mode&^os.ModePerm != 0 || dirMode&^os.ModePerm != 0 {
		return nil, fmt.Errorf("logging: %w: Mode and DirMode take permission bits only", ErrInvalidOption)
	}
	// lumberjack opens the file lazily; open it now so that an unwritable
	// path is reported by New rather than lost on the first log call.
	if err := os.MkdirAll(filepath.Dir(o.Path), dirMode); err != nil {
		return nil, fmt.Errorf("logging: log file %q: %w", o.Path, err)
	}
	fw := &fileWriter{path: o.Path, mode: mode, dirMode: dirMode, lj: &lumberjack.Logger{
		Filename:   o.Path,
		MaxSize:    o.MaxSizeMB,
		MaxAge:     o.MaxAgeDays,
		MaxBackups: o.MaxBackups,
		Compress:   o.Compress,
		LocalTime:  o.LocalTime,
	}}
	if err := fw.create(); err != nil {
		return nil, fmt.Errorf("logging: log file %q: %w", o.Path, err)
	}
	return fw, nil
}

// create makes sure a regular file with the configured mode exists at the
// path (lumberjack creates new files as 0600 and then copies the mode of
// the current one to its successors) and notes which file it is.
func (f *fileWriter) create() error {
	file, err := os.OpenFile(f.path, os.O_WRONLY|os.O_CREATE|os.O_APPEND, f.mode)
	if err != nil {
		return err
	}
	defer file.Close()
	fi, err := file.Stat()
	if err != nil {
		return err
	}
	if !fi.Mode().IsRegular() {
		return fmt.Errorf("%w: not a regular file", ErrInvalidOption)
	}
	if fi.Mode().Perm() != f.mode {
		if err := file.Chmod(f.mode); err != nil {
			return err
		}
	}
	f.current, f.checked = fi, time.Now()
	return nil
}

func (f *fileWriter) Write(p []byte) (int, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.closed {
		return 0, ErrClosed
	}
	if time.Since(f.checked) >= reopenCheckEvery {
		f.reopenIfMoved()
	}
	return f.lj.Write(p)
}

// reopenIfMoved closes the file when the path no longer names it (deleted,
// or renamed away), so that lumberjack opens the file at the path again,
// and creates that one with the configured mode.
func (f *fileWriter) reopenIfMoved() {
	f.checked = time.Now()
	fi, err := os.Stat(f.path)
	if err == nil && f.current != nil && os.SameFile(fi, f.current) {
		return
	}
	_ = f.lj.Close() // the next Write opens the file at the path
	if err != nil {
		_ = os.MkdirAll(filepath.Dir(f.path), f.dirMode)
	}
	if cerr := f.create(); cerr != nil {
		f.current = nil // try again on the next check
	}
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
