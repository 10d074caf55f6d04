// Package storetest is the conformance suite every [auth.Store] must pass,
// as [testing/slogtest] is for slog handlers. The in-memory store and
// auth/sqlstore run it; a store for another database runs it from its own
// tests:
//
//	func TestConformance(t *testing.T) {
//		storetest.Run(t, func(t *testing.T) auth.Store { return newEmptyStore(t) })
//	}
//
// Each subtest gets a fresh, empty store; the suite covers users,
// credentials, sessions, the races between concurrent writers and, for a
// store that is also an [auth.ThrottleStore], the throttling state.
// RunShared checks two instances on one database.
package storetest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TinyParams returns argon2id parameters small enough for fast tests (64 KiB,
// one pass); never use them for real passwords.
func TinyParams() auth.Params {
	return auth.Params{Memory: 64, Time: 1, Threads: 1, SaltLen: 16, KeyLen: 32}
}

// NewStore returns a fresh, empty store for one test.
type NewStore func(t *testing.T) auth.Store

// Run runs the whole suite against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	t.Run("Users", func(t *testing.T) { testUsers(t, newStore(t)) })
	t.Run("UpdateUser", func(t *testing.T) { testUpdateUser(t, newStore(t)) })
	t.Run("ConcurrentCreateUser", func(t *testing.T) { testConcurrentCreate(t, newStore(t)) })
	t.Run("ConcurrentRegister", func(t *testing.T) { testConcurrentRegister(t, newStore(t)) })
	t.Run("Sessions", func(t *testing.T) { testSessions(t, newStore(t)) })
	t.Run("ExpiredSessions", func(t *testing.T) { testExpiredSessions(t, newStore(t)) })
	t.Run("TOTP", func(t *testing.T) { testTOTP(t, newStore(t)) })
	t.Run("RecoveryCodes", func(t *testing.T) { testRecoveryCodes(t, newStore(t)) })
	t.Run("ServiceFlow", func(t *testing.T) { testServiceFlow(t, newStore(t)) })
	t.Run("ConcurrentWriters", func(t *testing.T) { testConcurrentWriters(t, newStore(t)) })
	t.Run("ConcurrentReplaceRecoveryCodes", func(t *testing.T) { testConcurrentReplaceCodes(t, newStore(t)) })
	t.Run("UpdateUserConditional", func(t *testing.T) { testUpdateUserConditional(t, newStore(t)) })
	t.Run("SessionAuthFields", func(t *testing.T) { testSessionAuthFields(t, newStore(t)) })
	t.Run("ConfirmAndRemoveTOTP", func(t *testing.T) { testConfirmAndRemoveTOTP(t, newStore(t)) })
	t.Run("LoginRacingPasswordChange", func(t *testing.T) { testLoginRacingPasswordChange(t, newStore) })
	t.Run("RehashRacingPasswordChange", func(t *testing.T) { testRehashRacingPasswordChange(t, newStore) })
	t.Run("LastAdmin", func(t *testing.T) { testLastAdmin(t, newStore) })
	t.Run("LastAdminDemoteDisable", func(t *testing.T) { testLastAdminDemoteDisable(t, newStore) })
	t.Run("RotateOnce", func(t *testing.T) { testRotateOnce(t, newStore(t)) })
	t.Run("PasswordResets", func(t *testing.T) { testPasswordResets(t, newStore(t)) })
	t.Run("ResetAfterCredentialChange", func(t *testing.T) { testResetAfterCredentialChange(t, newStore) })
	t.Run("DeleteUser", func(t *testing.T) { testDeleteUser(t, newStore(t)) })
	t.Run("TrimSessions", func(t *testing.T) { testTrimSessions(t, newStore(t)) })
	t.Run("ThrottleStore", func(t *testing.T) { testThrottleStore(t, newStore(t)) })
	t.Run("ThrottleConcurrent", func(t *testing.T) { testThrottleConcurrent(t, newStore(t)) })
}

var t0 = time.Date(2026, 3, 1, 12, 0, 0, 123456789, time.UTC)

func mkUser(id, name string) auth.User {
	return auth.User{ID: id, Username: name, Email: name + "@example.com", Role: auth.RoleUser,
		CreatedAt: t0, UpdatedAt: t0, PasswordHash: "$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHRzYWx0$a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5a2V5"}
}

func assertUser(t *testing.T, want, got auth.User) {
	t.Helper()
	assert.Equal(t, want.ID, got.ID)
	assert.Equal(t, want.Username, got.Username)
	assert.Equal(t, want.Email, got.Email)
	assert.Equal(t, want.Role, got.Role)
	assert.Equal(t, want.Disabled, got.Disabled)
	assert.Equal(t, want.PasswordHash, got.PasswordHash)
	assert.True(t, want.CreatedAt.Equal(got.CreatedAt), "created %v vs %v", want.CreatedAt, got.CreatedAt)
	assert.True(t, want.UpdatedAt.Equal(got.UpdatedAt), "updated %v vs %v", want.UpdatedAt, got.UpdatedAt)
}

func testUsers(t *testing.T, s auth.Store) {
	ctx := context.Background()
	bob, alice := mkUser("u2", "bob"), mkUser("u1", "alice")
	require.NoError(t, s.CreateUser(ctx, bob))
	require.NoError(t, s.CreateUser(ctx, alice))

	got, err := s.User(ctx, "u1")
	require.NoError(t, err)
	assertUser(t, alice, got)
	got, err = s.UserByUsername(ctx, "ALICE")
	require.NoError(t, err, "lookup is case-insensitive")
	assertUser(t, alice, got)

	_, err = s.User(ctx, "nope")
	require.ErrorIs(t, err, auth.ErrNotFound)
	_, err = s.UserByUsername(ctx, "nobody")
	require.ErrorIs(t, err, auth.ErrNotFound)

	err = s.CreateUser(ctx, mkUser("u3", "Alice"))
	require.ErrorIs(t, err, auth.ErrUsernameTaken, "uniqueness is case-insensitive")

	all, err := s.Users(ctx)
	require.NoError(t, err)
	require.Len(t, all, 2)
	assert.Equal(t, "alice", all[0].Username)
	assert.Equal(t, "bob", all[1].Username)
}

func testUpdateUser(t *testing.T, s auth.Store) {
	ctx := context.Background()
	u := mkUser("u1", "carol")
	require.NoError(t, s.CreateUser(ctx, u))
	admin, yes, hash, email := auth.RoleAdmin, true, "$2a$10$new", "c@example.org"
	later := t0.Add(time.Hour)
	got, err := s.UpdateUser(ctx, "u1", auth.UserChange{Role: &admin, Disabled: &yes, UpdatedAt: later})
	require.NoError(t, err)
	assert.Equal(t, auth.RoleAdmin, got.Role)
	assert.True(t, got.Disabled)
	assert.Equal(t, u.PasswordHash, got.PasswordHash, "untouched field kept")
	assert.True(t, later.Equal(got.UpdatedAt))

	got, err = s.UpdateUser(ctx, "u1", auth.UserChange{PasswordHash: &hash, Email: &email})
	require.NoError(t, err)
	assert.Equal(t, hash, got.PasswordHash)
	assert.Equal(t, email, got.Email)
	assert.True(t, got.Disabled)

	reread, err := s.User(ctx, "u1")
	require.NoError(t, err)
	assertUser(t, got, reread)

	_, err = s.UpdateUser(ctx, "missing", auth.UserChange{Role: &admin})
	require.ErrorIs(t, err, auth.ErrNotFound)
}

func testConcurrentCreate(t *testing.T, s auth.Store) {
	ctx := context.Background()
	const n = 8
	var ok, taken atomic.Int32
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			name := "dave"
			if i%2 == 1 {
				name = "DAVE"
			}
			err := s.CreateUser(ctx, mkUser(fmt.Sprintf("id%d", i), name))
			switch {
			case err == nil:
				ok.Add(1)
			case errors.Is(err, auth.ErrUsernameTaken):
				taken.Add(1)
			default:
				t.Errorf("unexpected error: %v", err)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), ok.Load())
	assert.Equal(t, int32(n-1), taken.Load())
}

// testConcurrentRegister races two registrations of one username through
// the Service: exactly one succeeds and the other gets ErrUsernameTaken.
func testConcurrentRegister(t *testing.T, s auth.Store) {
	svc, err := auth.New(auth.Options{Store: s, Params: TinyParams()})
	require.NoError(t, err)
	for round := range 5 {
		name := fmt.Sprintf("racer%d", round)
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i := range errs {
			wg.Go(func() {
				<-start
				_, errs[i] = svc.Register(context.Background(), auth.RegisterRequest{Username: name, Password: "correct horse battery staple"})
			})
		}
		close(start)
		wg.Wait()
		nOK := 0
		for _, err := range errs {
			if err == nil {
				nOK++
			} else {
				require.ErrorIs(t, err, auth.ErrUsernameTaken)
			}
		}
		require.Equal(t, 1, nOK, "round %d: %v", round, errs)
	}
}

func tokenHash(t *testing.T) []byte {
	t.Helper()
	b := make([]byte, 32)
	_, err := rand.Read(b)
	require.NoError(t, err)
	h := sha256.Sum256(b)
	return h[:]
}

func mkSession(t *testing.T, id, userID string, created time.Time) auth.Session {
	return auth.Session{ID: id, TokenHash: tokenHash(t), UserID: userID, CreatedAt: created, LastSeenAt: created,
		ExpiresAt: created.Add(24 * time.Hour), IP: "192.0.2.1", UserAgent: "test/1.0"}
}

func testSessions(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "erin")))
	require.NoError(t, s.CreateUser(ctx, mkUser("u2", "frank")))
	a := mkSession(t, "s1", "u1", t0)
	b := mkSession(t, "s2", "u1", t0.Add(time.Minute))
	c := mkSession(t, "s3", "u2", t0)
	for _, ss := range []auth.Session{a, b, c} {
		require.NoError(t, s.CreateSession(ctx, ss))
	}
	err := s.CreateSession(ctx, mkSession(t, "s4", "ghost", t0))
	require.ErrorIs(t, err, auth.ErrNotFound, "session for unknown user")

	got, u, err := s.SessionByToken(ctx, a.TokenHash)
	require.NoError(t, err)
	assert.Equal(t, "s1", got.ID)
	assert.Equal(t, a.TokenHash, got.TokenHash)
	assert.Equal(t, "erin", u.Username)
	assert.Equal(t, "192.0.2.1", got.IP)
	assert.Equal(t, "test/1.0", got.UserAgent)
	assert.True(t, a.ExpiresAt.Equal(got.ExpiresAt))

	_, _, err = s.SessionByToken(ctx, tokenHash(t))
	require.ErrorIs(t, err, auth.ErrNotFound)

	seen := t0.Add(5 * time.Minute)
	require.NoError(t, s.TouchSession(ctx, a.TokenHash, seen))
	got, _, err = s.SessionByToken(ctx, a.TokenHash)
	require.NoError(t, err)
	assert.True(t, seen.Equal(got.LastSeenAt))
	require.ErrorIs(t, s.TouchSession(ctx, tokenHash(t), seen), auth.ErrNotFound)

	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 2)
	assert.Equal(t, "s2", list[0].ID, "newest first")
	assert.Equal(t, "s1", list[1].ID)

	require.ErrorIs(t, s.DeleteSessionByID(ctx, "u2", "s1"), auth.ErrNotFound, "cannot revoke another user's session")
	require.NoError(t, s.DeleteSessionByID(ctx, "u1", "s1"))
	_, _, err = s.SessionByToken(ctx, a.TokenHash)
	require.ErrorIs(t, err, auth.ErrNotFound)

	require.NoError(t, s.DeleteSession(ctx, c.TokenHash))
	require.ErrorIs(t, s.DeleteSession(ctx, c.TokenHash), auth.ErrNotFound)

	require.NoError(t, s.CreateSession(ctx, mkSession(t, "s5", "u1", t0)))
	n, err := s.DeleteUserSessions(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	list, err = s.Sessions(ctx, "u1")
	require.NoError(t, err)
	assert.Empty(t, list)
}

func testExpiredSessions(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "gina")))
	fresh := mkSession(t, "fresh", "u1", t0)
	old := mkSession(t, "old", "u1", t0.Add(-48*time.Hour))
	idle := mkSession(t, "idle", "u1", t0.Add(-2*time.Hour))
	for _, ss := range []auth.Session{fresh, old, idle} {
		require.NoError(t, s.CreateSession(ctx, ss))
	}
	n, err := s.DeleteExpiredSessions(ctx, t0, t0.Add(-30*time.Minute))
	require.NoError(t, err)
	assert.Equal(t, 2, n)
	list, err := s.Sessions(ctx, "u1")
	require.NoError(t, err)
	require.Len(t, list, 1)
	assert.Equal(t, "fresh", list[0].ID)
}

func testTOTP(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "hank")))
	_, err := s.TOTP(ctx, "u1")
	require.ErrorIs(t, err, auth.ErrNotFound)
	require.ErrorIs(t, s.AdvanceTOTPStep(ctx, "u1", 5), auth.ErrNotFound)
	require.ErrorIs(t, s.PutTOTP(ctx, auth.TOTPState{UserID: "ghost", Secret: []byte("x")}), auth.ErrNotFound)

	st := auth.TOTPState{UserID: "u1", Secret: []byte("12345678901234567890"), UpdatedAt: t0}
	require.NoError(t, s.PutTOTP(ctx, st))
	got, err := s.TOTP(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, st.Secret, got.Secret)
	assert.False(t, got.Confirmed)

	st.Confirmed, st.LastStep = true, 100
	require.NoError(t, s.PutTOTP(ctx, st))
	got, err = s.TOTP(ctx, "u1")
	require.NoError(t, err)
	assert.True(t, got.Confirmed)
	assert.Equal(t, int64(100), got.LastStep)

	require.ErrorIs(t, s.AdvanceTOTPStep(ctx, "u1", 100), auth.ErrCodeReused)
	require.ErrorIs(t, s.AdvanceTOTPStep(ctx, "u1", 99), auth.ErrCodeReused)
	require.NoError(t, s.AdvanceTOTPStep(ctx, "u1", 101))

	// Concurrent use of one step: exactly one wins.
	var wins atomic.Int32
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() {
			if s.AdvanceTOTPStep(ctx, "u1", 200) == nil {
				wins.Add(1)
			}
		})
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())

	_, err = s.RemoveTOTP(ctx, "u1", t0)
	require.NoError(t, err)
	_, err = s.TOTP(ctx, "u1")
	require.ErrorIs(t, err, auth.ErrNotFound)
}

func testRecoveryCodes(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "ivy")))
	require.NoError(t, s.PutTOTP(ctx, auth.TOTPState{UserID: "u1", Secret: []byte("s"), Confirmed: true}))
	hashes := [][]byte{tokenHash(t), tokenHash(t), tokenHash(t)}
	require.ErrorIs(t, s.ReplaceRecoveryCodes(ctx, "ghost", hashes), auth.ErrNotFound)
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u1", hashes))
	n, err := s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, 3, n)

	require.NoError(t, s.UseRecoveryCode(ctx, "u1", hashes[1]))
	require.ErrorIs(t, s.UseRecoveryCode(ctx, "u1", hashes[1]), auth.ErrNotFound, "single use")
	require.ErrorIs(t, s.UseRecoveryCode(ctx, "u1", tokenHash(t)), auth.ErrNotFound)
	n, err = s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, 2, n)

	fresh := [][]byte{tokenHash(t)}
	require.NoError(t, s.ReplaceRecoveryCodes(ctx, "u1", fresh))
	require.ErrorIs(t, s.UseRecoveryCode(ctx, "u1", hashes[0]), auth.ErrNotFound, "old codes replaced")

	_, err = s.RemoveTOTP(ctx, "u1", t0)
	require.NoError(t, err)
	n, err = s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	assert.Equal(t, 0, n, "deleting TOTP deletes recovery codes")
}

// testServiceFlow runs register → login → validate → logout on the store.
func testServiceFlow(t *testing.T, s auth.Store) {
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: s, Params: TinyParams()})
	require.NoError(t, err)
	const pw = "a long enough passphrase for flow"
	u, err := svc.Register(ctx, auth.RegisterRequest{Username: "Jules", Email: "Jules@Example.COM", Password: pw})
	require.NoError(t, err)
	assert.Equal(t, "jules", u.Username)
	assert.Equal(t, "Jules@example.com", u.Email)

	res, err := svc.Login(ctx, auth.Credentials{Username: "JULES", Password: pw})
	require.NoError(t, err)
	got, sess, err := svc.Validate(ctx, res.Token)
	require.NoError(t, err)
	assert.Equal(t, u.ID, got.ID)
	assert.Equal(t, res.Session.ID, sess.ID)

	require.NoError(t, svc.Logout(ctx, res.Token))
	_, _, err = svc.Validate(ctx, res.Token)
	require.ErrorIs(t, err, auth.ErrUnauthenticated)
}

// Writers and OpsPerWriter size the concurrent-writer tests: 20 goroutines
// of 25 writes each, all of which must succeed (a store waits for the write
// lock instead of failing with "database is locked").
const (
	Writers      = 20
	OpsPerWriter = 25
)

// testConcurrentWriters runs Writers goroutines, each writing its own user's
// sessions, recovery codes, TOTP state and profile at the same time. Every
// operation must succeed and the end state must be exactly what each writer
// wrote.
func testConcurrentWriters(t *testing.T, s auth.Store) {
	ctx := context.Background()
	for w := range Writers {
		require.NoError(t, s.CreateUser(ctx, mkUser(fmt.Sprintf("w%d", w), fmt.Sprintf("writer%d", w))))
	}
	var failed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range Writers {
		wg.Go(func() {
			uid := fmt.Sprintf("w%d", w)
			fail := func(op int, what string, err error) {
				if err != nil {
					failed.Add(1)
					t.Errorf("writer %d op %d %s: %v", w, op, what, err)
				}
			}
			<-start
			for op := range OpsPerWriter {
				switch op % 5 {
				case 0:
					fail(op, "ReplaceRecoveryCodes", s.ReplaceRecoveryCodes(ctx, uid, [][]byte{tokenHash(t), tokenHash(t)}))
				case 1:
					fail(op, "CreateSession", s.CreateSession(ctx, mkSession(t, fmt.Sprintf("%s-s%d", uid, op), uid, t0)))
				case 2:
					email := fmt.Sprintf("%s-%d@example.com", uid, op)
					_, err := s.UpdateUser(ctx, uid, auth.UserChange{Email: &email, UpdatedAt: t0.Add(time.Duration(op) * time.Second)})
					fail(op, "UpdateUser", err)
				case 3:
					fail(op, "PutTOTP", s.PutTOTP(ctx, auth.TOTPState{UserID: uid, Secret: []byte("secret"), UpdatedAt: t0}))
				case 4:
					_, err := s.RemoveTOTP(ctx, uid, t0)
					fail(op, "RemoveTOTP", err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	require.Zero(t, failed.Load(), "failed writes of %d", Writers*OpsPerWriter)
	// RemoveTOTP ends the user's sessions: those made after the last one are left.
	wantSessions := 0
	for op := range OpsPerWriter {
		switch op % 5 {
		case 1:
			wantSessions++
		case 4:
			wantSessions = 0
		}
	}
	for w := range Writers {
		uid := fmt.Sprintf("w%d", w)
		sessions, err := s.Sessions(ctx, uid)
		require.NoError(t, err)
		assert.Len(t, sessions, wantSessions, uid)
		u, err := s.User(ctx, uid)
		require.NoError(t, err)
		assert.Equal(t, fmt.Sprintf("%s-%d@example.com", uid, OpsPerWriter-3), u.Email)
		n, err := s.RecoveryCodesLeft(ctx, uid)
		require.NoError(t, err)
		assert.Zero(t, n, "%s: the last RemoveTOTP removed the codes", uid)
	}
}

// testConcurrentReplaceCodes has Writers goroutines replace one user's
// recovery codes at once: every call succeeds and exactly one writer's set
// is left, never a mix.
func testConcurrentReplaceCodes(t *testing.T, s auth.Store) {
	ctx := context.Background()
	require.NoError(t, s.CreateUser(ctx, mkUser("u1", "shared")))
	sets := make([][][]byte, Writers)
	for w := range sets {
		for range 5 {
			sets[w] = append(sets[w], tokenHash(t))
		}
	}
	var failed atomic.Int32
	var wg sync.WaitGroup
	start := make(chan struct{})
	for w := range Writers {
		wg.Go(func() {
			<-start
			for range OpsPerWriter {
				if err := s.ReplaceRecoveryCodes(ctx, "u1", sets[w]); err != nil {
					failed.Add(1)
					t.Errorf("writer %d: %v", w, err)
				}
			}
		})
	}
	close(start)
	wg.Wait()
	require.Zero(t, failed.Load(), "failed writes of %d", Writers*OpsPerWriter)
	n, err := s.RecoveryCodesLeft(ctx, "u1")
	require.NoError(t, err)
	require.Equal(t, 5, n, "one writer's set, not a union")
	// Exactly one set's codes are all usable.
	whole := 0
	for _, set := range sets {
		used := 0
		for _, h := range set {
			if s.UseRecoveryCode(ctx, "u1", h) == nil {
				used++
			}
		}
		require.Contains(t, []int{0, 5}, used, "a set is kept whole or not at all")
		if used == 5 {
			whole++
		}
	}
	assert.Equal(t, 1, whole)
}
