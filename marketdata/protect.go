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

// allow reports whether a call may go ahead now, and whether it is the
// half-open trial (only the trial's outcome or release ends the trial).
func (b *breaker) allow(now time.Time) (ok, trial bool) {
	if b.threshold <= 0 {
		return true, false
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.fails < b.threshold {
		return true, false
	}
	if now.Before(b.openUntil) || b.trial {
		return false, false
	}
	b.trial = true // half-open: exactly one trial
	return true, true
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

// release ends a call that says nothing about the provider (the local
// rate limiter or quota refused it, or it was called off from above)
// without judging the provider; if it was the trial, the next call may try.
func (b *breaker) release(trial bool) {
	if b.threshold <= 0 || !trial {
		return
	}
	b.mu.Lock()
	b.trial = false
	b.mu.Unlock()
}

// record feeds the outcome of a call into the breaker. Answers that prove
// the provider is up (success, not found, unsupported) close it.
//
// A call that started before the circuit opened and ends during the
// half-open trial does not end the trial: otherwise a second trial could
// start while the first is still in flight.
func (b *breaker) record(err error, now time.Time, trial bool) {
	if b.threshold <= 0 {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if trial {
		b.trial = false
	}
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
		cool = max(cool, min(RetryAfter(err), MaxRetryAfter))
	}
	if b.fails >= b.threshold {
		b.openUntil = now.Add(cool)
	}
}
