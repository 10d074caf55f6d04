package main

import (
	"testing"
	"time"
)

func TestOnlyNames(t *testing.T) {
	for _, tc := range []struct {
		name, w string
		want    bool
	}{
		{"/ (1020 tx)", "/", true},
		{"/portfolio (1020 tx)", "/", false},
		{"/healthz", "/", false},
		{"/portfolio (20 tx)", "/portfolio", true},
		{"/portfolio (1020 tx)", "/portfolio", true},
		{"/api/portfolio (20 tx)", "/portfolio", false},
		{"/portfolio (20 tx)", "/portfolio (20 tx)", true},
		{"/healthz", "/healthz", true},
		{"/healthz", "/health", false},
	} {
		if got := (target{name: tc.name}).named(tc.w); got != tc.want {
			t.Errorf("-only %q picks %q: %v, want %v", tc.w, tc.name, got, tc.want)
		}
	}
}

func TestFirstTimesSummary(t *testing.T) {
	f := firstTimes{path: "/portfolio", times: []time.Duration{
		95 * time.Millisecond, 12 * time.Millisecond, 9 * time.Millisecond, 14 * time.Millisecond, 11 * time.Millisecond}}
	want := "p50 12.0 ms, max 95.0 ms over 5: [95ms 12ms 9ms 14ms 11ms]"
	if got := f.summary(); got != want {
		t.Errorf("summary = %q, want %q", got, want)
	}
	if got := (firstTimes{}).summary(); got != "no tries" {
		t.Errorf("empty summary = %q", got)
	}
}
