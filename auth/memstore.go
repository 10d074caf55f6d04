package auth

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// MemoryStore is an in-memory Store for tests, demos and single-process
// apps that can lose their sessions on restart. It is safe for concurrent
// use. The zero value is not usable; call NewMemoryStore.
type MemoryStore struct {
	mu         sync.RWMutex
	users      map[string]User   // by ID
	byName     map[string]string // lower(username) → ID
	sessions   map[[32]byte]Session
	userTokens map[string]map[[32]byte]struct{}
	totp       map[string]TOTPState
	recovery   map[string]map[[32]byte]struct{}
	resets     map[[32]byte]PasswordReset
	throttle   *memThrottle
}

var (
	_ Store         = (*MemoryStore)(nil)
	_ ThrottleStore = (*MemoryStore)(nil)
)

// NewMemoryStore returns an empty MemoryStore.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		users:      map[string]User{},
		byName:     map[string]string{},
		sessions:   map[[32]byte]Session{},
		userTokens: map[string]map[[32]byte]struct{}{},
		totp:       map[string]TOTPState{},
		recovery:   map[string]map[[32]byte]struct{}{},
		resets:     map[[32]byte]PasswordReset{},
		throttle:   newMemThrottle(defaultMaxKeys),
	}
}

// UpdateThrottle implements ThrottleStore. The store keeps at most
// 100,000 keys; when full it forgets expired ones first, then the least
// recently seen.
func (m *MemoryStore) UpdateThrottle(ctx context.Context, now time.Time, keys []ThrottleKey, fn func([]ThrottleState) error) error {
	return m.throttle.UpdateThrottle(ctx, now, keys, fn)
}

// DeleteExpiredThrottles implements ThrottleStore.
func (m *MemoryStore) DeleteExpiredThrottles(ctx context.Context, now time.Time) (int, error) {
	return m.throttle.DeleteExpiredThrottles(ctx, now)
}

func tokenKey(h []byte) ([32]byte, bool) {
	var k [32]byte
	if len(h) != len(k) {
		return k, false
	}
	copy(k[:], h)
	return k, true
}

// CreateUser implements UserStore.
func (m *MemoryStore) CreateUser(_ context.Context, u User) error {
	if u.ID == "" || u.Username == "" {
		return fmt.Errorf("auth: create user: empty ID or username")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	name := strings.ToLower(u.Username)
	if _, ok := m.byName[name]; ok {
		return fmt.Errorf("create user %q: %w", u.Username, ErrUsernameTaken)
	}
	if _, ok := m.users[u.ID]; ok {
		return fmt.Errorf("auth: create user: duplicate ID %q", u.ID)
	}
	m.users[u.ID] = u
	m.byName[name] = u.ID
	return nil
}

// User implements UserStore.
func (m *MemoryStore) User(_ context.Context, id string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	u, ok := m.users[id]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", id, ErrNotFound)
	}
	return u, nil
}

// UserByUsername implements UserStore.
func (m *MemoryStore) UserByUsername(_ context.Context, username string) (User, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	id, ok := m.byName[strings.ToLower(username)]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", username, ErrNotFound)
	}
	return m.users[id], nil
}

// Users implements UserStore.
func (m *MemoryStore) Users(_ context.Context) ([]User, error) {
	m.mu.RLock()
	out := make([]User, 0, len(m.users))
	for _, u := range m.users {
		out = append(out, u)
	}
	m.mu.RUnlock()
	slices.SortFunc(out, func(a, b User) int { return cmp.Compare(a.Username, b.Username) })
	return out, nil
}

// DeleteUser implements UserStore.
func (m *MemoryStore) DeleteUser(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	u, ok := m.users[id]
	if !ok {
		return fmt.Errorf("delete user %q: %w", id, ErrNotFound)
	}
	if u.Role == RoleAdmin && !u.Disabled && !m.adminLeftLocked(User{ID: id}) {
		return fmt.Errorf("delete user %q: %w", id, ErrLastAdmin)
	}
	m.deleteUserSessionsLocked(id)
	m.deleteResetsLocked(id)
	delete(m.totp, id)
	delete(m.recovery, id)
	delete(m.byName, strings.ToLower(u.Username))
	delete(m.users, id)
	return nil
}

// UpdateUser implements UserStore.
func (m *MemoryStore) UpdateUser(_ context.Context, id string, ch UserChange) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.updateUserLocked(id, ch)
}

func (m *MemoryStore) updateUserLocked(id string, ch UserChange) (User, error) {
	u, ok := m.users[id]
	if !ok {
		return User{}, fmt.Errorf("update user %q: %w", id, ErrNotFound)
	}
	if ch.IfPasswordHash != nil && u.PasswordHash != *ch.IfPasswordHash {
		return User{}, fmt.Errorf("update user %q: password hash: %w", id, ErrConflict)
	}
	if ch.Email != nil {
		u.Email = *ch.Email
	}
	if ch.Role != nil {
		u.Role = *ch.Role
	}
	if ch.Disabled != nil {
		u.Disabled = *ch.Disabled
	}
	if ch.PasswordHash != nil {
		u.PasswordHash = *ch.PasswordHash
	}
	if !ch.UpdatedAt.IsZero() {
		u.UpdatedAt = ch.UpdatedAt
	}
	if ch.NewCredentials {
		u.CredentialVersion++
	}
	was := m.users[id]
	if ch.KeepAdmin && was.Role == RoleAdmin && !was.Disabled && !m.adminLeftLocked(u) {
		return User{}, fmt.Errorf("update user %q: %w", id, ErrLastAdmin)
	}
	m.users[id] = u
	if ch.NewCredentials {
		m.deleteResetsLocked(id)
	}
	if ch.EndSessions {
		m.deleteUserSessionsLocked(id)
	}
	return u, nil
}

// adminLeftLocked reports whether an enabled admin is left if u replaces
// the stored user with its ID.
func (m *MemoryStore) adminLeftLocked(u User) bool {
	if u.Role == RoleAdmin && !u.Disabled {
		return true
	}
	for id, other := range m.users {
		if id != u.ID && other.Role == RoleAdmin && !other.Disabled {
			return true
		}
	}
	return false
}

// CreateSession implements SessionStore.
func (m *MemoryStore) CreateSession(_ context.Context, s Session) error {
	k, ok := tokenKey(s.TokenHash)
	if !ok || s.ID == "" {
		return fmt.Errorf("auth: create session: want a 32-byte token hash and an ID")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[s.UserID]; !ok {
		return fmt.Errorf("create session for user %q: %w", s.UserID, ErrNotFound)
	}
	if _, dup := m.sessions[k]; dup {
		return fmt.Errorf("auth: create session: duplicate token hash")
	}
	s.TokenHash = bytes.Clone(s.TokenHash)
	m.sessions[k] = s
	set := m.userTokens[s.UserID]
	if set == nil {
		set = map[[32]byte]struct{}{}
		m.userTokens[s.UserID] = set
	}
	set[k] = struct{}{}
	return nil
}

// SessionByToken implements SessionStore.
func (m *MemoryStore) SessionByToken(_ context.Context, tokenHash []byte) (Session, User, error) {
	k, ok := tokenKey(tokenHash)
	if !ok {
		return Session{}, User{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[k]
	if !ok {
		return Session{}, User{}, fmt.Errorf("session: %w", ErrNotFound)
	}
	u, ok := m.users[s.UserID]
	if !ok {
		return Session{}, User{}, fmt.Errorf("session user: %w", ErrNotFound)
	}
	return s, u, nil
}

// TouchSession implements SessionStore.
func (m *MemoryStore) TouchSession(_ context.Context, tokenHash []byte, at time.Time) error {
	k, _ := tokenKey(tokenHash)
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.sessions[k]
	if !ok {
		return fmt.Errorf("touch session: %w", ErrNotFound)
	}
	s.LastSeenAt = at
	m.sessions[k] = s
	return nil
}

// Sessions implements SessionStore.
func (m *MemoryStore) Sessions(_ context.Context, userID string) ([]Session, error) {
	m.mu.RLock()
	out := make([]Session, 0, len(m.userTokens[userID]))
	for k := range m.userTokens[userID] {
		out = append(out, m.sessions[k])
	}
	m.mu.RUnlock()
	slices.SortFunc(out, newestFirst)
	return out, nil
}

// newestFirst orders sessions by CreatedAt descending, then ID.
func newestFirst(a, b Session) int {
	if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
		return c
	}
	return cmp.Compare(a.ID, b.ID)
}

func (m *MemoryStore) deleteLocked(k [32]byte) {
	s, ok := m.sessions[k]
	if !ok {
		return
	}
	delete(m.sessions, k)
	if set := m.userTokens[s.UserID]; set != nil {
		delete(set, k)
		if len(set) == 0 {
			delete(m.userTokens, s.UserID)
		}
	}
}

// DeleteSession implements SessionStore.
func (m *MemoryStore) DeleteSession(_ context.Context, tokenHash []byte) error {
	k, _ := tokenKey(tokenHash)
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.sessions[k]; !ok {
		return fmt.Errorf("delete session: %w", ErrNotFound)
	}
	m.deleteLocked(k)
	return nil
}

// DeleteSessionByID implements SessionStore.
func (m *MemoryStore) DeleteSessionByID(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k := range m.userTokens[userID] {
		if m.sessions[k].ID == id {
			m.deleteLocked(k)
			return nil
		}
	}
	return fmt.Errorf("delete session %q: %w", id, ErrNotFound)
}

// DeleteUserSessions implements SessionStore.
func (m *MemoryStore) DeleteUserSessions(_ context.Context, userID string) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deleteUserSessionsLocked(userID), nil
}

func (m *MemoryStore) deleteUserSessionsLocked(userID string) int {
	n := 0
	for k := range m.userTokens[userID] {
		delete(m.sessions, k)
		n++
	}
	delete(m.userTokens, userID)
	return n
}

// TrimSessions implements SessionStore.
func (m *MemoryStore) TrimSessions(_ context.Context, userID string, keep int) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	list := make([]Session, 0, len(m.userTokens[userID]))
	for k := range m.userTokens[userID] {
		list = append(list, m.sessions[k])
	}
	if len(list) <= keep {
		return 0, nil
	}
	slices.SortFunc(list, newestFirst)
	for _, s := range list[max(keep, 0):] {
		k, _ := tokenKey(s.TokenHash)
		m.deleteLocked(k)
	}
	return len(list) - max(keep, 0), nil
}

// DeleteExpiredSessions implements SessionStore.
func (m *MemoryStore) DeleteExpiredSessions(_ context.Context, now, idleBefore time.Time) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	n := 0
	for k, s := range m.sessions {
		if s.ExpiresAt.Before(now) || s.LastSeenAt.Before(idleBefore) {
			m.deleteLocked(k)
			n++
		}
	}
	return n, nil
}

// TOTP implements TOTPStore.
func (m *MemoryStore) TOTP(_ context.Context, userID string) (TOTPState, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	st, ok := m.totp[userID]
	if !ok {
		return TOTPState{}, fmt.Errorf("totp for %q: %w", userID, ErrNotFound)
	}
	st.Secret = bytes.Clone(st.Secret)
	return st, nil
}

// PutTOTP implements TOTPStore.
func (m *MemoryStore) PutTOTP(_ context.Context, st TOTPState) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[st.UserID]; !ok {
		return fmt.Errorf("put totp for %q: %w", st.UserID, ErrNotFound)
	}
	st.Secret = bytes.Clone(st.Secret)
	m.totp[st.UserID] = st
	return nil
}

// ConfirmTOTP implements TOTPStore.
func (m *MemoryStore) ConfirmTOTP(_ context.Context, userID string, secret []byte, step int64, recoveryHashes [][]byte, at time.Time) (User, error) {
	set, err := hashSet(recoveryHashes)
	if err != nil {
		return User{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.totp[userID]
	if !ok {
		return User{}, fmt.Errorf("totp for %q: %w", userID, ErrNotFound)
	}
	if st.Confirmed || !bytes.Equal(st.Secret, secret) {
		return User{}, fmt.Errorf("confirm totp for %q: %w", userID, ErrConflict)
	}
	st.Confirmed, st.LastStep, st.UpdatedAt = true, step, at
	m.totp[userID] = st
	m.recovery[userID] = set
	return m.credentialsChangedLocked(userID, at)
}

// RemoveTOTP implements TOTPStore.
func (m *MemoryStore) RemoveTOTP(_ context.Context, userID string, at time.Time) (User, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[userID]; !ok {
		return User{}, fmt.Errorf("remove totp for %q: %w", userID, ErrNotFound)
	}
	delete(m.totp, userID)
	delete(m.recovery, userID)
	return m.credentialsChangedLocked(userID, at)
}

// credentialsChangedLocked bumps the user's credential version and ends
// their sessions.
func (m *MemoryStore) credentialsChangedLocked(userID string, at time.Time) (User, error) {
	u, ok := m.users[userID]
	if !ok {
		return User{}, fmt.Errorf("user %q: %w", userID, ErrNotFound)
	}
	u.CredentialVersion++
	u.UpdatedAt = at
	m.users[userID] = u
	m.deleteUserSessionsLocked(userID)
	return u, nil
}

func hashSet(hashes [][]byte) (map[[32]byte]struct{}, error) {
	set := make(map[[32]byte]struct{}, len(hashes))
	for _, h := range hashes {
		k, ok := tokenKey(h)
		if !ok {
			return nil, fmt.Errorf("auth: recovery code hash must be 32 bytes")
		}
		set[k] = struct{}{}
	}
	return set, nil
}

// AdvanceTOTPStep implements TOTPStore.
func (m *MemoryStore) AdvanceTOTPStep(_ context.Context, userID string, step int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, ok := m.totp[userID]
	if !ok {
		return fmt.Errorf("totp for %q: %w", userID, ErrNotFound)
	}
	if step <= st.LastStep {
		return fmt.Errorf("totp step %d: %w", step, ErrCodeReused)
	}
	st.LastStep = step
	m.totp[userID] = st
	return nil
}

// ReplaceRecoveryCodes implements TOTPStore.
func (m *MemoryStore) ReplaceRecoveryCodes(_ context.Context, userID string, hashes [][]byte) error {
	set, err := hashSet(hashes)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[userID]; !ok {
		return fmt.Errorf("recovery codes for %q: %w", userID, ErrNotFound)
	}
	m.recovery[userID] = set
	return nil
}

// UseRecoveryCode implements TOTPStore.
func (m *MemoryStore) UseRecoveryCode(_ context.Context, userID string, hash []byte) error {
	k, _ := tokenKey(hash)
	m.mu.Lock()
	defer m.mu.Unlock()
	set := m.recovery[userID]
	if _, ok := set[k]; !ok {
		return fmt.Errorf("recovery code: %w", ErrNotFound)
	}
	delete(set, k)
	return nil
}

// RecoveryCodesLeft implements TOTPStore.
func (m *MemoryStore) RecoveryCodesLeft(_ context.Context, userID string) (int, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return len(m.recovery[userID]), nil
}

// CreatePasswordReset implements ResetStore.
func (m *MemoryStore) CreatePasswordReset(_ context.Context, r PasswordReset) error {
	k, ok := tokenKey(r.TokenHash)
	if !ok {
		return fmt.Errorf("auth: password reset: want a 32-byte token hash")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.users[r.UserID]; !ok {
		return fmt.Errorf("password reset for %q: %w", r.UserID, ErrNotFound)
	}
	m.deleteResetsLocked(r.UserID)
	r.TokenHash = bytes.Clone(r.TokenHash)
	m.resets[k] = r
	return nil
}

// PasswordReset implements ResetStore.
func (m *MemoryStore) PasswordReset(_ context.Context, tokenHash []byte, now time.Time) (PasswordReset, User, error) {
	k, _ := tokenKey(tokenHash)
	m.mu.RLock()
	defer m.mu.RUnlock()
	r, ok := m.resets[k]
	if !ok || !now.Before(r.ExpiresAt) {
		return PasswordReset{}, User{}, fmt.Errorf("password reset: %w", ErrNotFound)
	}
	return r, m.users[r.UserID], nil
}

// UsePasswordReset implements ResetStore.
func (m *MemoryStore) UsePasswordReset(_ context.Context, tokenHash []byte, now time.Time, ch UserChange) (User, error) {
	k, _ := tokenKey(tokenHash)
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.resets[k]
	if !ok || !now.Before(r.ExpiresAt) {
		return User{}, fmt.Errorf("password reset: %w", ErrNotFound)
	}
	u, err := m.updateUserLocked(r.UserID, ch)
	if err != nil {
		return User{}, err
	}
	m.deleteResetsLocked(r.UserID)
	return u, nil
}

func (m *MemoryStore) deleteResetsLocked(userID string) {
	for k, r := range m.resets {
		if r.UserID == userID {
			delete(m.resets, k)
		}
	}
}
