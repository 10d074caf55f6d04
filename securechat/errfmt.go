package securechat

import (
	"strconv"
	"time"
)

// formatError is the error formatting of the WebAssembly build (see
// errorf_js.go), where fmt and the reflect package it needs are not
// linked. It understands the verbs this package's errors use, with the
// meaning fmt gives them: %w (wraps the error, as fmt.Errorf does; several
// %w wrap them all), %v and %s (errors, Stringers, strings, integers,
// booleans), %d (integers), %q (strings, quoted as strconv.Quote does) and
// %#x (unsigned integers, 0x-prefixed). An operand of another type is
// written as fmt writes a wrong one, "%!v(unsupported)". The native build
// calls fmt.Errorf instead; a test holds the two to the same text.
func formatError(format string, args []any) error {
	var b []byte
	var wrapped []error
	next := 0
	for i := 0; i < len(format); i++ {
		c := format[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+1 == len(format) {
			b = append(b, "%!(NOVERB)"...)
			continue
		}
		i++
		if format[i] == '%' {
			b = append(b, '%')
			continue
		}
		alt := format[i] == '#'
		if alt && i+1 < len(format) {
			i++
		}
		verb := format[i]
		if next == len(args) {
			b = append(b, "%!"...)
			b = append(b, verb)
			b = append(b, "(MISSING)"...)
			continue
		}
		arg := args[next]
		next++
		if err, ok := arg.(error); ok && verb == 'w' {
			wrapped = append(wrapped, err)
			b = append(b, err.Error()...)
			continue
		}
		b = appendOperand(b, verb, alt, arg)
	}
	e := &formattedError{msg: string(b)}
	switch len(wrapped) {
	case 0:
		return e
	case 1:
		return &wrappedError{formattedError: e, err: wrapped[0]}
	default:
		return &wrappedErrors{formattedError: e, errs: wrapped}
	}
}

// appendOperand appends one operand formatted by verb ('v', 's', 'd', 'q'
// or 'x' with alt).
func appendOperand(b []byte, verb byte, alt bool, arg any) []byte {
	switch v := arg.(type) {
	case nil:
		return append(b, "%!"+string(verb)+"(<nil>)"...)
	case error:
		if verb == 'v' || verb == 's' {
			return append(b, v.Error()...)
		}
	case time.Duration: // a Stringer, but %d writes its nanoseconds
		if verb == 'd' {
			return strconv.AppendInt(b, int64(v), 10)
		}
		if verb == 'v' || verb == 's' {
			return append(b, v.String()...)
		}
	case interface{ String() string }:
		if verb == 'v' || verb == 's' {
			return append(b, v.String()...)
		}
	case string:
		return appendString(b, verb, v)
	case PeerID:
		return appendString(b, verb, string(v))
	case bool:
		if verb == 'v' {
			return strconv.AppendBool(b, v)
		}
	case int:
		return appendInt(b, verb, alt, int64(v))
	case int8:
		return appendInt(b, verb, alt, int64(v))
	case int16:
		return appendInt(b, verb, alt, int64(v))
	case int32:
		return appendInt(b, verb, alt, int64(v))
	case int64:
		return appendInt(b, verb, alt, v)
	case uint:
		return appendUint(b, verb, alt, uint64(v))
	case uint8:
		return appendUint(b, verb, alt, uint64(v))
	case uint16:
		return appendUint(b, verb, alt, uint64(v))
	case uint32:
		return appendUint(b, verb, alt, uint64(v))
	case uint64:
		return appendUint(b, verb, alt, v)
	case MessageType:
		return appendUint(b, verb, alt, uint64(v))
	}
	return append(b, "%!"+string(verb)+"(unsupported)"...)
}

func appendString(b []byte, verb byte, s string) []byte {
	switch verb {
	case 'v', 's':
		return append(b, s...)
	case 'q':
		return strconv.AppendQuote(b, s)
	}
	return append(b, "%!"+string(verb)+"(unsupported)"...)
}

func appendInt(b []byte, verb byte, alt bool, v int64) []byte {
	if v < 0 && verb == 'x' {
		return appendUint(append(b, '-'), verb, alt, uint64(-v))
	}
	if verb == 'x' {
		return appendUint(b, verb, alt, uint64(v))
	}
	if verb == 'd' || verb == 'v' {
		return strconv.AppendInt(b, v, 10)
	}
	return append(b, "%!"+string(verb)+"(unsupported)"...)
}

func appendUint(b []byte, verb byte, alt bool, v uint64) []byte {
	switch verb {
	case 'd', 'v':
		return strconv.AppendUint(b, v, 10)
	case 'x':
		if alt {
			b = append(b, "0x"...)
		}
		return strconv.AppendUint(b, v, 16)
	}
	return append(b, "%!"+string(verb)+"(unsupported)"...)
}

// formattedError, wrappedError and wrappedErrors are what formatError
// returns, as fmt.Errorf returns its own types for no, one or several %w.
type formattedError struct{ msg string }

func (e *formattedError) Error() string { return e.msg }

type wrappedError struct {
	*formattedError
	err error
}

func (e *wrappedError) Unwrap() error { return e.err }

type wrappedErrors struct {
	*formattedError
	errs []error
}

func (e *wrappedErrors) Unwrap() []error { return e.errs }
