//go:build !js

package securechat

import (
	"net/netip"
	"net/url"
)

// parseRelayURL splits a relay URL into its scheme, host (with port) and
// hostname (without); the WebAssembly build uses splitRelayURL instead.
func parseRelayURL(raw string) (scheme, host, hostname string, ok bool) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", "", false
	}
	return u.Scheme, u.Host, u.Hostname(), true
}

// isLoopback reports whether host (a URL's hostname) is the local machine.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}
