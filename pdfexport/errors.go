package pdfexport

import (
	"errors"
	"fmt"
	"net/http"
)

// Sentinel errors. Every error of the package wraps one of them, an
// [*HTTPStatusError], a [*NavigationError] or a context error, so callers can
// check with [errors.Is] and [errors.As].
var (
	// ErrNoBrowser means no Chromium-family browser was found. Its message
	// says how to install one.
	ErrNoBrowser = errors.New("pdfexport: no Chromium browser found; install one (Debian/Ubuntu: apt-get install -y chromium) or set FINKIT_CHROME or Options.ExecPath to its path")

	// ErrClosed is returned by every method called after Close.
	ErrClosed = errors.New("pdfexport: converter is closed")

	// ErrInvalidOption means an Options or PageOptions field, or a value
	// parsed by ParseLength, ParsePaperSize or ParseMargins, is invalid.
	ErrInvalidOption = errors.New("pdfexport: invalid option")

	// ErrUnsupportedURL means the URL is not an absolute http or https URL
	// (file:, data:, javascript:, chrome: and the like are rejected).
	ErrUnsupportedURL = errors.New("pdfexport: unsupported URL")

	// ErrBlockedURL means DenyPrivateNetworks refused the page because its
	// host is, or resolves to, a private, loopback, link-local or otherwise
	// internal address that is not allow-listed.
	ErrBlockedURL = errors.New("pdfexport: URL blocked by the private-network policy")

	// ErrNavigation is wrapped by [*NavigationError]: the page could not be
	// loaded at all (DNS failure, connection refused, TLS error, ...).
	ErrNavigation = errors.New("pdfexport: navigation failed")

	// ErrJSException means the page threw an uncaught JavaScript exception
	// and PageOptions.FailOnJSError was set.
	ErrJSException = errors.New("pdfexport: JavaScript exception on the page")

	// ErrResourceFailed means a sub-resource (image, script, style sheet,
	// ...) failed to load or answered with HTTP status >= 400 and
	// PageOptions.FailOnResourceError was set.
	ErrResourceFailed = errors.New("pdfexport: a sub-resource failed to load")

	// ErrBrowserCrashed means Chromium died during the conversion and the
	// one automatic retry on a fresh browser failed too.
	ErrBrowserCrashed = errors.New("pdfexport: browser crashed")

	// ErrPDFTooLarge means the PDF grew past Options.MaxPDFBytes; the
	// conversion stopped there.
	ErrPDFTooLarge = errors.New("pdfexport: PDF too large")

	// ErrHTTPStatus is matched by errors.Is for every [*HTTPStatusError].
	ErrHTTPStatus = errors.New("pdfexport: HTTP error status")
)

// HTTPStatusError reports that the main document answered with an HTTP
// status of 400 or more (unless PageOptions.AllowHTTPErrors is set).
type HTTPStatusError struct {
	URL        string // the final URL of the main document, after redirects, without its query string (see displayURL)
	StatusCode int
}

func (e *HTTPStatusError) Error() string {
	return fmt.Sprintf("pdfexport: %s answered HTTP %d %s", e.URL, e.StatusCode, http.StatusText(e.StatusCode))
}

// Is makes errors.Is(err, ErrHTTPStatus) true.
func (e *HTTPStatusError) Is(target error) bool { return target == ErrHTTPStatus }

// NavigationError reports that Chromium could not load the main document.
// Reason is Chromium's network error, such as "net::ERR_NAME_NOT_RESOLVED"
// or "net::ERR_CONNECTION_REFUSED".
type NavigationError struct {
	URL    string
	Reason string
}

func (e *NavigationError) Error() string {
	return fmt.Sprintf("pdfexport: loading %s failed: %s", e.URL, e.Reason)
}

// Unwrap returns ErrNavigation.
func (e *NavigationError) Unwrap() error { return ErrNavigation }
