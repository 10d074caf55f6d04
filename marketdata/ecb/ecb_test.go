package ecb_test

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
	"github.com/finkit/finkit/marketdata/ecb"
)

var (
	_ marketdata.BatchProvider   = (*ecb.Client)(nil)
	_ marketdata.RateProvider    = (*ecb.Client)(nil)
	_ marketdata.HistoryProvider = (*ecb.Client)(nil)
	_ marketdata.Supporter       = (*ecb.Client)(nil)
)

func read(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func fake(t *testing.T, daily []byte, status int) *ecb.Client {
	t.Helper()
	hist := read(t, "ecb-eurofxref-hist-90d.xml")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case ecb.DailyPath:
			w.WriteHeader(status)
			w.Write(daily)
		case ecb.Hist90Path:
			w.Write(hist)
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	c, err := ecb.New(ecb.Options{BaseURL: srv.URL, Now: func() time.Time { return time.Date(2019, 12, 1, 0, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	return c
}

func TestDailySingleQuotesAndCross(t *testing.T) {
	c := fake(t, read(t, "ecb-eurofxref-daily.xml"), 200)
	ctx := context.Background()
	tests := []struct {
		from, to string
		want     float64
	}{
		{"EUR", "USD", 1.1831},
		{"EUR", "NOK", 9.15},
		{"USD", "EUR", 1 / 1.1831},
		{"USD", "NOK", 9.15 / 1.1831},
		{"GBP", "JPY", 141.17 / 0.78230},
	}
	for _, tt := range tests {
		r, err := c.Rate(ctx, tt.from, tt.to)
		require.NoError(t, err, tt.from+tt.to)
		assert.InDelta(t, tt.want, r.Rate, 1e-12, tt.from+tt.to)
		// 2015-01-07 16:00 CET = 15:00 UTC.
		assert.Equal(t, time.Date(2015, 1, 7, 15, 0, 0, 0, time.UTC), r.Time)
	}
	_, err := c.Rate(ctx, "EUR", "XXX")
	require.ErrorIs(t, err, marketdata.ErrNotFound)
	_, err = c.Rate(ctx, "eur", "USD")
	require.ErrorIs(t, err, marketdata.ErrInvalidSymbol)

	m, err := c.Quotes(ctx, []string{"EURUSD=X", "NOKSEK=X", "EURXXX=X"})
	require.NoError(t, err)
	require.Len(t, m, 2)
	assert.Equal(t, "SEK", m["NOKSEK=X"].Currency)
	assert.InDelta(t, 9.3989/9.15, m["NOKSEK=X"].Price, 1e-12)
	_, err = c.Quotes(ctx, []string{"AAPL"})
	require.ErrorIs(t, err, marketdata.ErrUnsupported)
	assert.False(t, c.Supports("AAPL"))
	assert.True(t, c.Supports("EURNOK=X"))
}

func TestHistory90dDoubleQuotes(t *testing.T) {
	c := fake(t, read(t, "ecb-eurofxref-daily.xml"), 200)
	h, err := c.History(context.Background(), "EURNOK=X", marketdata.HistoryRequest{Start: time.Date(2019, 9, 2, 0, 0, 0, 0, time.UTC), End: time.Date(2019, 11, 29, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 65)
	assert.Equal(t, "2019-11-29", h.Bars[len(h.Bars)-1].Time.Format(time.DateOnly))
	assert.Equal(t, 10.1045, h.Bars[len(h.Bars)-1].Close)
	for i := 1; i < len(h.Bars); i++ {
		assert.True(t, h.Bars[i].Time.After(h.Bars[i-1].Time))
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name   string
		body   string
		status int
		want   error
	}{
		{"html", "<!DOCTYPE html><html><body>maintenance</body></html>", 200, marketdata.ErrBadResponse},
		{"truncated", "<gesmes:Envelope><Cube><Cube time='2015-01-07'><Cube currency='USD' rate='1.1", 200, marketdata.ErrBadResponse},
		{"bad rate", "<Envelope><Cube><Cube time='2015-01-07'><Cube currency='USD' rate='-1'/></Cube></Cube></Envelope>", 200, marketdata.ErrBadResponse},
		{"server error", "oops", 502, marketdata.ErrUnavailable},
		{"empty", "<Envelope><Cube></Cube></Envelope>", 200, marketdata.ErrBadResponse},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := fake(t, []byte(tt.body), tt.status)
			_, err := c.Rate(context.Background(), "EUR", "USD")
			require.ErrorIs(t, err, tt.want)
			assert.Contains(t, err.Error(), "ecb")
		})
	}
}

func FuzzParse(f *testing.F) {
	f.Add(read(f, "ecb-eurofxref-daily.xml"))
	f.Add([]byte(`<Envelope><Cube><Cube time="2019-11-29"><Cube currency="USD" rate="1.0982"/></Cube></Cube></Envelope>`))
	f.Fuzz(func(t *testing.T, body []byte) {
		days, err := ecb.Parse(body)
		if err != nil {
			return
		}
		for _, d := range days {
			for cur, r := range d.Rates {
				if !(r > 0) {
					t.Fatalf("%s rate %v", cur, r)
				}
			}
		}
	})
}
