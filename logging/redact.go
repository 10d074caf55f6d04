package logging

import (
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// RedactedValue replaces the value of every sensitive attribute.
const RedactedValue = "[REDACTED]"

// DefaultRedactKeys returns the keys whose values are redacted by default:
// password, passwords, passwd, pwd, password_hash, secret, secret_key,
// token, tokens, access_token, refresh_token, jwt, authorization, x-auth,
// credential, credentials, cookie, set-cookie, api_key, apikey, access_key,
// access_key_id, private_key, signature, session and session_id.
// Matching ignores ASCII case, ASCII white space and the characters '-' and '_', and a key also
// matches when it ends with one of these (so "db_password", "X-Api-Key" and
// "Proxy-Authorization" are redacted too). The slice is a fresh copy.
func DefaultRedactKeys() []string {
	return []string{
		"password", "passwords", "passwd", "pwd", "password_hash",
		"secret", "secret_key", "token", "tokens", "access_token", "refresh_token", "jwt",
		"authorization", "x-auth", "credential", "credentials", "cookie", "set-cookie",
		"api_key", "apikey", "access_key", "access_key_id", "private_key", "signature",
		"session", "session_id",
	}
}

// paramKeys are redacted, on top of the attribute keys, in URL query
// parameters and request headers: names that are too general for log
// attributes but in a URL mean an API key ("key"), an OAuth code or a
// signature ("sig").
var paramKeys = []string{"key", "code", "sig"}

// Secret is a string that never appears in logs or formatted output: its
// LogValue, String, GoString, Format and MarshalText all produce
// RedactedValue. Convert it with string(s) where the real value is needed.
type Secret string

// LogValue implements slog.LogValuer.
func (Secret) LogValue() slog.Value { return slog.StringValue(RedactedValue) }

// String implements fmt.Stringer.
func (Secret) String() string { return RedactedValue }

// GoString implements fmt.GoStringer, so %#v does not reveal the value.
func (Secret) GoString() string { return RedactedValue }

// Format implements fmt.Formatter, so no verb (%s, %v, %q, %x, …) reveals
// the value.
func (Secret) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(RedactedValue)) }

// MarshalText implements encoding.TextMarshaler, so JSON and text encoders
// write RedactedValue.
func (Secret) MarshalText() ([]byte, error) { return []byte(RedactedValue), nil }

// keySet matches attribute keys against normalized sensitive keys. A key
// matches when, after lower-casing ASCII letters and dropping '-' and '_', it
// equals or ends with a sensitive key. Keys are grouped by their last byte
// so that a lookup compares against at most a few candidates and never
// allocates.
type keySet struct {
	byLast [256][]string
	// params matches URL query parameters and request headers: the same
	// keys and paramKeys. nil inside params itself.
	params *keySet
}

// normalizeKey lower-cases ASCII letters and drops '-', '_' and ASCII
// white space.
func normalizeKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if isKeySeparator(c) {
			continue
		}
		b.WriteByte(lowerASCII(c))
	}
	return b.String()
}

// isKeySeparator reports whether c is ignored when keys are compared: '-',
// '_' and ASCII white space (so "password " and "db password" match too).
func isKeySeparator(c byte) bool {
	switch c {
	case '-', '_', ' ', '\t', '\n', '\r', '\v', '\f':
		return true
	}
	return false
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}

// newKeySet builds a keySet from keys; keys that normalize to the empty
// string and duplicates are skipped.
func newKeySet(keys []string) *keySet {
	ks := buildKeySet(keys)
	ks.params = buildKeySet(append(slices.Clone(keys), paramKeys...))
	return ks
}

func buildKeySet(keys []string) *keySet {
	ks := &keySet{}
	for _, k := range keys {
		n := normalizeKey(k)
		if n == "" {
			continue
		}
		last := n[len(n)-1]
		if slices.Contains(ks.byLast[last], n) {
			continue
		}
		ks.byLast[last] = append(ks.byLast[last], n)
	}
	return ks
}

// match reports whether key is sensitive. It does not allocate.
func (ks *keySet) match(key string) bool {
	i := len(key) - 1
	for i >= 0 && isKeySeparator(key[i]) {
		i--
	}
	if i < 0 {
		return false
	}
	for _, cand := range ks.byLast[lowerASCII(key[i])] {
		if hasNormalizedSuffix(key[:i+1], cand) {
			return true
		}
	}
	return false
}

// hasNormalizedSuffix reports whether the normalized form of key ends with
// the already-normalized suffix.
func hasNormalizedSuffix(key, suffix string) bool {
	i, j := len(key)-1, len(suffix)-1
	for j >= 0 {
		if i < 0 {
			return false
		}
		c := key[i]
		i--
		if isKeySeparator(c) {
			continue
		}
		if lowerASCII(c) != suffix[j] {
			return false
		}
		j--
	}
	return true
}

// needsChange reports whether redact would change a: its key is sensitive,
// it holds a value to resolve (slog.LogValuer), an http.Header, or a group
// containing any of these. all means every value is sensitive (the attribute
// sits inside a group whose name is sensitive).
func (ks *keySet) needsChange(a slog.Attr, all bool) bool {
	if all || ks.match(a.Key) {
		return true
	}
	switch a.Value.Kind() {
	case slog.KindLogValuer:
		return true
	case slog.KindString:
		return mayHoldURL(a.Value.String())
	case slog.KindGroup:
		for _, ga := range a.Value.Group() {
			if ks.needsChange(ga, false) {
				return true
			}
		}
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case http.Header, *http.Header, *url.URL, url.URL:
			return true
		case error:
			return mayHoldURL(v.Error())
		default:
			return ks.holdsSecret(v, 0)
		}
	}
	return false
}

// maxMapDepth bounds how deep nested map[string]any values are inspected;
// deeper (or cyclic) maps are redacted wholesale rather than recursed into.
const maxMapDepth = 8

// mapNeedsChange reports whether a string-keyed map (url.Values, a form, a
// decoded JSON object) holds a sensitive key or a URL with secrets, here or
// in nested values (see holdsSecret).
func mapNeedsChange[V any](ks *keySet, m map[string]V, depth int) bool {
	for k, v := range m {
		if ks.match(k) || ks.holdsSecret(any(v), depth+1) {
			return true
		}
	}
	return false
}

// mapValue turns m into a group value with one attribute per key, sorted,
// with the values of sensitive keys replaced by RedactedValue, nested
// map[string]any values turned into groups the same way and other nested
// values scrubbed (see scrub).
func mapValue[V any](ks *keySet, m map[string]V, depth int) slog.Value {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	attrs := make([]slog.Attr, len(keys))
	for i, k := range keys {
		v := any(m[k])
		inner, isMap := v.(map[string]any)
		switch {
		case ks.match(k), isMap && depth >= maxMapDepth:
			attrs[i] = slog.String(k, RedactedValue)
		case isMap:
			attrs[i] = slog.Attr{Key: k, Value: mapValue(ks, inner, depth+1)}
		case ks.holdsSecret(v, depth+1):
			attrs[i] = slog.Any(k, ks.scrub(v, depth+1))
		default:
			attrs[i] = slog.Any(k, v)
		}
	}
	return slog.GroupValue(attrs...)
}

// redact returns a with sensitive values replaced by RedactedValue, at any
// depth, and whether it changed anything. LogValuer values are resolved
// (unless the key itself is sensitive, in which case LogValue is never
// called); an http.Header becomes a group of its fields with sensitive
// header values redacted.
func (ks *keySet) redact(a slog.Attr, all bool) (slog.Attr, bool) {
	if all || ks.match(a.Key) {
		return slog.String(a.Key, RedactedValue), true
	}
	switch a.Value.Kind() {
	case slog.KindLogValuer:
		a.Value = a.Value.Resolve()
		a, _ = ks.redactComposite(a)
		return a, true
	case slog.KindString:
		if v, changed := ks.redactURLs(a.Value.String()); changed {
			return slog.String(a.Key, v), true
		}
	case slog.KindGroup, slog.KindAny:
		return ks.redactComposite(a)
	}
	return a, false
}

// redactComposite handles group and header values of an attribute whose key
// is not sensitive.
func (ks *keySet) redactComposite(a slog.Attr) (slog.Attr, bool) {
	switch a.Value.Kind() {
	case slog.KindGroup:
		g := a.Value.Group()
		if !slices.ContainsFunc(g, func(ga slog.Attr) bool { return ks.needsChange(ga, false) }) {
			return a, false
		}
		out := make([]slog.Attr, len(g))
		for i, ga := range g {
			out[i], _ = ks.redact(ga, false)
		}
		a.Value = slog.GroupValue(out...)
		return a, true
	case slog.KindAny:
		switch v := a.Value.Any().(type) {
		case http.Header:
			a.Value = headerValue(v, ks)
			return a, true
		case *http.Header:
			if v != nil {
				a.Value = headerValue(*v, ks)
				return a, true
			}
		case *url.URL:
			if v != nil {
				a.Value = slog.StringValue(ks.redactURL(v))
				return a, true
			}
		case url.URL:
			a.Value = slog.StringValue(ks.redactURL(&v))
			return a, true
		case url.Values:
			if mapNeedsChange(ks, v, 0) {
				a.Value = mapValue(ks, v, 0)
				return a, true
			}
		case map[string][]string:
			if mapNeedsChange(ks, v, 0) {
				a.Value = mapValue(ks, v, 0)
				return a, true
			}
		case map[string]string:
			if mapNeedsChange(ks, v, 0) {
				a.Value = mapValue(ks, v, 0)
				return a, true
			}
		case map[string]any:
			if mapNeedsChange(ks, v, 0) {
				a.Value = mapValue(ks, v, 0)
				return a, true
			}
		case error:
			// An error's text can quote a URL (*url.Error from http.Client
			// does); it is logged as its redacted text.
			if s, changed := ks.redactURLs(v.Error()); changed {
				a.Value = slog.StringValue(s)
				return a, true
			}
		default:
			if ks.holdsSecret(v, 0) {
				a.Value = slog.AnyValue(ks.scrub(v, 0))
				return a, true
			}
		}
	}
	return a, false
}

// headerValue turns h into a group value with one attribute per field
// (sorted by name, multiple values joined with ", "), redacting the values
// of sensitive fields. ks may be nil, in which case nothing is redacted.
func headerValue(h http.Header, ks *keySet) slog.Value {
	names := make([]string, 0, len(h))
	for name := range h {
		names = append(names, name)
	}
	slices.Sort(names)
	attrs := make([]slog.Attr, 0, len(names))
	for _, name := range names {
		v := strings.Join(h[name], ", ")
		if ks != nil && ks.match(name) {
			v = RedactedValue
		}
		attrs = append(attrs, slog.String(name, v))
	}
	return slog.GroupValue(attrs...)
}
