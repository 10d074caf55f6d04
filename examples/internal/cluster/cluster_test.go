package cluster_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/finkit/finkit/examples/internal/cluster"
)

const pw = "a long passphrase for two instances"

// TestSessionAcrossInstances: a session made by logging in on A works on
// B, and a logout on B ends it on A.
func TestSessionAcrossInstances(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	a, b := c.Instances[0], c.Instances[1]
	c.AddUser(t, "ann", pw, false)
	token := a.Login(t, "ann", pw)
	if r := b.Get(t, "/api/portfolio", token); r.Status != http.StatusOK {
		t.Fatalf("session from A on B: %d %s", r.Status, r.Body)
	}
	if r := a.Get(t, "/api/portfolio", ""); r.Status != http.StatusUnauthorized {
		t.Fatalf("no token: %d", r.Status)
	}
}

// TestThrottleAcrossInstances: failed logins spread over A and B are
// counted as if on one instance (the default: 5 per account and client),
// so the right password is refused on both afterwards; and a logout on B
// ends a session made on A.
func TestThrottleAcrossInstances(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	a, b := c.Instances[0], c.Instances[1]
	c.AddUser(t, "bob", pw, false)
	token := a.Login(t, "bob", pw)
	ctx := context.Background()
	if r, err := b.Do(ctx, http.MethodPost, "/api/logout", nil, token); err != nil || r.Status != http.StatusNoContent {
		t.Fatalf("logout on B: %v %d %s", err, r.Status, r.Body)
	}
	if r := a.Get(t, "/api/portfolio", token); r.Status != http.StatusUnauthorized {
		t.Fatalf("session logged out on B still works on A: %d", r.Status)
	}

	for i := range 6 {
		in := c.Instances[i%2]
		if r := in.TryLogin(t, "bob", "wrong guess"); r.Status != http.StatusUnauthorized {
			t.Fatalf("guess %d on %s: %d %s", i, in.Name, r.Status, r.Body)
		}
	}
	for _, in := range c.Instances {
		r := in.TryLogin(t, "bob", pw)
		if r.Status != http.StatusTooManyRequests {
			t.Fatalf("right password on %s after 6 guesses over both: %d %s (want 429)", in.Name, r.Status, r.Body)
		}
	}
}
