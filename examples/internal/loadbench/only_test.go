package main

import "testing"

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
