package auth_test

import (
	"bytes"
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/storetest"
	"github.com/stretchr/testify/require"
)

// fakeClock is a settable clock.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock() *fakeClock { return &fakeClock{now: time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC)} }

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

// countingHasher wraps a Hasher and counts calls.
type countingHasher struct {
	auth.Hasher
	hashes, verifies atomic.Int64
}

func (h *countingHasher) Hash(ctx context.Context, pw string) (string, error) {
	h.hashes.Add(1)
	return h.Hasher.Hash(ctx, pw)
}

func (h *countingHasher) Verify(ctx context.Context, pw, enc string) (bool, error) {
	h.verifies.Add(1)
	return h.Hasher.Verify(ctx, pw, enc)
}

// syncBuffer is a goroutine-safe log sink.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

type fixture struct {
	svc    *auth.Service
	store  *auth.MemoryStore
	clock  *fakeClock
	hasher *countingHasher
	logs   *syncBuffer
}

const goodPassword = "correct horse battery staple"

func newFixture(t *testing.T, mod ...func(*auth.Options)) *fixture {
	t.Helper()
	base, err := auth.NewArgon2Hasher(storetest.TinyParams(), 0)
	require.NoError(t, err)
	f := &fixture{store: auth.NewMemoryStore(), clock: newClock(), hasher: &countingHasher{Hasher: base}, logs: &syncBuffer{}}
	opts := auth.Options{
		Store: f.store, Clock: f.clock, Hasher: f.hasher,
		Logger: slog.New(slog.NewJSONHandler(f.logs, nil)),
	}
	for _, m := range mod {
		m(&opts)
	}
	f.svc, err = auth.New(opts)
	require.NoError(t, err)
	return f
}

func (f *fixture) register(t *testing.T, name string, role auth.Role) auth.User {
	t.Helper()
	u, err := f.svc.Register(context.Background(), auth.RegisterRequest{Username: name, Password: goodPassword, Role: role})
	require.NoError(t, err)
	return u
}

func (f *fixture) login(t *testing.T, name string) auth.LoginResult {
	t.Helper()
	res, err := f.svc.Login(context.Background(), auth.Credentials{Username: name, Password: goodPassword})
	require.NoError(t, err)
	return res
}
