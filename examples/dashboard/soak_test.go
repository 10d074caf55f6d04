package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/shopspring/decimal"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/securechat"
)

// soakFor turns the soak test on: go test -run TestSoak -soak 3m ./dashboard/
var soakFor = flag.Duration("soak", 0, "run TestSoak for this long (e.g. 3m); 0 skips it")

// soakUsers is how many users work at once in the soak test.
const soakUsers = 16

// TestSoak is issue 13's soak test: soakUsers users import transactions
// (deposits, withdrawals up to their balance, buys, sells of what they
// hold), trade on /paper, read their portfolio and chat with each other,
// all at once, for -soak. Then every user's books load and reconcile (each
// account's cash equals deposits − withdrawals − what was bought + what
// was sold, summed from the stored transactions, and what the user's own
// count of their imports says), every
// chat message arrived, and nothing grew without bound: goroutines are back
// to where they started, the heap and RSS of the second half of the run
// stay within a margin of the first half, and the database grows by the
// transactions and messages stored, not more.
func TestSoak(t *testing.T) {
	if *soakFor <= 0 {
		t.Skip("the soak test runs with -soak DURATION (e.g. -soak 3m)")
	}
	e := newTestEnv(t)
	goroutines0 := runtime.NumGoroutine()
	relayURL := "ws" + strings.TrimPrefix(e.srv.URL, "http") + "/chat/ws"

	users := make([]*soakUser, soakUsers)
	for i := range users {
		users[i] = newSoakUser(t, e, i, relayURL)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *soakFor)
	defer cancel()
	for _, u := range users {
		require.NoError(t, u.chat.WaitConnected(ctx))
	}

	var samples []soakSample
	var sampler sync.WaitGroup
	sampler.Go(func() {
		tick := time.NewTicker(5 * time.Second)
		defer tick.Stop()
		for {
			samples = append(samples, sample(t, e))
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	})
	var wg sync.WaitGroup
	for i, u := range users {
		wg.Go(func() { u.work(ctx, t, e, users[(i+1)%len(users)]) })
	}
	wg.Wait()
	sampler.Wait()

	// Every message arrives.
	for _, u := range users {
		require.Eventually(t, func() bool { return u.received.Load() >= users[(len(users)+u.n-1)%len(users)].sent.Load() },
			30*time.Second, 50*time.Millisecond, "user %d: %d messages arrived", u.n, u.received.Load())
	}
	var ops, imports, paper, msgs int64
	for _, u := range users {
		ops += u.ops.Load()
		imports += u.imported.Load()
		paper += u.fills.Load()
		msgs += u.sent.Load()
		u.reconcile(t, e)
		require.NoError(t, u.chat.Close())
	}
	t.Logf("%d users, %s: %d requests, %d transactions imported, %d paper fills, %d chat messages", soakUsers, *soakFor, ops, imports, paper, msgs)

	// Nothing grew without bound.
	e.srv.CloseClientConnections()
	require.Eventually(t, func() bool { return runtime.NumGoroutine() <= goroutines0+8 },
		20*time.Second, 100*time.Millisecond, "goroutines: %d at the start, %d at the end", goroutines0, runtime.NumGoroutine())
	require.GreaterOrEqual(t, len(samples), 4, "too few samples: run longer")
	half := len(samples) / 2
	var firstPeak, lastPeak soakSample
	for i, s := range samples {
		p := &firstPeak
		if i >= half {
			p = &lastPeak
		}
		p.heap, p.rss = max(p.heap, s.heap), max(p.rss, s.rss)
	}
	last := samples[len(samples)-1]
	for _, s := range samples {
		t.Logf("t=%5.0fs heap %4d MB, rss %4d MB, goroutines %4d, db %6d KB", s.at.Sub(samples[0].at).Seconds(), s.heap>>20, s.rss>>20, s.goroutines, s.db>>10)
	}
	assert.LessOrEqual(t, lastPeak.heap, firstPeak.heap*3/2+32<<20, "heap grew: first half peak %d MB, second %d MB", firstPeak.heap>>20, lastPeak.heap>>20)
	assert.LessOrEqual(t, lastPeak.rss, firstPeak.rss*3/2+64<<20, "RSS grew: first half peak %d MB, second %d MB", firstPeak.rss>>20, lastPeak.rss>>20)
	stored := imports + paper + msgs
	perRow := float64(last.db-samples[0].db) / float64(max(stored, 1))
	t.Logf("database: %d KB for %d users, %.0f bytes per stored transaction or message", last.db>>10, soakUsers, perRow)
	assert.Less(t, perRow, 4096.0, "the database grew by more than the rows stored")
}

// soakUser is one user of the soak test: a logged-in client, a chat
// identity, and counts of what went through.
type soakUser struct {
	n      int
	name   string
	web    *http.Client
	chat   *securechat.Client
	rng    *rand.Rand
	cash   decimal.Decimal // imported account's balance as the user expects it
	shares int             // AAPL held in the imported account

	ops, imported, fills, sent, received atomic.Int64
}

func newSoakUser(t *testing.T, e *testEnv, n int, relayURL string) *soakUser {
	t.Helper()
	u := &soakUser{n: n, name: fmt.Sprintf("soak%02d", n), rng: rand.New(rand.NewPCG(uint64(n), 7))}
	u.web = e.user(t, u.name, auth.RoleUser)
	status, _, _ := e.post(t, u.web, "/portfolio/accounts", url.Values{"id": {"soak"}, "name": {"Soak"}, "kind": {"brokerage"},
		"currency": {"USD"}, "cost": {"fifo"}})
	require.Equal(t, http.StatusSeeOther, status)
	id, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	u.chat, err = securechat.NewClient(securechat.ClientOptions{URL: relayURL, Identity: id, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	go func() {
		for range u.chat.Messages() {
			u.received.Add(1)
		}
	}()
	return u
}

// work does random actions until ctx ends.
func (u *soakUser) work(ctx context.Context, t *testing.T, e *testEnv, peer *soakUser) {
	day := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; ctx.Err() == nil; i++ {
		u.ops.Add(1)
		switch r := u.rng.IntN(10); {
		case r < 3:
			u.importSome(t, e, day.AddDate(0, 0, i), i)
		case r < 5:
			side := "buy"
			if u.rng.IntN(2) == 0 {
				side = "sell" // refused when nothing is held: fine
			}
			resp, err := u.web.PostForm(e.srv.URL+"/paper/order", url.Values{"symbol": {"AAPL"}, "qty": {"1"}, "side": {side}})
			if err == nil {
				if strings.Contains(resp.Header.Get("Location"), "Filled") {
					u.fills.Add(1)
				}
				resp.Body.Close()
			}
		case r < 7:
			if err := u.chat.Send(ctx, peer.chat.ID(), []byte(fmt.Sprintf("message %d from %s", i, u.name))); err == nil {
				u.sent.Add(1)
			}
		default:
			resp, err := u.web.Get(e.srv.URL + "/portfolio")
			if err == nil {
				if resp.StatusCode != http.StatusOK && ctx.Err() == nil {
					t.Errorf("%s: /portfolio answered %d", u.name, resp.StatusCode)
				}
				resp.Body.Close()
			}
		}
	}
}

// importSome imports a deposit, a withdrawal of at most the balance, and
// a buy or a sell of what is held, through the CSV form.
func (u *soakUser) importSome(t *testing.T, e *testEnv, day time.Time, i int) {
	d := day.Format(time.DateOnly)
	dep := decimal.NewFromInt(int64(100 + u.rng.IntN(900)))
	rows := []string{fmt.Sprintf("%s,soak,deposit,,,,%s,d%d", d, dep, i)}
	cash := u.cash.Add(dep)
	if u.rng.IntN(2) == 0 {
		w := cash.Mul(decimal.NewFromFloat(u.rng.Float64())).Round(2)
		rows = append(rows, fmt.Sprintf("%s,soak,withdrawal,,,,%s,w%d", d, w, i))
		cash = cash.Sub(w)
	}
	shares := u.shares
	price := decimal.NewFromInt(int64(150 + u.rng.IntN(50)))
	if shares > 0 && u.rng.IntN(3) == 0 {
		rows = append(rows, fmt.Sprintf("%s,soak,sell,AAPL,1,%s,,s%d", d, price, i))
		cash, shares = cash.Add(price), shares-1
	} else if cash.GreaterThanOrEqual(price) {
		rows = append(rows, fmt.Sprintf("%s,soak,buy,AAPL,1,%s,,b%d", d, price, i))
		cash, shares = cash.Sub(price), shares+1
	}
	msg := e.importRows(t, u.web, "date,account,kind,symbol,quantity,price,amount,note\n"+strings.Join(rows, "\n")+"\n")
	if !strings.HasPrefix(msg, "Imported") {
		t.Errorf("%s: import refused: %s", u.name, msg)
		return
	}
	u.cash, u.shares = cash, shares
	u.imported.Add(int64(len(rows)))
}

// reconcile loads the user's books from the store and checks every
// account's cash against its transactions, and the imported account
// against what the user expects.
func (u *soakUser) reconcile(t *testing.T, e *testEnv) {
	t.Helper()
	ctx := context.Background()
	status, _, _ := e.get(t, u.web, "/portfolio")
	require.Equal(t, http.StatusOK, status, u.name)
	au, err := e.app.authStore.UserByUsername(ctx, u.name)
	require.NoError(t, err)
	for _, book := range []portfolio.Store{e.app.bookOf(au), e.app.paperBookOf(au)} {
		u.reconcileBook(t, book)
	}
}

// reconcileBook checks one of the user's books.
func (u *soakUser) reconcileBook(t *testing.T, book portfolio.Store) {
	ledger, err := portfolio.LoadLedger(context.Background(), book)
	require.NoError(t, err, "%s: books do not load", u.name)
	// Every account is in USD; a trade's cash leg is rounded to cents
	// (banker's rounding, the package's documented rule).
	want := map[string]decimal.Decimal{}
	cents := func(d decimal.Decimal) decimal.Decimal { return portfolio.RoundMoney(d, "USD") }
	for _, tx := range ledger.Transactions() {
		q, p := tx.Quantity, tx.Price
		switch tx.Kind {
		case portfolio.TxDeposit:
			want[tx.Account] = want[tx.Account].Add(cents(tx.Amount))
		case portfolio.TxWithdrawal:
			want[tx.Account] = want[tx.Account].Sub(cents(tx.Amount))
		case portfolio.TxBuy:
			want[tx.Account] = want[tx.Account].Sub(cents(q.Mul(p).Add(tx.Fee)))
		case portfolio.TxSell:
			want[tx.Account] = want[tx.Account].Add(cents(q.Mul(p).Sub(tx.Fee)))
		default:
			t.Errorf("%s: unexpected %s transaction %s", u.name, tx.Kind, tx.ID)
		}
	}
	for acct, w := range want {
		got, err := ledger.Cash(acct)
		require.NoError(t, err)
		assert.True(t, got.Equal(w), "%s %s: cash %s, deposits − withdrawals ∓ trades %s", u.name, acct, got, w)
		if strings.HasSuffix(acct, "soak") {
			assert.True(t, got.Equal(u.cash), "%s: cash %s, the user expects %s", u.name, got, u.cash)
		}
	}
}

type soakSample struct {
	at         time.Time
	heap, rss  uint64
	goroutines int
	db         int64
}

func sample(t *testing.T, e *testEnv) soakSample {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	s := soakSample{at: time.Now(), heap: ms.HeapInuse, goroutines: runtime.NumGoroutine()}
	if b, err := os.ReadFile("/proc/self/status"); err == nil {
		for line := range strings.Lines(string(b)) {
			if rest, ok := strings.CutPrefix(line, "VmRSS:"); ok {
				kb, _ := strconv.ParseUint(strings.Fields(rest)[0], 10, 64)
				s.rss = kb << 10
			}
		}
	}
	for _, f := range []string{dbFile, dbFile + "-wal"} {
		if st, err := os.Stat(filepath.Join(e.app.cfg.dataDir, f)); err == nil {
			s.db += st.Size()
		}
	}
	return s
}
