package finnhub_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/finnhub"
)

var (
	_ marketdata.Provider     = (*finnhub.Client)(nil)
	_ marketdata.RateProvider = (*finnhub.Client)(nil)
	_ marketdata.Supporter    = (*finnhub.Client)(nil)
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func fake(t *testing.T) *finnhub.Client {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Finnhub-Token") != "tok" || r.URL.Query().Has("token") {
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"Invalid API key"}`))
			return
		}
		switch r.URL.Query().Get("symbol") {
		case "OANDA:EUR_USD":
			w.Write(read(t, "finnhub-quote-FHFX-EUR-USD.json"))
		case "RUBI":
			w.Write(read(t, "finnhub-quote-rubi-issue61.json"))
		case "^DJI", "DJI":
			w.Write(read(t, "finnhub-quote-zeros-issue332.json"))
		case "LIMIT":
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":"API limit reached. Please try again later. Remaining Limit: 0"}`))
		default:
			w.Write(read(t, "finnhub-quote-zeros-issue332.json"))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := finnhub.New(finnhub.Options{BaseURL: srv.URL, APIKey: "tok"})
	require.NoError(t, err)
	return c
}

func TestQuotes(t *testing.T) {
	c := fake(t)
	q, err := c.Quote(context.Background(), "RUBI")
	require.NoError(t, err)
	assert.Equal(t, 6.06, q.Price)
	assert.Equal(t, 5.75, q.PrevClose)
	assert.Equal(t, "USD", q.Currency)
	assert.Equal(t, time.Unix(1585296696, 0).UTC(), q.Time)

	r, err := c.Rate(context.Background(), "EUR", "USD")
	require.NoError(t, err)
	assert.Equal(t, 1.15894, r.Rate)
	assert.Equal(t, time.Unix(1636322400, 0).UTC(), r.Time)
}

func TestErrors(t *testing.T) {
	c := fake(t)
	_, err := c.Quote(context.Background(), "DJI")
	require.ErrorIs(t, err, marketdata.ErrNotFound, "all zeros mean no data")
	assert.Contains(t, err.Error(), "all-zero")
	_, err = c.Quote(context.Background(), "LIMIT")
	require.ErrorIs(t, err, marketdata.ErrRateLimited)
	_, err = c.Quote(context.Background(), "EQNR.OL")
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
	bad, err := finnhub.New(finnhub.Options{BaseURL: "http://" + "127.0.0.1:1", APIKey: "x"})
	require.NoError(t, err)
	_, err = bad.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)

	t.Setenv("FINNHUB_API_KEY", "")
	_, err = finnhub.New(finnhub.Options{})
	require.Error(t, err)
}

func TestInvalidKey(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		w.Write([]byte(`{"error":"Invalid API key"}`))
	}))
	defer srv.Close()
	c, err := finnhub.New(finnhub.Options{BaseURL: srv.URL, APIKey: "wrong"})
	require.NoError(t, err)
	_, err = c.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	assert.Contains(t, err.Error(), "Invalid API key")
	assert.NotContains(t, err.Error(), "wrong", "the key never appears in errors")
}

func FuzzParseQuote(f *testing.F) {
	for _, n := range []string{"finnhub-quote-FHFX-EUR-USD.json", "finnhub-quote-rubi-issue61.json", "finnhub-quote-zeros-issue332.json"} {
		f.Add(read(f, n))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := finnhub.ParseQuote(body)
		if err == nil && !(r.C > 0) {
			t.Fatalf("price %v", r.C)
		}
	})
}
