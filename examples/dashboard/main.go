// Command dashboard is finkit's demo web app: a Gin server that wires the
// finkit packages together. It works offline: data lives in an SQLite file
// under ./data/ (one *sql.DB shared by the auth, portfolio and securechat
// stores, whose tables are prefixed) and quotes come from three simulated
// market-data sources merged by marketdata's Aggregator.
//
//	go run ./examples/dashboard            # http://localhost:8080
//	go run ./examples/dashboard --addr :9000 --log-level debug --log-format json
//
// There are no default passwords: create the first administrator with
//
//	go run ./examples/finkit user add --admin NAME
//
// Pages: register, log in and out (auth, session cookie, cross-origin
// protection on every state-changing request); portfolio (valuation, P&L and
// allocation through portfolio.Reportable, a demo import, CSV import, a
// printable report and "download as PDF" through pdfexport); quotes with
// live updates over server-sent events from Aggregator.Watch; statistics of a
// symbol's simulated history; backtests with a Monte Carlo verdict; live paper
// trading with market and limit orders; the securechat relay at /chat/ws; and
// an admin page behind auth.RequireRole(auth.RoleAdmin). Every request goes
// through logging's access-log middleware, so every line a request logs
// carries its request id.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/finkit/finkit/auth"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "dashboard: %v\n", err)
		os.Exit(1)
	}
}

// config is the dashboard's command-line configuration.
type config struct {
	addr      string
	dataDir   string
	db        string // a postgres:// URL or a SQLite file; "" is dataDir/finkit.db
	logLevel  string
	logFormat string

	// secureCookies marks the session cookie Secure with the __Host- prefix
	// (serve over HTTPS then). Without --secure-cookies it is on unless the
	// dashboard listens on a loopback address only, where plain HTTP keeps
	// working.
	secureCookies bool
	// publicHost is the host[:port] clients use to reach the dashboard. The
	// chat relay checks that clients signed their login for this host, so a
	// hostile server cannot replay a client's signed login here. Empty: the
	// listen address when it names a host, else the request's Host header.
	publicHost string
	// logLevelVar holds the running log level; admins read and change it at
	// /admin/log-level. Nil in tests that build the app directly.
	logLevelVar *slog.LevelVar
	// s3 is where uploaded files are stored when several instances share
	// them: an S3-compatible server (uploads.go). Empty: the data directory.
	s3 s3Config
	// authParams are the argon2id parameters; zero means auth's defaults.
	// Tests lower them.
	authParams auth.Params
	// gzip sends the cached pages and /api/portfolio gzip-compressed to
	// clients that accept it (keptBody). Off by default: on a fast network
	// or behind a reverse proxy that compresses, the client's decoding
	// costs more than the bytes saved (with the load generator on the
	// server's cores, 200 clients of /portfolio got 3,000 req/s with it
	// against 11,000 without).
	gzip bool
	// marketNow is the simulated market's clock; nil is the system clock.
	// Tests fix it, so every view can be compared at one instant.
	marketNow func() time.Time
}

func parseConfig(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("dashboard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&c.addr, "addr", envOr("FINKIT_ADDR", "localhost:8080"), "listen address")
	fs.StringVar(&c.dataDir, "data", envOr("FINKIT_DATA", "data"), "directory for the SQLite database and uploads")
	fs.StringVar(&c.db, "db", envOr("FINKIT_DB", ""), "database: a postgres:// URL or a SQLite file (default: finkit.db in --data)")
	fs.StringVar(&c.logLevel, "log-level", envOr("FINKIT_LOG_LEVEL", "info"), "log level: debug, info, warn or error")
	fs.StringVar(&c.logFormat, "log-format", envOr("FINKIT_LOG_FORMAT", "text"), "log format: json or text")
	fs.BoolVar(&c.secureCookies, "secure-cookies", false, "Secure, __Host- session cookie, for HTTPS (default: on unless --addr is a loopback address)")
	fs.StringVar(&c.publicHost, "public-host", envOr("FINKIT_PUBLIC_HOST", ""), "host[:port] clients use to reach the dashboard (default: --addr when it names a host)")
	fs.BoolVar(&c.gzip, "gzip", envOr("FINKIT_GZIP", "") == "true", "gzip-compress the cached pages for clients that accept it (for slow networks with no compressing proxy)")
	c.s3.flags(fs)
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == "secure-cookies" })
	if !set {
		c.secureCookies = !loopbackAddr(c.addr)
	}
	return c, nil
}

// loopbackAddr reports whether a listen address reaches this machine only:
// "localhost" or a loopback IP. An empty host listens on every interface.
func loopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		host = addr
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseConfig(args, stderr)
	if err != nil {
		return err
	}
	cfg.logLevelVar = new(slog.LevelVar)
	logger, closeLog, err := newLogger(cfg.logLevel, cfg.logFormat, stderr, cfg.logLevelVar)
	if err != nil {
		return err
	}
	defer closeLog()

	app, err := newApp(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer app.Close()

	// Long-lived requests (quote streams) end when baseCtx is cancelled at
	// shutdown, so Shutdown does not wait for them forever.
	baseCtx, cancelBase := context.WithCancel(context.Background())
	defer cancelBase()
	srv := &http.Server{
		Addr:              cfg.addr,
		Handler:           app.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		BaseContext:       func(net.Listener) context.Context { return baseCtx },
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
	}
	ln, err := net.Listen("tcp", cfg.addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	shown := cfg.addr
	if strings.HasSuffix(shown, ":0") || strings.HasPrefix(shown, ":") {
		shown = ln.Addr().String()
	}
	logger.Info("dashboard listening", slog.String("url", "http://"+shown), slog.String("data", cfg.dataDir))
	app.logFirstStart(ctx, "http://"+shown)
	if cfg.secureCookies {
		logger.Info("session cookies are Secure (__Host-): serve over HTTPS, or pass --secure-cookies=false for plain HTTP")
	} else {
		logger.Warn("session cookies are not Secure: plain HTTP only, for a loopback address or behind a trusted proxy")
	}

	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	logger.Info("shutting down")
	cancelBase()
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	// app.Close (deferred above) stops the relay, the aggregator, the PDF
	// converter and closes the database.
	return nil
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
