package auth_test

import (
	"testing"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
)

func TestMemoryStoreSuite(t *testing.T) {
	storetest.Run(t, func(*testing.T) auth.Store { return auth.NewMemoryStore() })
}
