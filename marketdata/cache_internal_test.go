package marketdata

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

type flatProvider struct{}

func (flatProvider) Name() string { return "flat" }
func (flatProvider) Quote(_ context.Context, symbol string) (Quote, error) {
	return Quote{Symbol: symbol, Price: 1, Currency: "USD"}, nil
}

// Expired quotes are swept as new symbols arrive: the cache holds about
// what is fresh, not every symbol ever asked for.
func TestQuoteCacheSweepsExpired(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, err := New(Options{Providers: []Provider{flatProvider{}}, CacheTTL: time.Minute, Now: clock, MaxAge: -1})
	require.NoError(t, err)
	defer a.Close()
	ask := func(prefix string, n int) {
		for lo := 0; lo < n; lo += 100 {
			syms := make([]string, 100)
			for i := range syms {
				syms[i] = fmt.Sprintf("%s%04d", prefix, lo+i)
			}
			res, err := a.Quotes(context.Background(), syms)
			require.NoError(t, err)
			require.Len(t, res.Quotes, 100)
		}
	}
	ask("A", 3000)
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	ask("B", 3000)
	a.mu.RLock()
	n := len(a.quotes)
	a.mu.RUnlock()
	require.LessOrEqual(t, n, 3000, "expired entries kept")
}

// Low 14: within its TTL the quote cache still holds at most CacheSize
// entries, however many symbols are asked for.
func TestQuoteCacheIsCapped(t *testing.T) {
	a, err := New(Options{Providers: []Provider{flatProvider{}}, CacheTTL: time.Hour, CacheSize: 1000, MaxAge: -1})
	require.NoError(t, err)
	defer a.Close()
	for lo := 0; lo < 5000; lo += 100 {
		syms := make([]string, 100)
		for i := range syms {
			syms[i] = fmt.Sprintf("S%05d", lo+i)
		}
		_, err := a.Quotes(context.Background(), syms)
		require.NoError(t, err)
	}
	a.mu.RLock()
	n := len(a.quotes)
	a.mu.RUnlock()
	require.LessOrEqual(t, n, 1000)
	def, err := New(Options{Providers: []Provider{flatProvider{}}})
	require.NoError(t, err)
	defer def.Close()
	require.Equal(t, 10000, def.opts.CacheSize)
}

type flatRates struct{}

func (flatRates) Name() string { return "flatrates" }
func (flatRates) Rate(_ context.Context, from, to string) (Rate, error) {
	return Rate{From: from, To: to, Rate: 1, Time: time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)}, nil
}

// Low 14: expired FX rates are swept too.
func TestRateCacheSweepsExpired(t *testing.T) {
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	a, err := New(Options{RateProviders: []RateProvider{flatRates{}}, CacheTTL: time.Minute, Now: clock, MaxAge: -1})
	require.NoError(t, err)
	defer a.Close()
	ask := func(first byte) {
		for i := 0; i < 2000; i++ {
			from := string([]byte{first, byte('A' + i/26%26), byte('A' + i%26)})
			to := string([]byte{'Z', byte('A' + i/676), 'A'})
			_, err := a.FXRate(context.Background(), from, to)
			require.NoError(t, err)
		}
	}
	ask('A')
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	ask('B')
	a.mu.RLock()
	n := len(a.fx)
	a.mu.RUnlock()
	require.LessOrEqual(t, n, 2000, "expired rates kept")
}
