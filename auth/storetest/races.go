package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/require"
)

// gate is a Hasher wrapper that, once armed, holds the next Verify or Hash
// call until released, so a test can interleave a login with another write.
type gate struct {
	auth.Hasher
	mu      sync.Mutex
	verify  bool // hold the next Verify
	hash    bool // hold the next Hash
	entered chan struct{}
	release chan struct{}
}

func newGate(t *testing.T) *gate {
	t.Helper()
	h, err := auth.NewArgon2Hasher(TinyParams(), 0)
	require.NoError(t, err)
	return &gate{Hasher: h}
}

// arm makes the next Verify (or Hash) call wait; it returns when the call
// has started waiting, after start was run in a goroutine.
func (g *gate) arm(onVerify bool) {
	g.mu.Lock()
	g.verify, g.hash = onVerify, !onVerify
	g.entered, g.release = make(chan struct{}), make(chan struct{})
	g.mu.Unlock()
}

func (g *gate) hold(isVerify bool) {
	g.mu.Lock()
	if (isVerify && !g.verify) || (!isVerify && !g.hash) {
		g.mu.Unlock()
		return
	}
	g.verify, g.hash = false, false
	entered, release := g.entered, g.release
	g.mu.Unlock()
	close(entered)
	<-release
}

func (g *gate) Verify(ctx context.Context, pw, enc string) (bool, error) {
	g.hold(true)
	return g.Hasher.Verify(ctx, pw, enc)
}

func (g *gate) Hash(ctx context.Context, pw string) (string, error) {
	g.hold(false)
	return g.Hasher.Hash(ctx, pw)
}

const (
	oldPassword = "the old passphrase, soon changed"
	newPassword = "the new passphrase the user just set"
)

// testLoginRacingPasswordChange starts a login with the old password that
// has loaded the user and is verifying the hash, then changes the password
// (or disables and re-enables the account), then lets the login finish.
// Whatever the login returns, no session it made may be usable.
func testLoginRacingPasswordChange(t *testing.T, newStore NewStore) {
	changes := map[string]func(ctx context.Context, svc *auth.Service, u auth.User) error{
		"SetPassword": func(ctx context.Context, svc *auth.Service, u auth.User) error {
			return svc.SetPassword(ctx, u.ID, newPassword)
		},
		"DisableEnable": func(ctx context.Context, svc *auth.Service, u auth.User) error {
			if _, err := svc.Disable(ctx, u.ID); err != nil {
				return err
			}
			_, err := svc.Enable(ctx, u.ID)
			return err
		},
	}
	for name, change := range changes {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			g := newGate(t)
			svc, err := auth.New(auth.Options{Store: newStore(t), Hasher: g})
			require.NoError(t, err)
			u, err := svc.Register(ctx, auth.RegisterRequest{Username: "racer", Password: oldPassword})
			require.NoError(t, err)

			g.arm(true)
			type result struct {
				res auth.LoginResult
				err error
			}
			done := make(chan result, 1)
			go func() {
				res, err := svc.Login(ctx, auth.Credentials{Username: "racer", Password: oldPassword})
				done <- result{res, err}
			}()
			<-g.entered
			require.NoError(t, change(ctx, svc, u))
			close(g.release)
			r := <-done
			if r.err != nil {
				return // refusing the login is fine
			}
			_, _, err = svc.Validate(ctx, r.res.Token)
			require.ErrorIs(t, err, auth.ErrUnauthenticated, "a login that verified the old credentials outlived the change")
		})
	}
}

// testRehashRacingPasswordChange lets a login that verified the old
// password rehash it (the stored hash has other parameters) while the
// password is changed: the new password must survive.
func testRehashRacingPasswordChange(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	store := newStore(t)
	old, err := auth.New(auth.Options{Store: store, Params: TinyParams()})
	require.NoError(t, err)
	u, err := old.Register(ctx, auth.RegisterRequest{Username: "legacy", Password: oldPassword})
	require.NoError(t, err)

	// A service with new parameters rehashes on login.
	newParams := TinyParams()
	newParams.Time = 2
	h, err := auth.NewArgon2Hasher(newParams, 0)
	require.NoError(t, err)
	g := &gate{Hasher: h}
	svc, err := auth.New(auth.Options{Store: store, Hasher: g})
	require.NoError(t, err)

	g.arm(false) // hold the rehash, which runs after the password verified
	done := make(chan error, 1)
	go func() {
		_, err := svc.Login(ctx, auth.Credentials{Username: "legacy", Password: oldPassword})
		done <- err
	}()
	<-g.entered
	require.NoError(t, old.SetPassword(ctx, u.ID, newPassword))
	close(g.release)
	<-done

	_, err = svc.Login(ctx, auth.Credentials{Username: "legacy", Password: newPassword})
	require.NoError(t, err, "the rehash of the old password overwrote the new one")
	_, err = svc.Login(ctx, auth.Credentials{Username: "legacy", Password: oldPassword})
	require.ErrorIs(t, err, auth.ErrInvalidCredentials)
}

// testRotateOnce: two concurrent Rotates of one token give one new
// session, and it keeps the absolute expiry of the login.
func testRotateOnce(t *testing.T, s auth.Store) {
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: s, Params: TinyParams()})
	require.NoError(t, err)
	_, err = svc.Register(ctx, auth.RegisterRequest{Username: "spinner", Password: oldPassword})
	require.NoError(t, err)
	for round := range 5 {
		login, err := svc.Login(ctx, auth.Credentials{Username: "spinner", Password: oldPassword})
		require.NoError(t, err)
		start := make(chan struct{})
		res := make([]auth.LoginResult, 4)
		errs := make([]error, len(res))
		var wg sync.WaitGroup
		for i := range res {
			wg.Go(func() {
				<-start
				res[i], errs[i] = svc.Rotate(ctx, login.Token)
			})
		}
		close(start)
		wg.Wait()
		ok := 0
		for i, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, auth.ErrUnauthenticated)
				continue
			}
			ok++
			require.True(t, login.Session.ExpiresAt.Equal(res[i].Session.ExpiresAt), "rotation keeps the absolute expiry")
			_, _, err = svc.Validate(ctx, res[i].Token)
			require.NoError(t, err)
		}
		require.Equal(t, 1, ok, "round %d: one token rotates once: %v", round, errs)
	}
}
