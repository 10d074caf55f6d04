package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
)

// TestSharedRevisionReadsSeeOtherInstancesWrites: while eight clients of
// one user (one session) keep instance B busy (its requests queue for the owner's books
// and share revision reads), every write made through instance A, the
// response to it received, is on B's very next page: a shared read
// started after the request arrived, so after the write committed, on
// SQLite and on PostgreSQL (race detector on).
func TestSharedRevisionReadsSeeOtherInstancesWrites(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		ctx := context.Background()
		a, other, _ := twoInstances(t, b)
		_, err := a.app.auth.Register(ctx, auth.RegisterRequest{Username: "polled", Password: testPassword, Role: auth.RoleUser})
		require.NoError(t, err)
		ca, cb := a.login(t, "polled"), other.login(t, "polled")
		status, _, _ := a.post(t, ca, "/portfolio/accounts", url.Values{"id": {"main"}, "kind": {"bank"}, "currency": {"USD"}})
		require.Equal(t, http.StatusSeeOther, status)
		a.importRows(t, ca, "date,account,kind,amount,note\n2025-01-02,main,deposit,1000,first\n")

		stop := make(chan struct{})
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for {
					select {
					case <-stop:
						return
					default:
					}
					status, _, _ := other.get(t, cb, "/api/portfolio")
					assert.Equal(t, http.StatusOK, status)
				}
			})
		}
		for i := range 8 {
			a.importRows(t, ca, fmt.Sprintf("date,account,kind,amount,note\n2025-02-%02d,main,deposit,1,write %d\n", i+1, i))
			in, _ := other.netInflow(t, cb)
			assert.Equal(t, fmt.Sprint(1001+i), in.String(), "write %d through A is on B's next page", i)
		}
		close(stop)
		wg.Wait()
	})
}
