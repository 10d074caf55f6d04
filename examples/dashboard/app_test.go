package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/testutil"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/securechat"
)

// Cheap argon2id parameters: the tests exercise the flow, not the hashing.
var testParams = auth.Params{Memory: 1024, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}

const testPassword = "purple elephant umbrella marathon"

// syncBuffer is a log sink safe for the server's concurrent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type testEnv struct {
	app  *app
	srv  *httptest.Server
	logs *syncBuffer
}

func newTestEnv(t *testing.T) *testEnv {
	t.Helper()
	return newTestEnvIn(t, t.TempDir())
}

// newTestEnvIn starts the dashboard on the data directory dir.
func newTestEnvIn(t *testing.T, dir string) *testEnv {
	t.Helper()
	return newTestEnvWith(t, config{dataDir: dir})
}

// newTestEnvWith starts the dashboard with cfg (its test settings filled
// in).
func newTestEnvWith(t *testing.T, cfg config) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	lv := new(slog.LevelVar)
	logger, closeLog, err := newLogger("debug", "json", logs, lv)
	require.NoError(t, err)
	// The chat relay needs the host clients dial: listen first, then
	// configure it.
	srv := httptest.NewUnstartedServer(nil)
	cfg.authParams, cfg.logLevelVar, cfg.publicHost = testParams, lv, srv.Listener.Addr().String()
	a, err := newApp(context.Background(), cfg, logger)
	require.NoError(t, err)
	srv.Config.Handler = a.Handler()
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		assert.NoError(t, a.Close())
		closeLog()
	})
	return &testEnv{app: a, srv: srv, logs: logs}
}

// client returns an HTTP client with its own cookie jar that does not follow
// redirects, so tests see every 303.
func (e *testEnv) client(t *testing.T) *http.Client {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	return &http.Client{
		Jar:           jar,
		Timeout:       30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

func (e *testEnv) get(t *testing.T, c *http.Client, path string) (int, string, http.Header) {
	t.Helper()
	resp, err := c.Get(e.srv.URL + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Header
}

func (e *testEnv) post(t *testing.T, c *http.Client, path string, form url.Values) (int, string, http.Header) {
	t.Helper()
	resp, err := c.PostForm(e.srv.URL+path, form)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(body), resp.Header
}

// user registers a user directly through the service and returns a client
// logged in as that user through the login form.
func (e *testEnv) user(t *testing.T, name string, role auth.Role) *http.Client {
	t.Helper()
	_, err := e.app.auth.Register(context.Background(), auth.RegisterRequest{Username: name, Password: testPassword, Role: role})
	require.NoError(t, err)
	c := e.client(t)
	status, _, h := e.post(t, c, "/login", url.Values{"username": {name}, "password": {testPassword}})
	require.Equal(t, http.StatusSeeOther, status)
	require.Equal(t, "/portfolio", h.Get("Location"))
	return c
}

func TestHealthzAndHome(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(t)
	status, body, _ := e.get(t, c, "/healthz")
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, "ok\n", body)

	status, body, _ = e.get(t, c, "/")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "portfolio")
	assert.Contains(t, body, "/static/style.css")

	status, body, h := e.get(t, c, "/static/style.css")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, h.Get("Content-Type"), "text/css")
	assert.Contains(t, body, ".card")

	status, _, _ = e.get(t, c, "/no/such/page")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestLoginPageShowsBootstrapHint(t *testing.T) {
	e := newTestEnv(t)
	status, body, _ := e.get(t, e.client(t), "/login")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "go run ./examples/finkit user add --admin NAME")
}

func TestRegisterLoginPortfolioFlow(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(t)

	// Anonymous: sent to the login page.
	status, _, h := e.get(t, c, "/portfolio")
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/login?next=%2Fportfolio", h.Get("Location"))
	assert.Equal(t, "Please log in first.", e.flashAt(t, c, h.Get("Location")))

	// An anonymous form post from a browser goes to the login page too;
	// a script gets 401.
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/paper/order", strings.NewReader("side=buy"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "text/html,application/xhtml+xml")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/login?next=%2Fpaper", resp.Header.Get("Location"))
	status, _, _ = e.post(t, c, "/paper/order", url.Values{"side": {"buy"}})
	assert.Equal(t, http.StatusUnauthorized, status)

	// Bad registrations change nothing and say why.
	status, body, _ := e.post(t, c, "/register", url.Values{"username": {"alice"}, "password": {"short"}, "confirm": {"short"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "too short")
	status, body, _ = e.post(t, c, "/register", url.Values{"username": {"alice"}, "password": {testPassword}, "confirm": {testPassword + "x"}})
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, body, "differ")

	// Register logs the new user in.
	status, _, h = e.post(t, c, "/register", url.Values{"username": {"alice"}, "email": {"alice@example.com"}, "password": {testPassword}, "confirm": {testPassword}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Equal(t, "/portfolio", h.Get("Location"))
	assert.Contains(t, e.flashAt(t, c, "/portfolio"), "Welcome, alice!")
	cookies := c.Jar.Cookies(mustURL(t, e.srv.URL))
	require.Len(t, cookies, 2, "session and device cookies")
	assert.Equal(t, "finkit_session", cookies[0].Name, "plain-HTTP localhost cookie without the __Host- prefix")
	assert.Equal(t, "finkit_session_device", cookies[1].Name)

	status, body, _ = e.get(t, c, "/portfolio")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Load demo portfolio")

	// The demo import books the CSV for this user only.
	status, _, h = e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "20 transactions")
	status, body, _ = e.get(t, c, "/portfolio")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{"Total value", "AAPL", "EQNR.OL", "BTC-USD", "Brokerage", "Savings (EUR)", "Value over time", `<svg class="chart2 chart-wide"`, "Net deposits", "Download as PDF", "Time-weighted return", "XIRR"} {
		assert.Contains(t, body, want)
	}
	assert.NotContains(t, body, "u.", "per-user id prefixes are hidden")

	// Importing again books nothing new.
	_, _, h = e.post(t, c, "/portfolio/demo", nil)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "already loaded")

	// JSON view through the API.
	status, body, _ = e.get(t, c, "/api/portfolio?base=EUR")
	require.Equal(t, http.StatusOK, status)
	var pj struct {
		Base      string `json:"base"`
		Valuation struct {
			Total    string `json:"total"`
			Holdings []struct {
				Symbol string `json:"symbol"`
			} `json:"holdings"`
		} `json:"valuation"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &pj))
	assert.Equal(t, "EUR", pj.Base)
	assert.Len(t, pj.Valuation.Holdings, 8)

	// Another user sees an empty portfolio.
	bob := e.user(t, "bob", auth.RoleUser)
	_, body, _ = e.get(t, bob, "/portfolio")
	assert.Contains(t, body, "Load demo portfolio")
	assert.NotContains(t, body, "EQNR.OL")

	// Logout ends the session.
	status, _, _ = e.post(t, c, "/logout", nil)
	require.Equal(t, http.StatusSeeOther, status)
	status, _, _ = e.get(t, c, "/portfolio")
	assert.Equal(t, http.StatusSeeOther, status)

	// Wrong password: the form again, 401, no session.
	status, body, _ = e.post(t, c, "/login", url.Values{"username": {"alice"}, "password": {"wrong wrong wrong wrong"}})
	assert.Equal(t, http.StatusUnauthorized, status)
	assert.Contains(t, body, "Wrong username or password")
}

func TestImportCSV(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "carol", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)

	upload := func(csv string) string {
		var buf bytes.Buffer
		fmt.Fprintf(&buf, "--B\r\nContent-Disposition: form-data; name=\"file\"; filename=\"t.csv\"\r\nContent-Type: text/csv\r\n\r\n%s\r\n--B--\r\n", csv)
		req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/portfolio/import", &buf)
		require.NoError(t, err)
		req.Header.Set("Content-Type", "multipart/form-data; boundary=B")
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusSeeOther, resp.StatusCode)
		loc, err := url.Parse(resp.Header.Get("Location"))
		require.NoError(t, err)
		return e.flashAt(t, c, loc.String())
	}
	msg := upload("date,account,kind,symbol,quantity,price\n2026-01-05,broker,buy,TSLA,2,410.5\n")
	assert.Equal(t, "Imported 1 new transactions (0 already booked).", msg)
	msg = upload("date,account,kind,symbol,quantity,price\n2026-01-05,broker,sell,GOOG,2,190\n")
	assert.Contains(t, msg, "nothing was booked")
	assert.Contains(t, msg, "insufficient holdings")
	msg = upload("date,account,kind,symbol,quantity,price\n2026-01-05,nope,buy,GOOG,2,190\n")
	assert.Contains(t, msg, "unknown account")
	msg = upload("date,account,kind\nnot a date,broker,buy\n")
	assert.Contains(t, msg, "Import failed")
	_, body, _ := e.get(t, c, "/portfolio")
	assert.Contains(t, body, "TSLA")
	assert.NotContains(t, body, "GOOG")
}

func TestAdminAuthorizationMatrix(t *testing.T) {
	e := newTestEnv(t)
	anon := e.client(t)
	user := e.user(t, "dave", auth.RoleUser)
	admin := e.user(t, "root-admin", auth.RoleAdmin)

	for _, tc := range []struct {
		name   string
		c      *http.Client
		status int
	}{{"anonymous", anon, http.StatusUnauthorized}, {"user", user, http.StatusForbidden}, {"admin", admin, http.StatusOK}} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.get(t, tc.c, "/admin")
			assert.Equal(t, tc.status, status)
			if tc.status == http.StatusOK {
				assert.Contains(t, body, "dave")
			}
			status, _, _ = e.post(t, tc.c, "/admin/users/x/role", url.Values{"role": {"admin"}})
			if tc.status == http.StatusOK {
				assert.Equal(t, http.StatusSeeOther, status)
			} else {
				assert.Equal(t, tc.status, status)
			}
		})
	}

	// The admin promotes dave; his old session ends (new privileges, new token).
	dave, err := e.app.auth.UserByUsername(context.Background(), "dave")
	require.NoError(t, err)
	status, _, h := e.post(t, admin, "/admin/users/"+dave.ID+"/role", url.Values{"role": {"admin"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, admin, h.Get("Location")), "dave is now admin")
	status, _, _ = e.get(t, user, "/admin")
	assert.Equal(t, http.StatusUnauthorized, status)
}

func TestCrossOriginPostRejected(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "erin", auth.RoleUser)
	for _, tc := range []struct {
		name    string
		headers map[string]string
		status  int
	}{
		{"cross-site fetch metadata", map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "http://evil.example"}, http.StatusForbidden},
		{"foreign origin only", map[string]string{"Origin": "http://evil.example"}, http.StatusForbidden},
		{"same origin", map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": e.srv.URL}, http.StatusSeeOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/portfolio/demo", nil)
			require.NoError(t, err)
			for k, v := range tc.headers {
				req.Header.Set(k, v)
			}
			resp, err := c.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, tc.status, resp.StatusCode)
		})
	}
	// The rejected requests booked nothing; the same-origin one did.
	_, body, _ := e.get(t, c, "/portfolio")
	assert.Contains(t, body, "AAPL")
	assert.Contains(t, e.logs.String(), "cross-origin request rejected")
}

func TestQuotesJSONAndSSE(t *testing.T) {
	e := newTestEnv(t)
	anon := e.client(t)
	status, _, _ := e.get(t, anon, "/api/quotes?symbols=AAPL")
	assert.Equal(t, http.StatusUnauthorized, status)

	c := e.user(t, "frank", auth.RoleUser)
	status, body, _ := e.get(t, c, "/api/quotes?symbols=AAPL,EQNR.OL")
	require.Equal(t, http.StatusOK, status)
	var res struct {
		Quotes []struct {
			Symbol   string `json:"symbol"`
			Price    string `json:"price"`
			Currency string `json:"currency"`
			Sources  []struct {
				Provider string `json:"provider"`
			} `json:"sources"`
		} `json:"quotes"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &res))
	require.Len(t, res.Quotes, 2)
	assert.Equal(t, "AAPL", res.Quotes[0].Symbol)
	assert.Equal(t, "NOK", res.Quotes[1].Currency)
	assert.NotEmpty(t, res.Quotes[0].Price, "a decimal string (TestQuotesConcurrencyLine)")
	assert.Len(t, res.Quotes[0].Sources, 3)

	status, _, _ = e.get(t, c, "/api/quotes?symbols=not+a+symbol!")
	assert.Equal(t, http.StatusBadRequest, status)

	status, body, _ = e.get(t, c, "/quotes")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "sim-slow")

	// Server-sent events: the first event arrives and carries a price.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/quotes/stream?symbols=BTC-USD", nil)
	require.NoError(t, err)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := c.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))
	sc := bufio.NewScanner(resp.Body)
	require.True(t, sc.Scan())
	assert.Equal(t, "event: quote", sc.Text())
	require.True(t, sc.Scan())
	data, ok := strings.CutPrefix(sc.Text(), "data: ")
	require.True(t, ok)
	var ev quoteEvent
	require.NoError(t, json.Unmarshal([]byte(data), &ev))
	assert.Equal(t, "BTC-USD", ev.Symbol)
	assert.Equal(t, "USD", ev.Currency)
	assert.NotEmpty(t, ev.Price)
	assert.Len(t, ev.Sources, 3)
	cancel()
}

func TestStatsPage(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "gina", auth.RoleUser)
	status, body, _ := e.get(t, c, "/stats?symbol=EQNR.OL")
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{"How much did it go up or down?", "1Y", "Up days", "Max drawdown", `fill="none" stroke="#2f5bea" stroke-width="1.8"`} {
		assert.Contains(t, body, want)
	}
	status, _, _ = e.get(t, c, "/stats?symbol=NOPE")
	assert.Equal(t, http.StatusNotFound, status)
}

func TestBacktestForm(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "hank", auth.RoleUser)
	status, body, _ := e.get(t, c, "/backtest")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "SMA crossover")

	q := url.Values{"run": {"1"}, "symbol": {"SPY"}, "strategy": {"smacross"}, "smacross.fast": {"10"}, "smacross.slow": {"30"},
		"cash": {"25000"}, "commission": {"0.1"}, "mc": {"on"}}
	status, body, _ = e.get(t, c, "/backtest?"+q.Encode())
	require.Equal(t, http.StatusOK, status)
	for _, want := range []string{"SMACross", "Sharpe ratio", "Max drawdown", "Buy &amp; hold return", "Monte Carlo", "P(profit)", "300 gbm paths"} {
		assert.Contains(t, body, want)
	}

	for _, bad := range []url.Values{
		{"run": {"1"}, "strategy": {"nope"}},
		{"run": {"1"}, "strategy": {"smacross"}, "cash": {"-5"}},
		{"run": {"1"}, "strategy": {"smacross"}, "smacross.fast": {"abc"}},
		{"run": {"1"}, "strategy": {"smacross"}, "smacross.fast": {"10.5"}}, // a period is a whole number
		{"run": {"1"}, "strategy": {"random"}, "random.prob": {"2"}},
		{"run": {"1"}, "strategy": {"smacross"}, "symbol": {"NOPE"}},
	} {
		status, body, _ = e.get(t, c, "/backtest?"+bad.Encode())
		assert.Equal(t, http.StatusBadRequest, status, bad.Encode())
		assert.Contains(t, body, "flash error")
	}
}

func TestPaperTrading(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "ivy", auth.RoleUser)
	status, body, _ := e.get(t, c, "/paper")
	require.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "100,000.00 USD")

	order := func(side, sym, qty string) string {
		status, _, h := e.post(t, c, "/paper/order", url.Values{"side": {side}, "symbol": {sym}, "qty": {qty}})
		require.Equal(t, http.StatusSeeOther, status)
		loc, err := url.Parse(h.Get("Location"))
		require.NoError(t, err)
		return e.flashAt(t, c, loc.String())
	}
	assert.Contains(t, order("buy", "AAPL", "10"), "Filled: buy 10 AAPL")
	assert.Contains(t, order("sell", "AAPL", "4"), "Filled: sell 4 AAPL")
	assert.Contains(t, order("sell", "MSFT", "1"), "cannot sell more MSFT")
	assert.Contains(t, order("buy", "EQNR.OL", "1"), "not quoted in USD")
	assert.Contains(t, order("buy", "AAPL", "-1"), "positive")
	assert.Contains(t, order("buy", "BTC-USD", "1000"), "Not enough cash")

	// Limit orders: one far below the market waits, one above fills at the
	// next poll (at the quote, never worse than the limit).
	limit := func(side, sym, qty, lim string) string {
		status, _, h := e.post(t, c, "/paper/order", url.Values{"side": {side}, "symbol": {sym}, "qty": {qty}, "limit": {lim}})
		require.Equal(t, http.StatusSeeOther, status)
		loc, err := url.Parse(h.Get("Location"))
		require.NoError(t, err)
		return e.flashAt(t, c, loc.String())
	}
	assert.Contains(t, limit("buy", "MSFT", "2", "1"), "Limit order #1 placed")
	assert.Contains(t, limit("buy", "NVDA", "3", "100000"), "Limit order #2 placed")
	assert.Contains(t, limit("buy", "NVDA", "3", "abc"), "positive number")
	_, body, _ = e.get(t, c, "/paper") // polls
	assert.Contains(t, body, "Pending limit orders")
	assert.Contains(t, body, "NVDA")
	ps, err := e.app.paperFor(context.Background(), mustUser(t, e, "ivy"))
	require.NoError(t, err)
	require.Len(t, ps.acct.Orders(), 1, "the NVDA order filled, the MSFT one waits")
	assert.Equal(t, "3", ps.acct.Positions()["NVDA"].String())
	status, _, h := e.post(t, c, "/paper/cancel", url.Values{"id": {"1"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "cancelled")
	assert.Empty(t, ps.acct.Orders())
	_, _, h = e.post(t, c, "/paper/cancel", url.Values{"id": {"1"}})
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "No such")

	_, body, _ = e.get(t, c, "/paper")
	if !assert.Contains(t, body, "AAPL") {
		t.Log(e.logs.String())
	}
	// The fills are booked into an ordinary account of the user's paper
	// book, never into the real portfolio.
	l, err := portfolio.LoadLedger(context.Background(), e.app.paperBookOf(mustUser(t, e, "ivy")))
	require.NoError(t, err)
	pos, ok := l.Position(paperAccountID, "AAPL")
	require.True(t, ok)
	assert.Equal(t, "6", pos.Quantity.String())
	_, body, _ = e.get(t, c, "/portfolio")
	assert.NotContains(t, body, "Paper trading (brokerage")
	assert.NotContains(t, body, "AAPL")
}

func TestRequestIDInLogLines(t *testing.T) {
	e := newTestEnv(t)
	c := e.client(t)
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/login", strings.NewReader("username=nobody&password=whatever+whatever"))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Request-ID", "test-req-42")
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	// The logging middleware believes a client's id only from a trusted
	// proxy (none here), so it assigns its own: both lines carry that one.
	rid := resp.Header.Get("X-Request-ID")
	require.NotEmpty(t, rid)
	assert.NotEqual(t, "test-req-42", rid)

	var access, audit bool
	for _, line := range strings.Split(strings.TrimSpace(e.logs.String()), "\n") {
		if !strings.Contains(line, rid) {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		assert.Equal(t, rid, rec["request_id"], line)
		switch {
		case rec["msg"] == "http request":
			access = true
			assert.Equal(t, "/login", rec["route"])
		case rec["audit"] == true:
			audit = true
		}
		assert.NotContains(t, line, "whatever", "no password in logs")
	}
	assert.True(t, access, "access log line with the request id")
	assert.True(t, audit, "audit line (login failure) with the request id")
}

func TestPDFExport(t *testing.T) {
	testutil.RequireChrome(t)
	e := newTestEnv(t)
	c := e.user(t, "jack", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	status, body, h := e.get(t, c, "/portfolio/report.pdf")
	require.Equal(t, http.StatusOK, status, body)
	assert.Equal(t, "application/pdf", h.Get("Content-Type"))
	assert.True(t, strings.HasPrefix(body, "%PDF-"))
	assert.Contains(t, h.Get("Content-Disposition"), "attachment")
}

func TestRunServesAndShutsDown(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().String()
	require.NoError(t, ln.Close())

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &syncBuffer{}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"--addr", addr, "--data", t.TempDir(), "--log-format", "json"}, logs)
	}()

	var resp *http.Response
	require.Eventually(t, func() bool {
		resp, err = http.Get("http://" + addr + "/healthz")
		return err == nil
	}, 10*time.Second, 50*time.Millisecond)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	cancel()
	select {
	case err := <-done:
		assert.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("run did not return after cancel")
	}
	assert.Contains(t, logs.String(), "shutting down")
	assert.Contains(t, logs.String(), "session cookies are not Secure", "says so at start")
}

func TestBadFlags(t *testing.T) {
	var stderr bytes.Buffer
	err := run(context.Background(), []string{"--log-level", "loud"}, &stderr)
	assert.ErrorContains(t, err, "log-level")
}

func mustUser(t *testing.T, e *testEnv, name string) auth.User {
	u, err := e.app.auth.UserByUsername(context.Background(), name)
	require.NoError(t, err)
	return u
}

func mustURL(t *testing.T, s string) *url.URL {
	u, err := url.Parse(s)
	require.NoError(t, err)
	return u
}

func TestChatRelayMounted(t *testing.T) {
	e := newTestEnv(t)
	url := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/chat/ws"
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	quiet := slog.New(slog.DiscardHandler)
	aliceID, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	bobID, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	alice, err := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: aliceID, Logger: quiet})
	require.NoError(t, err)
	defer alice.Close()
	bob, err := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: bobID, Logger: quiet})
	require.NoError(t, err)
	defer bob.Close()
	require.NoError(t, bob.WaitConnected(ctx))

	// Through the whole middleware chain (access log, cross-origin
	// protection, session authentication, Gin) to the relay and back.
	require.NoError(t, alice.Send(ctx, bob.ID(), []byte("lunch at 12?")))
	select {
	case m := <-bob.Messages():
		assert.Equal(t, alice.ID(), m.From)
		assert.Equal(t, "lunch at 12?", string(m.Body))
	case <-ctx.Done():
		t.Fatal("no message")
	}
	// The relay keeps its mailbox in the shared database, and what it keeps
	// is ciphertext.
	var n int
	require.NoError(t, e.app.db.QueryRow(`SELECT COUNT(*) FROM chat_mailbox_seq`).Scan(&n))
	assert.Positive(t, n)
	rows, err := e.app.db.Query(`SELECT envelope FROM chat_mailbox`)
	require.NoError(t, err)
	for rows.Next() {
		var env []byte
		require.NoError(t, rows.Scan(&env))
		assert.NotContains(t, string(env), "lunch")
	}
	require.NoError(t, rows.Err())
	require.NoError(t, rows.Close())
	status, body, _ := e.get(t, e.user(t, "kate", auth.RoleUser), "/chat")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "/chat/ws")
}

func TestPDFWithoutChromium(t *testing.T) {
	t.Setenv("FINKIT_CHROME", filepath.Join(t.TempDir(), "no-such-chromium"))
	e := newTestEnv(t)
	c := e.user(t, "liam", auth.RoleUser)
	status, body, _ := e.get(t, c, "/portfolio/report.pdf")
	assert.Equal(t, http.StatusServiceUnavailable, status)
	assert.Contains(t, body, "PDF export is not available")
	status, body, _ = e.get(t, c, "/portfolio/report")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "Portfolio report")
}

func TestSessionCookieAndSecurityHeaders(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.app.auth.Register(context.Background(), auth.RegisterRequest{Username: "mia", Password: testPassword})
	require.NoError(t, err)
	resp, err := e.client(t).PostForm(e.srv.URL+"/login", url.Values{"username": {"mia"}, "password": {testPassword}, "next": {"//evil.example/"}})
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	assert.Equal(t, "/portfolio", resp.Header.Get("Location"), "no open redirect")
	cookies := resp.Cookies()
	require.Len(t, cookies, 2, "session and device cookies")
	for _, ck := range cookies {
		assert.True(t, ck.HttpOnly)
		assert.Equal(t, http.SameSiteLaxMode, ck.SameSite)
		assert.Equal(t, "/", ck.Path)
		assert.False(t, ck.Secure, "plain-HTTP localhost")
	}

	status, _, h := e.get(t, e.client(t), "/login")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, h.Get("Content-Security-Policy"), "script-src 'self'")
	assert.Equal(t, "nosniff", h.Get("X-Content-Type-Options"))
	assert.Equal(t, "DENY", h.Get("X-Frame-Options"))
}

func TestAddAccount(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "noah", auth.RoleUser)
	add := func(v url.Values) string {
		status, _, h := e.post(t, c, "/portfolio/accounts", v)
		require.Equal(t, http.StatusSeeOther, status)
		loc, err := url.Parse(h.Get("Location"))
		require.NoError(t, err)
		return e.flashAt(t, c, loc.String())
	}
	assert.Contains(t, add(url.Values{"id": {"ira"}, "name": {"Retirement"}, "kind": {"brokerage"}, "currency": {"usd"}, "cost": {"fifo"}}), "Added the account Retirement")
	assert.Contains(t, add(url.Values{"id": {"ira"}, "kind": {"bank"}, "currency": {"EUR"}}), "duplicate account")
	assert.Contains(t, add(url.Values{"id": {"x y"}, "kind": {"bank"}, "currency": {"EUR"}}), "Account ids are")
	assert.Contains(t, add(url.Values{"id": {"bad"}, "kind": {"casino"}, "currency": {"EUR"}}), "not added")
	_, body, _ := e.get(t, c, "/portfolio")
	assert.Contains(t, body, "Retirement")
	assert.NotContains(t, body, "casino")
}

func TestLoginThrottled(t *testing.T) {
	e := newTestEnv(t)
	_, err := e.app.auth.Register(context.Background(), auth.RegisterRequest{Username: "olga", Password: testPassword})
	require.NoError(t, err)
	c := e.client(t)
	var status int
	var body string
	var h http.Header
	for range 8 {
		status, body, h = e.post(t, c, "/login", url.Values{"username": {"olga"}, "password": {"not the right password at all"}})
		if status == http.StatusTooManyRequests {
			break
		}
		require.Equal(t, http.StatusUnauthorized, status)
	}
	require.Equal(t, http.StatusTooManyRequests, status)
	assert.Contains(t, body, "Too many failed attempts")
	assert.NotEmpty(t, h.Get("Retry-After"))
	// Even the right password waits now.
	status, _, _ = e.post(t, c, "/login", url.Values{"username": {"olga"}, "password": {testPassword}})
	assert.Equal(t, http.StatusTooManyRequests, status)
}

func TestAdminChangesLogLevel(t *testing.T) {
	e := newTestEnv(t)
	admin := e.user(t, "level-admin", auth.RoleAdmin)
	user := e.user(t, "level-user", auth.RoleUser)

	status, body, _ := e.get(t, admin, "/admin/log-level")
	require.Equal(t, http.StatusOK, status)
	assert.JSONEq(t, `{"level":"debug"}`, body)
	status, _, _ = e.get(t, user, "/admin/log-level")
	assert.Equal(t, http.StatusForbidden, status)

	put := func(c *http.Client, body string) int {
		req, err := http.NewRequest(http.MethodPut, e.srv.URL+"/admin/log-level", strings.NewReader(body))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		resp, err := c.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusForbidden, put(user, `{"level":"error"}`))
	assert.Equal(t, http.StatusBadRequest, put(admin, `{"level":"loud"}`))
	assert.Equal(t, slog.LevelDebug, e.app.cfg.logLevelVar.Level(), "a bad body leaves the level alone")
	assert.Equal(t, http.StatusOK, put(admin, `{"level":"warn"}`))
	assert.Equal(t, slog.LevelWarn, e.app.cfg.logLevelVar.Level())
}

// Listening on every interface without --public-host, the dashboard does
// not start: its chat relay would have no host to check logins against.
func TestRelayNeedsPublicHostOnWildcardAddr(t *testing.T) {
	lv := new(slog.LevelVar)
	_, err := newApp(context.Background(), config{dataDir: t.TempDir(), addr: "0.0.0.0:8080", authParams: testParams, logLevelVar: lv},
		slog.New(slog.DiscardHandler))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--public-host")
}

func TestRelayHost(t *testing.T) {
	tests := []struct{ addr, public, want string }{
		{"localhost:8080", "", "localhost:8080"},
		{"127.0.0.1:9000", "", "127.0.0.1:9000"},
		{":8080", "", ""},
		{"0.0.0.0:8080", "", ""},
		{"[::]:8080", "", ""},
		{":8080", "finance.example.com", "finance.example.com"},
		{"localhost:8080", "chat.example.com:443", "chat.example.com:443"},
		{"not an address", "", ""},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, config{addr: tt.addr, publicHost: tt.public}.relayHost(), "addr %q public %q", tt.addr, tt.public)
	}
}
