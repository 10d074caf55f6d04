package cluster_test

import (
	"context"
	"net/http"
	"testing"

	"github.com/finkit/finkit/examples/internal/cluster"
)

// TestLogoutOnOtherInstanceAtOnce: instances sharing PostgreSQL read the
// session on every request (the dashboard caches sessions only on SQLite),
// so a session A has just used is refused by A on the very next request
// after a logout on B.
func TestLogoutOnOtherInstanceAtOnce(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	a, b := c.Instances[0], c.Instances[1]
	c.AddUser(t, "cyd", pw, false)
	token := a.Login(t, "cyd", pw)
	for _, in := range []*cluster.Instance{a, b, a} {
		if r := in.Get(t, "/api/portfolio", token); r.Status != http.StatusOK {
			t.Fatalf("session on %s: %d %s", in.Name, r.Status, r.Body)
		}
	}
	if r, err := b.Do(context.Background(), http.MethodPost, "/api/logout", nil, token); err != nil || r.Status != http.StatusNoContent {
		t.Fatalf("logout on B: %v %d %s", err, r.Status, r.Body)
	}
	for _, in := range []*cluster.Instance{a, b} {
		if r := in.Get(t, "/api/portfolio", token); r.Status != http.StatusUnauthorized {
			t.Fatalf("on %s right after the logout on B: %d, want 401", in.Name, r.Status)
		}
	}
}
