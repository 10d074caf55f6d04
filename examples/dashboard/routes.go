package main

import (
	"errors"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"unicode"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/logging"
)

func (a *app) routes() {
	e := gin.New()
	a.engine = e
	e.HandleMethodNotAllowed = true
	e.Use(a.routeAttrs, securityHeaders, a.withFlasher)

	e.GET("/healthz", func(c *gin.Context) { c.String(http.StatusOK, "ok\n") })
	e.GET("/readyz", a.readyz)
	e.GET("/favicon.ico", serveFavicon)
	static, _ := fs.Sub(staticFS, "static")
	e.StaticFS("/static", http.FS(static))

	e.GET("/", a.home)
	e.GET("/login", a.loginPage)
	e.POST("/login", a.loginSubmit)
	e.GET("/register", a.registerPage)
	e.POST("/register", a.registerSubmit)
	e.GET("/forgot", a.forgotPage)
	e.POST("/forgot", a.forgotSubmit)
	e.GET("/reset", a.resetPage)
	e.POST("/reset", a.resetSubmit)
	e.POST("/logout", a.logoutSubmit)

	// JSON API for scripts and the CLI: auth's own handlers.
	api := e.Group("/api")
	api.POST("/login", gin.WrapH(a.auth.LoginHandler()))
	api.POST("/logout", gin.WrapH(a.auth.LogoutHandler()))
	apiUser := api.Group("", adapt(auth.RequireUser))
	apiUser.GET("/quotes", a.quotesJSON)
	apiUser.GET("/portfolio", a.portfolioJSON)
	a.apiRoutes(api, apiUser) // api.go

	// Pages for logged-in users; anonymous browsers are sent to /login.
	u := e.Group("", a.requireLogin)
	u.GET("/portfolio", a.portfolioPage)
	u.POST("/portfolio/demo", a.portfolioDemo)
	u.POST("/portfolio/import", a.portfolioImport)
	u.POST("/portfolio/accounts", a.portfolioAddAccount)
	u.POST("/portfolio/transactions/edit", a.portfolioEditTx)
	u.POST("/portfolio/transactions/delete", a.portfolioDeleteTx)
	u.GET("/portfolio/report", a.portfolioReport)
	u.GET("/portfolio/report.pdf", a.portfolioPDF)
	u.GET("/quotes", a.quotesPage)
	u.GET("/quotes/stream", a.quotesStream)
	u.GET("/stats", a.statsPage)
	u.GET("/backtest", a.backtestPage)
	u.POST("/backtest/jobs", a.jobSubmit)
	u.POST("/backtest/optimize", a.optimizeSubmit)
	u.GET("/backtest/jobs/:id", a.jobPage)
	u.POST("/backtest/jobs/:id/cancel", a.jobCancel)
	u.GET("/paper", a.paperPage)
	u.POST("/paper/order", a.paperOrder)
	u.POST("/paper/cancel", a.paperCancel)
	a.chatRoutes(u, apiUser) // chat.go
	u.GET("/transactions", a.transactionsPage)
	u.POST("/transactions", a.transactionsAdd)
	u.GET("/transactions.csv", a.transactionsCSV)
	u.GET("/account", a.accountPage)
	u.POST("/account/password", a.accountPassword)
	u.POST("/account/totp/enroll", a.accountTOTPEnroll)
	u.POST("/account/totp/confirm", a.accountTOTPConfirm)
	u.POST("/account/totp/disable", a.accountTOTPDisable)
	u.POST("/account/recovery-codes", a.accountRecoveryCodes)
	u.POST("/account/sessions/revoke", a.accountRevokeSession)

	// The encrypted-chat relay authenticates identities itself (signed
	// challenge), so it is open to any client with a key.
	e.GET("/chat/ws", gin.WrapH(a.relay))

	// Admin pages: auth's RequireRole answers 401 to anonymous requests and
	// 403 to users without the admin role.
	adm := e.Group("/admin", a.requireRole(auth.RoleAdmin))
	adm.GET("", a.adminPage)
	adm.POST("/users/:id/role", a.adminSetRole)
	a.uploadRoutes(e, adm) // /uploads API and /admin/uploads page (uploads.go)
	if a.cfg.logLevelVar != nil {
		// GET {"level":"info"}; PUT the same shape to change it.
		adm.Match([]string{http.MethodGet, http.MethodPut}, "/log-level", gin.WrapH(logging.LevelHandler(a.cfg.logLevelVar)))
	}

	e.NoRoute(a.notFound)
	e.NoMethod(a.methodNotAllowed)
}

// routeAttrs records Gin's route pattern and the user id for the access log.
func (a *app) routeAttrs(c *gin.Context) {
	ctx := c.Request.Context()
	if p := c.FullPath(); p != "" {
		logging.SetRoute(ctx, p)
	}
	if u, ok := auth.UserFrom(ctx); ok {
		logging.AddAccessAttrs(ctx, slog.String("user_id", u.ID))
		c.Request = c.Request.WithContext(logging.WithAttrs(ctx, slog.String("user_id", u.ID)))
	}
	c.Next()
}

// contentSecurityPolicy allows only the app's own scripts, styles and
// connections (inline styles are used for bar widths and the print report).
const contentSecurityPolicy = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'"

// securityHeaders sets the usual browser hardening headers.
func securityHeaders(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", contentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	// What a logged-in user is served is theirs (books, paper account,
	// settings): a browser shared after a logout keeps no copy to show
	// the next person. Static files stay cacheable.
	if _, ok := auth.UserFrom(c.Request.Context()); ok && !strings.HasPrefix(c.Request.URL.Path, "/static/") && c.Request.URL.Path != "/favicon.ico" {
		h.Set("Cache-Control", "no-store")
	}
	c.Next()
}

// adapt turns net/http middleware into Gin middleware: the chain goes on only
// when the middleware calls its next handler.
func adapt(mw func(http.Handler) http.Handler) gin.HandlerFunc {
	return func(c *gin.Context) {
		passed := false
		mw(http.HandlerFunc(func(_ http.ResponseWriter, r *http.Request) {
			passed = true
			c.Request = r
		})).ServeHTTP(c.Writer, c.Request)
		if !passed {
			c.Abort()
			return
		}
		c.Next()
	}
}

// requireLogin sends anonymous browsers to the login page and answers 401
// to everything else (scripts, event streams).
func (a *app) requireLogin(c *gin.Context) {
	if _, ok := auth.UserFrom(c.Request.Context()); ok {
		c.Next()
		return
	}
	c.Abort()
	if !strings.Contains(c.GetHeader("Accept"), "text/html") && c.Request.Method != http.MethodGet ||
		strings.Contains(c.GetHeader("Accept"), "text/event-stream") {
		auth.WriteError(c.Writer, auth.ErrUnauthenticated)
		return
	}
	next := c.Request.URL.RequestURI()
	if c.Request.Method != http.MethodGet {
		next = strings.SplitN(next, "/", 3)[1] // the page the form was on
		next = "/" + next
	}
	flashRedirect(c, "/login?next="+url.QueryEscape(next), "Please log in first.")
}

func currentUser(c *gin.Context) auth.User {
	u, _ := auth.UserFrom(c.Request.Context())
	return u
}

// message is the data of the generic message page.
type message struct {
	Heading string
	Text    string
	Hint    string
	Link    string
	LinkTo  string
}

func (a *app) home(c *gin.Context) {
	if _, ok := auth.UserFrom(c.Request.Context()); ok {
		a.overview(c) // home.go
		return
	}
	a.render(c, http.StatusOK, "home", view{Title: "finkit dashboard", Active: "home", Data: packages})
}

type pkgInfo struct{ Name, Summary, Page string }

var packages = []pkgInfo{
	{"portfolio", "accounts, transactions, cost basis, P&L, returns and allocation in exact decimals", "/portfolio"},
	{"marketdata", "quote, FX and crypto providers fetched in parallel and merged; price statistics", "/quotes"},
	{"papertrade", "simulated broker, backtesting engine and Monte Carlo long-run verdicts", "/backtest"},
	{"securechat", "end-to-end encrypted chat on NaCl primitives with a ciphertext-only relay", "/chat"},
	{"pdfexport", "save any URL or HTML as PDF through a warm headless Chromium pool", "/portfolio"},
	{"auth", "registration, login, sessions, roles and two-factor authentication", "/login"},
	{"logging", "structured log/slog setup with redaction, request ids and access logs", ""},
}

// loginForm is the data of the login and registration pages.
type loginForm struct {
	Username string
	Email    string
	Next     string
}

func safeNext(next string) string {
	// Only a path of our own: browsers drop tabs and newlines and read
	// backslashes as slashes, so "/\t/host" or "/\host" would be "//host";
	// refuse any control character or backslash, then anything that parses
	// with a scheme, host or user, or whose path does not start with a
	// single slash.
	const home = "/portfolio"
	if !strings.HasPrefix(next, "/") || strings.HasPrefix(next, "//") || strings.ContainsRune(next, '\\') ||
		strings.IndexFunc(next, unicode.IsControl) >= 0 {
		return home
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil || u.Opaque != "" ||
		!strings.HasPrefix(u.Path, "/") || strings.HasPrefix(u.Path, "//") {
		return home
	}
	return next
}

func (a *app) loginPage(c *gin.Context) {
	a.render(c, http.StatusOK, "login", view{Title: "Log in", Active: "login", Data: loginForm{Next: c.Query("next")}})
}

func (a *app) loginSubmit(c *gin.Context) {
	form := loginForm{Username: c.PostForm("username"), Next: c.PostForm("next")}
	res, err := a.auth.Login(c.Request.Context(), auth.Credentials{
		Username: form.Username, Password: c.PostForm("password"), Code: c.PostForm("code"),
		DeviceToken: a.auth.DeviceTokenFromRequest(c.Request), PreviousToken: a.auth.TokenFromRequest(c.Request),
		ShowDisabled: true,
	})
	if err != nil {
		status, _ := auth.StatusOf(err)
		msg := "Wrong username or password."
		switch {
		case errors.Is(err, auth.ErrTooManyAttempts):
			if d, ok := auth.RetryAfter(err); ok {
				c.Header("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
			}
			msg = "Too many failed attempts. Wait a little and try again."
		case errors.Is(err, auth.ErrTOTPRequired), errors.Is(err, auth.ErrInvalidTOTP):
			msg = "Enter the code from your authenticator app."
		case errors.Is(err, auth.ErrAccountDisabled):
			msg = "This account is disabled."
		case status >= 500:
			a.fail(c, err)
			return
		}
		a.render(c, status, "login", view{Title: "Log in", Active: "login", Error: msg, Data: form})
		return
	}
	a.auth.SetSessionCookie(c.Writer, res)
	c.Redirect(http.StatusSeeOther, safeNext(form.Next))
}

func (a *app) registerPage(c *gin.Context) {
	a.render(c, http.StatusOK, "register", view{Title: "Create an account", Active: "register", Data: loginForm{}})
}

func (a *app) registerSubmit(c *gin.Context) {
	ctx := c.Request.Context()
	form := loginForm{Username: c.PostForm("username"), Email: c.PostForm("email")}
	password := c.PostForm("password")
	if password != c.PostForm("confirm") {
		a.render(c, http.StatusBadRequest, "register", view{Title: "Create an account", Active: "register",
			Error: "The two passwords differ.", Data: form})
		return
	}
	if _, err := a.auth.Register(ctx, auth.RegisterRequest{Username: form.Username, Email: form.Email, Password: password}); err != nil {
		status, _ := auth.StatusOf(err)
		if status >= 500 {
			a.fail(c, err)
			return
		}
		if d, ok := auth.RetryAfter(err); ok {
			c.Header("Retry-After", strconv.Itoa(int(math.Ceil(d.Seconds()))))
		} else {
			status = http.StatusBadRequest
		}
		a.render(c, status, "register", view{Title: "Create an account", Active: "register",
			Error: registerError(err), Data: form})
		return
	}
	res, err := a.auth.Login(ctx, auth.Credentials{Username: form.Username, Password: password,
		PreviousToken: a.auth.TokenFromRequest(c.Request)})
	if err != nil {
		c.Redirect(http.StatusSeeOther, "/login")
		return
	}
	a.auth.SetSessionCookie(c.Writer, res)
	flashRedirect(c, "/portfolio", "Welcome, "+res.User.Username+"! Load the demo portfolio to see the dashboard in action.")
}

func registerError(err error) string {
	switch {
	case errors.Is(err, auth.ErrTooManyAttempts):
		return "Too many accounts created from here. Wait a while and try again."
	case errors.Is(err, auth.ErrUsernameTaken):
		return "That username is taken."
	case errors.Is(err, auth.ErrInvalidUsername):
		return "Usernames are 3–32 characters: letters, digits, '.', '_' and '-'."
	case errors.Is(err, auth.ErrInvalidEmail):
		return "That email address does not look right."
	case errors.Is(err, auth.ErrPasswordTooShort):
		return "The password is too short: use at least 15 characters (a few words make a good one)."
	case errors.Is(err, auth.ErrPasswordTooLong):
		return "The password is too long."
	case errors.Is(err, auth.ErrPasswordCommon):
		return "That password is on the list of the most common passwords. Choose another."
	case errors.Is(err, auth.ErrPasswordContainsUsername):
		return "The password must not contain the username."
	case errors.Is(err, auth.ErrPasswordRepetitive):
		return "The password repeats one character or word. Use a few different words."
	case errors.Is(err, auth.ErrPasswordBreached):
		return "That password appears in a known data breach. Choose another."
	case errors.Is(err, auth.ErrWeakPassword):
		return "The password was rejected. Choose a longer one of a few different words."
	}
	return "Registration failed."
}

func (a *app) logoutSubmit(c *gin.Context) {
	if err := a.auth.Logout(c.Request.Context(), a.auth.TokenFromRequest(c.Request)); err != nil {
		a.log.WarnContext(c.Request.Context(), "logout failed", "error", err)
	}
	a.auth.ClearSessionCookie(c.Writer)
	flashRedirect(c, "/login", "You are logged out.")
}
