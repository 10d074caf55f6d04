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
	svc, err := auth.New(auth.Options{Store: newStore(t), Params: TinyParams})
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
