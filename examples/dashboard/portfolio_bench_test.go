package main

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/examples/internal/benchbooks"
	"github.com/finkit/finkit/portfolio"
)

// benchApp starts the dashboard on a temporary directory with one user
// holding the demo portfolio and the transactions of the CSV extra (may be
// nil), and returns its handler, the user's session cookie and books.
func benchApp(b *testing.B, extra []byte) (http.Handler, []*http.Cookie, portfolio.Store) {
	b.Helper()
	_, h, cookies, st := benchAppOf(b, extra)
	return h, cookies, st
}

// benchAppOf is benchApp, with the app.
func benchAppOf(b *testing.B, extra []byte) (*app, http.Handler, []*http.Cookie, portfolio.Store) {
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
	if extra != nil {
		more, err := portfolio.ReadCSV(bytes.NewReader(extra))
		if err != nil {
			b.Fatal(err)
		}
		if _, err := portfolio.BookTransactions(ctx, st, more); err != nil {
			b.Fatal(err)
		}
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
	return a, h, rec.Result().Cookies(), st
}

// benchGet sends GET path with cookies to h and fails unless it is 200.
func benchGet(b *testing.B, h http.Handler, cookies []*http.Cookie, path string) {
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

// BenchmarkPortfolioPageCached is a request for the portfolio page (and
// its JSON) of books that have not changed since the last one.
func BenchmarkPortfolioPageCached(b *testing.B) {
	for _, path := range []string{"/portfolio", "/api/portfolio"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			h, cookies, _ := benchApp(b, nil)
			get := func() { benchGet(b, h, cookies, path) }
			get() // fills the cache
			b.ReportAllocs()
			for b.Loop() {
				get()
			}
		})
	}
}

// BenchmarkFirstRequestAfterWrite is the first request for the portfolio
// (its JSON, its page) after a write to books of 1,020 transactions over
// three years (a deposit booked today, as loadbench's first-request
// figures): what the cache pays to load the books again, catch the series
// up, value and render. Each write is outside the timing.
func BenchmarkFirstRequestAfterWrite(b *testing.B) {
	ctx := context.Background()
	csv, err := benchbooks.CSV(ctx, 1000, 3, time.Now().UTC())
	if err != nil {
		b.Fatal(err)
	}
	for _, path := range []string{"/api/portfolio", "/portfolio"} {
		b.Run(strings.TrimPrefix(path, "/"), func(b *testing.B) {
			h, cookies, st := benchApp(b, csv)
			benchGet(b, h, cookies, path) // fills the cache
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				b.StopTimer()
				tx := portfolio.Transaction{ID: fmt.Sprintf("bench-write-%d", i), Time: time.Now().UTC(), Account: "broker",
					Kind: portfolio.TxDeposit, Amount: decimal.NewFromInt(1), Currency: "USD"}
				if _, err := portfolio.BookTransactions(ctx, st, []portfolio.Transaction{tx}); err != nil {
					b.Fatal(err)
				}
				b.StartTimer()
				benchGet(b, h, cookies, path)
			}
		})
	}
}

// BenchmarkCachedOwnerMemory reports the heap one owner of 1,000
// transactions keeps in the books' cache once every page that caches
// (the portfolio page of every chart period, its JSON, the overview) was
// served in every base: what maxCachedOwners multiplies. It is measured
// as what dropping the owner's entry frees (the quotes and price
// histories shared by all owners stay).
func BenchmarkCachedOwnerMemory(b *testing.B) {
	csv, err := benchbooks.CSV(context.Background(), 1000, 3, time.Now().UTC())
	if err != nil {
		b.Fatal(err)
	}
	for _, bases := range [][]string{baseCurrencies[:1], baseCurrencies} {
		b.Run(fmt.Sprintf("bases=%d", len(bases)), func(b *testing.B) {
			a, h, cookies, _ := benchAppOf(b, csv)
			for b.Loop() {
				for _, base := range bases {
					benchGet(b, h, cookies, "/api/portfolio?base="+base)
					benchGet(b, h, cookies, "/?base="+base)
					for _, p := range valuePeriods {
						benchGet(b, h, cookies, "/portfolio?base="+base+"&period="+p)
					}
				}
				var full, empty runtime.MemStats
				runtime.GC()
				runtime.ReadMemStats(&full)
				a.books.mu.Lock()
				clear(a.books.owners)
				a.books.mu.Unlock()
				runtime.GC()
				runtime.ReadMemStats(&empty)
				b.ReportMetric(float64(full.HeapAlloc)-float64(empty.HeapAlloc), "cached-B/owner")
			}
		})
	}
}
