package logging

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
)

// holdsSecret reports whether v, a decoded-JSON-like value (maps with
// string keys, []any, []map[string]any, strings), holds a sensitive key or
// a URL with credentials or sensitive parameters at any depth. Values
// nested deeper than maxMapDepth count as secret (they are redacted
// wholesale rather than inspected). Other types are not inspected.
func (ks *keySet) holdsSecret(v any, depth int) bool {
	if depth > maxMapDepth {
		return isContainer(v)
	}
	switch x := v.(type) {
	case string:
		return mayHoldURL(x)
	case map[string]any:
		return mapNeedsChange(ks, x, depth)
	case map[string]string:
		return mapNeedsChange(ks, x, depth)
	case map[string][]string:
		return mapNeedsChange(ks, x, depth)
	case url.Values:
		return mapNeedsChange(ks, x, depth)
	case http.Header:
		return mapNeedsChange(ks, x, depth)
	case []any:
		for _, e := range x {
			if ks.holdsSecret(e, depth+1) {
				return true
			}
		}
	case []map[string]any:
		for _, e := range x {
			if mapNeedsChange(ks, e, depth+1) {
				return true
			}
		}
	case []string:
		for _, e := range x {
			if mayHoldURL(e) {
				return true
			}
		}
	case []byte:
		// The text handler prints a []byte as its text.
		return mayHoldURL(string(x))
	case error:
		return mayHoldURL(x.Error())
	case fmt.Stringer:
		// The text handler (and %v) print a Stringer's text, which can be
		// a URL with its password (url.URL inside a map, say).
		return mayHoldURL(x.String())
	}
	return false
}

func isContainer(v any) bool {
	switch v.(type) {
	case map[string]any, map[string]string, map[string][]string, url.Values, http.Header, []any, []map[string]any:
		return true
	}
	return false
}

// scrub returns a copy of v, of the types holdsSecret inspects, with the
// values of sensitive keys replaced by RedactedValue and the URLs in
// strings redacted; the shape is kept (an array stays an array), so JSON
// output still reads like the original. v itself is never modified.
func (ks *keySet) scrub(v any, depth int) any {
	if depth > maxMapDepth && isContainer(v) {
		return RedactedValue
	}
	switch x := v.(type) {
	case string:
		s, _ := ks.redactURLs(x)
		return s
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			if ks.match(k) {
				out[k] = RedactedValue
			} else {
				out[k] = ks.scrub(e, depth+1)
			}
		}
		return out
	case map[string]string:
		out := make(map[string]string, len(x))
		for k, e := range x {
			if ks.match(k) {
				e = RedactedValue
			} else {
				e, _ = ks.redactURLs(e)
			}
			out[k] = e
		}
		return out
	case map[string][]string:
		return scrubMulti(ks, x)
	case url.Values:
		return url.Values(scrubMulti(ks, x))
	case http.Header:
		return http.Header(scrubMulti(ks, x))
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = ks.scrub(e, depth+1)
		}
		return out
	case []map[string]any:
		out := make([]map[string]any, len(x))
		for i, e := range x {
			out[i] = ks.scrub(e, depth+1).(map[string]any)
		}
		return out
	case []string:
		out := make([]string, len(x))
		for i, e := range x {
			out[i], _ = ks.redactURLs(e)
		}
		return out
	case []byte:
		if s, changed := ks.redactURLs(string(x)); changed {
			return []byte(s)
		}
	case error:
		if s, changed := ks.redactURLs(x.Error()); changed {
			return s
		}
	case fmt.Stringer:
		if s, changed := ks.redactURLs(x.String()); changed {
			return s
		}
	}
	return v
}

func scrubMulti(ks *keySet, m map[string][]string) map[string][]string {
	out := make(map[string][]string, len(m))
	for k, vs := range m {
		if ks.match(k) {
			out[k] = []string{RedactedValue}
			continue
		}
		c := make([]string, len(vs))
		for i, e := range vs {
			c[i], _ = ks.redactURLs(e)
		}
		out[k] = c
	}
	return out
}

// mayHoldURL is the cheap test that lets text without a URL through
// untouched.
func mayHoldURL(s string) bool { return strings.Contains(s, "://") }

// redactURLs redacts every URL in s (a scheme, "://", up to white space or
// a quote): its userinfo, and the values of its sensitive query and
// fragment parameters (the attribute keys plus key, code and sig). It
// reports whether it changed anything.
func (ks *keySet) redactURLs(s string) (string, bool) {
	if !mayHoldURL(s) {
		return s, false
	}
	var b strings.Builder
	changed := false
	rest := s
	for {
		i := strings.Index(rest, "://")
		if i < 0 {
			break
		}
		start := i
		for start > 0 && isSchemeByte(rest[start-1]) {
			start--
		}
		end := i + 3
		for end < len(rest) && !isURLEnd(rest[end]) {
			end++
		}
		if start == i { // no scheme: not a URL
			b.WriteString(rest[:end])
			rest = rest[end:]
			continue
		}
		b.WriteString(rest[:start])
		raw := rest[start:end]
		red := ks.redactRawURL(raw)
		changed = changed || red != raw
		b.WriteString(red)
		rest = rest[end:]
	}
	if !changed {
		return s, false
	}
	b.WriteString(rest)
	return b.String(), true
}

func isSchemeByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'
}

func isURLEnd(c byte) bool {
	switch c {
	case ' ', '\t', '\r', '\n', '"', '\'', '`', '<', '>':
		return true
	}
	return false
}

// redactRawURL redacts one URL. One that does not parse is replaced whole
// when it could carry a secret (userinfo or parameters).
func (ks *keySet) redactRawURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		if strings.ContainsAny(raw, "@?#") {
			return RedactedValue
		}
		return raw
	}
	return ks.redactURL(u)
}

// redactURL formats u with its userinfo and the values of its sensitive
// query and fragment parameters replaced by RedactedValue. A URL with
// nothing to redact prints as u.String().
func (ks *keySet) redactURL(u *url.URL) string {
	query, qChanged := ks.redactParams(u.RawQuery)
	frag, fChanged := ks.redactParams(u.EscapedFragment())
	if u.User == nil && !qChanged && !fChanged {
		return u.String()
	}
	c := *u
	c.User, c.RawQuery, c.Fragment, c.RawFragment = nil, "", "", ""
	s := c.String()
	if u.User != nil {
		if scheme, rest, ok := strings.Cut(s, "://"); ok {
			s = scheme + "://" + RedactedValue + "@" + rest
		}
	}
	if u.RawQuery != "" || u.ForceQuery {
		s += "?" + query
	}
	if u.Fragment != "" {
		s += "#" + frag
	}
	return s
}

// redactParams replaces the values of sensitive parameters in an encoded
// k=v&k=v list, keeping everything else as it was.
func (ks *keySet) redactParams(raw string) (string, bool) {
	if raw == "" || !strings.Contains(raw, "=") {
		return raw, false
	}
	params := ks.params
	if params == nil {
		params = ks
	}
	// Some servers also split on ';', so both separate parameters here; the
	// separators are kept as they were.
	var b strings.Builder
	changed := false
	rest := raw
	for rest != "" {
		end := strings.IndexAny(rest, "&;")
		if end < 0 {
			end = len(rest)
		}
		p := rest[:end]
		if k, _, hasValue := strings.Cut(p, "="); hasValue && params.matchParam(k) {
			p = p[:strings.IndexByte(p, '=')+1] + RedactedValue
			changed = true
		}
		b.WriteString(p)
		if end < len(rest) {
			b.WriteByte(rest[end])
			end++
		}
		rest = rest[end:]
	}
	if !changed {
		return raw, false
	}
	return b.String(), true
}

// matchParam reports whether the encoded parameter key k is sensitive:
// unescaped, and with an array or map suffix ("token[]", "token[0]",
// "auth[token]") its name or the part in brackets.
func (ks *keySet) matchParam(k string) bool {
	if uk, err := url.QueryUnescape(k); err == nil {
		k = uk
	}
	if ks.match(k) {
		return true
	}
	name, sub, ok := strings.Cut(k, "[")
	return ok && (ks.match(name) || ks.match(strings.Trim(sub, "[]")))
}
