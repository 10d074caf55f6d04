package auth_test

import (
	"context"
	"errors"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/stretchr/testify/require"
)

// FuzzLogin feeds arbitrary credentials to Login: it must never panic and
// only ever succeed with the real password.
func FuzzLogin(f *testing.F) {
	for _, s := range [][3]string{
		{"alice", goodPassword, ""}, {"ALICE", goodPassword, "123456"}, {"", "", ""},
		{"alice", "\xff\xfe", "abcde-fghij"}, {"a\x00b", "p", "\u212A"},
	} {
		f.Add(s[0], s[1], s[2])
	}
	svc, err := auth.New(auth.Options{Store: auth.NewMemoryStore(), Params: storetest.TinyParams(),
		Throttle: auth.Throttle{Disabled: true}})
	require.NoError(f, err)
	_, err = svc.Register(context.Background(), auth.RegisterRequest{Username: "alice", Password: goodPassword})
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, user, pw, code string) {
		res, err := svc.Login(context.Background(), auth.Credentials{Username: user, Password: pw, Code: code})
		if err == nil {
			require.Equal(t, auth.NormalizePassword(goodPassword), auth.NormalizePassword(pw))
			require.NoError(t, svc.Logout(context.Background(), res.Token))
			return
		}
		require.True(t, errors.Is(err, auth.ErrInvalidCredentials), "%v", err)
	})
}
