package upload

import (
	"errors"
	"net/http"
)

// Sentinel errors. The HTTP handlers map each to a status (see StatusOf).
var (
	ErrNotFound        = errors.New("upload: not found")
	ErrUnauthenticated = errors.New("upload: authentication required")
	ErrForbidden       = errors.New("upload: not allowed")
	ErrTooLarge        = errors.New("upload: too large")
	ErrTooManyFiles    = errors.New("upload: too many files")
	ErrUnsupportedType = errors.New("upload: file type not allowed")
	ErrEmptyFile       = errors.New("upload: empty file")
	ErrBadRequest      = errors.New("upload: bad request")
	ErrConflict        = errors.New("upload: conflict")
	ErrQueueFull       = errors.New("upload: queue full")
	ErrClosed          = errors.New("upload: shutting down")
	ErrLeaseLost       = errors.New("upload: job lease lost")
	ErrExpired         = errors.New("upload: upload expired")
	ErrChecksum        = errors.New("upload: checksum mismatch")
	ErrBadKey          = errors.New("upload: bad storage key")
	ErrTimeout         = errors.New("upload: request body timed out")
	// ErrUnavailable is a Storage (object storage) that failed while an
	// accepted file was staged in it: answered 503 with Retry-After, and
	// nothing is stored.
	ErrUnavailable = errors.New("upload: file storage is unavailable, try again later")
	// ErrBadName is a client's file name that is refused rather than
	// sanitized (see CheckName).
	ErrBadName = errors.New("upload: file name not allowed")
)

// errTransient marks a processor error worth retrying.
var errTransient = errors.New("transient")

type transientError struct{ err error }

func (e transientError) Error() string   { return e.err.Error() }
func (e transientError) Unwrap() []error { return []error{e.err, errTransient} }

// Transient wraps err so the pipeline retries the job with back-off (up to
// Options.MaxAttempts) instead of failing it at once. Use it for errors that
// may go away: a database that is busy, a network call that timed out.
func Transient(err error) error {
	if err == nil {
		return nil
	}
	return transientError{err}
}

// IsTransient reports whether err was marked with Transient.
func IsTransient(err error) bool { return errors.Is(err, errTransient) }

// StatusOf maps an error of this package to an HTTP status: 400, 401, 403,
// 404, 408, 409, 410, 413, 415, 460 (tus checksum mismatch), 503, or 500 for
// anything else.
func StatusOf(err error) int {
	switch {
	case errors.Is(err, ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, ErrConflict):
		return http.StatusConflict
	case errors.Is(err, ErrExpired):
		return http.StatusGone
	case errors.Is(err, ErrTooLarge), errors.Is(err, ErrTooManyFiles):
		return http.StatusRequestEntityTooLarge
	case errors.Is(err, ErrUnsupportedType):
		return http.StatusUnsupportedMediaType
	case errors.Is(err, ErrTimeout):
		return http.StatusRequestTimeout
	case errors.Is(err, ErrChecksum):
		return 460
	case errors.Is(err, ErrEmptyFile), errors.Is(err, ErrBadRequest), errors.Is(err, ErrBadName):
		return http.StatusBadRequest
	case errors.Is(err, ErrQueueFull), errors.Is(err, ErrClosed), errors.Is(err, ErrUnavailable):
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}
