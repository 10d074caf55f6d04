package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
)

// newFlagSet returns a flag set for a subcommand ("pdf", "user add"):
// parse errors become usage errors (exit code 2, reported once by run), and
// -h or --help prints the command's help — usage, summary, flags and an
// example — to stdout.
func newFlagSet(name string, e *env) *flag.FlagSet {
	fs := flag.NewFlagSet("finkit "+name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	fs.Usage = func() {
		if e.onFlags != nil {
			e.onFlags(name, fs)
			return
		}
		printCommandHelp(e.stdout, name, fs)
	}
	return fs
}

// parseFlags parses args with fs and turns a bad flag into errUsage. On -h
// it prints the help and returns flag.ErrHelp (exit code 0).
func parseFlags(fs *flag.FlagSet, args []string) error {
	help := fs.Usage
	fs.Usage = func() {} // the flag package calls it on errors too
	err := fs.Parse(args)
	fs.Usage = help
	switch {
	case errors.Is(err, flag.ErrHelp):
		help()
		return err
	case err != nil:
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	return nil
}

// printCommandHelp writes the help of the command name ("user add" is a
// subcommand of user) with the flags defined on fs.
func printCommandHelp(w io.Writer, name string, fs *flag.FlagSet) {
	top, _, _ := strings.Cut(name, " ")
	cmd, _ := lookup(top)
	synopsis := cmd.args
	if name != top {
		synopsis = "[flags]"
		if s := subcommandSynopsis(cmd, strings.TrimPrefix(name, top+" ")); s != "" {
			synopsis = s
		}
	}
	fmt.Fprintf(w, "usage: finkit %s %s\n", name, synopsis)
	if cmd.summary != "" {
		fmt.Fprintf(w, "\n%s.\n", upperFirst(cmd.summary))
	}
	if n := countFlags(fs); n > 0 {
		fmt.Fprintf(w, "\nflags:\n")
		printFlags(w, fs)
	}
	if len(cmd.examples) > 0 {
		fmt.Fprintf(w, "\nexamples:\n")
		for _, ex := range cmd.examples {
			fmt.Fprintf(w, "  finkit %s\n", ex)
		}
	}
}

// subcommandSynopsis picks the alternative of cmd.args that starts with
// sub ("add [--admin] USERNAME" out of "add … | list | set-role …").
func subcommandSynopsis(cmd command, sub string) string {
	for _, alt := range alternatives(cmd.args) {
		alt = strings.TrimSpace(alt)
		if rest, ok := strings.CutPrefix(alt, sub); ok && (rest == "" || rest[0] == ' ') {
			return strings.TrimSpace(rest)
		}
	}
	return ""
}

// alternatives splits a synopsis into its alternatives: at " | " when it
// has one, so that a | inside an alternative ("--cost fifo|average") stays
// in it, else at every | ("bash|zsh|fish").
func alternatives(args string) []string {
	if strings.Contains(args, " | ") {
		return strings.Split(args, " | ")
	}
	return strings.Split(args, "|")
}

func countFlags(fs *flag.FlagSet) int {
	n := 0
	fs.VisitAll(func(*flag.Flag) { n++ })
	return n
}

// printFlags lists fs's flags as they are typed (--name VALUE), with their
// usage and non-zero defaults.
func printFlags(w io.Writer, fs *flag.FlagSet) {
	fs.VisitAll(func(f *flag.Flag) {
		kind, usage := flag.UnquoteUsage(f)
		line := "  --" + f.Name
		if kind != "" {
			line += " " + kind
		}
		if isZeroDefault(f) {
			fmt.Fprintf(w, "%s\n      %s\n", line, usage)
		} else {
			fmt.Fprintf(w, "%s\n      %s (default %s)\n", line, usage, f.DefValue)
		}
	})
}

func isZeroDefault(f *flag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]":
		return true
	}
	return false
}

func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// usageErrorf returns an error that makes finkit print the command's usage
// and exit with code 2.
func usageErrorf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errUsage, fmt.Sprintf(format, args...))
}

// writeJSON writes v as indented JSON followed by a newline.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// plural is "1 account", "2 accounts", "0 accounts".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
