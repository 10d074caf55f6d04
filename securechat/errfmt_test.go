package securechat

import (
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
)

// The WebAssembly build formats errors with formatError instead of
// fmt.Errorf: same text and the same wrapping for every verb and operand
// type this package uses.
func TestFormatErrorMatchesFmt(t *testing.T) {
	errA, errB := errors.New("a failed"), io.ErrUnexpectedEOF
	errBrowserSocketClosed := errors.New("securechat: WebSocket closed")
	cases := []struct {
		format string
		args   []any
	}{
		{"plain", nil},
		{"100%% sure", nil},
		{"%w: relay URL %q", []any{ErrMalformed, "ws://bad\x00\"url\u2028"}},
		{"%w: only the owner %s changes group %q", []any{ErrNotMember, PeerID("abc-_"), "grp"}},
		{"%w: frame: %v", []any{ErrMalformed, errA}},
		{"%w: %v", []any{errBrowserSocketClosed, "a panic string"}},
		{"%w (code %d)", []any{errBrowserSocketClosed, 1006}},
		{"%w: session state flags %#x", []any{ErrMalformed, uint8(0xf3)}},
		{"%w: flags %#x %#x %#x", []any{ErrMalformed, uint32(0), uint64(1 << 63), 255}},
		{"%w: token bucket interval %v and burst %d must be positive", []any{ErrMalformed, -3 * time.Second, -1}},
		{"%w: of %d tokens every %v", []any{ErrMalformed, 7, 1500 * time.Millisecond}},
		{"%d %d %d %d %d %d %d %d %d", []any{int8(-8), int16(-16), int32(-32), int64(-1 << 63), uint(7), uint8(8), uint16(16), uint32(1 << 31), uint64(1<<64 - 1)}},
		{"type %d and %v", []any{MessageType(3), MessageType(200)}},
		{"%v %v %s", []any{true, 42, time.Duration(0)}},
		{"%w then %w", []any{errA, errB}},
		{"%w: at most %d", []any{ErrTooLarge, MaxOneTimePrekeys}},
		{"wraps nothing: %w", []any{nil}},
		{"too few %d %s", []any{1}},
		{"trailing %", nil},
	}
	for _, c := range cases {
		want := fmt.Errorf(c.format, c.args...)
		got := formatError(c.format, c.args)
		if got.Error() != want.Error() {
			t.Errorf("%q: got %q, fmt.Errorf gives %q", c.format, got.Error(), want.Error())
		}
		for _, target := range []error{ErrMalformed, ErrNotMember, ErrTooLarge, errBrowserSocketClosed, errA, errB} {
			if errors.Is(got, target) != errors.Is(want, target) {
				t.Errorf("%q: errors.Is(%v) = %v, fmt.Errorf: %v", c.format, target, errors.Is(got, target), errors.Is(want, target))
			}
		}
		if (errors.Unwrap(got) == nil) != (errors.Unwrap(want) == nil) {
			t.Errorf("%q: single Unwrap differs from fmt.Errorf", c.format)
		}
	}
}

// Random operands through every supported verb agree with fmt.
func FuzzFormatError(f *testing.F) {
	f.Add("x: %d %s %q %v %#x", int64(-5), uint64(9), "s\"\t\xff")
	f.Fuzz(func(t *testing.T, format string, i int64, u uint64, s string) {
		if strings.ContainsFunc(format, func(r rune) bool { return r == '%' }) {
			// Keep to the verbs formatError supports, as the package does.
			if !supportedFormat(format) {
				t.Skip()
			}
		}
		args := []any{i, u, s, PeerID(s), errors.New(s), time.Duration(i)}
		for n := range len(args) + 1 {
			want := fmt.Errorf(format, args[:n]...)
			// Where formatError formats the operand (it refuses types the
			// package never passes to a verb, like %q of an integer), fmt agrees.
			got := formatError(format, args[:n])
			if !strings.Contains(got.Error()+want.Error(), "%!") && got.Error() != want.Error() {
				t.Fatalf("%q %v: got %q, fmt.Errorf gives %q", format, args[:n], got, want)
			}
		}
	})
}

var verbRE = regexp.MustCompile(`%(#x|[wvsdq%])`)

// supportedFormat reports whether every verb of format is one formatError
// implements.
func supportedFormat(format string) bool {
	return !strings.Contains(verbRE.ReplaceAllString(format, ""), "%")
}

// Every errorf call of the package (the js build formats them with
// formatError) has a constant format with only the supported verbs.
func TestErrorfFormatsSupported(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	fset, calls := token.NewFileSet(), 0
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, e.Name(), nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		ast.Inspect(file, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if id, ok := call.Fun.(*ast.Ident); !ok || id.Name != "errorf" {
				return true
			}
			calls++
			lit, ok := call.Args[0].(*ast.BasicLit)
			if !ok || lit.Kind != token.STRING {
				t.Errorf("%s: errorf with a non-constant format", fset.Position(call.Pos()))
				return true
			}
			format, _ := strconv.Unquote(lit.Value)
			if !supportedFormat(format) {
				t.Errorf("%s: format %q has a verb formatError does not implement", fset.Position(call.Pos()), format)
			}
			if got := len(verbRE.FindAllString(strings.ReplaceAll(format, "%%", ""), -1)); got != len(call.Args)-1 {
				t.Errorf("%s: format %q has %d verbs for %d operands", fset.Position(call.Pos()), format, got, len(call.Args)-1)
			}
			return true
		})
	}
	if calls < 100 {
		t.Fatalf("found only %d errorf calls", calls)
	}
}
