//go:build js

package securechat

// parseRelayURL splits a relay URL without net/url (see splitRelayURL).
func parseRelayURL(raw string) (scheme, host, hostname string, ok bool) {
	return splitRelayURL(raw)
}

// isLoopback reports whether host (a URL's hostname) is the local machine
// (see isLoopbackName).
func isLoopback(host string) bool { return isLoopbackName(host) }
