package main

import (
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestSecureCookiesDefault checks that session cookies are Secure unless
// the dashboard listens on a loopback address only, and that the flag
// still decides when given.
func TestSecureCookiesDefault(t *testing.T) {
	for _, tc := range []struct {
		args   []string
		secure bool
	}{
		{nil, false}, // default localhost:8080
		{[]string{"--addr", "localhost:8080"}, false},
		{[]string{"--addr", "LocalHost:8080"}, false},
		{[]string{"--addr", "127.0.0.1:8080"}, false},
		{[]string{"--addr", "127.9.9.9:8080"}, false},
		{[]string{"--addr", "[::1]:8080"}, false},
		{[]string{"--addr", ":8080"}, true},
		{[]string{"--addr", "0.0.0.0:8080"}, true},
		{[]string{"--addr", "[::]:8080"}, true},
		{[]string{"--addr", "192.168.1.10:8080"}, true},
		{[]string{"--addr", "finance.example:443"}, true},
		{[]string{"--addr", "localhost.evil.example:80"}, true},
		{[]string{"--addr", "0.0.0.0:8080", "--secure-cookies=false"}, false},
		{[]string{"--addr", "localhost:8080", "--secure-cookies"}, true},
	} {
		c, err := parseConfig(tc.args, io.Discard)
		require.NoError(t, err, "%v", tc.args)
		assert.Equal(t, tc.secure, c.secureCookies, "%v", tc.args)
	}
}
