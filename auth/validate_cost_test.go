package auth_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// readCounter counts the store reads Validate may make.
type readCounter struct {
	auth.Store
	reads atomic.Int64
}

func (c *readCounter) SessionByToken(ctx context.Context, th []byte) (auth.Session, auth.User, error) {
	c.reads.Add(1)
	return c.Store.SessionByToken(ctx, th)
}

func (c *readCounter) User(ctx context.Context, id string) (auth.User, error) {
	c.reads.Add(1)
	return c.Store.User(ctx, id)
}

func (c *readCounter) TOTP(ctx context.Context, id string) (auth.TOTPState, error) {
	c.reads.Add(1)
	return c.Store.TOTP(ctx, id)
}

// TestValidateOneRead: checking the credential version costs Validate no
// extra store read: one SessionByToken, nothing else.
func TestValidateOneRead(t *testing.T) {
	ctx := context.Background()
	store := &readCounter{Store: auth.NewMemoryStore()}
	svc, err := auth.New(auth.Options{Store: store, Params: storetest.TinyParams()})
	require.NoError(t, err)
	_, err = svc.Register(ctx, auth.RegisterRequest{Username: "cheap", Password: "a passphrase long enough"})
	require.NoError(t, err)
	res, err := svc.Login(ctx, auth.Credentials{Username: "cheap", Password: "a passphrase long enough"})
	require.NoError(t, err)
	store.reads.Store(0)
	for range 3 {
		_, _, err := svc.Validate(ctx, res.Token)
		require.NoError(t, err)
	}
	assert.Equal(t, int64(3), store.reads.Load())
}
