package main

import (
	"context"
	"os"
	"testing"
	"time"
)

// TestSmallRun runs the benchmark with 10 clients on SQLite, and on two
// relays over PostgreSQL when FINKIT_TEST_POSTGRES is set: every message
// sent in each phase is delivered once, and the figures are filled in.
func TestSmallRun(t *testing.T) {
	o := options{clients: 10, rate: 50, paced: 500 * time.Millisecond, flood: 500 * time.Millisecond,
		prekeys: 2, parallel: 4, pgURL: os.Getenv("FINKIT_TEST_POSTGRES")}
	setups := []setup{{"sqlite-1", false, 1}}
	if o.pgURL != "" {
		setups = append(setups, setup{"pg-2", true, 2})
	}
	for _, s := range setups {
		res, err := run(context.Background(), o, s)
		if err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if len(res) != 2 {
			t.Fatalf("%s: %d phases, want 2", s.name, len(res))
		}
		for _, r := range res {
			if r.sent == 0 || r.delivered != r.sent || r.sendErrors != 0 || r.rate <= 0 || r.p99 < r.p50 || r.max < r.p99 {
				t.Errorf("%s %s: %+v", s.name, r.phase, r)
			}
		}
	}
}
