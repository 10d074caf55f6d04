package auth

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"time"
)

// ThrottleLimit is a limit on failed logins for one key (an account or a
// client address): Burst failures are free, then one more is allowed every
// Every. A failure beyond the limit locks the key out for Lockout, doubling
// with each further failure up to MaxLockout.
type ThrottleLimit struct {
	Burst      int           // failures allowed at once
	Every      time.Duration // refill interval of one allowed failure
	Lockout    time.Duration // first lockout
	MaxLockout time.Duration // longest lockout
}

// Throttle configures login throttling. Failures are counted three ways,
// so that an attacker's failures cannot deny the real user:
//
//   - Account limits one client's guesses at one account: it is keyed by
//     the account and the client address together and locks that pair
//     out. Default: 5 failures, then one per minute; lockouts start at
//     30 s and double up to 15 min.
//   - Client limits one address across all accounts (password spraying).
//     Default: 20 failures, then one every 6 seconds, same lockouts.
//   - Global limits one account across all clients (a distributed
//     attack). It is far higher and never locks: when it is spent, the
//     account is slowed, admitting one attempt every SlowEvery, except
//     for attempts from a trusted device (a device token from an earlier
//     successful login, Credentials.DeviceToken) and attempts carrying a
//     valid TOTP code for an account with two-factor authentication,
//     which are not slowed. Codes tried that way are limited per account
//     and client (5, then one every 10 minutes).
//     Default: 100 failures, then one every 30 seconds (twice what one
//     client may try at one account); Lockout and MaxLockout do not apply.
type Throttle struct {
	Account ThrottleLimit // per account and client (IPv6 by /64)
	Client  ThrottleLimit // per client IP (IPv6 by /64)
	Global  ThrottleLimit // per account, all clients together; slows, never locks
	// Register limits registrations per client IP (IPv6 by /64), counting
	// every attempt, since each may cost password hashes; while refused,
	// Register returns a *ThrottleError with Scope "register". Calls
	// without a client in the context (WithClient), such as an admin's
	// CLI, are not limited. Default: 5 registrations, then one every 10
	// minutes; lockouts start at 10 minutes and double up to an hour.
	Register ThrottleLimit
	// SlowEvery spaces the attempts without a trusted device while an
	// account's Global limit is spent (default 30 s).
	SlowEvery time.Duration
	// Store keeps the throttling state. Without it the Service uses
	// Options.Store when that is a ThrottleStore (MemoryStore and
	// auth/sqlstore are), so that instances sharing a database throttle
	// as one, and otherwise keeps the state in its own memory.
	Store ThrottleStore
	// MaxKeys bounds the number of keys the Service keeps in its own
	// memory when there is no ThrottleStore (default 100,000); when full,
	// keys that have recovered are dropped first, then the least recently
	// seen.
	MaxKeys int
	// Disabled turns throttling off (for tests of other features).
	Disabled bool
}

func (l ThrottleLimit) withDefaults(burst int, every time.Duration) ThrottleLimit {
	if l.Burst <= 0 {
		l.Burst = burst
	}
	if l.Every <= 0 {
		l.Every = every
	}
	if l.Lockout <= 0 {
		l.Lockout = 30 * time.Second
	}
	if l.MaxLockout <= 0 {
		l.MaxLockout = 15 * time.Minute
	}
	if l.MaxLockout < l.Lockout {
		l.MaxLockout = l.Lockout
	}
	return l
}

// throttler is one limit: a token bucket of allowed failures per key with
// a growing lockout, or, with slow set, a slowing instead of a lockout. It
// keeps no state of its own: its methods compute on a ThrottleState that a
// ThrottleStore keeps, and take the current time so that an injected clock
// works.
type throttler struct {
	scope string
	limit ThrottleLimit
	// slow, when set, makes the throttler slow instead of lock: a spent
	// bucket admits one untrusted attempt per slow and never locks out.
	slow time.Duration
}

// inflightRetry is the Retry-After of an attempt refused because the
// key's remaining budget is taken by attempts still being verified.
const inflightRetry = time.Second

// inflightLease is how long an admitted attempt counts as in flight
// without being released: longer than any password verification, short
// enough that an instance that died mid-attempt does not hold a key's
// budget for long.
const inflightLease = time.Minute

// maxExpiry bounds how far ahead a state's Expires is put, so that a
// huge configured limit cannot overflow time.Duration.
const maxExpiry = 10 * 365 * 24 * time.Hour

func (t *throttler) key(k string) ThrottleKey { return ThrottleKey{Scope: t.scope, Key: k} }

// tokens returns the failures st allows at now: the bucket refills one
// token per Every up to Burst. A time before TokensAt (another instance's
// clock) refills nothing.
func (t *throttler) tokens(st *ThrottleState, now time.Time) float64 {
	if st.TokensAt.IsZero() {
		return float64(t.limit.Burst)
	}
	elapsed := max(now.Sub(st.TokensAt), 0)
	return min(float64(t.limit.Burst), st.Tokens+float64(elapsed)/float64(t.limit.Every))
}

// inflight returns the attempts of st in flight at now.
func inflight(st *ThrottleState, now time.Time) int {
	if st.Inflight > 0 && now.Before(st.InflightUntil) {
		return st.Inflight
	}
	return 0
}

// locked returns a *ThrottleError if st is locked out at now.
func (t *throttler) locked(st *ThrottleState, now time.Time) error {
	if now.Before(st.Until) {
		return &ThrottleError{RetryAfter: st.Until.Sub(now), Scope: t.scope}
	}
	return nil
}

// admit admits an attempt at now, or returns a *ThrottleError if st is
// locked out or its remaining budget is already taken by attempts in
// flight. One attempt is always admitted when none is in flight (so
// sequential behaviour is exactly check-then-fail); beyond that, at most
// as many attempts run at once as the bucket has tokens. A slowing
// throttler admits trusted attempts always and, once the budget is spent,
// one untrusted attempt per t.slow.
func (t *throttler) admit(st *ThrottleState, trusted bool, now time.Time) error {
	if err := t.locked(st, now); err != nil {
		return err
	}
	n := inflight(st, now)
	spent := float64(n+1) > t.tokens(st, now)
	switch {
	case t.slow > 0 && spent && !trusted:
		if now.Before(st.NextSlow) {
			return &ThrottleError{RetryAfter: st.NextSlow.Sub(now), Scope: t.scope}
		}
		st.NextSlow = now.Add(t.slow)
	case t.slow == 0 && spent && n > 0:
		return &ThrottleError{RetryAfter: inflightRetry, Scope: t.scope}
	}
	st.Inflight, st.InflightUntil = n+1, now.Add(inflightLease)
	st.LastSeen = later(st.LastSeen, now)
	t.settle(st)
	return nil
}

// release ends an attempt admitted by admit.
func (t *throttler) release(st *ThrottleState, now time.Time) {
	st.Inflight = max(inflight(st, now)-1, 0)
	if st.Inflight == 0 {
		st.InflightUntil = time.Time{}
	}
	t.settle(st)
}

// fail records a failed attempt at now and returns the lockout it started,
// if any.
func (t *throttler) fail(st *ThrottleState, now time.Time) (lockout time.Duration) {
	defer t.settle(st)
	st.LastSeen = later(st.LastSeen, now)
	if tokens := t.tokens(st, now); tokens >= 1 {
		st.Tokens, st.TokensAt = tokens-1, later(st.TokensAt, now)
		if st.Tokens >= float64(t.limit.Burst)-1 {
			st.Strikes = 0 // fully recovered since the last lockout
		}
		return 0
	}
	if t.slow > 0 {
		return 0 // slows in admit, never locks
	}
	st.Strikes++
	d := t.limit.Lockout
	for i := 1; i < st.Strikes && d < t.limit.MaxLockout; i++ {
		d *= 2
	}
	d = min(d, t.limit.MaxLockout)
	st.Until = now.Add(d)
	return d
}

// spend admits one attempt at now and counts it as a failure at once (for
// limits on every attempt, such as registrations): it returns the
// *ThrottleError of a lockout in force or of the one this attempt starts.
func (t *throttler) spend(st *ThrottleState, now time.Time) error {
	if err := t.locked(st, now); err != nil {
		return err
	}
	if d := t.fail(st, now); d > 0 {
		return &ThrottleError{RetryAfter: d, Scope: t.scope}
	}
	return nil
}

// settle sets st.Expires: when the bucket is full again and no lockout,
// slowing or attempt in flight is left. From then on st is the same as a
// fresh key.
func (t *throttler) settle(st *ThrottleState) {
	var exp time.Time
	if !st.TokensAt.IsZero() {
		missing := max(float64(t.limit.Burst)-st.Tokens, 0) * float64(t.limit.Every)
		exp = st.TokensAt.Add(time.Duration(min(missing, float64(maxExpiry))))
	}
	exp = later(exp, st.Until)
	exp = later(exp, st.NextSlow)
	if st.Inflight > 0 {
		exp = later(exp, st.InflightUntil)
	}
	st.Expires = exp
}

func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

// loginThrottle combines the account-and-client, client and global
// account throttlers, and the registration, second-factor and reset
// limits, over one ThrottleStore.
type loginThrottle struct {
	store    ThrottleStore
	disabled bool
	pair     *throttler // account and client together
	client   *throttler
	global   *throttler // account over all clients; slows
	register *throttler // registrations per client
	// factor limits the TOTP codes one client tries to get past a slowed
	// account (per account and client, so an attacker's wrong codes do not
	// spend the user's): each right code buys one unslowed password try,
	// so a botnet guessing codes gains about 3 in a million per guess.
	factor *throttler
	reset  *throttler // password reset links per account
}

func newLoginThrottle(cfg Throttle, store ThrottleStore) *loginThrottle {
	global := &throttler{scope: "global", limit: cfg.Global.withDefaults(100, 30*time.Second), slow: cfg.SlowEvery}
	if global.slow <= 0 {
		global.slow = 30 * time.Second
	}
	register := cfg.Register
	if register.Lockout <= 0 {
		register.Lockout = 10 * time.Minute
	}
	if register.MaxLockout <= 0 {
		register.MaxLockout = time.Hour
	}
	if cfg.Store != nil {
		store = cfg.Store
	}
	return &loginThrottle{
		store:    store,
		disabled: cfg.Disabled,
		pair:     &throttler{scope: "account", limit: cfg.Account.withDefaults(5, time.Minute)},
		client:   &throttler{scope: "client", limit: cfg.Client.withDefaults(20, 6*time.Second)},
		global:   global,
		register: &throttler{scope: "register", limit: register.withDefaults(5, 10*time.Minute)},
		factor: &throttler{scope: "factor", limit: ThrottleLimit{Burst: 5, Every: 10 * time.Minute,
			Lockout: 10 * time.Minute, MaxLockout: time.Hour}},
		reset: &throttler{scope: "reset", limit: ThrottleLimit{Burst: 3, Every: 20 * time.Minute,
			Lockout: 20 * time.Minute, MaxLockout: time.Hour}},
	}
}

// update runs fn on the states of keys in one store update. A refusal of
// fn (a *ThrottleError) is returned as it is, a failure of the store
// wrapped.
func (lt *loginThrottle) update(ctx context.Context, now time.Time, keys []ThrottleKey, fn func([]ThrottleState) error) error {
	err := lt.store.UpdateThrottle(ctx, now, keys, fn)
	var te *ThrottleError
	if err != nil && !errors.As(err, &te) {
		return fmt.Errorf("throttle state: %w", err)
	}
	return err
}

// recordCtx is the context of writing down an attempt's outcome: the
// request may be gone by then (a client that hangs up after sending its
// guess), the record must still be made.
func recordCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}

// slowed reports whether err is the global limit slowing an account.
func slowed(err error) bool {
	var te *ThrottleError
	return errors.As(err, &te) && te.Scope == "global"
}

// pairKey is the throttling key of an account and a client together.
func pairKey(account, client string) string { return account + "\x00" + client }

// attempt is a login attempt admitted by loginThrottle.begin. Its outcome
// is recorded with fail or succeed; done releases it otherwise. Each of
// them releases the attempt's in-flight slots once.
type attempt struct {
	lt      *loginThrottle
	now     time.Time
	keys    []ThrottleKey
	limits  []*throttler
	pending bool // admitted and not yet released
}

// begin admits an attempt for the account and client keys at now, or
// returns the *ThrottleError of the first limit that refuses it (or the
// error of the store). trusted attempts (from a device the account logged
// in from before) are not slowed by the global limit. All three limits
// admit the attempt in one store update, so that concurrent attempts on
// any instance sharing the store cannot pass together.
func (lt *loginThrottle) begin(ctx context.Context, account, client string, trusted bool, now time.Time) (*attempt, error) {
	a := &attempt{lt: lt, now: now}
	if lt.disabled {
		return a, nil
	}
	a.limits = []*throttler{lt.pair}
	a.keys = []ThrottleKey{lt.pair.key(pairKey(account, client))}
	if client != "" {
		a.limits = append(a.limits, lt.client)
		a.keys = append(a.keys, lt.client.key(client))
	}
	a.limits = append(a.limits, lt.global)
	a.keys = append(a.keys, lt.global.key(account))
	err := lt.update(ctx, now, a.keys, func(states []ThrottleState) error {
		for i, t := range a.limits {
			if err := t.admit(&states[i], trusted, now); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	a.pending = true
	return a, nil
}

// finish releases the attempt and applies outcome to each limit's state,
// in one store update.
func (a *attempt) finish(ctx context.Context, outcome func(i int, t *throttler, st *ThrottleState)) error {
	if a == nil || !a.pending {
		return nil
	}
	a.pending = false
	ctx, cancel := recordCtx(ctx)
	defer cancel()
	return a.lt.update(ctx, a.now, a.keys, func(states []ThrottleState) error {
		for i, t := range a.limits {
			t.release(&states[i], a.now)
			if outcome != nil {
				outcome(i, t, &states[i])
			}
		}
		return nil
	})
}

// done releases the attempt's in-flight slots if fail or succeed did not;
// calling it again does nothing.
func (a *attempt) done(ctx context.Context) error { return a.finish(ctx, nil) }

// fail records the attempt as a failure and returns a throttle error if
// it started a lockout of the account-and-client or the client key.
func (a *attempt) fail(ctx context.Context) (*ThrottleError, error) {
	var te *ThrottleError
	err := a.finish(ctx, func(_ int, t *throttler, st *ThrottleState) {
		d := t.fail(st, a.now)
		if d > 0 && (te == nil || d > te.RetryAfter) {
			te = &ThrottleError{RetryAfter: d, Scope: t.scope}
		}
	})
	return te, err
}

// succeed releases the attempt and forgets the failures of this account
// from this client; the global count is left to refill, so the real
// user's success does not reset a distributed attacker's budget.
func (a *attempt) succeed(ctx context.Context) error {
	return a.finish(ctx, func(_ int, t *throttler, st *ThrottleState) {
		if t == a.lt.pair {
			*st = ThrottleState{}
		}
	})
}

// spend admits one attempt on key of limit t at now and counts it at once
// (registrations, reset links): it returns the *ThrottleError of a lockout
// in force or of the one this attempt starts, or the store's error.
func (lt *loginThrottle) spend(ctx context.Context, t *throttler, key string, now time.Time) error {
	if lt.disabled {
		return nil
	}
	return lt.update(ctx, now, []ThrottleKey{t.key(key)}, func(states []ThrottleState) error {
		return t.spend(&states[0], now)
	})
}

// check returns the *ThrottleError of limit t if key is locked out at
// now (or the store's error), changing nothing.
func (lt *loginThrottle) check(ctx context.Context, t *throttler, key string, now time.Time) error {
	if lt.disabled {
		return nil
	}
	return lt.update(ctx, now, []ThrottleKey{t.key(key)}, func(states []ThrottleState) error {
		return t.locked(&states[0], now)
	})
}

// failOnce records one failure on key of limit t at now (a wrong code
// tried past a slowed account).
func (lt *loginThrottle) failOnce(ctx context.Context, t *throttler, key string, now time.Time) error {
	if lt.disabled {
		return nil
	}
	ctx, cancel := recordCtx(ctx)
	defer cancel()
	return lt.update(ctx, now, []ThrottleKey{t.key(key)}, func(states []ThrottleState) error {
		t.fail(&states[0], now)
		return nil
	})
}

// registration admits one registration attempt from client at now, or
// returns the *ThrottleError that refuses it. Every admitted attempt
// spends from the client's budget; the one that overdraws it starts a
// lockout and is refused too.
func (lt *loginThrottle) registration(ctx context.Context, client string, now time.Time) error {
	if client == "" {
		return nil
	}
	return lt.spend(ctx, lt.register, client, now)
}

// clientKey is the throttling key of a client address: the IP for IPv4,
// the /64 network for IPv6 (one subscriber usually holds a whole /64).
// Anything unparsable is used as given.
func clientKey(ip string) string {
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return ip
	}
	a = a.Unmap()
	if a.Is6() {
		p, err := a.Prefix(64)
		if err == nil {
			return p.String()
		}
	}
	return a.WithZone("").String()
}

// String describes the limit, for logs and flags.
func (l ThrottleLimit) String() string {
	return fmt.Sprintf("%d then 1/%s, lockout %s..%s", l.Burst, l.Every, l.Lockout, l.MaxLockout)
}
