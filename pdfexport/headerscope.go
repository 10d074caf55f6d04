package pdfexport

import (
	"context"
	"errors"
	"fmt"
	"net/http"
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
)

// originOf returns the origin of an http or https URL, with the scheme's
// default port made explicit and the host in lower case.
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
			if _, err := chromedp.Call(ctx, fetch.ContinueRequest, p); err != nil && ctx.Err() != nil {
				return
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
