package marketdata_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/ecb"
	"github.com/finkit/finkit/marketdata/norgesbank"
	"github.com/finkit/finkit/marketdata/yahoo"
)

// replay serves one recorded body for every request.
func replay(t *testing.T, body []byte) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(body) }))
	t.Cleanup(srv.Close)
	return srv.URL
}

func readFile(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(parts...))
	require.NoError(t, err)
	return b
}

// TestAggregatorOverRecordedProviders merges EUR/USD from three real
// clients replaying recorded answers from different years: ECB (2015),
// Norges Bank (2026, crossed through NOK) and Yahoo (2025).
func TestAggregatorOverRecordedProviders(t *testing.T) {
	var rec struct {
		Response struct {
			BodyJSON json.RawMessage `json:"bodyJson"`
		} `json:"response"`
	}
	require.NoError(t, json.Unmarshal(readFile(t, "yahoo", "testdata", "yahoo-chart-EURUSD=X-daily.fixture.json"), &rec))
	e, err := ecb.New(ecb.Options{BaseURL: replay(t, readFile(t, "ecb", "testdata", "ecb-eurofxref-daily.xml"))})
	require.NoError(t, err)
	nb, err := norgesbank.New(norgesbank.Options{BaseURL: replay(t, readFile(t, "norgesbank", "testdata", "norgesbank-exr-csvdata.body.csv"))})
	require.NoError(t, err)
	y, err := yahoo.New(yahoo.Options{BaseURL: replay(t, rec.Response.BodyJSON)})
	require.NoError(t, err)

	after := time.Date(2026, 3, 25, 12, 0, 0, 0, time.UTC) // after every recording
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{e, nb, y}, MaxAge: -1, Now: func() time.Time { return after }})
	res, err := a.Quotes(context.Background(), []string{"EURUSD=X"})
	require.NoError(t, err)
	require.Empty(t, res.Errors)
	m, ok := res.Get("EURUSD=X")
	require.True(t, ok)
	require.Len(t, m.Sources, 3)
	nbRate := 11.2305 / 9.7049
	// ECB 2015 (+2.2 %) and Yahoo 2025 (−9.8 %) deviate more than 2 % from
	// Norges Bank 2026: three sources, no two agree. The best guess is the
	// newest quote, never an average, and the confidence is low.
	assert.InDelta(t, nbRate, m.Price, 1e-12, "newest of 1.1831, %.4f and 1.0436", nbRate)
	assert.Equal(t, "USD", m.Currency)
	assert.Equal(t, marketdata.ConfidenceLow, m.Confidence)
	assert.Equal(t, 2, m.Outliers)
	assert.InDelta(t, 1.1831-1.0436, m.Spread, 1e-12, "spread over every source")
	for _, s := range m.Sources {
		assert.Equal(t, s.Provider != "norgesbank", s.Outlier, s.Provider)
	}

	// No configured provider covers a share: said so, not silently missing.
	fxOnly := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{e, nb}})
	res, err = fxOnly.Quotes(context.Background(), []string{"AAPL"})
	require.NoError(t, err)
	assert.Equal(t, []string{"AAPL"}, res.Missing)
	require.Len(t, res.Errors, 1)
	assert.ErrorIs(t, res.Errors[0].Err, marketdata.ErrUnsupported)

	// FX for the portfolio: ECB 2015 and Norges Bank 2026 disagree (and
	// Yahoo replays a EUR/USD chart): not trusted.
	r, err := a.FXRate(context.Background(), "USD", "NOK")
	require.NoError(t, err)
	assert.Equal(t, marketdata.ConfidenceLow, r.Confidence)
	_, err = a.Rate(context.Background(), "USD", "NOK")
	assert.ErrorIs(t, err, marketdata.ErrLowConfidence)
}
