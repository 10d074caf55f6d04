package coingecko_test

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
	"github.com/finkit/finkit/marketdata/coingecko"
)

var (
	_ marketdata.BatchProvider = (*coingecko.Client)(nil)
	_ marketdata.Supporter     = (*coingecko.Client)(nil)
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func fake(t *testing.T, status int, body []byte, header map[string]string) (*coingecko.Client, *http.Request) {
	t.Helper()
	var got http.Request
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = *r.Clone(context.Background())
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	c, err := coingecko.New(coingecko.Options{BaseURL: srv.URL, APIKey: "demo-key"})
	require.NoError(t, err)
	return c, &got
}

func TestBatchPrices(t *testing.T) {
	c, req := fake(t, 200, read(t, "coingecko-simple-price-go-gecko-fixture.json"), nil)
	m, err := c.Quotes(context.Background(), []string{"BTC-USD", "ETH-USD", "BTC-MYR", "SOL-USD"})
	require.NoError(t, err)
	assert.Equal(t, "/simple/price", req.URL.Path)
	assert.Equal(t, "bitcoin,ethereum,solana", req.URL.Query().Get("ids"))
	assert.Equal(t, "myr,usd", req.URL.Query().Get("vs_currencies"))
	assert.Equal(t, "demo-key", req.Header.Get("x-cg-demo-api-key"))
	require.Len(t, m, 3, "solana missing from the answer")
	assert.Equal(t, 5005.73, m["BTC-USD"].Price)
	assert.Equal(t, 163.58, m["ETH-USD"].Price)
	assert.Equal(t, 20474.0, m["BTC-MYR"].Price)
	assert.Equal(t, "MYR", m["BTC-MYR"].Currency)
	_, err = c.Quote(context.Background(), "SOL-USD")
	require.ErrorIs(t, err, marketdata.ErrNotFound)
}

func TestDocsExampleExtras(t *testing.T) {
	c, _ := fake(t, 200, read(t, "coingecko-simple-price-docs-example.json"), nil)
	q, err := c.Quote(context.Background(), "btc-usd")
	require.NoError(t, err)
	assert.Equal(t, 67187.3358936566, q.Price)
	assert.Equal(t, time.Unix(1711356300, 0).UTC(), q.Time)
	assert.InDelta(t, 67187.3358936566/1.0363727894677354, q.PrevClose, 1e-6)
	assert.Equal(t, "BTC-USD", q.Symbol)
}

func TestRateLimited(t *testing.T) {
	c, _ := fake(t, 429, read(t, "coingecko-simple-price-429.json"), map[string]string{"Retry-After": "119"})
	_, err := c.Quote(context.Background(), "BTC-USD")
	require.ErrorIs(t, err, marketdata.ErrRateLimited)
	assert.Equal(t, 119*time.Second, marketdata.RetryAfter(err))
	assert.Contains(t, err.Error(), "exceeded the Rate Limit")

	// The same status object inside a 200 answer.
	c, _ = fake(t, 200, read(t, "coingecko-simple-price-429.json"), nil)
	_, err = c.Quote(context.Background(), "BTC-USD")
	require.ErrorIs(t, err, marketdata.ErrRateLimited)
}

func TestErrors(t *testing.T) {
	c, _ := fake(t, 200, []byte(`<!doctype html><html><body>Just a moment...</body></html>`), nil)
	_, err := c.Quote(context.Background(), "BTC-USD")
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	c, _ = fake(t, 200, []byte(`{"bitcoin":{"usd":"lots"}}`), nil)
	_, err = c.Quote(context.Background(), "BTC-USD")
	require.ErrorIs(t, err, marketdata.ErrBadResponse)
	c, _ = fake(t, 500, []byte(`{}`), nil)
	_, err = c.Quote(context.Background(), "BTC-USD")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	_, err = c.Quote(context.Background(), "AAPL")
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
	_, err = c.Quote(context.Background(), "ZZZZ-USD")
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
	assert.False(t, c.Supports("EURUSD=X"))
	_, err = coingecko.New(coingecko.Options{Coins: map[string]string{"X": "a,b"}})
	require.Error(t, err)
}

func FuzzParsePrices(f *testing.F) {
	for _, n := range []string{"coingecko-simple-price-go-gecko-fixture.json", "coingecko-simple-price-docs-example.json", "coingecko-simple-price-429.json"} {
		f.Add(read(f, n))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		_, _, _, _ = coingecko.ParsePrices(body)
	})
}
