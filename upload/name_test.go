package upload

import (
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("a", 10_000) + ".csv"
	tests := []struct{ in, want string }{
		{"report.csv", "report.csv"},
		{"../../etc/passwd", "passwd"},
		{`..\..\win.ini`, "win.ini"},
		{"/etc/shadow.csv", "shadow.csv"},
		{`C:\Users\x\data.csv`, "data.csv"},
		{"a\x00b.csv", "ab.csv"},                       // for display; intake refuses it (CheckName)
		{"evil\u202Egnp.csv", "evilgnp.csv"},           // RTL override
		{"zero\u200bwidth\u2066.png", "zerowidth.png"}, // zero-width space, bidi isolate
		{"line\nbreak\r.csv", "linebreak.csv"},
		{"", "unnamed"},
		{"..", "unnamed"},
		{"/", "unnamed"},
		{"  .hidden.csv. ", "hidden.csv"},
		{"e\u0301te\u0301.csv", "\u00e9t\u00e9.csv"}, // NFD → NFC
		{"bad\xff\xfeutf8.csv", "badutf8.csv"},
		{"sep\u2028\u2029.csv", "sep.csv"},
	}
	for _, tt := range tests {
		if got := SanitizeName(tt.in); got != tt.want {
			t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	got := SanitizeName(long)
	if len(got) > MaxNameBytes || !strings.HasSuffix(got, ".csv") {
		t.Errorf("long name: %d bytes, %q…", len(got), got[len(got)-10:])
	}
	multi := strings.Repeat("é", 300) + ".png"
	if got := SanitizeName(multi); len(got) > MaxNameBytes || !utf8.ValidString(got) || !strings.HasSuffix(got, ".png") {
		t.Errorf("multibyte long name: %d bytes, valid %v", len(got), utf8.ValidString(got))
	}
}

func checkSanitized(t *testing.T, in, got string) {
	t.Helper()
	switch {
	case got == "":
		t.Fatalf("SanitizeName(%q) is empty", in)
	case len(got) > MaxNameBytes:
		t.Fatalf("SanitizeName(%q) has %d bytes", in, len(got))
	case !utf8.ValidString(got):
		t.Fatalf("SanitizeName(%q) = %q is not UTF-8", in, got)
	case strings.ContainsAny(got, `/\`):
		t.Fatalf("SanitizeName(%q) = %q has a path separator", in, got)
	case got == "." || got == "..":
		t.Fatalf("SanitizeName(%q) = %q", in, got)
	case !norm.NFC.IsNormalString(got):
		t.Fatalf("SanitizeName(%q) = %q is not NFC", in, got)
	}
	for _, r := range got {
		if unicode.Is(unicode.Cc, r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029' {
			t.Fatalf("SanitizeName(%q) = %q keeps %U", in, got, r)
		}
	}
	if again := SanitizeName(got); again != got {
		t.Fatalf("SanitizeName is not idempotent: %q → %q → %q", in, got, again)
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"../../etc/passwd", `..\..\win.ini`, "a\x00b", "\u202Egnp.csv", "e\u0301", strings.Repeat("ü", 200) + ".csv", "", " . "} {
		f.Add(s)
	}
	f.Add("x.exe\x00.csv")
	f.Fuzz(func(t *testing.T, in string) {
		checkSanitized(t, in, SanitizeName(in))
		if err := CheckName(in); (err != nil) != strings.ContainsRune(in, 0) || err != nil && !errors.Is(err, ErrBadName) {
			t.Fatalf("CheckName(%q) = %v", in, err)
		}
	})
}
