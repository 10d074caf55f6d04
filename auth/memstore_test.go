package auth_test

import (
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
)

func TestMemoryStoreSuite(t *testing.T) {
	storetest.Run(t, func(*testing.T) auth.Store { return auth.NewMemoryStore() })
}

func TestMemoryStoreShared(t *testing.T) {
	storetest.RunShared(t, func(*testing.T) (auth.Store, auth.Store) {
		s := auth.NewMemoryStore()
		return s, s
	})
}
