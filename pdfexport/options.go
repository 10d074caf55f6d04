package pdfexport

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
	"unicode/utf8"
)

// Defaults used when the matching field is zero.
const (
	DefaultPoolSize     = 4
	DefaultRestartAfter = 200
	DefaultTimeout      = 30 * time.Second
	DefaultStartTimeout = 30 * time.Second
	DefaultMaxPDFBytes  = 100 << 20
)

// Options configure a [Converter]. The zero value is usable: it finds the
// browser, runs up to 4 conversions at once and allows every http/https URL.
type Options struct {
	// ExecPath is the browser executable (a path or a name on PATH). When
	// empty, the env variable FINKIT_CHROME is used, then the first of
	// chromium, chromium-browser, google-chrome, google-chrome-stable
	// found on PATH.
	ExecPath string

	// PoolSize bounds how many conversions (tabs) run at once; more callers
	// wait for a free slot. 0 means DefaultPoolSize.
	PoolSize int

	// RestartAfter restarts the browser after that many conversions, to
	// bound the memory a long-running Chromium accumulates. The restart
	// waits for running conversions to finish on the old browser while new
	// ones start on the new one. 0 means DefaultRestartAfter; a negative
	// value never restarts (a crashed browser is still replaced).
	RestartAfter int

	// DefaultTimeout bounds a conversion whose PageOptions.Timeout is 0.
	// 0 means DefaultTimeout (30s).
	DefaultTimeout time.Duration

	// StartTimeout bounds how long starting Chromium may take. 0 means 30s.
	StartTimeout time.Duration

	// DenyPrivateNetworks makes every conversion refuse the page, and every
	// request the page makes (sub-resources, iframes, workers, redirects),
	// whose host is or resolves to a loopback, RFC 1918, CGNAT, link-local
	// (including the cloud metadata address 169.254.169.254, and Azure's
	// WireServer 168.63.129.16), unique-local, IPv4-mapped, multicast,
	// reserved or unspecified address, unless the host is allow-listed.
	// Turn it on when URLs or HTML documents (ConvertHTML) come from users:
	// without it they reach 127.0.0.1 and the metadata service.
	DenyPrivateNetworks bool

	// AllowHosts lists exceptions to DenyPrivateNetworks. An entry is a
	// host name ("reports.internal", matched exactly, case-insensitively),
	// a wildcard ("*.corp.example" matches its sub-domains), an IP address
	// or a CIDR prefix ("10.1.0.0/16"): a private address inside an allowed
	// prefix is accepted.
	AllowHosts []string

	// Resolver resolves host names for DenyPrivateNetworks. nil means
	// net.DefaultResolver.
	Resolver *net.Resolver

	// Dial connects the egress proxy that DenyPrivateNetworks routes
	// Chromium through, once the policy has approved the destination: the
	// address is IP:port for a resolved host (the very IP that was
	// checked), or host:port for a host allowed by name in AllowHosts. nil
	// means a net.Dialer. Tests use it to give public-looking names to a
	// local server.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)

	// MaxPDFBytes bounds the size of one PDF: a small page can make a huge
	// one (a 700-byte page made 27 MiB). A bigger PDF fails the conversion
	// with ErrPDFTooLarge once that much was written. 0 means
	// DefaultMaxPDFBytes (100 MiB); a negative value sets no limit.
	MaxPDFBytes int64

	// Logger receives debug and warning messages (browser restarts, blocked
	// requests). nil discards them.
	Logger *slog.Logger
}

// WaitKind says what a conversion waits for before it prints.
type WaitKind int

// The wait strategies. See [WaitFor].
const (
	WaitLoad        WaitKind = iota // the load event of the main document
	WaitNetworkIdle                 // no network activity for 500ms after load
	WaitVisible                     // a CSS selector matches a visible element
	WaitExpression                  // a JavaScript expression becomes truthy
	WaitDelay                       // a fixed delay after load
)

// WaitFor is a wait strategy. The zero value waits for the load event. Every
// strategy first waits for the load event, then for its own condition.
type WaitFor struct {
	Kind WaitKind
	// Selector is the CSS selector for WaitVisible.
	Selector string
	// Expression is the JavaScript expression for WaitExpression.
	Expression string
	// Delay is the pause for WaitDelay.
	Delay time.Duration
}

// ForLoad waits for the load event (the default).
func ForLoad() WaitFor { return WaitFor{Kind: WaitLoad} }

// ForNetworkIdle waits until the page has had no network connections for
// 500ms (Chromium's "networkIdle" lifecycle event), which captures content
// that scripts fetch after load.
func ForNetworkIdle() WaitFor { return WaitFor{Kind: WaitNetworkIdle} }

// ForVisible waits until the CSS selector matches an element that is
// displayed, not visibility:hidden and has a non-empty box.
func ForVisible(selector string) WaitFor { return WaitFor{Kind: WaitVisible, Selector: selector} }

// ForExpression waits until the JavaScript expression evaluates to a truthy
// value, for example "window.chartsReady === true".
func ForExpression(expr string) WaitFor { return WaitFor{Kind: WaitExpression, Expression: expr} }

// ForDelay waits a fixed time after the load event.
func ForDelay(d time.Duration) WaitFor { return WaitFor{Kind: WaitDelay, Delay: d} }

// String describes the strategy; it appears in timeout errors.
func (w WaitFor) String() string {
	switch w.Kind {
	case WaitNetworkIdle:
		return "network idle"
	case WaitVisible:
		return fmt.Sprintf("selector %q to be visible", w.Selector)
	case WaitExpression:
		return fmt.Sprintf("expression %q to be true", w.Expression)
	case WaitDelay:
		return fmt.Sprintf("a delay of %s", w.Delay)
	default:
		return "the load event"
	}
}

// Cookie is a cookie set in the conversion's private browser context before
// the page loads. When Domain is empty the cookie belongs to the page URL's
// host.
type Cookie struct {
	Name, Value string
	Domain      string
	Path        string
	Secure      bool
	HTTPOnly    bool
	Expires     time.Time // zero: a session cookie
}

// PageOptions control one conversion. The zero value prints A4 portrait with
// 10mm margins, no background, after the load event, within the converter's
// default timeout.
type PageOptions struct {
	// Paper is the sheet size; the zero value means A4.
	Paper PaperSize
	// Landscape swaps the paper's width and height.
	Landscape bool
	// Margins; nil means DefaultMargins() (10mm). They are always sent
	// explicitly, so a zero margin really is zero.
	Margins *Margins
	// PrintBackground prints background colours and images.
	PrintBackground bool
	// Scale of the rendering, 0.1 to 2; 0 means 1.
	Scale float64
	// PageRanges selects pages, such as "1-3, 5"; empty prints all.
	PageRanges string
	// HeaderHTML and FooterHTML are printed on every page. Elements with the
	// classes pageNumber, totalPages, title, url and date get those values.
	// Set a font size (the default is tiny) and margins tall enough. When
	// only one is given the other is left empty (not Chromium's default).
	HeaderHTML, FooterHTML string
	// PreferCSSPageSize uses the page's CSS @page size over Paper.
	PreferCSSPageSize bool
	// Media is the emulated CSS media type: "print" (default) or "screen".
	Media string
	// Wait is what to wait for before printing; the zero value is the load
	// event.
	Wait WaitFor
	// Timeout bounds the conversion from the moment a tab is free; 0 means
	// the converter's default. The ctx passed to Convert bounds the wait
	// for a free tab as well.
	Timeout time.Duration
	// Headers are extra HTTP headers, such as Authorization, sent with
	// the requests of the page to the origin of the URL given to Convert
	// (its scheme, host and port; a default port is the same as none):
	// the document and the sub-resources, fetches and same-process frames
	// it loads from there. Requests to any other origin (a CDN's scripts,
	// fonts and images, a redirect to another host, a port of its own)
	// go without them, as curl drops credentials on a redirect to another
	// host. Out-of-process frames, service workers and WebSocket
	// handshakes never get them. ConvertHTML refuses them, as Convert
	// refuses a name that is not an HTTP token, a value with a control
	// character and Host (ErrInvalidOption).
	Headers map[string]string
	// Cookies are set before the page loads.
	Cookies []Cookie
	// UserAgent overrides the browser's User-Agent header.
	UserAgent string
	// Title, when set, becomes the document title and so the PDF's Title
	// metadata (and the "title" class of header/footer templates).
	Title string
	// AllowHTTPErrors prints the page even when the main document answers
	// with HTTP status >= 400; by default that is an *HTTPStatusError.
	AllowHTTPErrors bool
	// FailOnJSError fails the conversion with ErrJSException when the page
	// throws an uncaught exception.
	FailOnJSError bool
	// FailOnResourceError fails the conversion with ErrResourceFailed when a
	// sub-resource fails to load or answers with HTTP status >= 400.
	FailOnResourceError bool
}

// validate checks the options and returns the DevTools values derived from
// them.
func (o *PageOptions) validate() error {
	if o.Paper != (PaperSize{}) {
		if err := o.Paper.validate(); err != nil {
			return err
		}
	}
	if o.Margins != nil {
		m := o.Margins
		for _, l := range []Length{m.Top, m.Right, m.Bottom, m.Left} {
			if l < 0 || l > maxLength || l != l {
				return fmt.Errorf("%w: margin %s out of range", ErrInvalidOption, l)
			}
		}
	}
	if o.Scale != 0 && (o.Scale < 0.1 || o.Scale > 2 || o.Scale != o.Scale) {
		return fmt.Errorf("%w: scale %v must be between 0.1 and 2", ErrInvalidOption, o.Scale)
	}
	switch o.Media {
	case "", "print", "screen":
	default:
		return fmt.Errorf("%w: media %q must be print or screen", ErrInvalidOption, o.Media)
	}
	if o.Timeout < 0 {
		return fmt.Errorf("%w: negative timeout %s", ErrInvalidOption, o.Timeout)
	}
	switch o.Wait.Kind {
	case WaitLoad, WaitNetworkIdle:
	case WaitVisible:
		if strings.TrimSpace(o.Wait.Selector) == "" {
			return fmt.Errorf("%w: WaitVisible needs a selector", ErrInvalidOption)
		}
	case WaitExpression:
		if strings.TrimSpace(o.Wait.Expression) == "" {
			return fmt.Errorf("%w: WaitExpression needs an expression", ErrInvalidOption)
		}
	case WaitDelay:
		if o.Wait.Delay < 0 {
			return fmt.Errorf("%w: negative wait delay %s", ErrInvalidOption, o.Wait.Delay)
		}
	default:
		return fmt.Errorf("%w: unknown wait kind %d", ErrInvalidOption, o.Wait.Kind)
	}
	for k, v := range o.Headers {
		if !isToken(k) || strings.ContainsFunc(v, isCTL) {
			return fmt.Errorf("%w: bad HTTP header %q", ErrInvalidOption, k)
		}
		if http.CanonicalHeaderKey(k) == "Host" {
			return fmt.Errorf("%w: the Host header cannot be overridden", ErrInvalidOption)
		}
	}
	for _, c := range o.Cookies {
		if c.Name == "" || strings.ContainsAny(c.Name, "=; \t\r\n") || strings.ContainsAny(c.Value, ";\r\n") {
			return fmt.Errorf("%w: bad cookie %q", ErrInvalidOption, c.Name)
		}
	}
	if strings.ContainsAny(o.UserAgent, "\r\n") {
		return fmt.Errorf("%w: user agent contains a line break", ErrInvalidOption)
	}
	return nil
}

// isToken reports whether s is an HTTP field name (RFC 9110 section 5.1,
// a token): Chromium sends no other.
func isToken(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r >= utf8.RuneSelf || r <= ' ' || r == 0x7f || strings.ContainsRune(`"(),/:;<=>?@[\]{}`, r) {
			return false
		}
	}
	return true
}

// isCTL reports whether r is a control character other than a tab, which
// no HTTP field value may hold (RFC 9110 section 5.5).
func isCTL(r rune) bool { return (r < ' ' && r != '\t') || r == 0x7f }
