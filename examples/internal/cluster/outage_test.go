package cluster_test

import (
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/finkit/finkit/examples/internal/cluster"
)

// TestPostgresOutage stops PostgreSQL for a few seconds while both
// instances serve logins and portfolio reads: requests fail with 503 and a
// plain message (never 500), every session acknowledged by a successful
// login still works afterwards, and both instances recover without a
// restart.
func TestPostgresOutage(t *testing.T) {
	c := cluster.Start(t, cluster.Options{})
	c.AddUser(t, "carl", pw, false)
	token := c.Instances[0].Login(t, "carl", pw)

	var stop atomic.Bool
	var mu sync.Mutex
	statuses := map[int]int{}
	var acked []string // tokens of logins answered 200
	var bad []string
	var wg sync.WaitGroup
	for _, in := range c.Instances {
		wg.Go(func() {
			for !stop.Load() {
				r := in.Get(t, "/api/portfolio", token)
				l := in.TryLogin(t, "carl", pw)
				mu.Lock()
				for _, x := range []struct {
					status int
					body   string
				}{{r.Status, r.Body}, {l.Status, l.Body}} {
					statuses[x.status]++
					switch x.status {
					case http.StatusOK:
					case http.StatusServiceUnavailable:
						if !strings.Contains(x.body, "database is unavailable") {
							bad = append(bad, "503 without the message: "+x.body)
						}
					default:
						bad = append(bad, in.Name+": "+http.StatusText(x.status)+" "+x.body)
					}
				}
				if l.Status == http.StatusOK {
					acked = append(acked, l.Token)
				}
				mu.Unlock()
				time.Sleep(20 * time.Millisecond)
			}
		})
	}
	time.Sleep(time.Second)
	c.PG.Stop()
	time.Sleep(4 * time.Second)
	c.PG.Start()
	// Both instances recover by themselves.
	deadline := time.Now().Add(60 * time.Second)
	for _, in := range c.Instances {
		for in.Get(t, "/readyz", "").Status != http.StatusOK || in.Get(t, "/api/portfolio", token).Status != http.StatusOK {
			if time.Now().After(deadline) {
				t.Fatalf("instance %s did not recover within a minute", in.Name)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(500 * time.Millisecond)
	stop.Store(true)
	wg.Wait()

	t.Logf("statuses during the run: %v", statuses)
	if len(bad) > 0 {
		t.Fatalf("%d answers were neither 200 nor a clear 503, e.g. %q", len(bad), bad[0])
	}
	if statuses[http.StatusServiceUnavailable] == 0 {
		t.Fatal("no request saw the outage")
	}
	for i, tok := range acked {
		for _, in := range c.Instances {
			if r := in.Get(t, "/api/portfolio", tok); r.Status != http.StatusOK {
				t.Fatalf("session %d of %d acknowledged by a login is gone on %s: %d", i, len(acked), in.Name, r.Status)
			}
		}
	}
}
