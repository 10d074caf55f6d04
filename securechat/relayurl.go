package securechat

import (
	"strconv"
	"strings"
)

// splitRelayURL is the relay URL parsing of the WebAssembly build (see
// relayurl_js.go), where net/url, which links fmt, is not wanted. It
// returns the URL's lower-cased scheme, its host (with any port) and
// hostname (without port or IPv6 brackets). It accepts a subset of what
// url.Parse accepts, and agrees with it there (a test checks): an absolute
// URL whose host is letters, digits, '.', '-', '_' and an optional :port,
// or a bracketed IPv6 address in hexadecimal groups.
func splitRelayURL(raw string) (scheme, host, hostname string, ok bool) {
	scheme, rest, found := strings.Cut(raw, "://")
	if !found || scheme == "" {
		return "", "", "", false
	}
	for i := 0; i < len(scheme); i++ {
		c := scheme[i]
		if !isASCIIAlpha(c) && (i == 0 || !isASCIIDigit(c) && c != '+' && c != '-' && c != '.') {
			return "", "", "", false
		}
	}
	if end := strings.IndexAny(rest, "/?#"); end >= 0 {
		if strings.ContainsFunc(rest[end:], func(r rune) bool { return r < 0x21 || r == 0x7f || r == '%' }) {
			return "", "", "", false
		}
		rest = rest[:end]
	}
	host = rest
	hostname, port := host, ""
	if strings.HasPrefix(host, "[") {
		i := strings.IndexByte(host, ']')
		if i < 0 {
			return "", "", "", false
		}
		hostname, port = host[1:i], host[i+1:]
		if !isIPv6Hex(hostname) {
			return "", "", "", false
		}
	} else if i := strings.LastIndexByte(host, ':'); i >= 0 {
		hostname, port = host[:i], host[i:]
	}
	if port != "" && (port[0] != ':' || strings.Trim(port[1:], "0123456789") != "") {
		return "", "", "", false
	}
	if hostname == "" || !strings.HasPrefix(host, "[") && strings.Trim(hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_") != "" {
		return "", "", "", false
	}
	return strings.ToLower(scheme), host, hostname, true
}

func isASCIIAlpha(c byte) bool { return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' }
func isASCIIDigit(c byte) bool { return '0' <= c && c <= '9' }

// isLoopbackName is the loopback test of the WebAssembly build, without
// net/netip: "localhost", "::1" or a dotted IPv4 address in 127.0.0.0/8.
// It accepts a subset of the names the native build's netip test accepts
// (a test checks).
func isLoopbackName(host string) bool {
	if host == "localhost" || host == "::1" {
		return true
	}
	parts := strings.Split(host, ".")
	if len(parts) != 4 || parts[0] != "127" {
		return false
	}
	for _, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 255 || p != strconv.Itoa(n) {
			return false
		}
	}
	return true
}

// isIPv6Hex reports whether s is an IPv6 address written as eight groups
// of one to four hexadecimal digits, or fewer with one "::".
func isIPv6Hex(s string) bool {
	head, tail, compressed := strings.Cut(s, "::")
	groups := 0
	for _, part := range []string{head, tail} {
		if part == "" {
			continue
		}
		for _, g := range strings.Split(part, ":") {
			if len(g) == 0 || len(g) > 4 || strings.Trim(g, "0123456789abcdefABCDEF") != "" {
				return false
			}
			groups++
		}
	}
	if compressed {
		return groups < 8 && !strings.Contains(tail, "::")
	}
	return groups == 8
}
