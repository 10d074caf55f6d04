package stooq_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/stooq"
)

var (
	_ marketdata.BatchProvider   = (*stooq.Client)(nil)
	_ marketdata.RateProvider    = (*stooq.Client)(nil)
	_ marketdata.HistoryProvider = (*stooq.Client)(nil)
	_ marketdata.Supporter       = (*stooq.Client)(nil)
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// fakeStooq replays the recorded files: the AAPL quote row, the N/D row for
// unknown symbols, and the SPY daily history.
func fakeStooq(t *testing.T) (*stooq.Client, *[]string) {
	t.Helper()
	aapl := strings.Split(strings.TrimSpace(string(read(t, "stooq-quote-aapl.us.csv"))), "\n")
	hist := read(t, "stooq-history-spy.us-daily.csv")
	var mu sync.Mutex
	var queries []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		queries = append(queries, r.URL.RawQuery)
		mu.Unlock()
		s := r.URL.Query().Get("s")
		switch r.URL.Path {
		case "/q/l/":
			var b strings.Builder
			b.WriteString(aapl[0] + "\n")
			for _, sym := range strings.Fields(s) {
				switch sym {
				case "aapl.us":
					b.WriteString(aapl[1] + "\n")
				case "limit.us":
					w.Write([]byte("Exceeded the daily hits limit"))
					return
				default:
					fmt.Fprintf(&b, "%s,N/D,N/D,N/D,N/D,N/D,N/D,N/D\n", strings.ToUpper(sym))
				}
			}
			w.Write([]byte(b.String()))
		case "/q/d/l/":
			switch s {
			case "spy.us":
				w.Write(hist)
			case "html.us":
				w.Write([]byte("<html><body>captcha</body></html>"))
			default:
				w.Write([]byte("No data"))
			}
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := stooq.New(stooq.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	return c, &queries
}

func TestSymbolMapping(t *testing.T) {
	tests := []struct{ in, sym, cur string }{
		{"AAPL", "aapl.us", "USD"},
		{"sap.de", "sap.de", "EUR"},
		{"7203.T", "7203.jp", "JPY"},
		{"EURUSD=X", "eurusd", "USD"},
		{"BRK-B", "brk-b.us", "USD"},
	}
	for _, tt := range tests {
		s, c, err := stooq.Symbol(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.sym, s)
		assert.Equal(t, tt.cur, c)
	}
	for _, bad := range []string{"EQNR.OL", "BTC-USD", "", "a b"} {
		_, _, err := stooq.Symbol(bad)
		assert.Error(t, err, bad)
	}
}

func TestQuotesBatchAndND(t *testing.T) {
	c, queries := fakeStooq(t)
	m, err := c.Quotes(context.Background(), []string{"AAPL", "NOSUCH", "EURUSD=X"})
	require.NoError(t, err)
	require.Len(t, *queries, 1, "one request for the whole batch")
	assert.Contains(t, (*queries)[0], "s=aapl.us+nosuch.us+eurusd")
	assert.Contains(t, (*queries)[0], "f=sd2t2ohlcv")
	require.Len(t, m, 1)
	q := m["AAPL"]
	assert.Equal(t, 300.63, q.Price)
	assert.Equal(t, "USD", q.Currency)
	// 2020-05-06 22:00:01 in Warsaw (CEST, UTC+2).
	assert.Equal(t, time.Date(2020, 5, 6, 20, 0, 1, 0, time.UTC), q.Time)

	_, err = c.Quote(context.Background(), "NOSUCH")
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	_, err = c.Quote(context.Background(), "LIMIT")
	require.ErrorIs(t, err, marketdata.ErrRateLimited)
	_, err = c.Quotes(context.Background(), []string{"EQNR.OL"})
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
}

func TestHistory(t *testing.T) {
	c, queries := fakeStooq(t)
	h, err := c.History(context.Background(), "SPY", marketdata.HistoryRequest{Start: time.Date(2018, 2, 26, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 2, 9, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	assert.Contains(t, (*queries)[0], "d1=20180226")
	require.Len(t, h.Bars, 2000)
	assert.Equal(t, time.Date(2018, 2, 26, 0, 0, 0, 0, time.UTC), h.Bars[0].Time)
	assert.Equal(t, 247.373, h.Bars[0].Close)
	assert.Equal(t, 245.63, h.Bars[0].Open)
	assert.Equal(t, 96911825.0, h.Bars[0].Volume)
	assert.Equal(t, "USD", h.Currency)

	_, err = c.History(context.Background(), "NOSUCH", marketdata.HistoryRequest{})
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	_, err = c.History(context.Background(), "HTML", marketdata.HistoryRequest{})
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	_, err = c.History(context.Background(), "SPY", marketdata.HistoryRequest{Interval: marketdata.Minute})
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
}

func FuzzParseQuotes(f *testing.F) {
	for _, n := range []string{"stooq-quote-aapl.us.csv", "stooq-quote-unknown-symbol.csv"} {
		f.Add(read(f, n))
	}
	f.Add([]byte("Symbol,Date,Time,Open,High,Low,Close,Volume\nX,2020-01-01,,1,2,0.5,-1,3\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		rows, err := stooq.ParseQuotes(body, time.UTC)
		if err != nil {
			return
		}
		for _, r := range rows {
			if r.OK && !(r.Close > 0) {
				t.Fatalf("OK row with close %v", r.Close)
			}
		}
	})
}
