//go:build !js

package securechat

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// peerLimiter is one token bucket per identity. Buckets that have refilled
// completely carry no information and are dropped by prune, so memory is
// bounded by the identities active within one refill period.
type peerLimiter struct {
	limit rate.Limit
	burst int

	mu sync.Mutex
	m  map[PeerID]*rate.Limiter
}

func newPeerLimiter(perSecond float64, burst int) *peerLimiter {
	return &peerLimiter{limit: rate.Limit(perSecond), burst: burst, m: make(map[PeerID]*rate.Limiter)}
}

// allow takes one token from p's bucket at time now.
func (l *peerLimiter) allow(p PeerID, now time.Time) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	lim := l.m[p]
	if lim == nil {
		lim = rate.NewLimiter(l.limit, l.burst)
		l.m[p] = lim
	}
	return lim.AllowN(now, 1)
}

// prune drops the buckets that are full again at time now.
func (l *peerLimiter) prune(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for p, lim := range l.m {
		if lim.TokensAt(now) >= float64(l.burst) {
			delete(l.m, p)
		}
	}
}
