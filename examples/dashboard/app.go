package main

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	authsql "github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/logging"
	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
	portfoliosql "github.com/finkit/finkit/portfolio/sqlstore"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore/pgnotify"
	"github.com/finkit/finkit/upload"

	"github.com/finkit/finkit/examples/internal/appdb"
)

// dbFile is the SQLite file inside the data directory, the database unless
// --db names another (a file or a postgres:// URL). It is the file
// `finkit user add` opens by default (data/finkit.db).
const dbFile = "finkit.db"

// sessionCache is how long a session read from a SQLite database answers
// this instance's requests (auth.Options.SessionCache).
const sessionCache = time.Second

// sessionCacheFor is the session cache for a database: none on PostgreSQL,
// whose instances must see each other's logouts at once.
func sessionCacheFor(postgres bool) time.Duration {
	if postgres {
		return 0
	}
	return sessionCache
}

// app holds the dashboard's components and its routes.
type app struct {
	log    *slog.Logger
	cfg    config
	engine *gin.Engine
	pages  *pages

	db        *sql.DB
	authStore *authsql.Store
	auth      *auth.Service
	resets    *consoleResetSender // demo delivery of reset links
	flash     *flasher            // signed one-shot messages (flash.go)
	pstore    portfolio.Shelf     // books by owner: bookOf, paperBookOf
	books     *bookCache          // each owner's ledger and performance series
	agg       *marketdata.Aggregator
	quotesEnc quoteJSON                  // /api/quotes's encoded consensuses (quotesjson.go)
	history0  marketdata.HistoryProvider // latency-free simulator on the same path: history for statistics, backtests and returns
	relay     *securechat.Relay
	notifier  *pgnotify.Notifier // wakes the relays of other instances (PostgreSQL only)
	chatDir   *chatDirectory     // chat.go
	pdf       *lazyPDF
	uploads   *upload.Manager // admin uploads (uploads.go)
	uploadFS  *upload.FS
	objects   upload.Storage // object storage of uploads, when configured (checked by /readyz)
	dbDownAt  atomic.Int64   // Unix ns of the last failed database ping (unavailable.go)

	// Shared resources and each user's share (limits.go).
	streams     chan struct{} // semaphore for SSE streams
	streamUsers *perUser
	heavy       chan struct{} // semaphore for backtests, Monte Carlo runs and PDF exports
	heavyUsers  *perUser
	jobs        *jobSet // Monte Carlo and optimisation jobs (mcjobs.go)

	mu    sync.Mutex
	paper map[string]*paperState // by user id

	stop context.CancelFunc
	wg   sync.WaitGroup
}

func newApp(ctx context.Context, cfg config, logger *slog.Logger) (a *app, err error) {
	gin.SetMode(gin.ReleaseMode)
	a = &app{
		log:   logger,
		cfg:   cfg,
		paper: map[string]*paperState{},

		streams:     make(chan struct{}, maxStreams),
		streamUsers: newPerUser(maxStreamsPerUser),
		heavy:       make(chan struct{}, maxHeavy),
		heavyUsers:  newPerUser(maxHeavyPerUser),
		jobs:        newJobSet(),
	}
	built := a // "return nil, err" clears a before this runs
	defer func() {
		if err != nil {
			_ = built.Close()
		}
	}()
	if a.pages, err = loadPages(); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.dataDir, 0o750); err != nil {
		return nil, fmt.Errorf("create data directory: %w", err)
	}
	dbTarget := cfg.db
	if dbTarget == "" {
		dbTarget = filepath.Join(cfg.dataDir, dbFile)
	}
	db, err := appdb.Open(ctx, dbTarget)
	if err != nil {
		return nil, fmt.Errorf("open %s: %w", appdb.Name(dbTarget), err)
	}
	a.db = db.DB

	// auth on the shared database.
	if a.authStore, err = authsql.New(ctx, a.db, db.Auth()); err != nil {
		return nil, fmt.Errorf("auth store: %w", err)
	}
	authKey, err := loadAuthKey(cfg.dataDir)
	if err != nil {
		return nil, err
	}
	a.flash = newFlasher(authKey, cfg.secureCookies)
	a.resets = &consoleResetSender{out: os.Stderr, log: logger, base: cfg.resetBase()}
	a.auth, err = auth.New(auth.Options{
		Store:     a.authStore,
		Logger:    logger,
		Params:    cfg.authParams,
		Cookie:    auth.CookieConfig{InsecureLocalhost: !cfg.secureCookies},
		SecretKey: authKey,
		// Demo mode: reset links go to the console, not by email.
		ResetSender: a.resets,
		// On SQLite (one instance per database file) a session read from
		// the database serves this instance's requests for a second, not
		// one query per request: what this instance changes applies at
		// once, a logout or revocation by the CLI here within
		// sessionCache. On PostgreSQL, which several instances share,
		// every request reads the session, so a logout on one instance
		// ends it on all of them at once.
		SessionCache: sessionCacheFor(db.Postgres),
	})
	if err != nil {
		return nil, fmt.Errorf("auth: %w", err)
	}

	// portfolio on the shared database, with the simulator's instruments
	// registered so valuation knows names and asset classes.
	ps, err := portfoliosql.New(ctx, a.db, db.Portfolio())
	if err != nil {
		return nil, fmt.Errorf("portfolio store: %w", err)
	}
	a.pstore = ps
	for _, in := range sim.Instruments() {
		if err := ps.SaveStock(ctx, stockOf(in)); err != nil {
			return nil, fmt.Errorf("portfolio store: %w", err)
		}
	}

	// market data: three simulated sources with their own latency and
	// noise, merged by the Aggregator.
	if err := a.openMarketData(); err != nil {
		return nil, err
	}

	if err := a.openRelay(ctx, db, dbTarget, logger); err != nil {
		return nil, err
	}
	if a.chatDir, err = openChatDirectory(ctx, a.db, db.Postgres); err != nil {
		return nil, err
	}

	a.pdf = &lazyPDF{opts: pdfOptions(cfg)}
	if err := a.openUploads(ctx, db.Postgres); err != nil {
		return nil, err
	}

	bg, stop := context.WithCancel(context.Background())
	a.stop = stop
	a.wg.Add(2)
	go a.cleanupLoop(bg)
	go a.pollPaper(bg)

	a.routes()
	return a, nil
}

func (a *app) openMarketData() error {
	// Every source is the library's default market (the CLI's and the demo
	// portfolio's too): they differ in latency and noise, never in prices.
	// The two noisy sources err on opposite sides of the market, so the
	// consensus (the median of the three) is the market's price itself and
	// every page shows one price for a symbol at an instant.
	var providers []marketdata.Provider
	for _, s := range []struct {
		name            string
		latency, jitter time.Duration
		noise           float64
		side            int
	}{
		{"sim", 4 * time.Millisecond, 8 * time.Millisecond, 0, 0},
		{"sim-eu", 25 * time.Millisecond, 20 * time.Millisecond, 0.0008, +1},
		{"sim-slow", 70 * time.Millisecond, 40 * time.Millisecond, 0.0015, -1},
	} {
		o := sim.Default(s.name)
		o.Latency, o.Jitter, o.Noise, o.NoiseSide, o.Now = s.latency, s.jitter, s.noise, s.side, a.cfg.marketNow
		p, err := sim.New(o)
		if err != nil {
			return fmt.Errorf("market data %s: %w", s.name, err)
		}
		providers = append(providers, p)
	}
	ho := sim.Default("sim-history")
	ho.Now = a.cfg.marketNow
	hist, err := sim.New(ho)
	if err != nil {
		return fmt.Errorf("market data history: %w", err)
	}
	a.history0 = hist
	a.books = newBookCache(storeRevisions{a.pstore}, hist)
	agg, err := marketdata.New(marketdata.Options{
		Providers: providers,
		CacheTTL:  time.Second,
		Timeout:   3 * time.Second,
	})
	if err != nil {
		return fmt.Errorf("market data: %w", err)
	}
	a.agg = agg
	return nil
}

// cleanupLoop deletes expired sessions every few minutes until ctx ends.
func (a *app) cleanupLoop(ctx context.Context) {
	defer a.wg.Done()
	t := time.NewTicker(5 * time.Minute)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if n, err := a.auth.CleanupSessions(ctx); err != nil {
				a.log.WarnContext(ctx, "session cleanup failed", slog.Any("error", err))
			} else if n > 0 {
				a.log.DebugContext(ctx, "expired sessions deleted", slog.Int("count", n))
			}
		}
	}
}

// relayHost is the host clients must sign their chat login for (see
// config.publicHost); "" when --addr listens on every interface and no
// --public-host is given, which newApp refuses (the relay never trusts a
// request's Host header).
func (c config) relayHost() string {
	if c.publicHost != "" {
		return c.publicHost
	}
	host, _, err := net.SplitHostPort(c.addr)
	if err != nil || host == "" || host == "0.0.0.0" || host == "::" {
		return ""
	}
	return c.addr
}

// Handler returns the HTTP handler serving the dashboard: access log and
// request ids outermost, then cross-origin protection for every
// state-changing request, then session authentication, then Gin.
func (a *app) Handler() http.Handler {
	csrf := http.NewCrossOriginProtection()
	csrf.SetDenyHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a.log.WarnContext(r.Context(), "cross-origin request rejected", slog.String("origin", r.Header.Get("Origin")))
		if wantsJSON(r) {
			w.Header().Set("Content-Type", "application/json; charset=utf-8")
			w.WriteHeader(http.StatusForbidden)
			_ = json.NewEncoder(w).Encode(apiError{Error: "forbidden", Message: "Cross-origin requests that change data are refused.",
				RequestID: logging.RequestIDFrom(r.Context())})
			return
		}
		http.Error(w, "cross-origin request rejected", http.StatusForbidden)
	}))
	var h http.Handler = a.engine
	h = a.auth.Authenticate(h)
	h = a.dbUnavailable(h)
	h = csrf.Handler(h)
	return logging.Middleware{Logger: a.log, SkipPaths: []string{"/healthz"}}.Wrap(h)
}

// Close stops background work and releases everything the app holds, in
// reverse order of opening.
func (a *app) Close() error {
	if a.stop != nil {
		a.stop()
	}
	a.wg.Wait()
	if a.books != nil {
		a.books.close()
	}
	a.jobs.close()
	errs := []error{a.closeUploads()}
	if a.pdf != nil {
		errs = append(errs, a.pdf.Close())
	}
	if a.relay != nil {
		errs = append(errs, a.relay.Close())
	}
	if a.notifier != nil {
		a.notifier.Close()
	}
	if a.agg != nil {
		errs = append(errs, a.agg.Close())
	}
	if a.authStore != nil {
		errs = append(errs, a.authStore.Close())
	}
	if c, ok := a.pstore.(io.Closer); ok { // the SQL store's prepared statement
		errs = append(errs, c.Close())
	}
	if a.db != nil {
		errs = append(errs, a.db.Close())
	}
	return errors.Join(errs...)
}

// stockOf turns a simulated instrument into a portfolio instrument.
func stockOf(in sim.Instrument) portfolio.Stock {
	class := portfolio.AssetStock
	switch {
	case in.Kind == marketdata.KindCrypto:
		class = portfolio.AssetCrypto
	case in.Kind == marketdata.KindFX:
		class = portfolio.AssetCurrency
	case in.Symbol == "SPY" || in.Symbol == "QQQ":
		class = portfolio.AssetETF
	}
	return portfolio.Stock{Symbol: in.Symbol, Name: in.Name, Currency: in.Currency, Class: class}
}

// paperState is a user's live paper-trading account.
type paperState struct {
	acct *papertrade.Account
	book *papertrade.LedgerStore // the paper book's ledger, following the store
	log  []papertrade.Execution
}
