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
