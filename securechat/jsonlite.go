package securechat

import (
	"encoding/base64"
	"errors"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"
)

// A small JSON reader and writer for the two JSON documents a Client
// handles: relay frames and its saved state. The WebAssembly build uses
// them instead of encoding/json, whose reflection-driven decoder is about
// a twentieth of the module (see codec_js.go); the native build keeps
// encoding/json. Both builds compile this file, and the tests hold it to
// encoding/json: what it writes is byte for byte what json.Marshal
// writes, and what it accepts, encoding/json accepts with the same
// result (it refuses some documents encoding/json would take, such as
// non-ASCII keys, which encoding/json may fold into a field name).

var errJSON = errors.New("invalid JSON")

// maxJSONDepth bounds nesting, so hostile input cannot exhaust the stack.
const maxJSONDepth = 16

// jsonNumber is a number literal, parsed by the field that receives it.
type jsonNumber string

// jsonMember is one name/value pair of an object, in document order.
type jsonMember struct {
	name string
	val  any
}

// parseJSON parses a whole document into nil, bool, string, jsonNumber,
// []any or []jsonMember.
func parseJSON(b []byte) (any, error) {
	p := jsonParser{b: b}
	v, err := p.value(0)
	if err != nil {
		return nil, err
	}
	p.space()
	if p.i != len(p.b) {
		return nil, errJSON
	}
	return v, nil
}

type jsonParser struct {
	b []byte
	i int
}

func (p *jsonParser) space() {
	for p.i < len(p.b) && (p.b[p.i] == ' ' || p.b[p.i] == '\t' || p.b[p.i] == '\n' || p.b[p.i] == '\r') {
		p.i++
	}
}

func (p *jsonParser) literal(word string, v any) (any, error) {
	if len(p.b)-p.i < len(word) || string(p.b[p.i:p.i+len(word)]) != word {
		return nil, errJSON
	}
	p.i += len(word)
	return v, nil
}

func (p *jsonParser) value(depth int) (any, error) {
	if depth > maxJSONDepth {
		return nil, errJSON
	}
	p.space()
	if p.i >= len(p.b) {
		return nil, errJSON
	}
	switch c := p.b[p.i]; {
	case c == '{':
		return p.object(depth)
	case c == '[':
		return p.array(depth)
	case c == '"':
		return p.str()
	case c == 't':
		return p.literal("true", true)
	case c == 'f':
		return p.literal("false", false)
	case c == 'n':
		return p.literal("null", nil)
	case c == '-' || (c >= '0' && c <= '9'):
		return p.number()
	}
	return nil, errJSON
}

func (p *jsonParser) object(depth int) (any, error) {
	p.i++ // {
	members := []jsonMember{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == '}' {
		p.i++
		return members, nil
	}
	for {
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != '"' {
			return nil, errJSON
		}
		name, err := p.str()
		if err != nil {
			return nil, err
		}
		p.space()
		if p.i >= len(p.b) || p.b[p.i] != ':' {
			return nil, errJSON
		}
		p.i++
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		members = append(members, jsonMember{name: name, val: v})
		p.space()
		if p.i >= len(p.b) {
			return nil, errJSON
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case '}':
			p.i++
			return members, nil
		default:
			return nil, errJSON
		}
	}
}

func (p *jsonParser) array(depth int) (any, error) {
	p.i++ // [
	items := []any{}
	p.space()
	if p.i < len(p.b) && p.b[p.i] == ']' {
		p.i++
		return items, nil
	}
	for {
		v, err := p.value(depth + 1)
		if err != nil {
			return nil, err
		}
		items = append(items, v)
		p.space()
		if p.i >= len(p.b) {
			return nil, errJSON
		}
		switch p.b[p.i] {
		case ',':
			p.i++
		case ']':
			p.i++
			return items, nil
		default:
			return nil, errJSON
		}
	}
}

// number checks the JSON number grammar; the receiving field parses it.
func (p *jsonParser) number() (any, error) {
	start := p.i
	digits := func() int {
		n := 0
		for p.i < len(p.b) && p.b[p.i] >= '0' && p.b[p.i] <= '9' {
			p.i++
			n++
		}
		return n
	}
	if p.b[p.i] == '-' {
		p.i++
	}
	if p.i < len(p.b) && p.b[p.i] == '0' {
		p.i++
	} else if digits() == 0 {
		return nil, errJSON
	}
	if p.i < len(p.b) && p.b[p.i] == '.' {
		p.i++
		if digits() == 0 {
			return nil, errJSON
		}
	}
	if p.i < len(p.b) && (p.b[p.i] == 'e' || p.b[p.i] == 'E') {
		p.i++
		if p.i < len(p.b) && (p.b[p.i] == '+' || p.b[p.i] == '-') {
			p.i++
		}
		if digits() == 0 {
			return nil, errJSON
		}
	}
	return jsonNumber(p.b[start:p.i]), nil
}

// str reads a string as encoding/json does: invalid UTF-8 and lone
// surrogates become U+FFFD, control characters must be escaped.
func (p *jsonParser) str() (string, error) {
	p.i++ // "
	var out []byte
	for p.i < len(p.b) {
		c := p.b[p.i]
		switch {
		case c == '"':
			p.i++
			return string(out), nil
		case c < 0x20:
			return "", errJSON
		case c == '\\':
			r, err := p.escape()
			if err != nil {
				return "", err
			}
			out = utf8.AppendRune(out, r)
		case c < utf8.RuneSelf:
			out = append(out, c)
			p.i++
		default:
			r, size := utf8.DecodeRune(p.b[p.i:])
			out = utf8.AppendRune(out, r) // RuneError for invalid bytes
			p.i += size
		}
	}
	return "", errJSON
}

func (p *jsonParser) escape() (rune, error) {
	if p.i+1 >= len(p.b) {
		return 0, errJSON
	}
	c := p.b[p.i+1]
	p.i += 2
	switch c {
	case '"', '\\', '/':
		return rune(c), nil
	case 'b':
		return '\b', nil
	case 'f':
		return '\f', nil
	case 'n':
		return '\n', nil
	case 'r':
		return '\r', nil
	case 't':
		return '\t', nil
	case 'u':
		r, ok := p.hex4()
		if !ok {
			return 0, errJSON
		}
		if utf16.IsSurrogate(r) {
			// A pair, or U+FFFD for a lone half (the next escape is
			// then read on its own).
			save := p.i
			if p.i+1 < len(p.b) && p.b[p.i] == '\\' && p.b[p.i+1] == 'u' {
				p.i += 2
				if r2, ok := p.hex4(); ok {
					if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
						return d, nil
					}
				}
			}
			p.i = save
			return utf8.RuneError, nil
		}
		return r, nil
	}
	return 0, errJSON
}

func (p *jsonParser) hex4() (rune, bool) {
	if len(p.b)-p.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range p.b[p.i : p.i+4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		case c >= 'A' && c <= 'F':
			c = c - 'A' + 10
		default:
			return 0, false
		}
		r = r<<4 | rune(c)
	}
	p.i += 4
	return r, true
}

// foldedName reports whether key names the field name: exactly, or
// equal but for ASCII case, as encoding/json matches. A non-ASCII key
// that is not exact is refused (errJSON): encoding/json folds some
// (U+212A KELVIN SIGN matches k) and this reader does not try to.
func foldedName(key, name string) (bool, error) {
	if key == name {
		return true, nil
	}
	for i := 0; i < len(key); i++ {
		if key[i] >= utf8.RuneSelf {
			return false, errJSON
		}
	}
	if len(key) != len(name) {
		return false, nil
	}
	for i := 0; i < len(key); i++ {
		a, b := key[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false, nil
		}
	}
	return true, nil
}

// The setters store a JSON value into a field as encoding/json does: null
// leaves the field alone, a value of another type is an error.

func setString(dst *string, v any) error {
	switch x := v.(type) {
	case nil:
		return nil
	case string:
		*dst = x
		return nil
	}
	return errJSON
}

func setBytes(dst *[]byte, v any) error {
	switch x := v.(type) {
	case nil:
		*dst = nil
		return nil
	case string:
		b := make([]byte, base64.StdEncoding.DecodedLen(len(x)))
		n, err := base64.StdEncoding.Decode(b, []byte(x))
		if err != nil {
			return errJSON
		}
		*dst = b[:n]
		return nil
	}
	return errJSON
}

func setUint(dst *uint64, v any) error {
	return setNumber(dst, v, func(s string) (uint64, error) { return strconv.ParseUint(s, 10, 64) })
}

func setInt(dst *int64, v any) error {
	return setNumber(dst, v, func(s string) (int64, error) { return strconv.ParseInt(s, 10, 64) })
}

// setNumber sets *dst to the JSON number v as parse reads it; null leaves
// it as it is.
func setNumber[T int64 | uint64](dst *T, v any, parse func(string) (T, error)) error {
	switch x := v.(type) {
	case nil:
		return nil
	case jsonNumber:
		n, err := parse(string(x))
		if err != nil {
			return errJSON
		}
		*dst = n
		return nil
	}
	return errJSON
}

// appendJSONString writes s as json.Marshal does: <, > and & and the line
// separators U+2028 and U+2029 escaped, invalid UTF-8 as U+FFFD.
func appendJSONString(out []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	out = append(out, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				out = append(out, '\\', c)
			case c == '\n':
				out = append(out, '\\', 'n')
			case c == '\r':
				out = append(out, '\\', 'r')
			case c == '\t':
				out = append(out, '\\', 't')
			case c == '\b':
				out = append(out, '\\', 'b')
			case c == '\f':
				out = append(out, '\\', 'f')
			case c < 0x20 || c == '<' || c == '>' || c == '&':
				out = append(out, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			default:
				out = append(out, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			out = append(out, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			out = append(out, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
		default:
			out = append(out, s[i:i+size]...)
		}
		i += size
	}
	return append(out, '"')
}

func appendJSONBytes(out, b []byte) []byte {
	if b == nil {
		return append(out, "null"...)
	}
	out = append(out, '"')
	out = base64.StdEncoding.AppendEncode(out, b)
	return append(out, '"')
}

// appendFrameJSON writes f as json.Marshal(f) does.
func appendFrameJSON(out []byte, f *frame) []byte {
	out = append(out, `{"type":`...)
	out = appendJSONString(out, f.Type)
	if f.ID != 0 {
		out = strconv.AppendUint(append(out, `,"id":`...), f.ID, 10)
	}
	if f.Peer != "" {
		out = appendJSONString(append(out, `,"peer":`...), string(f.Peer))
	}
	if len(f.Data) > 0 {
		out = appendJSONBytes(append(out, `,"data":`...), f.Data)
	}
	if len(f.Sig) > 0 {
		out = appendJSONBytes(append(out, `,"sig":`...), f.Sig)
	}
	if f.Time != 0 {
		out = strconv.AppendInt(append(out, `,"time":`...), f.Time, 10)
	}
	if f.Count != 0 {
		out = strconv.AppendInt(append(out, `,"count":`...), int64(f.Count), 10)
	}
	if f.Code != "" {
		out = appendJSONString(append(out, `,"code":`...), f.Code)
	}
	if f.Error != "" {
		out = appendJSONString(append(out, `,"error":`...), f.Error)
	}
	return append(out, '}')
}

// parseFrameJSON reads a frame as json.Unmarshal does (see the top of
// this file for what it refuses that encoding/json accepts).
func parseFrameJSON(b []byte) (frame, error) {
	var f frame
	v, err := parseJSON(b)
	if err != nil {
		return f, err
	}
	members, ok := v.([]jsonMember)
	if !ok {
		return f, errJSON
	}
	for _, m := range members {
		if err := setFrameField(&f, m); err != nil {
			return frame{}, err
		}
	}
	return f, nil
}

func setFrameField(f *frame, m jsonMember) error {
	fields := [...]string{"type", "id", "peer", "data", "sig", "time", "count", "code", "error"}
	for i, name := range fields {
		ok, err := foldedName(m.name, name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch i {
		case 0:
			return setString(&f.Type, m.val)
		case 1:
			return setUint(&f.ID, m.val)
		case 2:
			return setString((*string)(&f.Peer), m.val)
		case 3:
			return setBytes(&f.Data, m.val)
		case 4:
			return setBytes(&f.Sig, m.val)
		case 5:
			return setInt(&f.Time, m.val)
		case 6:
			n := int64(f.Count)
			if err := setInt(&n, m.val); err != nil || int64(int(n)) != n {
				return errJSON
			}
			f.Count = int(n)
			return nil
		case 7:
			return setString(&f.Code, m.val)
		default:
			return setString(&f.Error, m.val)
		}
	}
	return nil // an unknown field, ignored as encoding/json does
}

// appendStateJSON writes st as json.Marshal(st) does (map keys sorted).
func appendStateJSON(out []byte, st *clientState) []byte {
	out = strconv.AppendInt(append(out, `{"version":`...), int64(st.Version), 10)
	out = appendJSONBytes(append(out, `,"prekeys":`...), st.Prekeys)
	out = append(out, `,"sessions":`...)
	if st.Sessions == nil {
		out = append(out, "null"...)
	} else {
		peers := make([]string, 0, len(st.Sessions))
		for p := range st.Sessions {
			peers = append(peers, string(p))
		}
		slices.Sort(peers)
		out = append(out, '{')
		for i, p := range peers {
			if i > 0 {
				out = append(out, ',')
			}
			out = append(appendJSONString(out, p), ':')
			out = appendBytesList(out, st.Sessions[PeerID(p)])
		}
		out = append(out, '}')
	}
	out = append(out, `,"groups":`...)
	if st.Groups == nil {
		out = append(out, "null"...)
	} else {
		out = append(out, '[')
		for i := range st.Groups {
			if i > 0 {
				out = append(out, ',')
			}
			g := &st.Groups[i]
			out = appendJSONString(append(out, `{"ID":`...), g.ID)
			out = appendJSONString(append(out, `,"Owner":`...), string(g.Owner))
			out = append(out, `,"Members":`...)
			if g.Members == nil {
				out = append(out, "null"...)
			} else {
				out = append(out, '[')
				for j, m := range g.Members {
					if j > 0 {
						out = append(out, ',')
					}
					out = appendJSONString(out, string(m))
				}
				out = append(out, ']')
			}
			out = append(out, '}')
		}
		out = append(out, ']')
	}
	return append(out, '}')
}

func appendBytesList(out []byte, list [][]byte) []byte {
	if list == nil {
		return append(out, "null"...)
	}
	out = append(out, '[')
	for i, b := range list {
		if i > 0 {
			out = append(out, ',')
		}
		out = appendJSONBytes(out, b)
	}
	return append(out, ']')
}

// parseStateJSON reads a saved client state as json.Unmarshal does.
func parseStateJSON(b []byte) (clientState, error) {
	var st clientState
	v, err := parseJSON(b)
	if err != nil {
		return st, err
	}
	members, ok := v.([]jsonMember)
	if !ok {
		return st, errJSON
	}
	// A repeated field is refused: encoding/json would decode a second
	// "groups" into the first one's elements.
	seen := map[string]bool{}
	for _, m := range members {
		key := strings.ToLower(m.name)
		if seen[key] {
			return clientState{}, errJSON
		}
		seen[key] = true
		if err := setStateField(&st, m); err != nil {
			return clientState{}, err
		}
	}
	return st, nil
}

func setStateField(st *clientState, m jsonMember) error {
	for i, name := range [...]string{"version", "prekeys", "sessions", "groups"} {
		ok, err := foldedName(m.name, name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch i {
		case 0:
			n := int64(st.Version)
			if err := setInt(&n, m.val); err != nil || int64(int(n)) != n {
				return errJSON
			}
			st.Version = int(n)
			return nil
		case 1:
			return setBytes(&st.Prekeys, m.val)
		case 2:
			return setSessions(st, m.val)
		default:
			return setGroups(st, m.val)
		}
	}
	return nil
}

func setSessions(st *clientState, v any) error {
	if v == nil {
		st.Sessions = nil
		return nil
	}
	members, ok := v.([]jsonMember)
	if !ok {
		return errJSON
	}
	if st.Sessions == nil {
		st.Sessions = map[PeerID][][]byte{}
	}
	for _, m := range members {
		var list [][]byte
		if m.val != nil {
			items, ok := m.val.([]any)
			if !ok {
				return errJSON
			}
			list = make([][]byte, len(items))
			for i, it := range items {
				if err := setBytes(&list[i], it); err != nil {
					return err
				}
			}
		}
		st.Sessions[PeerID(m.name)] = list
	}
	return nil
}

func setGroups(st *clientState, v any) error {
	if v == nil {
		st.Groups = nil
		return nil
	}
	items, ok := v.([]any)
	if !ok {
		return errJSON
	}
	st.Groups = make([]Group, len(items))
	for i, it := range items {
		if it == nil {
			continue
		}
		members, ok := it.([]jsonMember)
		if !ok {
			return errJSON
		}
		for _, m := range members {
			if err := setGroupField(&st.Groups[i], m); err != nil {
				return err
			}
		}
	}
	return nil
}

func setGroupField(g *Group, m jsonMember) error {
	for i, name := range [...]string{"ID", "Owner", "Members"} {
		ok, err := foldedName(m.name, name)
		if err != nil {
			return err
		}
		if !ok {
			continue
		}
		switch i {
		case 0:
			return setString(&g.ID, m.val)
		case 1:
			return setString((*string)(&g.Owner), m.val)
		}
		if m.val == nil {
			g.Members = nil
			return nil
		}
		items, ok := m.val.([]any)
		if !ok {
			return errJSON
		}
		g.Members = make([]PeerID, len(items))
		for j, it := range items {
			if err := setString((*string)(&g.Members[j]), it); err != nil {
				return err
			}
		}
		return nil
	}
	return nil
}
