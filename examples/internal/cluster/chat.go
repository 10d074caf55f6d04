package cluster

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// ChatKey makes an unencrypted chat identity in the cluster's directory
// with the CLI and returns its key file and peer id.
func (c *Cluster) ChatKey(t testing.TB, name string) (keyFile, peer string) {
	t.Helper()
	keyFile = filepath.Join(c.Dir, name+".key")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	out, err := c.CLI(ctx, "chat", "keygen", "--out", keyFile, "--unencrypted", "--json").Output()
	if err != nil {
		t.Fatalf("finkit chat keygen: %v", err)
	}
	var res struct {
		PeerID string `json:"peer_id"`
	}
	if err := json.Unmarshal(out, &res); err != nil || res.PeerID == "" {
		t.Fatalf("finkit chat keygen: %q", out)
	}
	return keyFile, res.PeerID
}

// Chat is a running `finkit chat` CLI talking to one peer through one
// instance's relay.
type Chat struct {
	stdin io.WriteCloser
	lines chan string
	done  chan error
}

// StartChat runs `finkit chat --relay in.WS() --key keyFile --to peer`
// until the test ends (or Close).
func (c *Cluster) StartChat(t testing.TB, in *Instance, keyFile, peer string) *Chat {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := c.CLI(ctx, "chat", "--relay", in.WS(), "--key", keyFile, "--to", peer)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	ch := &Chat{stdin: stdin, lines: make(chan string, 1024), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			ch.lines <- sc.Text()
		}
		close(ch.lines)
		ch.done <- cmd.Wait()
	}()
	t.Cleanup(func() { ch.Close(); cancel() })
	return ch
}

// Send types a line.
func (ch *Chat) Send(t testing.TB, line string) {
	t.Helper()
	if _, err := io.WriteString(ch.stdin, line+"\n"); err != nil {
		t.Fatalf("chat: %v", err)
	}
}

// Next returns the body of the next received message (the CLI prints
// "TIME FROM: BODY"), or false after timeout or when the CLI ended.
func (ch *Chat) Next(timeout time.Duration) (string, bool) {
	select {
	case l, ok := <-ch.lines:
		if !ok {
			return "", false
		}
		_, body, _ := strings.Cut(l, ": ")
		return body, true
	case <-time.After(timeout):
		return "", false
	}
}

// Close ends the CLI's input, so it drains, saves its state and exits.
func (ch *Chat) Close() { _ = ch.stdin.Close() }
