package cluster_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/finkit/finkit/examples/internal/cluster"
)

// TestChatAcrossInstances: a CLI chat client on A and another on B
// exchange 200 messages each way, and every one arrives exactly once and
// in order, including those sent while B restarts (its client reconnects,
// what was sent to it meanwhile waits in the mailbox).
func TestChatAcrossInstances(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	a, b := c.Instances[0], c.Instances[1]
	xKey, x := c.ChatKey(t, "x")
	yKey, y := c.ChatKey(t, "y")
	cx, cy := c.StartChat(t, a, xKey, y), c.StartChat(t, b, yKey, x)
	waitPublished(t, c.DB, x, y)

	const n = 200
	var recv sync.WaitGroup
	check := func(ch *cluster.Chat, from string) {
		defer recv.Done()
		for i := range n {
			body, ok := ch.Next(3 * time.Minute)
			if !ok {
				t.Errorf("message %d from %s never arrived", i, from)
				return
			}
			if want := fmt.Sprintf("%s-%d", from, i); body != want {
				t.Errorf("got %q, want %q (in order, exactly once)", body, want)
				return
			}
		}
		if body, ok := ch.Next(time.Second); ok {
			t.Errorf("extra message %q", body)
		}
	}
	recv.Add(2)
	go check(cx, "y")
	go check(cy, "x")
	send := func(ch *cluster.Chat, from string, lo, hi int) {
		for i := lo; i < hi; i++ {
			ch.Send(t, fmt.Sprintf("%s-%d", from, i))
		}
	}
	send(cx, "x", 0, n/2)
	send(cy, "y", 0, n/2)
	b.Restart(t)
	send(cx, "x", n/2, n)
	send(cy, "y", n/2, n)
	recv.Wait()
}

// waitPublished waits until the relay's store holds the prekeys of every
// peer (the clients publish them once connected).
func waitPublished(t *testing.T, url string, peers ...string) {
	t.Helper()
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		var n int
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		err := db.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_prekeys WHERE peer = $1 OR peer = $2`, peers[0], peers[1]).Scan(&n)
		cancel()
		if err == nil && n == len(peers) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("prekeys of %v not published after a minute (%v)", peers, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
