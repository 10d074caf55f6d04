package pdfexport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// origin is a URL's scheme, host and port (RFC 6454), the scope of
// PageOptions.Headers.
type origin struct {
	scheme, host string
	port         int
}

var (
	errNoOrigin     = errors.New("not an http or https URL")
	errNonASCIIHost = errors.New("the host is not in its ASCII (punycode) form")
	errBadIPHost    = errors.New("the host is not a valid IP address")
)

// originOf returns the origin of an http or https URL, with the scheme's
// default port made explicit, the host in lower case and an IP address
// host in the form Chromium writes it (canonicalHost).
func originOf(raw string) (origin, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return origin{}, err
	}
	o := origin{scheme: strings.ToLower(u.Scheme), host: strings.ToLower(u.Hostname())}
	switch {
	case o.scheme != "http" && o.scheme != "https", o.host == "":
		return origin{}, errNoOrigin
	case strings.ContainsFunc(o.host, func(r rune) bool { return r >= utf8.RuneSelf }):
		// Chromium asks for the ASCII (punycode) form, which would
		// never match.
		return origin{}, errNonASCIIHost
	}
	if o.host, err = canonicalHost(o.host); err != nil {
		return origin{}, err
	}
	switch {
	case u.Port() == "" && o.scheme == "http":
		o.port = 80
	case u.Port() == "":
		o.port = 443
	default:
		if o.port, err = strconv.Atoi(u.Port()); err != nil || o.port < 1 || o.port > 65535 {
			return origin{}, errNoOrigin
		}
	}
	return o, nil
}

// canonicalHost writes an IP address host the way Chromium writes it in
// the URLs it requests (the WHATWG URL standard's host parser): an IPv4
// address also in its short, octal or hex forms ("127.1", "0x7f.0.0.1",
// "2130706433") as four decimal numbers, an IPv6 address in its RFC 5952
// form. Other hosts are returned as they are.
func canonicalHost(host string) (string, error) {
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil || a.Zone() != "" {
			return "", errBadIPHost
		}
		return a.String(), nil
	}
	parts := strings.Split(host, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	if !isIPv4Number(parts[len(parts)-1]) {
		return host, nil // a domain
	}
	// The host ends in a number: it is an IPv4 address or invalid.
	if len(parts) > 4 {
		return "", errBadIPHost
	}
	var addr uint64
	for i, p := range parts {
		n, ok := parseIPv4Part(p)
		last := i == len(parts)-1
		switch {
		case !ok, !last && n > 255, last && n >= 1<<(8*(5-len(parts))):
			return "", errBadIPHost
		case last:
			addr += n
		default:
			addr += n << (8 * (3 - i))
		}
	}
	return netip.AddrFrom4([4]byte{byte(addr >> 24), byte(addr >> 16), byte(addr >> 8), byte(addr)}).String(), nil
}

// isIPv4Number reports whether the last label of a host makes it an IPv4
// address for the URL standard: decimal digits, or 0x and hex digits.
func isIPv4Number(p string) bool {
	if p == "" {
		return false
	}
	if h, ok := strings.CutPrefix(strings.ToLower(p), "0x"); ok {
		return strings.Trim(h, "0123456789abcdef") == ""
	}
	return strings.Trim(p, "0123456789") == ""
}

// parseIPv4Part parses one part of an IPv4 host: hex after 0x, octal
// after a leading 0, decimal otherwise.
func parseIPv4Part(p string) (uint64, bool) {
	base := 10
	if h, ok := strings.CutPrefix(strings.ToLower(p), "0x"); ok {
		p, base = h, 16
		if p == "" {
			return 0, true
		}
	} else if len(p) > 1 && p[0] == '0' {
		p, base = p[1:], 8
	}
	if p == "" {
		return 0, false
	}
	n, err := strconv.ParseUint(p, base, 64)
	if err != nil || n > 1<<32 {
		return 0, false
	}
	return n, true
}

// matches reports whether the URL raw is of origin o.
func (o origin) matches(raw string) bool {
	p, err := originOf(raw)
	return err == nil && p == o
}

// scopeHeaders makes the tab of ctx send headers with its requests to
// target's origin and with no other: it pauses each request of the tab
// (Fetch domain, at the tab's level) and continues it with the headers
// added when its URL is of that origin. Every redirect hop is a request
// of its own, so a redirect to another origin goes without them. Requests
// the tab does not see (out-of-process iframes, service workers,
// WebSocket handshakes) go without them too.
//
// The returned func waits, once ctx is done, for the handler to end.
func scopeHeaders(ctx context.Context, target string, headers map[string]string) (wait func(), err error) {
	if len(headers) == 0 {
		return func() {}, nil
	}
	own, err := headerOrigin(target)
	if err != nil {
		return nil, err
	}
	events := chromedp.Events(ctx, fetch.RequestPaused)
	if _, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: "*"}}}); err != nil {
		return nil, fmt.Errorf("enabling the tab's request interception: %w", err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ev, err := range events {
			if err != nil {
				return // ctx is done, or the tab is gone
			}
			p := fetch.ContinueRequestParams{RequestID: ev.RequestID}
			if ev.Request != nil && own.matches(ev.Request.URL) {
				p.Headers = withHeaders(ev.Request.Headers, headers)
			}
			if _, err := chromedp.Call(ctx, fetch.ContinueRequest, p); err != nil {
				if ctx.Err() != nil {
					return
				}
				// A request left paused would hold the page until its
				// timeout: fail it instead.
				_, _ = chromedp.Call(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonFailed})
			}
		}
	}()
	return func() { <-done }, nil
}

// headerOrigin is the origin PageOptions.Headers are sent to for target.
func headerOrigin(target string) (origin, error) {
	o, err := originOf(target)
	if err != nil {
		return origin{}, fmt.Errorf("%w: headers need an http or https page URL: %v", ErrInvalidOption, err)
	}
	return o, nil
}

// withHeaders is the request's headers with extra set over them (names
// compared case-insensitively).
func withHeaders(req network.Headers, extra map[string]string) []*fetch.HeaderEntry {
	over := make(map[string]bool, len(extra))
	for k := range extra {
		over[http.CanonicalHeaderKey(k)] = true
	}
	out := make([]*fetch.HeaderEntry, 0, len(req)+len(extra))
	for k, v := range req {
		if over[http.CanonicalHeaderKey(k)] {
			continue
		}
		if s, ok := v.(string); ok {
			out = append(out, &fetch.HeaderEntry{Name: k, Value: s})
		}
	}
	for k, v := range extra {
		out = append(out, &fetch.HeaderEntry{Name: k, Value: v})
	}
	return out
}
