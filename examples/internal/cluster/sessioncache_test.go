package cluster_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/finkit/finkit/examples/internal/cluster"
)

// TestLogoutOnOtherInstanceWithinASecond is what the dashboard's session
// cache trades, measured across processes: a session A has just used (and
// keeps for a second) still works on A right after a logout on B, and
// stops within the cache's second (plus this machine's scheduling); on B,
// which made the change, it stops at once.
func TestLogoutOnOtherInstanceWithinASecond(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	a, b := c.Instances[0], c.Instances[1]
	c.AddUser(t, "cyd", pw, false)
	token := a.Login(t, "cyd", pw)
	for _, in := range []*cluster.Instance{a, b} {
		if r := in.Get(t, "/api/portfolio", token); r.Status != http.StatusOK {
			t.Fatalf("session on %s: %d %s", in.Name, r.Status, r.Body)
		}
	}
	if r, err := b.Do(context.Background(), http.MethodPost, "/api/logout", nil, token); err != nil || r.Status != http.StatusNoContent {
		t.Fatalf("logout on B: %v %d %s", err, r.Status, r.Body)
	}
	loggedOut := time.Now()
	if r := b.Get(t, "/api/portfolio", token); r.Status != http.StatusUnauthorized {
		t.Fatalf("on B, which logged out: %d", r.Status)
	}
	for {
		r := a.Get(t, "/api/portfolio", token)
		if r.Status == http.StatusUnauthorized {
			t.Logf("A refused the session %v after the logout on B", time.Since(loggedOut).Round(time.Millisecond))
			return
		}
		if r.Status != http.StatusOK {
			t.Fatalf("A: %d %s", r.Status, r.Body)
		}
		if time.Since(loggedOut) > 3*time.Second {
			t.Fatalf("A still takes a session logged out on B %v ago (the cache keeps one for a second)", time.Since(loggedOut))
		}
		time.Sleep(20 * time.Millisecond)
	}
}
