package marketdata

import (
	"errors"
	"sync"
	"time"
)

// Limit protects one provider's API: a token-bucket rate and a daily quota.
type Limit struct {
	PerSecond float64 // sustained calls per second; 0 means unlimited
	Burst     int     // bucket size; default 1 when PerSecond > 0
	PerDay    int     // calls per UTC day; 0 means unlimited
}

// quota counts calls per UTC day.
type quota struct {
	mu    sync.Mutex
	limit int
	day   int64
	used  int
}

// take reserves one call; it returns how long until the quota resets when
// the day's calls are used up.
func (q *quota) take(now time.Time) (ok bool, resetIn time.Duration) {
	if q == nil || q.limit <= 0 {
		return true, 0
	}
	day := now.UTC().Unix() / 86400
	q.mu.Lock()
	defer q.mu.Unlock()
	if day != q.day {
		q.day, q.used = day, 0
	}
	if q.used >= q.limit {
		next := time.Unix((day+1)*86400, 0)
		return false, next.Sub(now)
	}
	q.used++
	return true, 0
}

// breaker is a circuit breaker: after threshold consecutive failures it opens
// for the cool-down, then lets one trial call through (half-open); a success
// closes it, a failure opens it again.
type breaker struct {
	mu        sync.Mutex
	threshold int
	cooldown  time.Duration
	fails     int
	openUntil time.Time
	trial     bool
}

// allow reports whether a call may go ahead now.
func (b *breaker) allow(now time.Time) bool {
	if b.threshold <= 0 {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.threshold {
		return true
	}
	if now.Before(b.openUntil) || b.trial {
		return false
	}
	b.trial = true // half-open: exactly one trial
	return true
}

// open reports whether the breaker currently rejects calls.
func (b *breaker) open(now time.Time) bool {
	if b.threshold <= 0 {
		return false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.fails >= b.threshold && (now.Before(b.openUntil) || b.trial)
}

// release ends a trial that made no upstream call (the local rate limiter
// or quota refused it) without judging the provider.
func (b *breaker) release() {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	b.trial = false
	b.mu.Unlock()
}

// record feeds the outcome of a call into the breaker. Answers that prove
// the provider is up (success, not found, unsupported) close it.
func (b *breaker) record(err error, now time.Time) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.trial = false
	if err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnsupported) || errors.Is(err, ErrInvalidSymbol) {
		b.fails = 0
		b.openUntil = time.Time{}
		return
	}
	b.fails++
	cool := b.cooldown
	if errors.Is(err, ErrRateLimited) {
		// The API asked us to back off: open at once, for at least as long as it said.
		b.fails = max(b.fails, b.threshold)
		cool = max(cool, RetryAfter(err))
	}
	if b.fails >= b.threshold {
		b.openUntil = now.Add(cool)
	}
}
