package logging_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"os"
	"strings"

	"github.com/finkit/finkit/logging"
)

// dropTime removes the time (and the access log's duration) so the
// examples' output is deterministic.
func dropTime(_ []string, a slog.Attr) slog.Attr {
	if a.Key == slog.TimeKey || a.Key == "duration" {
		return slog.Attr{}
	}
	return a
}

func ExampleNew() {
	logger, closer, err := logging.New(logging.Options{
		Level:       "info",
		Format:      "json",
		Output:      os.Stdout, // or File: logging.FileOptions{Path: "logs/app.log", MaxSizeMB: 50, Compress: true}
		Service:     "dashboard",
		ReplaceAttr: dropTime,
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer closer.Close()

	ctx := logging.WithAttrs(context.Background(), slog.String("user_id", "u-42"))
	logger.InfoContext(ctx, "login", "password", "hunter2", "method", "totp")
	logger.Debug("not shown at info")
	// Output:
	// {"level":"INFO","msg":"login","service":"dashboard","user_id":"u-42","password":"[REDACTED]","method":"totp"}
}

func ExampleNew_badLevel() {
	_, _, err := logging.New(logging.Options{Level: "loud", Output: os.Stdout})
	fmt.Println(err)
	// Output:
	// logging: invalid log level "loud": want debug, info, warn or error
}

func ExampleMiddleware() {
	logger, _, _ := logging.New(logging.Options{Output: os.Stdout, ReplaceAttr: dropTime})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /accounts/{id}", func(w http.ResponseWriter, r *http.Request) {
		logger.InfoContext(r.Context(), "loading account", "id", r.PathValue("id"))
		fmt.Fprintln(w, "ok")
	})
	handler := logging.Middleware{
		Logger:         logger,
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
		SkipPaths:      []string{"/healthz"},
	}.Wrap(mux)

	req := httptest.NewRequest(http.MethodGet, "/accounts/7?token=abc", nil)
	req.RemoteAddr = "10.0.0.2:4711"
	req.Header.Set("X-Forwarded-For", "203.0.113.9")
	req.Header.Set("X-Request-ID", "req-1")
	req.Header.Set("User-Agent", "example")
	handler.ServeHTTP(httptest.NewRecorder(), req)
	// Output:
	// {"level":"INFO","msg":"loading account","request_id":"req-1","id":"7"}
	// {"level":"INFO","msg":"http request","method":"GET","path":"/accounts/7","route":"GET /accounts/{id}","status":200,"bytes":3,"client_ip":"203.0.113.9","user_agent":"example","request_id":"req-1"}
}

func ExampleLevelHandler() {
	lv := new(slog.LevelVar)
	logger, _, _ := logging.New(logging.Options{Level: "info", LevelVar: lv, Output: os.Stdout, ReplaceAttr: dropTime})
	admin := logging.LevelHandler(lv) // mount behind admin authentication

	logger.Debug("hidden")
	rec := httptest.NewRecorder()
	admin.ServeHTTP(rec, httptest.NewRequest(http.MethodPut, "/admin/log-level", strings.NewReader(`{"level":"debug"}`)))
	fmt.Print(rec.Code, " ", rec.Body.String())
	logger.Debug("visible now")
	// Output:
	// 200 {"level":"debug"}
	// {"level":"DEBUG","msg":"visible now"}
}

func ExampleSecret() {
	type config struct {
		User   string
		APIKey logging.Secret
	}
	cfg := config{User: "alice", APIKey: logging.Secret("sk-live-123")}
	fmt.Printf("%v\n", cfg)
	slog.New(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: dropTime})).Info("config", "key", cfg.APIKey)
	// Output:
	// {alice [REDACTED]}
	// level=INFO msg=config key=[REDACTED]
}

func ExampleAudit() {
	logger, _, _ := logging.New(logging.Options{Output: os.Stdout, ReplaceAttr: dropTime})
	ctx := logging.WithRequestID(context.Background(), "req-9")
	logging.Audit(ctx, logger, "login.failure", slog.String("user", "bob"), slog.String("reason", "bad password"))
	// Output:
	// {"level":"INFO","msg":"login.failure","request_id":"req-9","audit":true,"event":"login.failure","user":"bob","reason":"bad password"}
}

func ExampleNewRedactHandler() {
	// Redaction and context attributes work with any slog.Handler.
	h := logging.NewRedactHandler(slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{ReplaceAttr: dropTime}), "iban")
	logger := slog.New(h)
	logger.Info("transfer", "IBAN", "DE89370400440532013000", slog.Group("auth", "Authorization", "Bearer x"), "amount", "12.50")
	// Output:
	// level=INFO msg=transfer IBAN=[REDACTED] auth.Authorization=[REDACTED] amount=12.50
}

// ExampleClientIPFrom shows handlers reading the client address the
// middleware determined: X-Forwarded-For is believed only from a trusted
// proxy, and then only its right-most untrusted hop.
func ExampleClientIPFrom() {
	handler := logging.Middleware{
		Logger:         slog.New(slog.DiscardHandler),
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	}.Wrap(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
		fmt.Println(logging.ClientIPFrom(r.Context()))
	}))

	for _, peer := range []string{"10.0.0.2:4711", "198.51.100.7:5000"} {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.RemoteAddr = peer
		req.Header.Set("X-Forwarded-For", "1.2.3.4, 203.0.113.9")
		handler.ServeHTTP(httptest.NewRecorder(), req)
	}
	// Output:
	// 203.0.113.9
	// 198.51.100.7
}
