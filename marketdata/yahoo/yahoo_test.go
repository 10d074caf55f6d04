package yahoo_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/yahoo"
)

var (
	_ marketdata.Provider        = (*yahoo.Client)(nil)
	_ marketdata.RateProvider    = (*yahoo.Client)(nil)
	_ marketdata.HistoryProvider = (*yahoo.Client)(nil)
	_ marketdata.Supporter       = (*yahoo.Client)(nil)
)

// fixtureBody returns the recorded response body of a fixture file: the
// .response.bodyJson of a recorded request/response pair, or the raw file.
func fixtureBody(t *testing.T, name string) (int, []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	var rec struct {
		Response *struct {
			Status   int             `json:"status"`
			BodyJSON json.RawMessage `json:"bodyJson"`
		} `json:"response"`
	}
	if json.Unmarshal(raw, &rec) == nil && rec.Response != nil {
		return rec.Response.Status, rec.Response.BodyJSON
	}
	return http.StatusOK, raw
}

// nullsBody completes the recorded excerpt (timestamps and OHLC with a
// null hour) into a full chart body.
func nullsBody(t *testing.T) []byte {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "yahoo-chart-nulls-excerpt.json"))
	require.NoError(t, err)
	s := string(raw)
	cut := strings.LastIndex(s, ",")
	require.Positive(t, cut)
	return []byte(`{"chart":{"result":[{"meta":{"currency":"USD","symbol":"NULLS","dataGranularity":"1h","exchangeTimezoneName":"America/New_York"},` +
		s[:cut] + `}]}}]}}`)
}

type route struct {
	status int
	body   []byte
	header map[string]string
}

func server(t *testing.T, routes map[string]route) (*yahoo.Client, *[]*http.Request) {
	t.Helper()
	var seen []*http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = append(seen, r.Clone(context.Background()))
		sym := strings.TrimPrefix(r.URL.Path, "/v8/finance/chart/")
		rt, ok := routes[sym]
		if !ok {
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(`{"chart":{"result":null,"error":{"code":"Not Found","description":"No data found, symbol may be delisted"}}}`))
			return
		}
		for k, v := range rt.header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(rt.status)
		_, _ = w.Write(rt.body)
	}))
	t.Cleanup(srv.Close)
	c, err := yahoo.New(yahoo.Options{BaseURL: srv.URL, CookieURL: srv.URL + "/cookie"})
	require.NoError(t, err)
	return c, &seen
}

func fixtureRoute(t *testing.T, name string) route {
	st, body := fixtureBody(t, name)
	return route{status: st, body: body}
}

func TestQuotes(t *testing.T) {
	c, seen := server(t, map[string]route{
		"AAPL":     fixtureRoute(t, "yahoo-chart-AAPL-daily.fixture.json"),
		"AZT.OL":   fixtureRoute(t, "yahoo-chart-AZT.OL-daily.fixture.json"),
		"EURUSD=X": fixtureRoute(t, "yahoo-chart-EURUSD=X-daily.fixture.json"),
		"BTC-USD":  fixtureRoute(t, "yahoo-chart-BTC-USD-daily.fixture.json"),
		"GS2C.DE":  fixtureRoute(t, "yahoo-chart-GS2C.DE-5d-livebar.json"),
	})
	tests := []struct {
		sym, cur  string
		price     float64
		prevClose float64
		time      int64
	}{
		{"AAPL", "USD", 244.87, 73.412, 1739998801},
		{"azt.ol", "NOK", 19.1, 0, 0},
		{"EURUSD=X", "USD", 1.0436, 0, 0},
		{"BTC-USD", "USD", 97208.17, 0, 0},
		{"GS2C.DE", "EUR", 19.948, 19.412, 1761755744},
	}
	for _, tt := range tests {
		t.Run(tt.sym, func(t *testing.T) {
			q, err := c.Quote(context.Background(), tt.sym)
			require.NoError(t, err)
			assert.Equal(t, strings.ToUpper(tt.sym), q.Symbol)
			assert.Equal(t, tt.cur, q.Currency, "currency from the payload")
			assert.Equal(t, tt.price, q.Price)
			if tt.prevClose != 0 {
				assert.Equal(t, tt.prevClose, q.PrevClose)
			}
			if tt.time != 0 {
				assert.Equal(t, time.Unix(tt.time, 0).UTC(), q.Time)
			}
			assert.Equal(t, "yahoo", q.Provider)
		})
	}
	require.NotEmpty(t, *seen)
	r := (*seen)[0]
	assert.Contains(t, r.Header.Get("User-Agent"), "finkit")
	assert.Equal(t, "1d", r.URL.Query().Get("interval"))

	rate, err := c.Rate(context.Background(), "EUR", "USD")
	require.NoError(t, err)
	assert.Equal(t, 1.0436, rate.Rate)
}

func TestHistoryDailyAndEvents(t *testing.T) {
	c, seen := server(t, map[string]route{
		"AAPL":     fixtureRoute(t, "yahoo-chart-AAPL-split-dividend.fixture.json"),
		"EURUSD=X": fixtureRoute(t, "yahoo-chart-EURUSD=X-daily.fixture.json"),
		"GS2C.DE":  fixtureRoute(t, "yahoo-chart-GS2C.DE-5d-livebar.json"),
	})
	ctx := context.Background()
	start := time.Date(2020, 8, 31, 0, 0, 0, 0, time.UTC)
	h, err := c.History(ctx, "AAPL", marketdata.HistoryRequest{Start: start, End: time.Date(2020, 11, 7, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	q := (*seen)[0].URL.Query()
	assert.Equal(t, "1598832000", q.Get("period1"))
	assert.Equal(t, "div|split", q.Get("events"))
	require.Len(t, h.Bars, 49)
	assert.Equal(t, time.Date(2020, 8, 31, 0, 0, 0, 0, time.UTC), h.Bars[0].Time)
	assert.InDelta(t, 129.0399932861328, h.Bars[0].Close, 1e-9)
	assert.InDelta(t, 118.69000244140625, h.Bars[48].Close, 1e-9)
	require.Len(t, h.Splits, 1)
	assert.Equal(t, 4.0, h.Splits[0].Numerator)
	assert.Equal(t, 1.0, h.Splits[0].Denominator)
	assert.Equal(t, time.Unix(1598880600, 0).UTC(), h.Splits[0].Time)
	require.Len(t, h.Dividends, 1)
	assert.Equal(t, 0.205, h.Dividends[0].Amount)
	assert.False(t, h.Live)

	fx, err := c.History(ctx, "EURUSD=X", marketdata.HistoryRequest{Start: time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), End: time.Date(2020, 1, 3, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, fx.Bars, 3)
	assert.Equal(t, time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), fx.Bars[0].Time, "FX bar on the 1 January holiday")

	live, err := c.History(ctx, "GS2C.DE", marketdata.HistoryRequest{Start: time.Date(2025, 10, 23, 0, 0, 0, 0, time.UTC), End: time.Date(2025, 10, 30, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, live.Bars, 5)
	assert.True(t, live.Live, "last bar stamped at regularMarketTime is live")
	for i, want := range []string{"2025-10-23", "2025-10-24", "2025-10-27", "2025-10-28", "2025-10-29"} {
		assert.Equal(t, want, live.Bars[i].Time.Format(time.DateOnly), "dates survive the DST change")
	}
	assert.Equal(t, "EUR", live.Currency)
}

func TestHistoryNullsAndEmpty(t *testing.T) {
	_, empty := fixtureBody(t, "yahoo-chart-AAPL-1m.fixture.json")
	c, _ := server(t, map[string]route{
		"NULLS": {status: 200, body: nullsBody(t)},
		"AAPL":  {status: 200, body: empty},
	})
	ctx := context.Background()
	req := marketdata.HistoryRequest{Start: time.Unix(1631000000, 0), End: time.Unix(1631200000, 0), Interval: marketdata.Hourly}
	h, err := c.History(ctx, "NULLS", req)
	require.NoError(t, err)
	require.Len(t, h.Bars, 8, "the null hour is skipped, not read as zero")
	for _, b := range h.Bars {
		assert.Positive(t, b.Close)
		assert.Positive(t, b.Low)
	}
	assert.Equal(t, time.Unix(1631102400, 0).UTC(), h.Bars[4].Time)

	// Weekend 1m request: no timestamp array, quote:[{}] — empty, no error.
	h, err = c.History(ctx, "AAPL", marketdata.HistoryRequest{Start: time.Unix(1738368000, 0), End: time.Unix(1738454400, 0), Interval: marketdata.Minute})
	require.NoError(t, err)
	assert.Empty(t, h.Bars)
	q, err := c.Quote(ctx, "AAPL")
	require.NoError(t, err)
	assert.Equal(t, 244.87, q.Price)
	assert.Equal(t, 244.47, q.PrevClose, "previousClose preferred over chartPreviousClose")
}

func TestPence(t *testing.T) {
	body := []byte(`{"chart":{"result":[{"meta":{"currency":"GBp","symbol":"VOD.L","regularMarketPrice":71.5,"previousClose":70,"regularMarketTime":1739998801,"dataGranularity":"1d","exchangeTimezoneName":"Europe/London"},` +
		`"timestamp":[1739952000],"indicators":{"quote":[{"open":[70.1],"high":[72],"low":[69.9],"close":[71.5],"volume":[1000]}]}}],"error":null}}`)
	c, _ := server(t, map[string]route{"VOD.L": {status: 200, body: body}})
	q, err := c.Quote(context.Background(), "VOD.L")
	require.NoError(t, err)
	assert.Equal(t, "GBP", q.Currency)
	assert.InDelta(t, 0.715, q.Price, 1e-12)
	assert.InDelta(t, 0.70, q.PrevClose, 1e-12)
	h, err := c.History(context.Background(), "VOD.L", marketdata.HistoryRequest{Start: time.Unix(1739900000, 0), End: time.Unix(1740000000, 0)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 1)
	assert.InDelta(t, 0.72, h.Bars[0].High, 1e-12)
	assert.Equal(t, "GBP", h.Currency)
}

func TestErrors(t *testing.T) {
	_, crumb := fixtureBody(t, "yahoo-error-invalid-crumb.json")
	c, _ := server(t, map[string]route{
		"CRUMB": {status: 401, body: crumb},
		"LIMIT": {status: 429, body: []byte("Too Many Requests\r\n"), header: map[string]string{"Retry-After": "30"}},
		"HTML":  {status: 200, body: []byte("<!DOCTYPE html><html><body>consent</body></html>")},
		"JUNK":  {status: 200, body: []byte(`{"chart":{"result":[{"meta":`)},
		"DOWN":  {status: 503, body: []byte("unavailable")},
		"EMPTY": {status: 200, body: []byte(`{"chart":{"result":[],"error":null}}`)},
	})
	tests := []struct {
		sym  string
		want error
	}{
		{"NOSUCH", marketdata.ErrNotFound},
		{"CRUMB", marketdata.ErrUnavailable},
		{"LIMIT", marketdata.ErrRateLimited},
		{"HTML", marketdata.ErrBadResponse},
		{"JUNK", marketdata.ErrBadResponse},
		{"DOWN", marketdata.ErrUnavailable},
		{"EMPTY", marketdata.ErrNotFound},
		{"bad sym!", marketdata.ErrInvalidSymbol},
	}
	for _, tt := range tests {
		t.Run(tt.sym, func(t *testing.T) {
			_, err := c.Quote(context.Background(), tt.sym)
			require.ErrorIs(t, err, tt.want)
			var e *marketdata.Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "yahoo", e.Provider)
			assert.Contains(t, err.Error(), "yahoo")
			if tt.sym == "LIMIT" {
				assert.Equal(t, 30*time.Second, marketdata.RetryAfter(err))
			}
			if tt.sym == "CRUMB" {
				assert.Contains(t, err.Error(), "Invalid Crumb")
			}
		})
	}
	_, err := yahoo.New(yahoo.Options{BaseURL: "ftp://x"})
	require.Error(t, err)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Quote(ctx, "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	require.ErrorIs(t, err, context.Canceled)
}

func TestResponseSizeLimit(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(strings.Repeat(" ", 2048)))
	}))
	defer srv.Close()
	c, err := yahoo.New(yahoo.Options{BaseURL: srv.URL, MaxBytes: 1024})
	require.NoError(t, err)
	_, err = c.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	assert.Contains(t, err.Error(), "larger than")
}

func FuzzParseChart(f *testing.F) {
	for _, name := range []string{"yahoo-chart-AAPL-daily.fixture.json", "yahoo-chart-AAPL-split-dividend.fixture.json",
		"yahoo-chart-GS2C.DE-5d-livebar.json", "yahoo-chart-AAPL-1m.fixture.json", "yahoo-error-invalid-crumb.json"} {
		raw, err := os.ReadFile(filepath.Join("testdata", name))
		if err != nil {
			f.Fatal(err)
		}
		var rec struct {
			Response struct {
				BodyJSON json.RawMessage `json:"bodyJson"`
			} `json:"response"`
		}
		if json.Unmarshal(raw, &rec) == nil && len(rec.Response.BodyJSON) > 0 {
			raw = rec.Response.BodyJSON
		}
		f.Add(raw)
	}
	f.Add([]byte(`{"chart":{"result":[{"meta":{"currency":"GBp"},"timestamp":[1,1,0],"indicators":{"quote":[{"close":[1,null,2]}]}}]}}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		ch, err := yahoo.ParseChart(body)
		if err != nil {
			return
		}
		h, err := yahoo.HistoryFromChart(ch)
		if err == nil {
			for i := 1; i < len(h.Bars); i++ {
				if !h.Bars[i].Time.After(h.Bars[i-1].Time) {
					t.Fatalf("bars not ascending")
				}
			}
		}
		_, _ = yahoo.QuoteFromChart(ch)
	})
}

// TestCrumbFlow: the chart API refuses with "Invalid Crumb" until the client
// has the session cookie and sends the crumb from /v1/test/getcrumb.
func TestCrumbFlow(t *testing.T) {
	_, crumbErr := fixtureBody(t, "yahoo-error-invalid-crumb.json")
	raw, err := os.ReadFile(filepath.Join("testdata", "yahoo-getcrumb.fixture.json"))
	require.NoError(t, err)
	var rec struct {
		Response struct {
			BodyText string `json:"bodyText"`
		} `json:"response"`
	}
	require.NoError(t, json.Unmarshal(raw, &rec))
	crumb := rec.Response.BodyText
	_, chart := fixtureBody(t, "yahoo-chart-AAPL-daily.fixture.json")
	var crumbCalls int
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, cookieErr := r.Cookie("A3")
		switch r.URL.Path {
		case "/cookie":
			http.SetCookie(w, &http.Cookie{Name: "A3", Value: "d=AQABBKvcsWc", Path: "/"})
			w.WriteHeader(http.StatusNotFound)
		case "/v1/test/getcrumb":
			crumbCalls++
			if cookieErr != nil {
				w.WriteHeader(http.StatusUnauthorized)
				return
			}
			w.Write([]byte(crumb))
		case "/v8/finance/chart/AAPL":
			if cookieErr != nil || r.URL.Query().Get("crumb") != crumb {
				w.WriteHeader(http.StatusUnauthorized)
				w.Write(crumbErr)
				return
			}
			w.Write(chart)
		}
	}))
	defer srv.Close()
	c, err := yahoo.New(yahoo.Options{BaseURL: srv.URL, CookieURL: srv.URL + "/cookie"})
	require.NoError(t, err)
	for range 3 {
		q, err := c.Quote(context.Background(), "AAPL")
		require.NoError(t, err)
		assert.Equal(t, 244.87, q.Price)
	}
	assert.Equal(t, 1, crumbCalls, "crumb fetched once and reused")

	off, err := yahoo.New(yahoo.Options{BaseURL: srv.URL, NoCrumb: true})
	require.NoError(t, err)
	_, err = off.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	assert.Contains(t, err.Error(), "Invalid Crumb")
}
