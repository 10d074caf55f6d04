package upload

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// MaxNameBytes bounds a sanitized display name.
const MaxNameBytes = 255

// unnamed is the display name of a file whose name sanitizes to nothing.
const unnamed = "unnamed"

// SanitizeName turns a client's file name into a display name: the last
// path component (either slash), without control, format (bidi overrides,
// zero-width) or line-separator characters, invalid UTF-8 dropped, in
// Unicode NFC, without leading or trailing spaces and dots, at most
// MaxNameBytes bytes (the extension kept when it is short). A name that
// sanitizes to nothing becomes "unnamed". The result is for display and
// for the extension check only: files are stored under generated ids.
func SanitizeName(name string) string {
	if i := strings.LastIndexAny(name, `/\`); i >= 0 {
		name = name[i+1:]
	}
	name = strings.Map(func(r rune) rune {
		if r == utf8.RuneError || !keepRune(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = norm.NFC.String(name)
	name = strings.Trim(name, " .")
	if len(name) > MaxNameBytes {
		name = norm.NFC.String(truncateName(name, MaxNameBytes))
		name = strings.Trim(name, " .")
	}
	if name == "" {
		return unnamed
	}
	return name
}

// CheckName refuses a client's file name that must not be turned into an
// acceptable one by dropping characters: one with a NUL byte (ErrBadName).
// "x.exe\x00.csv" would pass the extension check as "x.exe.csv", and code
// that reads C strings sees "x.exe". Intake checks every name, from a
// multipart part or tus metadata, with CheckName before SanitizeName.
func CheckName(name string) error {
	if strings.IndexByte(name, 0) >= 0 {
		return fmt.Errorf("%w: the file name contains a NUL byte", ErrBadName)
	}
	return nil
}

// keepRune reports whether r may appear in a display name.
func keepRune(r rune) bool {
	switch {
	case unicode.Is(unicode.Cc, r), unicode.Is(unicode.Cf, r),
		unicode.Is(unicode.Zl, r), unicode.Is(unicode.Zp, r),
		unicode.Is(unicode.Co, r), unicode.Is(unicode.Cs, r):
		return false
	case r == '/' || r == '\\':
		return false
	case r >= 0xFFF0 && r <= 0xFFFF: // specials, noncharacters
		return false
	}
	return !unicode.Is(unicode.Noncharacter_Code_Point, r)
}

// truncateName cuts name to at most limit bytes on a rune boundary,
// keeping an extension of up to 16 bytes.
func truncateName(name string, limit int) string {
	ext := ""
	if i := strings.LastIndexByte(name, '.'); i > 0 && len(name)-i <= 16 {
		ext = name[i:]
	}
	base := name[:len(name)-len(ext)]
	room := limit - len(ext)
	for len(base) > room {
		_, size := utf8.DecodeLastRuneInString(base)
		base = base[:len(base)-size]
	}
	return base + ext
}
