package frankfurter_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/frankfurter"
)

var (
	_ marketdata.BatchProvider   = (*frankfurter.Client)(nil)
	_ marketdata.RateProvider    = (*frankfurter.Client)(nil)
	_ marketdata.HistoryProvider = (*frankfurter.Client)(nil)
)

type example struct {
	path  string
	query url.Values
	body  string
}

// examples reads the documented request/response pairs, one per line as
// "/* curl -s URL */ BODY", skipping bodies the docs abbreviated with "...".
func examples(t testing.TB) []example {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "frankfurter-v1-docs-examples.txt"))
	require.NoError(t, err)
	defer f.Close()
	var out []example
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		rest, ok := strings.CutPrefix(line, "/* curl -s ")
		if !ok {
			continue
		}
		raw, body, ok := strings.Cut(rest, " */ ")
		if !ok || strings.Contains(body, `"..."`) || !json.Valid([]byte(body)) { // abbreviated or cut off
			continue
		}
		u, err := url.Parse(raw)
		require.NoError(t, err)
		out = append(out, example{path: strings.TrimPrefix(u.Path, "/v1"), query: u.Query(), body: body})
	}
	require.NoError(t, sc.Err())
	require.Len(t, out, 2, "two complete examples in the docs excerpt")
	return out
}

func fake(t *testing.T) *frankfurter.Client {
	t.Helper()
	ex := examples(t)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if q.Get("base") == "EUR" {
			q.Del("base") // the default base
		}
		for _, e := range ex {
			if e.path == r.URL.Path && e.query.Encode() == q.Encode() {
				w.Header().Set("Content-Type", "application/json")
				w.Write([]byte(e.body))
				return
			}
		}
		switch {
		case r.URL.Path == "/2024-01-02..2024-01-05":
			w.Write([]byte(`{"amount":1.0,"base":"EUR","start_date":"2024-01-02","end_date":"2024-01-05","rates":{"2024-01-05":{"USD":1.0921},"2024-01-02":{"USD":1.0956},"2024-01-04":{"USD":1.0953},"2024-01-03":{"USD":1.0919}}}`))
		case q.Get("symbols") == "XXX" || r.URL.Query().Get("base") == "XXX":
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte(`{"message":"not found"}`))
		case q.Get("symbols") == "HTM":
			w.Write([]byte(`<html><body>proxy</body></html>`))
		default:
			w.WriteHeader(http.StatusInternalServerError)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := frankfurter.New(frankfurter.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	return c
}

func TestQuotesFromDocs(t *testing.T) {
	c := fake(t)
	m, err := c.Quotes(context.Background(), []string{"EURCHF=X", "EURGBP=X"})
	require.NoError(t, err)
	require.Len(t, m, 2)
	assert.Equal(t, 0.9324, m["EURCHF=X"].Price)
	assert.Equal(t, 0.83465, m["EURGBP=X"].Price)
	assert.Equal(t, "GBP", m["EURGBP=X"].Currency)
	assert.Equal(t, "2024-11-25", m["EURGBP=X"].Time.Format(time.DateOnly))

	r, err := c.RateOn(context.Background(), "USD", "EUR", time.Date(1999, 1, 4, 0, 0, 0, 0, time.UTC))
	require.NoError(t, err)
	assert.Equal(t, 0.84825, r.Rate)
}

func TestHistory(t *testing.T) {
	c := fake(t)
	h, err := c.History(context.Background(), "EURUSD=X", marketdata.HistoryRequest{Start: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2024, 1, 5, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 4)
	assert.Equal(t, 1.0956, h.Bars[0].Close, "sorted by date")
	assert.Equal(t, 1.0921, h.Bars[3].Close)
}

func TestErrors(t *testing.T) {
	c := fake(t)
	_, err := c.Rate(context.Background(), "EUR", "XXX")
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	assert.Contains(t, err.Error(), "not found")
	_, err = c.Rate(context.Background(), "EUR", "HTM")
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	_, err = c.Rate(context.Background(), "EUR", "NOK")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	_, err = c.Rate(context.Background(), "EU", "NOK")
	require.ErrorIs(t, err, marketdata.ErrInvalidSymbol)
	_, err = c.Quotes(context.Background(), []string{"AAPL"})
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
}

func FuzzParseLatest(f *testing.F) {
	for _, e := range examples(f) {
		f.Add([]byte(e.body))
	}
	f.Add([]byte(`{"amount":0,"base":"EUR","date":"2024-11-25","rates":{"USD":-1}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := frankfurter.ParseLatest(body)
		if err != nil {
			return
		}
		if !(l.Amount > 0) {
			t.Fatalf("amount %v", l.Amount)
		}
		for c, r := range l.Rates {
			if !(r > 0) {
				t.Fatalf("%s %v", c, r)
			}
		}
	})
}

// A History request without End ends at the injected clock's today, and one
// without Start begins a year before that, as for the other providers.
func TestHistoryUsesInjectedClock(t *testing.T) {
	var paths []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		paths = append(paths, r.URL.Path)
		w.Write([]byte(`{"amount":1.0,"base":"EUR","start_date":"2024-01-02","end_date":"2024-01-05","rates":{"2024-01-05":{"USD":1.0921},"2024-01-02":{"USD":1.0956}}}`))
	}))
	t.Cleanup(srv.Close)
	now := time.Date(2024, 1, 5, 15, 30, 0, 0, time.UTC)
	c, err := frankfurter.New(frankfurter.Options{BaseURL: srv.URL, Now: func() time.Time { return now }})
	require.NoError(t, err)

	h, err := c.History(context.Background(), "EURUSD=X", marketdata.HistoryRequest{Start: time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 2)
	_, err = c.History(context.Background(), "EURUSD=X", marketdata.HistoryRequest{})
	require.NoError(t, err)
	assert.Equal(t, []string{"/2024-01-02..2024-01-05", "/2023-01-05..2024-01-05"}, paths)
}
