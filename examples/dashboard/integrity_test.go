package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// TestConcurrentWithdrawalsDoNotOverdraw: eight imports, at once, each
// withdrawing the whole balance: exactly one is booked, the others fail with
// ErrInsufficientFunds, and the books still load.
func TestConcurrentWithdrawalsDoNotOverdraw(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	e.user(t, "alice", auth.RoleUser)
	u := mustUser(t, e, "alice")
	st := e.app.bookOf(u)
	day := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// A few rounds, each on its own account: one round alone misses the
	// race on the old code about half the time.
	for r := range 4 {
		acct := fmt.Sprintf("cash%d", r)
		require.NoError(t, st.SaveAccount(ctx, portfolio.Account{ID: acct, Name: "Cash", Currency: "EUR"}))
		_, err := e.app.importFor(ctx, u, []portfolio.Transaction{{ID: acct + "-d", Account: acct, Kind: portfolio.TxDeposit, Time: day, Amount: decimal.NewFromInt(12000)}})
		require.NoError(t, err)

		const writers = 8
		var wg sync.WaitGroup
		errs := make([]error, writers)
		start := make(chan struct{})
		for i := range writers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = e.app.importFor(ctx, u, []portfolio.Transaction{{ID: fmt.Sprintf("%s-w%d", acct, i), Account: acct,
					Kind: portfolio.TxWithdrawal, Time: day.Add(time.Hour), Amount: decimal.NewFromInt(12000)}})
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			if err == nil {
				ok++
				continue
			}
			assert.True(t, errors.Is(err, portfolio.ErrInsufficientFunds), "%v", err)
		}
		require.Equal(t, 1, ok, "round %d: exactly one withdrawal is booked", r)
		l, err := portfolio.LoadLedger(ctx, st)
		require.NoError(t, err)
		cash, err := l.Cash(acct)
		require.NoError(t, err)
		assert.True(t, cash.IsZero(), "cash %s", cash)
	}
}

// TestLoginNextIsLocalPath: after login the dashboard redirects only to a
// path of its own; targets a browser would read as another host (after it
// drops tabs and newlines, or turns backslashes into slashes) go to
// /portfolio.
func TestLoginNextIsLocalPath(t *testing.T) {
	hostile := []string{
		"/\t/evil.example/", "/\t\\evil.example/", "//evil.example/", "/\\evil.example/", "\\\\evil.example/",
		"/\n/evil.example/", "/\r/evil.example", "/%2F/evil.example", "https://evil.example/", "/x\x00y",
		"/\\/evil.example", " /x", "javascript:alert(1)", "/x\x7f", "/portfolio\\..\\x",
	}
	for _, next := range hostile {
		assert.Equal(t, "/portfolio", safeNext(next), "%q", next)
	}
	for _, next := range []string{"/paper", "/portfolio?base=USD", "/quotes?s=AAPL#x", "/a/b%20c"} {
		assert.Equal(t, next, safeNext(next))
	}
	e := newTestEnv(t)
	_, err := e.app.auth.Register(context.Background(), auth.RegisterRequest{Username: "bob", Password: testPassword, Role: auth.RoleUser})
	require.NoError(t, err)
	for _, next := range hostile[:2] {
		status, _, h := e.post(t, e.client(t), "/login", url.Values{"username": {"bob"}, "password": {testPassword}, "next": {next}})
		require.Equal(t, http.StatusSeeOther, status)
		assert.Equal(t, "/portfolio", h.Get("Location"), "%q", next)
	}
}

// TestDemoKeepsExistingAccount: an account "broker" in NOK with average cost
// and a deposit survives loading the demo (whose "broker" is USD, FIFO): the
// demo is refused with a message, the account is unchanged and the
// portfolio page still loads.
func TestDemoKeepsExistingAccount(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.user(t, "carol", auth.RoleUser)
	u := mustUser(t, e, "carol")
	st := e.app.bookOf(u)
	require.NoError(t, st.SaveAccount(ctx, portfolio.Account{ID: "broker", Name: "Mine", Currency: "NOK", CostMethod: portfolio.AverageCost}))
	_, err := e.app.importFor(ctx, u, []portfolio.Transaction{{ID: "d1", Account: "broker", Kind: portfolio.TxDeposit,
		Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Amount: decimal.NewFromInt(1000)}})
	require.NoError(t, err)

	status, _, h := e.post(t, c, "/portfolio/demo", url.Values{})
	require.Equal(t, http.StatusSeeOther, status)
	assert.NotEmpty(t, e.flashAt(t, c, h.Get("Location")))
	status, _, _ = e.get(t, c, "/portfolio")
	assert.Equal(t, http.StatusOK, status)
	accts, err := st.Accounts(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, accts)
	assert.Equal(t, "NOK", accts[0].Currency)
	assert.Equal(t, portfolio.AverageCost, accts[0].CostMethod)
	assert.Equal(t, "Mine", accts[0].Name)
}

// TestPaperBuyAfterImportedWithdrawal: the portfolio import cannot reach
// the paper account (it is in the user's paper book, not in the books the
// import writes), so the withdrawal of issue 13 is refused and the paper
// account keeps its cash; a buy on /paper then fills and the portfolio
// still loads.
func TestPaperBuyAfterImportedWithdrawal(t *testing.T) {
	e := newTestEnv(t)
	ctx := context.Background()
	c := e.user(t, "ivy", auth.RoleUser)
	u := mustUser(t, e, "ivy")
	status, _, _ := e.get(t, c, "/paper")
	require.Equal(t, http.StatusOK, status)
	_, err := e.app.importFor(ctx, u, []portfolio.Transaction{{ID: "w1", Account: paperAccountID, Kind: portfolio.TxWithdrawal,
		Time: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC), Amount: decimal.NewFromInt(paperDeposit)}})
	require.ErrorIs(t, err, portfolio.ErrUnknownAccount)
	status, _, h := e.post(t, c, "/paper/order", url.Values{"side": {"buy"}, "symbol": {"AAPL"}, "qty": {"100"}})
	require.Equal(t, http.StatusSeeOther, status)
	assert.Contains(t, e.flashAt(t, c, h.Get("Location")), "Filled")
	_, err = portfolio.LoadLedger(ctx, e.app.paperBookOf(u))
	require.NoError(t, err)
	status, _, _ = e.get(t, c, "/portfolio")
	assert.Equal(t, http.StatusOK, status)
}
