package marketdata_test

import (
	"context"
	"net/http"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/frankfurter"
)

// failingUpstream answers body until down is set, then 503.
type failingUpstream struct {
	body  []byte
	down  atomic.Bool
	calls atomic.Int32
}

func (u *failingUpstream) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.calls.Add(1)
	if u.down.Load() {
		http.Error(w, "unavailable", http.StatusServiceUnavailable)
		return
	}
	_, _ = w.Write(u.body)
}

// TestRatesStaleDuringOutage: while every rate provider fails, a cached
// rate is served with its true age (growing, never reset by a failed
// refresh) for at most CacheTTL + MaxStale after it was fetched, each
// request past CacheTTL starting a refresh behind it; after that a
// request gets the error, never an older rate; when the provider is back
// (and its circuit breaker closed) a request gets a fresh one.
func TestRatesStaleDuringOutage(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up := &failingUpstream{body: recordedFrankfurterGBP(t)}
		fr, err := frankfurter.New(frankfurter.Options{BaseURL: "http://frankfurter.test", HTTPClient: &http.Client{Transport: handlerTransport{up}}})
		require.NoError(t, err)
		a, err := marketdata.New(marketdata.Options{RateProviders: []marketdata.RateProvider{fr}, CacheTTL: time.Second,
			MaxStale: time.Minute, MaxAge: -1, Now: bubbleClock()})
		require.NoError(t, err)
		defer a.Close()
		ctx := context.Background()

		m, err := a.FXQuote(ctx, "EUR", "GBP")
		require.NoError(t, err)
		fetched, start := m.Fetched, time.Now()
		up.down.Store(true)
		for _, at := range []time.Duration{2 * time.Second, 30 * time.Second, 60 * time.Second} {
			time.Sleep(time.Until(start.Add(at)))
			m, err := a.FXQuote(ctx, "EUR", "GBP")
			require.NoError(t, err, "at %v", at)
			assert.True(t, m.Cached && m.Revalidating, "at %v", at)
			assert.Equal(t, at, m.Age, "the age is the fetched rate's, at %v", at)
			assert.Equal(t, fetched, m.Fetched)
			assert.Equal(t, 0.83465, m.Price)
			synctest.Wait() // the refresh fails behind
		}
		time.Sleep(time.Second + time.Millisecond) // past CacheTTL + MaxStale
		_, err = a.FXQuote(ctx, "EUR", "GBP")
		require.Error(t, err, "no rate older than CacheTTL + MaxStale is served")

		up.down.Store(false)
		time.Sleep(10 * time.Minute) // past the circuit breaker's cool-down
		m, err = a.FXQuote(ctx, "EUR", "GBP")
		require.NoError(t, err)
		assert.False(t, m.Cached)
		assert.True(t, m.Fetched.After(fetched))
	})
}
