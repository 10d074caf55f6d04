// Command finkit is the command-line face of the finkit library: portfolio
// reports, quotes and statistics, backtests, PDF export, encrypted chat and
// user administration, over the same packages the dashboard uses.
//
// Run `finkit help` for the list of subcommands. Global flags (before the
// subcommand): --log-level debug|info|warn|error and --log-format json|text
// (env FINKIT_LOG_LEVEL, FINKIT_LOG_FORMAT). Logs go to stderr; results go
// to stdout, for humans by default and as JSON with --json.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// errUsage marks a command-line mistake: the usage is printed and the exit
// code is 2.
var errUsage = errors.New("usage error")

// env is what a subcommand gets from the process: streams and the logger.
type env struct {
	stdin  io.Reader
	stdout io.Writer
	stderr io.Writer
	log    *slog.Logger
	// onFlags, when set, receives each command's flag set on -h instead of
	// the help being printed (shell completion reads the flags this way).
	onFlags func(name string, fs *flag.FlagSet)
	// now is the simulated market's clock; nil is the system clock. Tests
	// fix it to compare the CLI's prices with other views at one instant.
	now func() time.Time
	// terminal reports whether a writer is a terminal (progress bars are
	// drawn only there); nil is isTerminal. Tests set it to see the bars.
	terminal func(io.Writer) bool
}

// barsOn reports whether a command draws progress bars on stderr: never
// with --json, only when stdout and stderr are terminals.
func (e *env) barsOn(asJSON bool) bool {
	tty := e.terminal
	if tty == nil {
		tty = isTerminal
	}
	return !asJSON && tty(e.stdout) && tty(e.stderr)
}

// command is one subcommand of finkit.
type command struct {
	name    string
	args    string // argument synopsis for help
	summary string
	// examples are complete command lines (after "finkit "), run from the
	// repository root by TestHelpExamples, so they cannot drift.
	examples []string
	run      func(ctx context.Context, e *env, args []string) error
}

// commands lists every subcommand; help prints them in this order.
func commands() []command {
	return []command{
		{name: "help", args: "[COMMAND]", summary: "show help for finkit or one command", run: nil},
		{name: "portfolio", args: "account add ID --currency CCY [--kind K] [--cost fifo|average] | account list | import [--accounts FILE] FILE.csv | report [--base NOK] [--providers sim] [--json] | export [--accounts FILE]", summary: "declare accounts, import transactions, report positions, P&L, allocation and returns priced through market data", examples: []string{"portfolio import examples/dashboard/demo/transactions.csv", "portfolio account add isk --name ISK --currency SEK --cost average", "portfolio account list", "portfolio report --base NOK", "portfolio export --accounts accounts.csv"}, run: runPortfolio},
		{name: "quote", args: "[--providers sim,yahoo,…] [--json] SYMBOL…", summary: "ask several market-data sources at once and show the consensus price", examples: []string{"quote --providers sim AAPL EQNR.OL BTC-USD"}, run: runQuote},
		{name: "fx", args: "[--providers …] [--json] FROM TO", summary: "print an exchange rate", examples: []string{"fx --providers sim EUR NOK"}, run: runFX},
		{name: "stats", args: "[--provider P | --csv FILE] [--json] SYMBOL", summary: "how much a price went up or down, with statistics", examples: []string{"stats --provider sim AAPL"}, run: runStats},
		{name: "backtest", args: "--csv FILE | --symbol SYMBOL [--provider sim] [--from DATE] --strategy smacross [flags]", summary: "replay price history through a trading strategy", examples: []string{"backtest --csv papertrade/testdata/GOOG.csv --strategy smacross --fast 10 --slow 20", "backtest --symbol AAPL --from 2020-01-01 --strategy smacross"}, run: runBacktest},
		{name: "montecarlo", args: "--csv FILE --strategy … [--paths N] [--method gbm|bootstrap]", summary: "does a strategy win in the long run? simulate many paths", examples: []string{"montecarlo --csv papertrade/testdata/GOOG.csv --strategy smacross --paths 200 --method bootstrap --seed 1"}, run: runMonteCarlo},
		{name: "optimize", args: "--csv FILE --strategy … [flags]", summary: "grid-search strategy parameters (with walk-forward)", examples: []string{"optimize --csv papertrade/testdata/GOOG.csv --strategy smacross --grid fast=5,10 --grid slow=20,30"}, run: runOptimize},
		{name: "pdf", args: "[flags] URL|FILE.html|- OUT.pdf | --from urls.txt --out-dir DIR", summary: "save the page at a URL (or a local HTML file) as PDF through headless Chromium", examples: []string{"pdf --paper A4 examples/finkit/testdata/statement.html statement.pdf"}, run: runPDF},
		{name: "chat", args: "keygen --out KEYFILE | fingerprint --key KEYFILE --peer PEERID | --relay ws://HOST/chat/ws --key KEYFILE --to PEERID", summary: "end-to-end encrypted chat through a relay", examples: []string{"chat keygen --out alice.key"}, run: runChat},
		{name: "upload", args: "--server URL --token TOKEN [--json] [--kind transactions|prices] [--account ID] FILE…", summary: "upload files to the dashboard (resumable over 8 MiB) and wait for their processing", examples: []string{"upload --server http://localhost:8080 --token TOKEN prices.csv"}, run: runUpload},
		{name: "user", args: "add [--admin] USERNAME | list | set-role USERNAME admin|user [--db PATH]", summary: "manage dashboard users", examples: []string{"user add --admin boss", "user list"}, run: runUser},
		{name: "completion", args: "bash|zsh|fish", summary: "print a shell completion script (bash: source <(finkit completion bash))", examples: []string{"completion bash"}, run: runCompletion},
		{name: "version", summary: "print the finkit version", examples: []string{"version"}, run: runVersion},
	}
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run executes finkit with args and returns the process exit code: 0 on
// success, 1 on failure, 2 on a usage error.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	global := flag.NewFlagSet("finkit", flag.ContinueOnError)
	global.SetOutput(io.Discard)
	logLevel := global.String("log-level", envOr("FINKIT_LOG_LEVEL", "warn"), "log level: debug, info, warn or error")
	logFormat := global.String("log-format", envOr("FINKIT_LOG_FORMAT", "text"), "log format: json or text")
	if err := global.Parse(args); err != nil {
		fmt.Fprintf(stderr, "finkit: %v\n", err)
		usage(stderr)
		return 2
	}
	args = global.Args()
	if len(args) == 0 {
		usage(stderr)
		return 2
	}
	logger, closeLog, err := newLogger(*logLevel, *logFormat, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "finkit: %v\n", err)
		return 2
	}
	defer closeLog()

	name, rest := args[0], args[1:]
	if name == "help" || name == "-h" || name == "--help" || name == "-help" {
		return runHelp(rest, stdout, stderr)
	}
	cmd, ok := lookup(name)
	if !ok {
		fmt.Fprintf(stderr, "finkit: unknown command %q\n", name)
		usage(stderr)
		return 2
	}
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, log: logger}
	err = cmd.run(ctx, e, rest)
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(stderr, "finkit %s: %v\nusage: finkit %s %s\nRun `finkit help %s` for its flags and examples.\n", cmd.name, err, cmd.name, cmd.args, cmd.name)
		return 2
	default:
		fmt.Fprintf(stderr, "finkit %s: %v\n", cmd.name, err)
		return 1
	}
}

func lookup(name string) (command, bool) {
	for _, c := range commands() {
		if c.name == name && c.run != nil {
			return c, true
		}
	}
	return command{}, false
}

func runHelp(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		usage(stdout)
		return 0
	}
	cmd, ok := lookup(args[0])
	if !ok {
		fmt.Fprintf(stderr, "finkit help: unknown command %q\n", args[0])
		return 2
	}
	// The command prints its own help (flags included) on -h, exactly as
	// `finkit CMD --help` does; "help user add" asks user's subcommand.
	e := &env{stdin: strings.NewReader(""), stdout: stdout, stderr: stdout, log: slog.New(slog.DiscardHandler)}
	err := cmd.run(context.Background(), e, append(args[1:], "-h"))
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		fmt.Fprintf(stderr, "finkit help %s: %v\n", strings.Join(args, " "), err)
		return 2
	}
	return 0
}

func usage(w io.Writer) {
	fmt.Fprintf(w, "finkit — personal-finance building blocks on the command line\n\n")
	fmt.Fprintf(w, "usage: finkit [--log-level LEVEL] [--log-format json|text] COMMAND [ARGS]\n\ncommands:\n")
	cmds := commands()
	width := 0
	for _, c := range cmds {
		width = max(width, len(c.name))
	}
	for _, c := range cmds {
		fmt.Fprintf(w, "  %-*s  %s\n", width, c.name, c.summary)
	}
	fmt.Fprintf(w, "\nRun `finkit help COMMAND` for one command's usage.\n")
}

func runVersion(_ context.Context, e *env, args []string) error {
	fs := newFlagSet("version", e)
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *asJSON {
		return writeJSON(e.stdout, map[string]string{"version": version})
	}
	_, err := fmt.Fprintf(e.stdout, "finkit %s\n", version)
	return err
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
