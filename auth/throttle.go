package auth

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	"golang.org/x/time/rate"
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
	// MaxKeys bounds the number of tracked keys per scope (default 100,000);
	// when full, keys that have recovered are dropped first, then the
	// oldest.
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

// throttler tracks failures per key with a token bucket and a growing
// lockout. All methods take the current time so an injected clock works.
type throttler struct {
	scope   string
	limit   ThrottleLimit
	maxKeys int
	// slow, when set, makes the throttler slow instead of lock: a spent
	// bucket admits one untrusted attempt per slow and never locks out.
	slow time.Duration

	mu      sync.Mutex
	entries map[string]*throttleEntry
}

type throttleEntry struct {
	lim     *rate.Limiter
	strikes int
	until   time.Time
	last    time.Time
	// inflight counts attempts admitted by begin whose outcome is not
	// known yet; they count against the bucket so that concurrent guesses
	// cannot all pass check before the first failure is recorded.
	inflight int
	// nextSlow is when a slowing throttler admits its next untrusted
	// attempt while the bucket is spent.
	nextSlow time.Time
}

// inflightRetry is the Retry-After of an attempt refused because the
// key's remaining budget is taken by attempts still being verified.
const inflightRetry = time.Second

func newThrottler(scope string, l ThrottleLimit, maxKeys int) *throttler {
	return &throttler{scope: scope, limit: l, maxKeys: maxKeys, entries: map[string]*throttleEntry{}}
}

// check returns a *ThrottleError if key is locked out at now.
func (t *throttler) check(key string, now time.Time) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok || !now.Before(e.until) {
		return nil
	}
	return &ThrottleError{RetryAfter: e.until.Sub(now), Scope: t.scope}
}

// begin admits an attempt for key at now, or returns a *ThrottleError if
// the key is locked out or its remaining budget is already taken by
// attempts in flight. One attempt is always admitted when none is in
// flight (so sequential behaviour is exactly check-then-fail); beyond
// that, at most as many attempts run at once as the bucket has tokens.
// A slowing throttler admits trusted attempts always and, once the budget
// is spent, one untrusted attempt per t.slow.
// The returned entry must be passed to end when the attempt's outcome has
// been recorded (or it was abandoned).
func (t *throttler) begin(key string, trusted bool, now time.Time) (*throttleEntry, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if ok && now.Before(e.until) {
		return nil, &ThrottleError{RetryAfter: e.until.Sub(now), Scope: t.scope}
	}
	if !ok {
		t.makeRoom(now)
		e = &throttleEntry{lim: rate.NewLimiter(rate.Every(t.limit.Every), t.limit.Burst)}
		t.entries[key] = e
	}
	spent := float64(e.inflight+1) > e.lim.TokensAt(now)
	switch {
	case t.slow > 0 && spent && !trusted:
		if now.Before(e.nextSlow) {
			return nil, &ThrottleError{RetryAfter: e.nextSlow.Sub(now), Scope: t.scope}
		}
		e.nextSlow = now.Add(t.slow)
	case t.slow == 0 && spent && e.inflight > 0:
		return nil, &ThrottleError{RetryAfter: inflightRetry, Scope: t.scope}
	}
	e.inflight++
	e.last = now
	return e, nil
}

// end releases an attempt admitted by begin.
func (t *throttler) end(e *throttleEntry) {
	if e == nil {
		return
	}
	t.mu.Lock()
	e.inflight--
	t.mu.Unlock()
}

// fail records a failed attempt for key at now and reports the lockout it
// started, if any.
func (t *throttler) fail(key string, now time.Time) (lockout time.Duration) {
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.entries[key]
	if !ok {
		t.makeRoom(now)
		e = &throttleEntry{lim: rate.NewLimiter(rate.Every(t.limit.Every), t.limit.Burst)}
		t.entries[key] = e
	}
	e.last = now
	if e.lim.AllowN(now, 1) {
		if e.lim.TokensAt(now) >= float64(t.limit.Burst)-1 {
			e.strikes = 0 // fully recovered since the last lockout
		}
		return 0
	}
	if t.slow > 0 {
		return 0 // slows in begin, never locks
	}
	e.strikes++
	d := t.limit.Lockout
	for i := 1; i < e.strikes && d < t.limit.MaxLockout; i++ {
		d *= 2
	}
	d = min(d, t.limit.MaxLockout)
	e.until = now.Add(d)
	return d
}

// reset forgets key (after a successful login for an account).
func (t *throttler) reset(key string) {
	t.mu.Lock()
	delete(t.entries, key)
	t.mu.Unlock()
}

// makeRoom drops entries when the map is full: first those that are not
// locked out and whose bucket has refilled, then the least recently seen.
func (t *throttler) makeRoom(now time.Time) {
	if len(t.entries) < t.maxKeys {
		return
	}
	for k, e := range t.entries {
		if e.inflight == 0 && !now.Before(e.until) && !now.Before(e.nextSlow) && e.lim.TokensAt(now) >= float64(t.limit.Burst) {
			delete(t.entries, k)
		}
	}
	if len(t.entries) < t.maxKeys {
		return
	}
	// Still full of active keys: drop the least recently seen tenth at once,
	// so a flood of new keys costs one sort per maxKeys/10 insertions.
	type kv struct {
		key  string
		last time.Time
	}
	all := make([]kv, 0, len(t.entries))
	for k, e := range t.entries {
		all = append(all, kv{k, e.last})
	}
	slices.SortFunc(all, func(a, b kv) int { return a.last.Compare(b.last) })
	for _, x := range all[:max(1, len(all)/10)] {
		delete(t.entries, x.key)
	}
}

// loginThrottle combines the account-and-client, client and global
// account throttlers.
type loginThrottle struct {
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
}

func newLoginThrottle(cfg Throttle) *loginThrottle {
	maxKeys := cfg.MaxKeys
	if maxKeys <= 0 {
		maxKeys = 100_000
	}
	global := newThrottler("global", cfg.Global.withDefaults(100, 30*time.Second), maxKeys)
	global.slow = cfg.SlowEvery
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
	return &loginThrottle{
		disabled: cfg.Disabled,
		pair:     newThrottler("account", cfg.Account.withDefaults(5, time.Minute), maxKeys),
		client:   newThrottler("client", cfg.Client.withDefaults(20, 6*time.Second), maxKeys),
		global:   global,
		register: newThrottler("register", register.withDefaults(5, 10*time.Minute), maxKeys),
		factor: newThrottler("factor", ThrottleLimit{Burst: 5, Every: 10 * time.Minute,
			Lockout: 10 * time.Minute, MaxLockout: time.Hour}, maxKeys),
	}
}

// slowed reports whether err is the global limit slowing an account.
func slowed(err error) bool {
	var te *ThrottleError
	return errors.As(err, &te) && te.Scope == "global"
}

// pairKey is the throttling key of an account and a client together.
func pairKey(account, client string) string { return account + "\x00" + client }

func (lt *loginThrottle) check(account, client string, now time.Time) error {
	if lt.disabled {
		return nil
	}
	if err := lt.pair.check(pairKey(account, client), now); err != nil {
		return err
	}
	if client == "" {
		return nil
	}
	return lt.client.check(client, now)
}

// attempt is a login attempt admitted by loginThrottle.begin; done must be
// called once its outcome has been recorded with fail or succeed.
type attempt struct {
	lt                   *loginThrottle
	pair, client, global *throttleEntry
}

// begin admits an attempt for the account and client keys at now, or
// returns the *ThrottleError of the first limit that refuses it. trusted
// attempts (from a device the account logged in from before) are not
// slowed by the global limit.
func (lt *loginThrottle) begin(account, client string, trusted bool, now time.Time) (*attempt, error) {
	a := &attempt{lt: lt}
	if lt.disabled {
		return a, nil
	}
	var err error
	if a.pair, err = lt.pair.begin(pairKey(account, client), false, now); err != nil {
		return nil, err
	}
	if client != "" {
		if a.client, err = lt.client.begin(client, false, now); err != nil {
			a.done()
			return nil, err
		}
	}
	if a.global, err = lt.global.begin(account, trusted, now); err != nil {
		a.done()
		return nil, err
	}
	return a, nil
}

// done releases the attempt's in-flight slots; calling it again does
// nothing.
func (a *attempt) done() {
	if a == nil || a.lt == nil {
		return
	}
	a.lt.pair.end(a.pair)
	a.lt.client.end(a.client)
	a.lt.global.end(a.global)
	a.lt = nil
}

// fail records a failure and returns a throttle error if it started a
// lockout of the account-and-client or the client key.
func (lt *loginThrottle) fail(account, client string, now time.Time) *ThrottleError {
	if lt.disabled {
		return nil
	}
	var te *ThrottleError
	if d := lt.pair.fail(pairKey(account, client), now); d > 0 {
		te = &ThrottleError{RetryAfter: d, Scope: "account"}
	}
	if client != "" {
		if d := lt.client.fail(client, now); d > 0 && (te == nil || d > te.RetryAfter) {
			te = &ThrottleError{RetryAfter: d, Scope: "client"}
		}
	}
	lt.global.fail(account, now)
	return te
}

// succeed forgets the failures of this account from this client; the
// global count is left to refill, so the real user's success does not
// reset a distributed attacker's budget.
func (lt *loginThrottle) succeed(account, client string) {
	if !lt.disabled {
		lt.pair.reset(pairKey(account, client))
	}
}

// registration admits one registration attempt from client at now, or
// returns the *ThrottleError that refuses it. Every admitted attempt
// spends from the client's budget; the one that overdraws it starts a
// lockout and is refused too.
func (lt *loginThrottle) registration(client string, now time.Time) error {
	if lt.disabled || client == "" {
		return nil
	}
	if err := lt.register.check(client, now); err != nil {
		return err
	}
	if d := lt.register.fail(client, now); d > 0 {
		return &ThrottleError{RetryAfter: d, Scope: "register"}
	}
	return nil
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
