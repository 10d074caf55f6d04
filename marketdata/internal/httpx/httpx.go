package httpx

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
)

// Defaults shared by the providers.
const (
	DefaultTimeout   = 10 * time.Second
	DefaultUserAgent = "finkit-marketdata/1.0 (+https://github.com/finkit/finkit)"
	DefaultMaxBytes  = 4 << 20
)

// Client performs GET requests for one provider.
type Client struct {
	Provider  string
	HTTP      *http.Client
	UserAgent string
	MaxBytes  int64
	Header    http.Header // extra headers (API keys), may be nil
}

// MaxRedirects is how many same-host redirects a request follows.
const MaxRedirects = 5

// New returns a Client for provider; nil hc means a client with
// DefaultTimeout. The client (a copy of hc, which is left as it is) follows
// redirects only to the same scheme and host, without a Referer: API keys
// travel in custom headers and query strings that Go would otherwise
// forward to any host a hostile answer names. A redirect elsewhere is
// returned as the 3xx answer, and Check makes it an error.
func New(provider string, hc *http.Client, userAgent string, maxBytes int64) *Client {
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	cp := *hc
	cp.CheckRedirect = sameHost(hc.CheckRedirect)
	hc = &cp
	if userAgent == "" {
		userAgent = DefaultUserAgent
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	return &Client{Provider: provider, HTTP: hc, UserAgent: userAgent, MaxBytes: maxBytes}
}

// Response is a fetched body with its status and headers.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// Get fetches url. Network errors become ErrUnavailable; the body is read up
// to MaxBytes (a longer body is ErrBadResponse). Statuses are NOT mapped
// here: call Check, or inspect the body first for APIs that explain errors
// in JSON.
func (c *Client) Get(ctx context.Context, symbol, url, accept string) (*Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrBadResponse, Msg: "bad request URL", Err: err}
	}
	req.Header.Set("User-Agent", c.UserAgent)
	if accept != "" {
		req.Header.Set("Accept", accept)
	}
	for k, v := range c.Header {
		req.Header[k] = v
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			err = ctxErr
		}
		return nil, &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrUnavailable, Err: redactURL(err)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, c.MaxBytes+1))
	if err != nil {
		return nil, &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrUnavailable, Status: resp.StatusCode, Msg: "reading body", Err: err}
	}
	if int64(len(body)) > c.MaxBytes {
		return nil, &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrBadResponse, Status: resp.StatusCode, Msg: fmt.Sprintf("body larger than %d bytes", c.MaxBytes)}
	}
	return &Response{Status: resp.StatusCode, Header: resp.Header, Body: body}, nil
}

// sameHost is a redirect policy that stays on the first request's scheme and
// host, drops the Referer, and then asks next, if any.
func sameHost(next func(*http.Request, []*http.Request) error) func(*http.Request, []*http.Request) error {
	return func(req *http.Request, via []*http.Request) error {
		first := via[0].URL
		if req.URL.Scheme != first.Scheme || !strings.EqualFold(req.URL.Host, first.Host) {
			return http.ErrUseLastResponse
		}
		if len(via) >= MaxRedirects {
			return fmt.Errorf("stopped after %d redirects", MaxRedirects)
		}
		req.Header.Del("Referer")
		if next != nil {
			return next(req, via)
		}
		return nil
	}
}

// redactURL drops the URL (which may carry an API key) from a client error.
func redactURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) && ue.Err != nil {
		return ue.Err
	}
	return err
}

// Check maps a non-2xx status to a typed error: 429 → ErrRateLimited (with
// Retry-After), 404 → ErrNotFound, 401/403, 5xx and a redirect that was not
// followed (another host) → ErrUnavailable, other statuses → ErrBadResponse.
// It returns nil for 2xx.
func (c *Client) Check(r *Response, symbol string) error {
	if r.Status >= 200 && r.Status < 300 {
		return nil
	}
	e := &marketdata.Error{Provider: c.Provider, Symbol: symbol, Status: r.Status, Msg: Snippet(r.Body)}
	switch {
	case r.Status == http.StatusTooManyRequests:
		e.Kind = marketdata.ErrRateLimited
		e.RetryAfter = ParseRetryAfter(r.Header.Get("Retry-After"), time.Now())
	case r.Status == http.StatusNotFound:
		e.Kind = marketdata.ErrNotFound
	case r.Status == http.StatusUnauthorized || r.Status == http.StatusForbidden || r.Status >= 500:
		e.Kind = marketdata.ErrUnavailable
	case r.Status >= 300 && r.Status < 400:
		e.Kind, e.Msg = marketdata.ErrUnavailable, "redirect to another host not followed"
	default:
		e.Kind = marketdata.ErrBadResponse
	}
	return e
}

// ParseRetryAfter reads a Retry-After header: seconds or an HTTP date,
// capped at marketdata.MaxRetryAfter (a huge value must neither overflow
// time.Duration nor switch a provider off for days).
func ParseRetryAfter(v string, now time.Time) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseUint(v, 10, 64); err == nil || errors.Is(err, strconv.ErrRange) {
		if err != nil || s > uint64(marketdata.MaxRetryAfter/time.Second) {
			return marketdata.MaxRetryAfter
		}
		return time.Duration(s) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), marketdata.MaxRetryAfter)
	}
	return 0
}

// LooksLikeHTML reports whether body is an HTML page (a login wall, an error
// page or a consent screen) rather than data.
func LooksLikeHTML(body []byte) bool {
	b := bytes.TrimSpace(body)
	if len(b) > 512 {
		b = b[:512]
	}
	if !bytes.HasPrefix(b, []byte("<")) {
		return false
	}
	l := bytes.ToLower(b)
	return bytes.HasPrefix(l, []byte("<!doctype html")) || bytes.Contains(l, []byte("<html")) || bytes.Contains(l, []byte("<body"))
}

// Snippet returns the start of body as a one-line message for errors.
func Snippet(body []byte) string {
	s := strings.Join(strings.Fields(string(body)), " ")
	if len(s) > 160 {
		s = s[:160] + "…"
	}
	return s
}

// Bad returns an ErrBadResponse error.
func (c *Client) Bad(symbol, msg string, err error) error {
	return &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrBadResponse, Msg: msg, Err: err}
}

// NotFound returns an ErrNotFound error.
func (c *Client) NotFound(symbol, msg string) error {
	return &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrNotFound, Msg: msg}
}

// Unsupported returns an ErrUnsupported error.
func (c *Client) Unsupported(symbol, msg string) error {
	return &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrUnsupported, Msg: msg}
}

// RateLimited returns an ErrRateLimited error.
func (c *Client) RateLimited(symbol, msg string, retryAfter time.Duration) error {
	return &marketdata.Error{Provider: c.Provider, Symbol: symbol, Kind: marketdata.ErrRateLimited, Msg: msg, RetryAfter: retryAfter}
}

// OneQuote prices one symbol through a provider's batch call, so a batch
// provider's Quote is the same code path as Quotes; a symbol missing from the
// answer is an ErrNotFound error carrying msg.
func (c *Client) OneQuote(ctx context.Context, symbol string, quotes func(context.Context, []string) (map[string]marketdata.Quote, error), msg string) (marketdata.Quote, error) {
	m, err := quotes(ctx, []string{symbol})
	if err != nil {
		return marketdata.Quote{}, err
	}
	q, ok := m[symbol]
	if !ok {
		return marketdata.Quote{}, c.NotFound(strings.ToUpper(symbol), msg)
	}
	return q, nil
}

// FXSymbols parses currency-pair symbols ("EURNOK=X"); the first that is not
// a pair fails the call with an ErrUnsupported error naming it.
func (c *Client) FXSymbols(symbols ...string) ([]marketdata.Symbol, error) {
	parsed := make([]marketdata.Symbol, len(symbols))
	for i, s := range symbols {
		p, err := marketdata.ParseSymbol(s)
		if err != nil || p.Kind != marketdata.KindFX {
			return nil, &marketdata.Error{Provider: c.Provider, Symbol: s, Kind: marketdata.ErrUnsupported, Msg: "not a currency pair", Err: err}
		}
		parsed[i] = p
	}
	return parsed, nil
}

// SameSymbol reports whether a provider that was asked for asked answered
// for the same instrument: the same symbol ignoring case, or the rename
// aliases[asked] (keys upper case). An empty answered symbol says nothing
// and passes.
func SameSymbol(asked, answered string, aliases map[string]string) bool {
	if answered == "" || strings.EqualFold(asked, answered) {
		return true
	}
	a, ok := aliases[strings.ToUpper(asked)]
	return ok && strings.EqualFold(a, answered)
}

// Aliases returns a copy of a rename table with upper-case keys.
func Aliases(m map[string]string) map[string]string {
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[strings.ToUpper(strings.TrimSpace(k))] = strings.TrimSpace(v)
	}
	return out
}

// MaxAhead is how far past the local clock a provider's market time may be
// before the answer is rejected as implausible.
const MaxAhead = 24 * time.Hour

// UnixTime converts a provider's Unix time in seconds: zero (no time) for
// sec ≤ 0, and ok false when it lies more than MaxAhead after now.
func UnixTime(sec int64, now time.Time) (t time.Time, ok bool) {
	if sec <= 0 {
		return time.Time{}, true
	}
	if sec > now.Add(MaxAhead).Unix() {
		return time.Time{}, false
	}
	return time.Unix(sec, 0).UTC(), true
}

// BaseURL returns the base URL a provider client talks to: given, or
// fallback when given is empty, without a trailing slash. Anything but an
// absolute http or https URL is an error naming the provider.
func BaseURL(provider, given, fallback string) (string, error) {
	base := given
	if base == "" {
		base = fallback
	}
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Errorf("%s: bad base URL %q", provider, base)
	}
	return strings.TrimRight(base, "/"), nil
}
