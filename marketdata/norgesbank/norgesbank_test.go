package norgesbank_test

import (
	"context"
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
	"github.com/finkit/finkit/marketdata/norgesbank"
)

var (
	_ marketdata.BatchProvider   = (*norgesbank.Client)(nil)
	_ marketdata.RateProvider    = (*norgesbank.Client)(nil)
	_ marketdata.HistoryProvider = (*norgesbank.Client)(nil)
)

func read(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "norgesbank-exr-csvdata.body.csv"))
	require.NoError(t, err)
	return b
}

// fake replays the recorded B..NOK.SP body (2026-03-16..24), narrowed to
// the currencies and dates of the request like the real service.
func fake(t *testing.T) *norgesbank.Client {
	t.Helper()
	body := string(read(t))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key, ok := strings.CutPrefix(r.URL.Path, "/EXR/")
		if !ok || r.URL.Query().Get("format") != "csvdata" {
			http.NotFound(w, r)
			return
		}
		parts := strings.Split(key, ".")
		if len(parts) != 4 || parts[2] != "NOK" {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		want := map[string]bool{}
		for _, c := range strings.Split(parts[1], "+") {
			if c != "" {
				want[c] = true
			}
		}
		if want["XXX"] {
			w.WriteHeader(http.StatusNotFound)
			w.Write([]byte("NoRecordsFound"))
			return
		}
		from, to := r.URL.Query().Get("startPeriod"), r.URL.Query().Get("endPeriod")
		lines := strings.Split(strings.TrimSpace(body), "\n")
		out := []string{lines[0]}
		for _, l := range lines[1:] {
			f := strings.Split(l, ",")
			if (len(want) > 0 && !want[f[1]]) || (from != "" && f[8] < from) || (to != "" && f[8] > to) {
				continue
			}
			out = append(out, l)
		}
		w.Write([]byte(strings.Join(out, "\n") + "\n"))
	}))
	t.Cleanup(srv.Close)
	c, err := norgesbank.New(norgesbank.Options{BaseURL: srv.URL})
	require.NoError(t, err)
	return c
}

func TestRatesWithUnitMult(t *testing.T) {
	c := fake(t)
	ctx := context.Background()
	tests := []struct {
		from, to string
		want     float64
	}{
		{"USD", "NOK", 9.7049},
		{"EUR", "NOK", 11.2305},
		{"SEK", "NOK", 1.0376},           // 103.76 per 100 SEK
		{"JPY", "NOK", 0.061065},         // 6.1065 per 100 JPY
		{"NOK", "SEK", 1 / 1.0376},       // inverse
		{"EUR", "USD", 11.2305 / 9.7049}, // cross through NOK
	}
	for _, tt := range tests {
		r, err := c.Rate(ctx, tt.from, tt.to)
		require.NoError(t, err, tt.from+tt.to)
		assert.InDelta(t, tt.want, r.Rate, 1e-12, tt.from+tt.to)
		assert.Equal(t, "2026-03-24", r.Time.Format(time.DateOnly))
	}
	_, err := c.Rate(ctx, "EUR", "ZZZ")
	require.ErrorIs(t, err, marketdata.ErrNotFound)

	m, err := c.Quotes(ctx, []string{"EURNOK=X", "SEKNOK=X", "ZZZNOK=X"})
	require.NoError(t, err)
	require.Len(t, m, 2)
	assert.Equal(t, 11.2305, m["EURNOK=X"].Price)
	assert.Equal(t, "NOK", m["EURNOK=X"].Currency)
}

func TestHistory(t *testing.T) {
	c := fake(t)
	h, err := c.History(context.Background(), "EURUSD=X", marketdata.HistoryRequest{Start: time.Date(2026, 3, 17, 0, 0, 0, 0, time.UTC), End: time.Date(2026, 3, 24, 0, 0, 0, 0, time.UTC)})
	require.NoError(t, err)
	require.Len(t, h.Bars, 6)
	assert.Equal(t, "2026-03-17", h.Bars[0].Time.Format(time.DateOnly))
	assert.InDelta(t, 11.073/9.6028, h.Bars[0].Close, 1e-12)
	assert.Equal(t, "USD", h.Currency)

	_, err = c.History(context.Background(), "XXXNOK=X", marketdata.HistoryRequest{})
	require.ErrorIs(t, err, marketdata.ErrNotFound)
}

func TestParseErrors(t *testing.T) {
	for _, body := range []string{
		"",
		"A,B\n1,2\n",
		"FREQ,BASE_CUR,QUOTE_CUR,TENOR,DECIMALS,CALCULATED,UNIT_MULT,COLLECTION,TIME_PERIOD,OBS_VALUE\nB,USD,NOK,SP,4,false,0,C,2026-03-16,abc\n",
		"FREQ,BASE_CUR,QUOTE_CUR,TENOR,DECIMALS,CALCULATED,UNIT_MULT,COLLECTION,TIME_PERIOD,OBS_VALUE\nB,USD,NOK,SP,4,false,x,C,2026-03-16,9.1\n",
	} {
		_, err := norgesbank.Parse([]byte(body))
		assert.Error(t, err, body)
	}
	obs, err := norgesbank.Parse([]byte("BASE_CUR;QUOTE_CUR;UNIT_MULT;TIME_PERIOD;OBS_VALUE\nDKK;NOK;2;2026-03-24;150,32\n"))
	require.NoError(t, err)
	assert.InDelta(t, 1.5032, obs[0].NOK, 1e-12, "semicolons and decimal comma")
}

func FuzzParse(f *testing.F) {
	full := read(f)
	f.Add(full)
	lines := strings.SplitAfter(string(full), "\n")
	f.Add([]byte(strings.Join(lines[:4], ""))) // a small seed mutates faster
	f.Fuzz(func(t *testing.T, body []byte) {
		obs, err := norgesbank.Parse(body)
		if err != nil {
			return
		}
		for _, o := range obs {
			if !(o.NOK > 0) {
				t.Fatalf("value %v", o.NOK)
			}
		}
	})
}
