package sqlstore_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/sqlmigrate/sqltest"
	"github.com/finkit/finkit/securechat"
	"github.com/finkit/finkit/securechat/sqlstore"
)

// relayInstance is a relay on its own store and pool of a shared
// database, as one application instance runs it.
type relayInstance struct {
	url   string
	store securechat.Store
}

// startRelays starts one relay with opts on each store.
func startRelays(t *testing.T, stores []*sqlstore.Store, opts securechat.RelayOptions) []relayInstance {
	t.Helper()
	var out []relayInstance
	for _, s := range stores {
		srv := httptest.NewUnstartedServer(nil)
		o := opts
		o.Store, o.Host = s, srv.Listener.Addr().String()
		o.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		relay, err := securechat.NewRelay(o)
		require.NoError(t, err)
		srv.Config.Handler = relay
		srv.Start()
		t.Cleanup(func() { relay.Close(); srv.Close() })
		out = append(out, relayInstance{url: "ws" + strings.TrimPrefix(srv.URL, "http"), store: s})
	}
	return out
}

// connect returns a connected client of id on the relay at url.
func connect(t *testing.T, url string, id *securechat.Identity, oneTime int) *securechat.Client {
	t.Helper()
	c, err := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: id, OneTimePrekeys: oneTime,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), MinBackoff: 20 * time.Millisecond, MaxBackoff: 300 * time.Millisecond})
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, c.WaitConnected(ctx))
	return c
}

func newIdentity(t *testing.T) *securechat.Identity {
	t.Helper()
	id, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	return id
}

// published connects id to url until its one-time prekeys are stored,
// then disconnects it (so it does not refill them).
func published(t *testing.T, inst relayInstance, id *securechat.Identity, oneTime int) {
	t.Helper()
	c := connect(t, inst.url, id, oneTime)
	require.Eventually(t, func() bool {
		_, n, err := inst.store.PeekPrekeys(context.Background(), id.ID())
		return err == nil && n == oneTime
	}, 10*time.Second, 10*time.Millisecond)
	require.NoError(t, c.Close())
}

// sendAll sends one message from each client to "to" at once and returns
// how many the relays accepted; a refusal must be a quota refusal.
func sendAll(t *testing.T, clients []*securechat.Client, to securechat.PeerID) int {
	t.Helper()
	var mu sync.Mutex
	ok := 0
	start := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Go(func() {
			<-start
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			err := c.Send(ctx, to, []byte("x"))
			if err != nil {
				assert.True(t, errors.Is(err, securechat.ErrQuotaExceeded), "send: %v", err)
				return
			}
			mu.Lock()
			ok++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()
	return ok
}

// TestPrekeyBudgetSharedByRelays: 20 identities, half on each of two
// relays sharing one database, start sessions with one target at once.
// The relays hand out the target's burst of one-time prekeys (5) in
// total, not 5 each; every session still starts.
func TestPrekeyBudgetSharedByRelays(t *testing.T) {
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		relays := startRelays(t, instanceStores(t, b, 2), securechat.RelayOptions{TargetBurst: 5, TargetRate: 1.0 / 3600})
		target := newIdentity(t)
		published(t, relays[0], target, 30)
		var clients []*securechat.Client
		for i := range 20 {
			clients = append(clients, connect(t, relays[i%2].url, newIdentity(t), 1))
		}
		require.Equal(t, 20, sendAll(t, clients, target.ID()), "every session starts")
		_, left, err := relays[1].store.PeekPrekeys(context.Background(), target.ID())
		require.NoError(t, err)
		assert.Equal(t, 5, 30-left, "one-time prekeys handed out by both relays together")
	})
}

// envelopeSize is the size of the first envelope one client sends another
// with body "x" (an initial message with a one-time prekey).
func envelopeSize(t *testing.T) int64 {
	t.Helper()
	st := securechat.NewMemoryStore()
	srv := httptest.NewUnstartedServer(nil)
	relay, err := securechat.NewRelay(securechat.RelayOptions{Store: st, Host: srv.Listener.Addr().String(),
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	srv.Config.Handler = relay
	srv.Start()
	defer func() { relay.Close(); srv.Close() }()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	to := newIdentity(t)
	published(t, relayInstance{url: url, store: st}, to, 5)
	from := connect(t, url, newIdentity(t), 1)
	require.Equal(t, 1, sendAll(t, []*securechat.Client{from}, to.ID()))
	u, err := st.Usage(context.Background())
	require.NoError(t, err)
	require.NoError(t, from.Close())
	return u.Bytes
}

// TestQuotasHoldAcrossRelays: envelopes sent at once through two relays
// sharing one database stay within the storage quota (20 new identities,
// room for 4 envelopes) and within one sender's quota (6 connections of
// one identity, 3 on each relay, room for 2), counted over both relays.
func TestQuotasHoldAcrossRelays(t *testing.T) {
	size := envelopeSize(t)
	sqltest.Run(t, func(t *testing.T, b sqltest.Backend) {
		t.Run("storage", func(t *testing.T) {
			relays := startRelays(t, instanceStores(t, b, 2), securechat.RelayOptions{StorageQuota: 4*size + size/2})
			to := newIdentity(t)
			published(t, relays[0], to, 40)
			var clients []*securechat.Client
			for i := range 20 {
				clients = append(clients, connect(t, relays[i%2].url, newIdentity(t), 1))
			}
			assert.Equal(t, 4, sendAll(t, clients, to.ID()))
			u, err := relays[0].store.Usage(context.Background())
			require.NoError(t, err)
			assert.Equal(t, securechat.StorageUsage{Envelopes: 4, Bytes: 4 * size}, u)
		})
		t.Run("sender", func(t *testing.T) {
			relays := startRelays(t, instanceStores(t, b, 2), securechat.RelayOptions{SenderQuota: 2*size + size/2})
			to, from := newIdentity(t), newIdentity(t)
			published(t, relays[0], to, 40)
			var clients []*securechat.Client
			for i := range 6 {
				clients = append(clients, connect(t, relays[i%2].url, from, 1))
			}
			assert.Equal(t, 2, sendAll(t, clients, to.ID()))
			u, err := relays[1].store.SenderUsage(context.Background(), from.ID())
			require.NoError(t, err)
			assert.Equal(t, securechat.StorageUsage{Envelopes: 2, Bytes: 2 * size}, u)
		})
	})
}
