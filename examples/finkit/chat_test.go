package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/securechat"
)

// syncBuffer is a bytes.Buffer safe for the concurrent printer goroutine.
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

func chatEnv(stdin io.Reader) (*env, *syncBuffer, *syncBuffer) {
	out, errOut := &syncBuffer{}, &syncBuffer{}
	return &env{stdin: stdin, stdout: out, stderr: errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil))}, out, errOut
}

func keygen(t *testing.T, path string) securechat.PeerID {
	t.Helper()
	e, out, _ := chatEnv(strings.NewReader(""))
	args := []string{"keygen", "--out", path, "--unencrypted"}
	if os.Getenv(chatPassphraseEnv) != "" {
		// The cheapest argon2id cost keygen accepts keeps the race-enabled test fast.
		args = []string{"keygen", "--out", path, "--kdf-time", "2", "--kdf-memory-mib", "19"}
	}
	require.NoError(t, runChat(context.Background(), e, args))
	line := strings.SplitN(out.String(), "\n", 2)[0]
	id, err := securechat.ParsePeerID(strings.TrimPrefix(line, "peer id: "))
	require.NoError(t, err)
	return id
}

func TestChatKeygenAndFingerprint(t *testing.T) {
	t.Setenv(chatPassphraseEnv, "")
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.key"), filepath.Join(dir, "b.key")
	aID, bID := keygen(t, a), keygen(t, b)
	st, err := os.Stat(a)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())

	e, _, _ := chatEnv(nil)
	require.Error(t, runChat(context.Background(), e, []string{"keygen", "--out", a}), "no silent overwrite")
	require.NoError(t, runChat(context.Background(), e, []string{"keygen", "--out", filepath.Join(dir, "c.key"), "--json", "--unencrypted"}))
	require.ErrorIs(t, runChat(context.Background(), e, []string{"keygen", "--out", filepath.Join(dir, "d.key")}), errUsage,
		"no passphrase and no --unencrypted: no silent plaintext key file")
	_, err = os.Stat(filepath.Join(dir, "d.key"))
	require.ErrorIs(t, err, os.ErrNotExist)

	fp := func(key string, peer securechat.PeerID) string {
		e, out, _ := chatEnv(nil)
		require.NoError(t, runChat(context.Background(), e, []string{"fingerprint", "--key", key, "--peer", string(peer)}))
		return strings.TrimSpace(out.String())
	}
	ab, ba := fp(a, bID), fp(b, aID)
	assert.Equal(t, ab, ba, "both sides see the same safety number")
	assert.Regexp(t, `^(\d{5} ){11}\d{5}$`, ab)

	for _, args := range [][]string{
		{"fingerprint", "--key", a},
		{"fingerprint", "--key", a, "--peer", "not-an-id"},
		{"keygen"},
		{"keygen", "--out", filepath.Join(dir, "x.key"), "--kdf-time", "0"},
		{"--relay", "ws://x"},
		{"--relay", "ws://x", "--key", a, "--to", "bad"},
		{"--relay", "ws://relay.example/chat/ws", "--key", a, "--to", string(bID)}, // unencrypted to a remote host
		{"stray"},
	} {
		e, _, _ := chatEnv(nil)
		require.ErrorIs(t, runChat(context.Background(), e, args), errUsage, "%v", args)
	}
	e, _, _ = chatEnv(nil)
	require.Error(t, runChat(context.Background(), e, []string{"fingerprint", "--key", filepath.Join(dir, "missing"), "--peer", string(aID)}))
}

func TestChatEncryptedKeyFile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "enc.key")
	t.Setenv(chatPassphraseEnv, "hunter2 but longer")
	id := keygen(t, path)
	e0, _, _ := chatEnv(nil)
	require.ErrorIs(t, runChat(context.Background(), e0, []string{"keygen", "--out", filepath.Join(dir, "weak.key"), "--kdf-time", "1", "--kdf-memory-mib", "1"}), errUsage,
		"below the minimum argon2id cost")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.True(t, securechat.KeyFileEncrypted(data))
	e, _, _ := chatEnv(nil)
	require.NoError(t, runChat(context.Background(), e, []string{"fingerprint", "--key", path, "--peer", string(id)}))

	t.Setenv(chatPassphraseEnv, "wrong")
	require.ErrorIs(t, runChat(context.Background(), e, []string{"fingerprint", "--key", path, "--peer", string(id)}), securechat.ErrPassphrase)
	t.Setenv(chatPassphraseEnv, "")
	require.ErrorIs(t, runChat(context.Background(), e, []string{"fingerprint", "--key", path, "--peer", string(id)}), securechat.ErrPassphraseRequired)
}

func TestChatConversation(t *testing.T) {
	t.Setenv(chatPassphraseEnv, "")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewUnstartedServer(nil)
	relay, err := securechat.NewRelay(securechat.RelayOptions{Logger: quiet, Host: srv.Listener.Addr().String()})
	require.NoError(t, err)
	srv.Config.Handler = relay
	srv.Start()
	defer srv.Close()
	defer relay.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat/ws"

	dir := t.TempDir()
	keyPath := filepath.Join(dir, "me.key")
	keygen(t, keyPath)
	bobID, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	bob, err := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: bobID, Logger: quiet})
	require.NoError(t, err)
	defer bob.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, bob.WaitConnected(ctx))

	converse := func(line, reply string) {
		pr, pw := io.Pipe()
		e, out, errOut := chatEnv(pr)
		done := make(chan error, 1)
		go func() {
			done <- runChat(ctx, e, []string{"--relay", url, "--key", keyPath, "--to", string(bobID.ID())})
		}()
		_, err := io.WriteString(pw, line+"\n")
		require.NoError(t, err)
		var m securechat.Message
		select {
		case m = <-bob.Messages():
		case <-ctx.Done():
			t.Fatal("bob got nothing")
		}
		assert.Equal(t, line, string(m.Body))
		require.NoError(t, bob.Send(ctx, m.From, []byte(reply+"\x1b[2J")))
		require.Eventually(t, func() bool { return strings.Contains(out.String(), reply) }, 10*time.Second, 10*time.Millisecond)
		assert.Contains(t, out.String(), string(bobID.ID())+": "+reply+"?[2J", "sender shown, escape neutralised")
		assert.Contains(t, errOut.String(), "safety number:")
		require.NoError(t, pw.Close())
		require.NoError(t, <-done)
	}
	converse("hello bob", "hi there")
	_, err = os.Stat(keyPath + ".state")
	require.NoError(t, err, "state saved")
	// A second run resumes the saved session.
	converse("me again", "welcome back")
}

// The session state is saved after every sent line, not only at exit: a
// crash must not bring back a sending chain that is behind messages already
// sent (their message keys would be used again).
func TestChatSavesStateAfterEverySend(t *testing.T) {
	t.Setenv(chatPassphraseEnv, "")
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := httptest.NewUnstartedServer(nil)
	relay, err := securechat.NewRelay(securechat.RelayOptions{Logger: quiet, Host: srv.Listener.Addr().String()})
	require.NoError(t, err)
	srv.Config.Handler = relay
	srv.Start()
	defer srv.Close()
	defer relay.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http") + "/chat/ws"
	keyPath := filepath.Join(t.TempDir(), "me.key")
	keygen(t, keyPath)
	bobID, err := securechat.GenerateIdentity(nil)
	require.NoError(t, err)
	bob, err := securechat.NewClient(securechat.ClientOptions{URL: url, Identity: bobID, Logger: quiet})
	require.NoError(t, err)
	defer bob.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, bob.WaitConnected(ctx))

	pr, pw := io.Pipe()
	e, _, _ := chatEnv(pr)
	done := make(chan error, 1)
	go func() {
		done <- runChat(ctx, e, []string{"--relay", url, "--key", keyPath, "--to", string(bobID.ID())})
	}()
	_, err = io.WriteString(pw, "first\n")
	require.NoError(t, err)
	select {
	case m := <-bob.Messages():
		assert.Equal(t, "first", string(m.Body))
	case <-ctx.Done():
		t.Fatal("bob got nothing")
	}
	require.Eventually(t, func() bool { _, err := os.Stat(keyPath + ".state"); return err == nil }, 10*time.Second, 10*time.Millisecond,
		"state not saved while the chat is still running")
	require.NoError(t, pw.Close())
	require.NoError(t, <-done)
}
