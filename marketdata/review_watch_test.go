package marketdata_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

// Two sources 2× apart: Watch and the SSE stream deliver the best guess
// only together with its low confidence and reason, never as a bare price.
func TestReviewStreamCarriesLowConfidence(t *testing.T) {
	a := newAgg(t, marketdata.Options{Providers: []marketdata.Provider{
		&countingProvider{name: "p1", price: 100}, &countingProvider{name: "p2", price: 200}}, CacheTTL: -1})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	ch, err := a.Watch(ctx, []string{"AAPL"}, 10*time.Millisecond)
	require.NoError(t, err)
	u := <-ch
	require.NoError(t, u.Err)
	assert.Equal(t, marketdata.ConfidenceLow, u.Quote.Confidence)
	assert.NotEmpty(t, u.Quote.Reason)
	assert.Contains(t, u.Summary(), "LOW CONFIDENCE")

	srv := httptest.NewServer(a.StreamHandler(10*time.Millisecond, 3))
	defer srv.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"?symbols=AAPL", nil)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		data, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		var ev struct {
			Quote struct {
				Price      float64
				Confidence string
				Reason     string
				Agreeing   int
				Outliers   int
			}
		}
		require.NoError(t, json.Unmarshal([]byte(data), &ev))
		assert.Equal(t, "low", ev.Quote.Confidence)
		assert.NotEmpty(t, ev.Quote.Reason)
		assert.Equal(t, 1, ev.Quote.Agreeing)
		assert.Contains(t, []float64{100, 200}, ev.Quote.Price, "the best guess is one source, never their mean")
		break
	}
	require.NoError(t, sc.Err())
}
