package alphavantage_test

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
	"github.com/finkit/finkit/marketdata/alphavantage"
)

var (
	_ marketdata.Provider        = (*alphavantage.Client)(nil)
	_ marketdata.HistoryProvider = (*alphavantage.Client)(nil)
	_ marketdata.Supporter       = (*alphavantage.Client)(nil)
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// fake answers by symbol: MSFT and GPRO from the recordings, NOTE and INFO
// with the recorded rate-limit messages.
func fake(t *testing.T) (*alphavantage.Client, *[]string) {
	t.Helper()
	var keys []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		keys = append(keys, q.Get("apikey"))
		switch q.Get("symbol") {
		case "MSFT":
			w.Write(read(t, "alphavantage-global-quote-MSFT.json"))
		case "GPRO":
			w.Write(read(t, "alphavantage-time-series-daily-GPRO.json"))
		case "NOTE":
			w.Write(read(t, "alphavantage-ratelimit-note-2018.json"))
		case "INFO":
			w.Write(read(t, "alphavantage-ratelimit-information-2025.json"))
		case "BADKEY":
			w.Write([]byte(`{"Information": "the parameter apikey is invalid or missing. Please claim your free API key on (https://www.alphavantage.co/support/#api-key)."}`))
		case "ERR":
			w.Write([]byte(`{"Error Message": "Invalid API call. Please retry or visit the documentation (https://www.alphavantage.co/documentation/) for GLOBAL_QUOTE."}`))
		case "JUNK":
			w.Write([]byte(`{"Global Quote": {"01. symbol": "JUNK", "05. price": "abc"}}`))
		default:
			w.Write([]byte(`{"Global Quote": {}}`))
		}
	}))
	t.Cleanup(srv.Close)
	c, err := alphavantage.New(alphavantage.Options{BaseURL: srv.URL, APIKey: "k123"})
	require.NoError(t, err)
	return c, &keys
}

func TestGlobalQuoteStringNumbers(t *testing.T) {
	c, keys := fake(t)
	q, err := c.Quote(context.Background(), "msft")
	require.NoError(t, err)
	assert.Equal(t, "MSFT", q.Symbol)
	assert.Equal(t, 112.13, q.Price)
	assert.Equal(t, 112.79, q.PrevClose)
	assert.Equal(t, "USD", q.Currency)
	assert.Equal(t, time.Date(2018, 10, 5, 20, 0, 0, 0, time.UTC), q.Time, "16:00 New York (EDT)")
	assert.Equal(t, []string{"k123"}, *keys)
}

func TestDaily(t *testing.T) {
	c, _ := fake(t)
	h, err := c.History(context.Background(), "GPRO", marketdata.HistoryRequest{})
	require.NoError(t, err)
	require.Len(t, h.Bars, 2)
	assert.Equal(t, "2017-06-29", h.Bars[0].Time.Format(time.DateOnly))
	assert.Equal(t, 8.28, h.Bars[0].Close)
	assert.Equal(t, 8.13, h.Bars[1].Close)
	assert.Equal(t, 1788848.0, h.Bars[1].Volume)
}

func TestInBandErrors(t *testing.T) {
	c, _ := fake(t)
	tests := []struct {
		sym  string
		want error
	}{
		{"NOTE", marketdata.ErrRateLimited},
		{"INFO", marketdata.ErrRateLimited},
		{"BADKEY", marketdata.ErrUnavailable},
		{"ERR", marketdata.ErrNotFound},
		{"NOSUCH", marketdata.ErrNotFound},
		{"JUNK", marketdata.ErrBadResponse},
		{"EQNR.OL", marketdata.ErrUnsupported},
	}
	for _, tt := range tests {
		t.Run(tt.sym, func(t *testing.T) {
			_, err := c.Quote(context.Background(), tt.sym)
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), "alphavantage")
		})
	}
	_, err := c.Quote(context.Background(), "INFO")
	assert.Contains(t, err.Error(), "25 requests per day")

	t.Setenv("ALPHAVANTAGE_API_KEY", "")
	_, err = alphavantage.New(alphavantage.Options{})
	require.Error(t, err)
	t.Setenv("ALPHAVANTAGE_API_KEY", "from-env")
	_, err = alphavantage.New(alphavantage.Options{})
	require.NoError(t, err)
}

func FuzzParse(f *testing.F) {
	for _, n := range []string{"alphavantage-global-quote-MSFT.json", "alphavantage-time-series-daily-GPRO.json", "alphavantage-ratelimit-note-2018.json"} {
		f.Add(read(f, n))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _ = alphavantage.Classify(body)
		if g, err := alphavantage.ParseGlobalQuote(body); err == nil && !(g.Price > 0) {
			t.Fatalf("price %v", g.Price)
		}
		if bars, err := alphavantage.ParseDaily(body); err == nil {
			for i := 1; i < len(bars); i++ {
				if bars[i].Time.Before(bars[i-1].Time) {
					t.Fatal("not sorted")
				}
			}
		}
	})
}
