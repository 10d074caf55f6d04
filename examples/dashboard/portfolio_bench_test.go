package main

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// benchApp starts the dashboard on a temporary directory with one user
// holding the demo portfolio, and returns its handler and the user's
// session cookie.
func benchApp(b *testing.B) (http.Handler, []*http.Cookie) {
	b.Helper()
	ctx := context.Background()
	a, err := newApp(ctx, config{dataDir: b.TempDir(), authParams: testParams, publicHost: "127.0.0.1:1"}, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = a.Close() })
	res, err := a.auth.Register(ctx, auth.RegisterRequest{Username: "bench", Password: testPassword, Role: auth.RoleUser})
	if err != nil {
		b.Fatal(err)
	}
	st := a.bookOf(res)
	accts, err := demoAccounts()
	if err != nil {
		b.Fatal(err)
	}
	for _, ac := range accts {
		if err := st.SaveAccount(ctx, ac); err != nil {
			b.Fatal(err)
		}
	}
	txs, err := portfolio.ReadCSV(bytes.NewReader(demoCSV))
	if err != nil {
		b.Fatal(err)
	}
	if _, err := portfolio.BookTransactions(ctx, st, txs); err != nil {
		b.Fatal(err)
	}
	h := a.Handler()
	form := url.Values{"username": {"bench"}, "password": {testPassword}}
	req := httptest.NewRequest(http.MethodPost, "/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusSeeOther {
		b.Fatalf("login: %d", rec.Code)
	}
	return h, rec.Result().Cookies()
}

// BenchmarkPortfolioPageCached is a request for the portfolio page (and
// its JSON) of books that have not changed since the last one.
func BenchmarkPortfolioPageCached(b *testing.B) {
	for _, path := range []string{"/portfolio", "/api/portfolio"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			h, cookies := benchApp(b)
			get := func() {
				req := httptest.NewRequest(http.MethodGet, path, nil)
				for _, c := range cookies {
					req.AddCookie(c)
				}
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", path, rec.Code)
				}
			}
			get() // fills the cache
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
		})
	}
}
