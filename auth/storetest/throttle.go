package storetest

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// throttleStore returns s as an auth.ThrottleStore, skipping the test for
// a store that is not one (the Service then throttles in its own memory).
func throttleStore(t *testing.T, s auth.Store) auth.ThrottleStore {
	t.Helper()
	ts, ok := s.(auth.ThrottleStore)
	if !ok {
		t.Skipf("%T is not an auth.ThrottleStore", s)
	}
	return ts
}

// readThrottle returns the stored states of keys at now, changing nothing.
func readThrottle(t *testing.T, ts auth.ThrottleStore, now time.Time, keys ...auth.ThrottleKey) []auth.ThrottleState {
	t.Helper()
	var got []auth.ThrottleState
	errRead := errors.New("read only")
	err := ts.UpdateThrottle(context.Background(), now, keys, func(st []auth.ThrottleState) error {
		got = append([]auth.ThrottleState(nil), st...)
		return errRead
	})
	require.ErrorIs(t, err, errRead)
	return got
}

// testThrottleStore checks that a state is stored and read back exactly,
// per key and in the caller's order, that a failing update stores nothing,
// that expired states read as fresh and are deleted, and that keys of any
// bytes work.
func testThrottleStore(t *testing.T, s auth.Store) {
	ts := throttleStore(t, s)
	ctx := context.Background()
	now := t0
	keys := []auth.ThrottleKey{
		{Scope: "global", Key: "alice"},
		{Scope: "account", Key: "alice\x00203.0.113.9"},
		{Scope: "client", Key: "\xff\xfe not UTF-8 and long " + string(make([]byte, 300))},
	}
	for i, st := range readThrottle(t, ts, now, keys...) {
		assert.Equal(t, auth.ThrottleState{}, st, "fresh key %d", i)
	}
	want := make([]auth.ThrottleState, len(keys))
	for i := range want {
		want[i] = auth.ThrottleState{
			Tokens: 2.75 - float64(i), TokensAt: now.Add(-time.Duration(i) * time.Second), Strikes: i + 1,
			Until: now.Add(time.Duration(i+1) * time.Minute), NextSlow: now.Add(time.Second),
			Inflight: i, InflightUntil: now.Add(time.Minute), LastSeen: now, Expires: now.Add(time.Hour + time.Duration(i)),
		}
	}
	require.NoError(t, ts.UpdateThrottle(ctx, now, keys, func(st []auth.ThrottleState) error {
		copy(st, want)
		return nil
	}))
	got := readThrottle(t, ts, now, keys...)
	for i := range keys {
		assertThrottleState(t, want[i], got[i])
	}
	// The same keys in another order come back in that order.
	rev := readThrottle(t, ts, now, keys[2], keys[0])
	assertThrottleState(t, want[2], rev[0])
	assertThrottleState(t, want[0], rev[1])
	// Another scope of the same key is another state.
	assert.Equal(t, auth.ThrottleState{}, readThrottle(t, ts, now, auth.ThrottleKey{Scope: "register", Key: "alice"})[0])

	// A failing update changes nothing.
	boom := errors.New("refused")
	err := ts.UpdateThrottle(ctx, now, keys, func(st []auth.ThrottleState) error {
		st[0].Strikes = 99
		st[1] = auth.ThrottleState{}
		return boom
	})
	require.ErrorIs(t, err, boom)
	got = readThrottle(t, ts, now, keys...)
	assertThrottleState(t, want[0], got[0])
	assertThrottleState(t, want[1], got[1])

	// A state read after its expiry is fresh; one stored expired is gone.
	assert.Equal(t, auth.ThrottleState{}, readThrottle(t, ts, now.Add(time.Hour), keys[0])[0])
	require.NoError(t, ts.UpdateThrottle(ctx, now, keys[1:2], func(st []auth.ThrottleState) error {
		st[0] = auth.ThrottleState{Strikes: 3} // zero Expires: forget it
		return nil
	}))
	assert.Equal(t, auth.ThrottleState{}, readThrottle(t, ts, now, keys[1])[0])
	n, err := ts.DeleteExpiredThrottles(ctx, now.Add(time.Hour+time.Second))
	require.NoError(t, err)
	assert.Equal(t, 2, n, "keys 0 and 2 had expired, key 1 was deleted already")
	n, err = ts.DeleteExpiredThrottles(ctx, now.Add(2*time.Hour))
	require.NoError(t, err)
	assert.Zero(t, n)
	require.Error(t, ts.UpdateThrottle(ctx, now, nil, func([]auth.ThrottleState) error { return nil }), "no keys")
}

func assertThrottleState(t *testing.T, want, got auth.ThrottleState) {
	t.Helper()
	assert.InDelta(t, want.Tokens, got.Tokens, 0)
	assert.Equal(t, want.Strikes, got.Strikes)
	assert.Equal(t, want.Inflight, got.Inflight)
	for _, p := range [][2]time.Time{{want.TokensAt, got.TokensAt}, {want.Until, got.Until}, {want.NextSlow, got.NextSlow},
		{want.InflightUntil, got.InflightUntil}, {want.LastSeen, got.LastSeen}, {want.Expires, got.Expires}} {
		assert.True(t, p[0].Equal(p[1]), "time %v, want %v", p[1], p[0])
	}
}

// ThrottleRacers is how many updates race in the concurrency tests.
const ThrottleRacers = 50

// testThrottleConcurrent races ThrottleRacers updates of three shared
// keys, each naming them in a random order and counting in every one:
// none may be lost, none may fail (no deadlock between overlapping
// updates).
func testThrottleConcurrent(t *testing.T, s auth.Store) {
	ts := throttleStore(t, s)
	ctx := context.Background()
	keys := []auth.ThrottleKey{{Scope: "account", Key: "k"}, {Scope: "client", Key: "k"}, {Scope: "global", Key: "k"}}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range ThrottleRacers {
		wg.Go(func() {
			mine := append([]auth.ThrottleKey(nil), keys...)
			rand.Shuffle(len(mine), func(a, b int) { mine[a], mine[b] = mine[b], mine[a] })
			<-start
			err := ts.UpdateThrottle(ctx, t0, mine, func(st []auth.ThrottleState) error {
				for j := range st {
					st[j].Strikes++
					st[j].Tokens += float64(i)
					st[j].Expires = t0.Add(time.Hour)
				}
				return nil
			})
			assert.NoError(t, err, "racer %d", i)
		})
	}
	close(start)
	wg.Wait()
	for i, st := range readThrottle(t, ts, t0, keys...) {
		assert.Equal(t, ThrottleRacers, st.Strikes, "key %d: every update counted", i)
		assert.InDelta(t, float64(ThrottleRacers*(ThrottleRacers-1)/2), st.Tokens, 0, "key %d", i)
	}
}

// NewShared returns two stores on one fresh database, as two instances of
// an application would open it (two connection pools in one test; for an
// in-memory store, the same store twice).
type NewShared func(t *testing.T) (a, b auth.Store)

// RunShared runs the tests of several instances sharing one database:
// sessions made on one are valid on the other and ended on both, and
// login and registration throttling count across both (the stores must be
// auth.ThrottleStores for that). Run it beside Run:
//
//	func TestShared(t *testing.T) {
//		storetest.RunShared(t, func(t *testing.T) (auth.Store, auth.Store) {
//			path := filepath.Join(t.TempDir(), "auth.db")
//			return openStore(t, path), openStore(t, path)
//		})
//	}
func RunShared(t *testing.T, newShared NewShared) {
	t.Run("SessionsAcrossInstances", func(t *testing.T) { testSessionsAcross(t, newShared) })
	t.Run("ThrottleAcrossInstances", func(t *testing.T) { testThrottleAcross(t, newShared) })
	t.Run("ConcurrentGuessesAcrossInstances", func(t *testing.T) { testConcurrentGuessesAcross(t, newShared) })
	t.Run("ConcurrentRegisterAcrossInstances", func(t *testing.T) { testConcurrentRegisterAcross(t, newShared) })
}

// sharedClock is a settable clock both instances read.
type sharedClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *sharedClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *sharedClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// instances returns two Services on the two stores of newShared, with one
// clock and one secret key, each with mod applied to its options.
func instances(t *testing.T, newShared NewShared, mod func(*auth.Options)) (a, b *auth.Service, clock *sharedClock) {
	t.Helper()
	sa, sb := newShared(t)
	clock = &sharedClock{now: t0}
	key := make([]byte, auth.SecretKeySize)
	svc := func(s auth.Store) *auth.Service {
		o := auth.Options{Store: s, Params: TinyParams(), Clock: clock, SecretKey: key}
		if mod != nil {
			mod(&o)
		}
		v, err := auth.New(o)
		require.NoError(t, err)
		return v
	}
	return svc(sa), svc(sb), clock
}

const sharedPassword = "a passphrase both instances know"

func testSessionsAcross(t *testing.T, newShared NewShared) {
	ctx := context.Background()
	a, b, _ := instances(t, newShared, nil)
	u, err := a.Register(ctx, auth.RegisterRequest{Username: "roam", Password: sharedPassword})
	require.NoError(t, err)
	login := func(on *auth.Service) auth.LoginResult {
		t.Helper()
		res, err := on.Login(ctx, auth.Credentials{Username: "roam", Password: sharedPassword})
		require.NoError(t, err)
		return res
	}
	valid := func(on *auth.Service, token string) error {
		_, _, err := on.Validate(ctx, token)
		return err
	}

	res := login(a)
	require.NoError(t, valid(b, res.Token), "made on A, valid on B")
	require.NoError(t, b.Logout(ctx, res.Token))
	require.ErrorIs(t, valid(a, res.Token), auth.ErrUnauthenticated, "logout on B ends it on A")
	require.ErrorIs(t, valid(b, res.Token), auth.ErrUnauthenticated)

	res = login(b)
	require.NoError(t, valid(a, res.Token))
	require.NoError(t, a.RevokeSession(ctx, u.ID, res.Session.ID))
	require.ErrorIs(t, valid(b, res.Token), auth.ErrUnauthenticated, "revoked on A, refused on B")

	r1, r2 := login(a), login(b)
	_, err = b.Disable(ctx, u.ID)
	require.NoError(t, err)
	require.ErrorIs(t, valid(a, r1.Token), auth.ErrUnauthenticated, "disabled on B, refused on A")
	require.ErrorIs(t, valid(a, r2.Token), auth.ErrUnauthenticated)
	_, err = a.Enable(ctx, u.ID)
	require.NoError(t, err)
	require.ErrorIs(t, valid(b, r2.Token), auth.ErrUnauthenticated, "re-enabling does not revive sessions")
	r3 := login(a)
	require.NoError(t, valid(b, r3.Token), "a new login works again")
}

func testThrottleAcross(t *testing.T, newShared NewShared) {
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.50"})
	a, b, clock := instances(t, newShared, func(o *auth.Options) {
		o.Throttle.Account = auth.ThrottleLimit{Burst: 4, Every: time.Hour, Lockout: time.Minute, MaxLockout: time.Hour}
	})
	_, err := a.Register(context.Background(), auth.RegisterRequest{Username: "target", Password: sharedPassword})
	require.NoError(t, err)
	bad := auth.Credentials{Username: "target", Password: "a wrong guess"}
	for i := range 4 {
		on := a
		if i%2 == 1 {
			on = b
		}
		_, err := on.Login(ctx, bad)
		require.ErrorIs(t, err, auth.ErrInvalidCredentials, "guess %d within the burst", i)
	}
	_, err = b.Login(ctx, bad) // the fifth, over both instances: lockout
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	for _, on := range []*auth.Service{a, b} {
		_, err = on.Login(ctx, auth.Credentials{Username: "target", Password: sharedPassword})
		require.ErrorIs(t, err, auth.ErrTooManyAttempts, "locked out on both instances")
		d, ok := auth.RetryAfter(err)
		require.True(t, ok)
		assert.Equal(t, time.Minute, d)
	}
	clock.advance(time.Minute)
	_, err = a.Login(ctx, bad)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = b.Login(ctx, bad)
	d, _ := auth.RetryAfter(err)
	assert.Equal(t, 2*time.Minute, d, "the back-off grows across instances")
	clock.advance(2 * time.Minute)
	_, err = b.Login(ctx, auth.Credentials{Username: "target", Password: sharedPassword})
	require.NoError(t, err, "after the lockout the right password works")
	_, err = a.Login(ctx, bad)
	require.ErrorIs(t, err, auth.ErrInvalidCredentials, "success on B reset the pair on A")
}

// holdHasher holds every Verify until release is closed, counting those
// that got as far as hashing.
type holdHasher struct {
	auth.Hasher
	mu      sync.Mutex
	entered int
	release chan struct{}
}

func (h *holdHasher) Verify(ctx context.Context, pw, enc string) (bool, error) {
	h.mu.Lock()
	h.entered++
	h.mu.Unlock()
	<-h.release
	return h.Hasher.Verify(ctx, pw, enc)
}

func (h *holdHasher) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.entered
}

// testConcurrentGuessesAcross races ThrottleRacers wrong guesses at one
// account from one client, spread over both instances: at most the burst
// may be verified, however the attempts interleave.
func testConcurrentGuessesAcross(t *testing.T, newShared NewShared) {
	const burst = 3
	base, err := auth.NewArgon2Hasher(TinyParams(), 0)
	require.NoError(t, err)
	h := &holdHasher{Hasher: base, release: make(chan struct{})}
	var releaseOnce sync.Once
	release := func() { releaseOnce.Do(func() { close(h.release) }) }
	t.Cleanup(release) // a failed assertion does not leave the logins hanging
	a, b, _ := instances(t, newShared, func(o *auth.Options) {
		o.Hasher = h
		o.Throttle.Account = auth.ThrottleLimit{Burst: burst, Every: time.Hour, Lockout: time.Hour}
		o.Throttle.Client = auth.ThrottleLimit{Burst: 1000, Every: time.Millisecond}
		o.Throttle.Global = auth.ThrottleLimit{Burst: 1000, Every: time.Millisecond}
	})
	// Registration hashes, it does not verify: the gate does not hold it.
	_, err = a.Register(context.Background(), auth.RegisterRequest{Username: "victim", Password: sharedPassword})
	require.NoError(t, err)
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "198.51.100.77"})
	var mu sync.Mutex
	throttled, other := 0, 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range ThrottleRacers {
		on := a
		if i%2 == 1 {
			on = b
		}
		wg.Go(func() {
			<-start
			_, err := on.Login(ctx, auth.Credentials{Username: "victim", Password: fmt.Sprintf("guess %d", i)})
			mu.Lock()
			defer mu.Unlock()
			switch {
			case errors.Is(err, auth.ErrTooManyAttempts):
				throttled++
			case errors.Is(err, auth.ErrInvalidCredentials):
			default:
				other++
				t.Errorf("guess %d: %v", i, err)
			}
		})
	}
	close(start)
	require.Eventually(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return throttled+h.count() == ThrottleRacers
	}, 30*time.Second, 5*time.Millisecond, "every attempt is either throttled or hashing")
	assert.LessOrEqual(t, h.count(), burst, "no more guesses verified than the burst, over both instances")
	release()
	wg.Wait()
	assert.Zero(t, other)
	// The bucket is spent on both: the next failure, on A, locks B too.
	_, err = a.Login(ctx, auth.Credentials{Username: "victim", Password: "one more wrong guess"})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
	_, err = b.Login(ctx, auth.Credentials{Username: "victim", Password: sharedPassword})
	require.ErrorIs(t, err, auth.ErrTooManyAttempts, "the spent budget holds on both")
}

// testConcurrentRegisterAcross races ThrottleRacers registrations from one
// client over both instances: exactly the Register burst succeed.
func testConcurrentRegisterAcross(t *testing.T, newShared NewShared) {
	a, b, _ := instances(t, newShared, nil)
	ctx := auth.WithClient(context.Background(), auth.Client{IP: "203.0.113.8"})
	var mu sync.Mutex
	ok := 0
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range ThrottleRacers {
		on := a
		if i%2 == 1 {
			on = b
		}
		wg.Go(func() {
			<-start
			_, err := on.Register(ctx, auth.RegisterRequest{Username: fmt.Sprintf("racer-%d", i), Password: sharedPassword})
			if err == nil {
				mu.Lock()
				ok++
				mu.Unlock()
				return
			}
			assert.ErrorIs(t, err, auth.ErrTooManyAttempts, "racer %d", i)
		})
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 5, ok, "the default Register burst, over both instances")
}
