package marketdata

import (
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The breaker's state machine: closed → open after threshold failures →
// half-open with exactly one trial after the cool-down → closed on the
// trial's success or open again on its failure. A call that started while
// the circuit was closed and ends during the trial must not end the trial
// (else a second trial could start while the first is in flight).
func TestBreakerStateMachine(t *testing.T) {
	fail := &Error{Provider: "p", Kind: ErrUnavailable, Err: errors.New("down")}
	now := time.Date(2026, 3, 2, 15, 0, 0, 0, time.UTC)
	b := &breaker{threshold: 2, cooldown: time.Minute}

	okA, trialA := b.allow(now) // a slow call that started while closed
	require.True(t, okA)
	require.False(t, trialA)
	for range 2 {
		ok, trial := b.allow(now)
		require.True(t, ok)
		b.record(fail, now, trial)
	}
	ok, _ := b.allow(now)
	require.False(t, ok, "open after threshold failures")
	assert.True(t, b.open(now))

	now = now.Add(time.Minute)
	ok, trial := b.allow(now)
	require.True(t, ok)
	require.True(t, trial, "half-open: one trial")
	ok, _ = b.allow(now)
	require.False(t, ok, "only one trial at a time")

	b.record(fail, now, trialA) // the old call ends with a failure during the trial
	ok, _ = b.allow(now.Add(2 * time.Minute))
	require.False(t, ok, "a second trial started while the first was in flight")
	b.release(trialA) // nor may an unrelated release end the trial
	ok, _ = b.allow(now.Add(2 * time.Minute))
	require.False(t, ok, "a second trial started after an unrelated release")

	b.record(nil, now, trial) // the trial succeeds: closed
	ok, trial = b.allow(now)
	require.True(t, ok)
	require.False(t, trial)
	assert.False(t, b.open(now))
}
