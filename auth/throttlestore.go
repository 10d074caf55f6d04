package auth

import (
	"context"
	"errors"
	"slices"
	"sync"
	"time"
)

// ThrottleKey names one throttled key: Scope is the limit ("account",
// "client", "global", "register", "factor" or "reset") and Key the
// account, client address or pair it counts for.
type ThrottleKey struct {
	Scope string // which limit
	Key   string // what it counts for within the limit
}

// ThrottleState is the stored state of one throttling key: a token bucket
// of allowed failures, a growing lockout, the slowing of the global limit
// and the attempts in flight. Package auth computes it; a ThrottleStore
// only keeps it. The zero value is a fresh key (a full bucket).
type ThrottleState struct {
	// Tokens is the number of failures allowed at TokensAt; a zero
	// TokensAt means a full bucket.
	Tokens   float64
	TokensAt time.Time // see Tokens
	Strikes  int       // lockouts in a row, for the growing back-off
	Until    time.Time // locked out before this
	// NextSlow is when a slowing limit admits its next untrusted attempt.
	NextSlow time.Time
	// Inflight counts admitted attempts whose outcome is not recorded yet,
	// in every instance; it is forgotten at InflightUntil, so an instance
	// that died mid-attempt holds no budget for long.
	Inflight      int
	InflightUntil time.Time // see Inflight
	LastSeen      time.Time // last attempt
	// Expires is when the state becomes that of a fresh key: a store may
	// forget it from then on, and must read it as the zero state. A zero
	// Expires asks the store to forget the key now.
	Expires time.Time
}

// ThrottleStore keeps throttling state where every instance of an
// application sees it, so that failed logins spread over several
// instances are counted as if on one. Both stores of this module
// implement it (MemoryStore for one process, auth/sqlstore for a database
// shared by several), and the Service uses its Store's unless
// Throttle.Store names another.
type ThrottleStore interface {
	// UpdateThrottle reads the states of keys, calls fn with them in the
	// order of keys (a key that is not stored, or whose Expires is not
	// after now, reads as the zero state) and stores the states fn leaves
	// in the slice, forgetting those whose Expires is not after now. All
	// of it is atomic with respect to every other UpdateThrottle of any
	// of the keys, in every process sharing the store. When fn returns an
	// error nothing is stored and UpdateThrottle returns that error. fn
	// must only compute: it may run inside a database transaction.
	UpdateThrottle(ctx context.Context, now time.Time, keys []ThrottleKey, fn func(states []ThrottleState) error) error
	// DeleteExpiredThrottles forgets the states whose Expires is not after
	// now and returns how many.
	DeleteExpiredThrottles(ctx context.Context, now time.Time) (int, error)
}

// errNoKeys refuses an UpdateThrottle without keys.
var errNoKeys = errors.New("auth: update throttle: no keys")

// memThrottle is a ThrottleStore in memory, bounded to maxKeys keys: when
// full, expired states are dropped first, then the least recently seen
// tenth.
type memThrottle struct {
	mu      sync.Mutex
	maxKeys int
	states  map[ThrottleKey]ThrottleState
}

func newMemThrottle(maxKeys int) *memThrottle {
	if maxKeys <= 0 {
		maxKeys = defaultMaxKeys
	}
	return &memThrottle{maxKeys: maxKeys, states: map[ThrottleKey]ThrottleState{}}
}

// defaultMaxKeys bounds an in-memory ThrottleStore.
const defaultMaxKeys = 100_000

func (m *memThrottle) UpdateThrottle(_ context.Context, now time.Time, keys []ThrottleKey, fn func([]ThrottleState) error) error {
	if len(keys) == 0 {
		return errNoKeys
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	states := make([]ThrottleState, len(keys))
	for i, k := range keys {
		if st, ok := m.states[k]; ok && st.Expires.After(now) {
			states[i] = st
		}
	}
	if err := fn(states); err != nil {
		return err
	}
	for i, k := range keys {
		if !states[i].Expires.After(now) {
			delete(m.states, k)
			continue
		}
		if _, ok := m.states[k]; !ok {
			m.makeRoom(now)
		}
		m.states[k] = states[i]
	}
	return nil
}

func (m *memThrottle) DeleteExpiredThrottles(_ context.Context, now time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteExpired(now), nil
}

func (m *memThrottle) deleteExpired(now time.Time) int {
	n := 0
	for k, st := range m.states {
		if !st.Expires.After(now) {
			delete(m.states, k)
			n++
		}
	}
	return n
}

// makeRoom drops states when the map is full: first the expired ones,
// then the least recently seen tenth at once, so that a flood of new keys
// costs one sort per maxKeys/10 insertions.
func (m *memThrottle) makeRoom(now time.Time) {
	if len(m.states) < m.maxKeys {
		return
	}
	m.deleteExpired(now)
	if len(m.states) < m.maxKeys {
		return
	}
	type seen struct {
		key  ThrottleKey
		last time.Time
	}
	all := make([]seen, 0, len(m.states))
	for k, st := range m.states {
		all = append(all, seen{k, st.LastSeen})
	}
	slices.SortFunc(all, func(a, b seen) int { return a.last.Compare(b.last) })
	for _, x := range all[:max(1, len(all)/10)] {
		delete(m.states, x.key)
	}
}
