package marketdata

import (
	"errors"
	"fmt"
	"strings"
	"time"
)

// Sentinel errors. Errors returned by providers and by the Aggregator wrap
// one of them; test with errors.Is. Use errors.As with *Error to learn the
// provider, the symbol and, for rate limits, when to retry.
var (
	// ErrRateLimited means the provider refused the call because of a rate
	// limit or an exhausted quota (also when the API says so with HTTP 200).
	ErrRateLimited = errors.New("marketdata: rate limited")
	// ErrNotFound means the provider does not know the symbol or has no data
	// for it (including "N/D" rows and all-zero answers).
	ErrNotFound = errors.New("marketdata: not found")
	// ErrUnavailable means the provider could not be reached or failed
	// (network error, timeout, HTTP 5xx, authentication failure).
	ErrUnavailable = errors.New("marketdata: provider unavailable")
	// ErrBadResponse means the provider answered with a malformed payload,
	// for example HTML where CSV or JSON was expected.
	ErrBadResponse = errors.New("marketdata: bad response")
	// ErrUnsupported means the provider does not cover this kind of symbol
	// (a crypto API asked for a share, for example). The Aggregator skips
	// such pairs silently.
	ErrUnsupported = errors.New("marketdata: unsupported symbol for provider")
	// ErrInvalidSymbol means the symbol or currency code is malformed.
	ErrInvalidSymbol = errors.New("marketdata: invalid symbol")
	// ErrCircuitOpen means the Aggregator skipped a provider that failed
	// repeatedly and is cooling down.
	ErrCircuitOpen = errors.New("marketdata: circuit open")
	// ErrNoQuote means no provider returned a usable quote or rate.
	ErrNoQuote = errors.New("marketdata: no quote available")
	// ErrTooFewBars means a statistic needs more bars than were given.
	ErrTooFewBars = errors.New("marketdata: too few bars")
	// ErrBadData means a bar series contains a non-positive or non-finite
	// price or is not in ascending time order.
	ErrBadData = errors.New("marketdata: bad bar data")
	// ErrClosed means the Aggregator was closed.
	ErrClosed = errors.New("marketdata: aggregator closed")
	// ErrLowConfidence means the merged price or rate cannot be trusted: the
	// sources disagree beyond the tolerance without a majority, or only
	// stale or undated quotes exist. The error is a *LowConfidenceError
	// carrying the merged detail.
	ErrLowConfidence = errors.New("marketdata: low confidence")
)

// LowConfidenceError is returned by Aggregator.Price and Aggregator.Rate when
// the consensus is not trusted. Merged holds the whole picture (every
// source, the best guess in Price, why confidence is low in Reason); it
// unwraps to ErrLowConfidence.
type LowConfidenceError struct {
	Merged Merged
}

// Error implements error.
func (e *LowConfidenceError) Error() string {
	return fmt.Sprintf("marketdata: low confidence in %s: %s", e.Merged.Symbol, e.Merged.Reason)
}

// Unwrap returns ErrLowConfidence.
func (e *LowConfidenceError) Unwrap() error { return ErrLowConfidence }

// Error is the typed error of a provider call. It unwraps to Kind (one of the
// sentinel errors) and, if set, to Err (the underlying cause).
type Error struct {
	Provider   string        // provider name, e.g. "yahoo"
	Symbol     string        // symbol or currency pair asked for, if any
	Kind       error         // sentinel: ErrRateLimited, ErrNotFound, …
	Status     int           // HTTP status, if any
	RetryAfter time.Duration // for ErrRateLimited: wait this long, if known
	Msg        string        // provider's message or detail
	Err        error         // underlying cause, if any
}

// Error implements error.
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Provider)
	if e.Symbol != "" {
		b.WriteString(" ")
		b.WriteString(e.Symbol)
	}
	b.WriteString(": ")
	if e.Kind != nil {
		b.WriteString(strings.TrimPrefix(e.Kind.Error(), "marketdata: "))
	} else {
		b.WriteString("error")
	}
	if e.Status != 0 {
		fmt.Fprintf(&b, " (HTTP %d)", e.Status)
	}
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.Msg != "" {
		b.WriteString(": ")
		b.WriteString(e.Msg)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the sentinel kind and the cause.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 2)
	if e.Kind != nil {
		errs = append(errs, e.Kind)
	}
	if e.Err != nil {
		errs = append(errs, e.Err)
	}
	return errs
}

// NewError returns an *Error of the given kind for provider and symbol.
func NewError(provider, symbol string, kind error, msg string) *Error {
	return &Error{Provider: provider, Symbol: symbol, Kind: kind, Msg: msg}
}

// RetryAfter returns how long err asks the caller to wait, or 0.
func RetryAfter(err error) time.Duration {
	var e *Error
	if errors.As(err, &e) {
		return e.RetryAfter
	}
	return 0
}
