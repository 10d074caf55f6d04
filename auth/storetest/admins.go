package storetest

import (
	"context"
	"sync"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testLastAdmin: the last enabled admin can be neither demoted nor
// disabled, and two admins demoting each other at once leave one.
func testLastAdmin(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: newStore(t), Params: TinyParams()})
	require.NoError(t, err)
	reg := func(name string, role auth.Role) auth.User {
		u, err := svc.Register(ctx, auth.RegisterRequest{Username: name, Password: oldPassword, Role: role})
		require.NoError(t, err)
		return u
	}
	root := reg("root", auth.RoleAdmin)
	_, err = svc.SetRole(ctx, root.ID, auth.RoleUser)
	require.ErrorIs(t, err, auth.ErrLastAdmin)
	_, err = svc.Disable(ctx, root.ID)
	require.ErrorIs(t, err, auth.ErrLastAdmin)
	got, err := svc.User(ctx, root.ID)
	require.NoError(t, err)
	assert.Equal(t, auth.RoleAdmin, got.Role, "a refused change changes nothing")
	assert.False(t, got.Disabled)

	// A disabled admin does not count as the remaining one.
	spare := reg("spare", auth.RoleAdmin)
	_, err = svc.Disable(ctx, spare.ID)
	require.NoError(t, err)
	_, err = svc.SetRole(ctx, root.ID, auth.RoleUser)
	require.ErrorIs(t, err, auth.ErrLastAdmin)
	_, err = svc.Enable(ctx, spare.ID)
	require.NoError(t, err)

	for round := range 5 {
		a, b := root, spare
		start := make(chan struct{})
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, victim := range []auth.User{b, a} {
			wg.Go(func() {
				<-start
				_, errs[i] = svc.SetRole(ctx, victim.ID, auth.RoleUser)
			})
		}
		close(start)
		wg.Wait()
		users, err := svc.Users(ctx)
		require.NoError(t, err)
		admins := 0
		for _, u := range users {
			if u.Role == auth.RoleAdmin && !u.Disabled {
				admins++
			}
		}
		require.Equal(t, 1, admins, "round %d: %v", round, errs)
		// Promote the demoted one again for the next round.
		for _, u := range []auth.User{a, b} {
			_, err := svc.SetRole(ctx, u.ID, auth.RoleAdmin)
			require.NoError(t, err)
		}
	}
}

// testLastAdminDemoteDisable: of two admins, one demoted and the other
// disabled at the same moment, exactly one change wins and an enabled
// admin is left; a delete racing a demotion likewise.
func testLastAdminDemoteDisable(t *testing.T, newStore NewStore) {
	ctx := context.Background()
	svc, err := auth.New(auth.Options{Store: newStore(t), Params: TinyParams()})
	require.NoError(t, err)
	reg := func(name string) auth.User {
		u, err := svc.Register(ctx, auth.RegisterRequest{Username: name, Password: oldPassword, Role: auth.RoleAdmin})
		require.NoError(t, err)
		return u
	}
	a, b := reg("ada"), reg("bea")
	enabledAdmins := func() int {
		users, err := svc.Users(ctx)
		require.NoError(t, err)
		n := 0
		for _, u := range users {
			if u.Role == auth.RoleAdmin && !u.Disabled {
				n++
			}
		}
		return n
	}
	race := func(ops ...func() error) []error {
		start := make(chan struct{})
		errs := make([]error, len(ops))
		var wg sync.WaitGroup
		for i, op := range ops {
			wg.Go(func() {
				<-start
				errs[i] = op()
			})
		}
		close(start)
		wg.Wait()
		return errs
	}
	for round := range 8 {
		errs := race(
			func() error { _, err := svc.SetRole(ctx, a.ID, auth.RoleUser); return err },
			func() error { _, err := svc.Disable(ctx, b.ID); return err },
		)
		require.Equal(t, 1, enabledAdmins(), "round %d: %v", round, errs)
		failed := 0
		for _, err := range errs {
			if err != nil {
				require.ErrorIs(t, err, auth.ErrLastAdmin)
				failed++
			}
		}
		require.Equal(t, 1, failed, "round %d: exactly one change refused: %v", round, errs)
		_, err := svc.SetRole(ctx, a.ID, auth.RoleAdmin)
		require.NoError(t, err)
		_, err = svc.Enable(ctx, b.ID)
		require.NoError(t, err)
	}
	errs := race(
		func() error { _, err := svc.SetRole(ctx, a.ID, auth.RoleUser); return err },
		func() error { return svc.DeleteUser(ctx, b.ID) },
	)
	require.Equal(t, 1, enabledAdmins(), "demote racing delete: %v", errs)
}
