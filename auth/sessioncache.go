package auth

import (
	"context"
	"slices"
	"sync"
	"time"
)

// maxCachedSessions bounds Options.SessionCache; a full cache starts
// again.
const maxCachedSessions = 4096

// sessionCache keeps the sessions Validate read from the store, with
// their users, for ttl (Options.SessionCache). Every write this Service
// makes to its store empties it (cachingStore), and gen tells a Validate
// whose store read raced such a write not to keep what it read. It is safe
// for concurrent use.
type sessionCache struct {
	ttl time.Duration

	mu  sync.Mutex
	gen uint64 // incremented by every clear
	m   map[string]cachedSession
}

type cachedSession struct {
	sess  Session
	user  User
	until time.Time // read from the store at until − ttl
}

func newSessionCache(ttl time.Duration) *sessionCache {
	return &sessionCache{ttl: ttl, m: map[string]cachedSession{}}
}

// get returns the session of tokenHash when it was read less than ttl
// before now; otherwise ok is false and gen is what put needs.
func (c *sessionCache) get(tokenHash []byte, now time.Time) (sess Session, u User, gen uint64, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, hit := c.m[string(tokenHash)]
	if !hit || !now.Before(e.until) || now.Before(e.until.Add(-c.ttl)) {
		return Session{}, User{}, c.gen, false
	}
	e.sess.TokenHash = slices.Clone(e.sess.TokenHash)
	return e.sess, e.user, c.gen, true
}

// put keeps a session read from the store at now, unless the cache was
// cleared since get returned gen (a write may have ended it after the
// read).
func (c *sessionCache) put(gen uint64, sess Session, u User, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if len(c.m) >= maxCachedSessions {
		clear(c.m)
	}
	sess.TokenHash = slices.Clone(sess.TokenHash)
	c.m[string(sess.TokenHash)] = cachedSession{sess: sess, user: u, until: now.Add(c.ttl)}
}

// touched records a new LastSeenAt of a cached session.
func (c *sessionCache) touched(tokenHash []byte, at time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if e, ok := c.m[string(tokenHash)]; ok {
		e.sess.LastSeenAt = at
		c.m[string(tokenHash)] = e
	}
}

// clear forgets every session.
func (c *sessionCache) clear() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.gen++
	clear(c.m)
}

// cachingStore is the Service's store when sessions are cached: each
// write empties the cache once it returns (whatever it changed: a user's
// credentials, role or disabled flag, a session ended, ...), so a session
// ended through this Service fails the next Validate. Reads, and
// TouchSession, which Validate applies to the cache itself, pass through.
// TestCachingStoreClearsOnEveryWrite checks every method of Store.
type cachingStore struct {
	Store
	c *sessionCache
}

func (s cachingStore) CreateUser(ctx context.Context, u User) error {
	defer s.c.clear()
	return s.Store.CreateUser(ctx, u)
}

func (s cachingStore) DeleteUser(ctx context.Context, id string) error {
	defer s.c.clear()
	return s.Store.DeleteUser(ctx, id)
}

func (s cachingStore) UpdateUser(ctx context.Context, id string, ch UserChange) (User, error) {
	defer s.c.clear()
	return s.Store.UpdateUser(ctx, id, ch)
}

func (s cachingStore) CreateSession(ctx context.Context, sess Session) error {
	defer s.c.clear()
	return s.Store.CreateSession(ctx, sess)
}

func (s cachingStore) DeleteSession(ctx context.Context, tokenHash []byte) error {
	defer s.c.clear()
	return s.Store.DeleteSession(ctx, tokenHash)
}

func (s cachingStore) DeleteSessionByID(ctx context.Context, userID, id string) error {
	defer s.c.clear()
	return s.Store.DeleteSessionByID(ctx, userID, id)
}

func (s cachingStore) DeleteUserSessions(ctx context.Context, userID string) (int, error) {
	defer s.c.clear()
	return s.Store.DeleteUserSessions(ctx, userID)
}

func (s cachingStore) TrimSessions(ctx context.Context, userID string, keep int) (int, error) {
	defer s.c.clear()
	return s.Store.TrimSessions(ctx, userID, keep)
}

func (s cachingStore) DeleteExpiredSessions(ctx context.Context, now, idleBefore time.Time) (int, error) {
	defer s.c.clear()
	return s.Store.DeleteExpiredSessions(ctx, now, idleBefore)
}

func (s cachingStore) PutTOTP(ctx context.Context, st TOTPState) error {
	defer s.c.clear()
	return s.Store.PutTOTP(ctx, st)
}

func (s cachingStore) ConfirmTOTP(ctx context.Context, userID string, secret []byte, step int64, recoveryHashes [][]byte, at time.Time) (User, error) {
	defer s.c.clear()
	return s.Store.ConfirmTOTP(ctx, userID, secret, step, recoveryHashes, at)
}

func (s cachingStore) RemoveTOTP(ctx context.Context, userID string, at time.Time) (User, error) {
	defer s.c.clear()
	return s.Store.RemoveTOTP(ctx, userID, at)
}

func (s cachingStore) AdvanceTOTPStep(ctx context.Context, userID string, step int64) error {
	defer s.c.clear()
	return s.Store.AdvanceTOTPStep(ctx, userID, step)
}

func (s cachingStore) ReplaceRecoveryCodes(ctx context.Context, userID string, hashes [][]byte) error {
	defer s.c.clear()
	return s.Store.ReplaceRecoveryCodes(ctx, userID, hashes)
}

func (s cachingStore) UseRecoveryCode(ctx context.Context, userID string, hash []byte) error {
	defer s.c.clear()
	return s.Store.UseRecoveryCode(ctx, userID, hash)
}

func (s cachingStore) CreatePasswordReset(ctx context.Context, r PasswordReset) error {
	defer s.c.clear()
	return s.Store.CreatePasswordReset(ctx, r)
}

func (s cachingStore) UsePasswordReset(ctx context.Context, tokenHash []byte, now time.Time, ch UserChange) (User, error) {
	defer s.c.clear()
	return s.Store.UsePasswordReset(ctx, tokenHash, now, ch)
}
