package upload

import (
	"bytes"
	"fmt"
	"net/http"
	"path"
	"slices"
	"strings"
	"unicode/utf8"
)

// SniffLen is how many leading bytes type detection looks at.
const SniffLen = 512

// FileType is one allowed kind of file. A file is accepted only when its
// name's extension is one of Extensions, http.DetectContentType of its first
// bytes gives Detected, and Signature (when set) matches those bytes.
type FileType struct {
	MediaType  string   // stored and served type, such as "text/csv"
	Extensions []string // lower-case, with the dot: ".csv"
	Detected   string   // the media type http.DetectContentType must report (parameters included)
	Signature  []byte   // required leading bytes; nil for text types
	// Text requires the whole content to be valid UTF-8 without NUL bytes
	// (checked while the file streams in, not only its first bytes).
	Text bool
}

// TypeCSV is a CSV file: valid UTF-8 text without NUL bytes, .csv.
func TypeCSV() FileType {
	return FileType{MediaType: "text/csv", Extensions: []string{".csv"}, Detected: "text/plain; charset=utf-8", Text: true}
}

// TypePNG is a PNG image (.png), recognised by its signature.
func TypePNG() FileType {
	return FileType{MediaType: "image/png", Extensions: []string{".png"}, Detected: "image/png", Signature: []byte("\x89PNG\r\n\x1a\n")}
}

// TypeJPEG is a JPEG image (.jpg, .jpeg), recognised by its signature.
func TypeJPEG() FileType {
	return FileType{MediaType: "image/jpeg", Extensions: []string{".jpg", ".jpeg"}, Detected: "image/jpeg", Signature: []byte{0xFF, 0xD8, 0xFF}}
}

// TypePDF is a PDF document (.pdf), recognised by its signature.
func TypePDF() FileType {
	return FileType{MediaType: "application/pdf", Extensions: []string{".pdf"}, Detected: "application/pdf", Signature: []byte("%PDF-")}
}

// DefaultTypes is the allow-list used when Options.Types is empty: CSV,
// PNG, JPEG and PDF.
func DefaultTypes() []FileType { return []FileType{TypeCSV(), TypePNG(), TypeJPEG(), TypePDF()} }

// typeFor finds the allowed type of a (sanitized) file name by its
// extension.
func typeFor(types []FileType, name string) (FileType, error) {
	ext := strings.ToLower(path.Ext(name))
	if ext == "" {
		return FileType{}, fmt.Errorf("%w: the file name has no extension", ErrUnsupportedType)
	}
	for _, t := range types {
		if slices.Contains(t.Extensions, ext) {
			return t, nil
		}
	}
	return FileType{}, fmt.Errorf("%w: %s files are not accepted", ErrUnsupportedType, ext)
}

// checkHead checks a file's first bytes against its type: the sniffed type
// and the signature must both agree with the extension.
func checkHead(t FileType, head []byte) error {
	if len(head) == 0 {
		return ErrEmptyFile
	}
	if got := http.DetectContentType(head); got != t.Detected {
		return fmt.Errorf("%w: the content is %s, not %s", ErrUnsupportedType, baseType(got), t.MediaType)
	}
	if t.Signature != nil && !bytes.HasPrefix(head, t.Signature) {
		return fmt.Errorf("%w: the content does not start like %s", ErrUnsupportedType, t.MediaType)
	}
	if t.Text {
		if bytes.IndexByte(head, 0) >= 0 {
			return fmt.Errorf("%w: NUL byte in a text file", ErrUnsupportedType)
		}
	}
	return nil
}

func baseType(mt string) string {
	base, _, _ := strings.Cut(mt, ";")
	return strings.TrimSpace(base)
}

// textCheck is an io.Writer that fails on a NUL byte or invalid UTF-8
// anywhere in what it is given, across write boundaries.
type textCheck struct {
	carry [utf8.UTFMax]byte
	n     int
}

func (c *textCheck) Write(p []byte) (int, error) {
	total := len(p)
	if bytes.IndexByte(p, 0) >= 0 {
		return 0, fmt.Errorf("%w: NUL byte in a text file", ErrUnsupportedType)
	}
	if c.n > 0 { // finish the rune split over the previous write
		for c.n < utf8.UTFMax && len(p) > 0 && !utf8.FullRune(c.carry[:c.n]) {
			c.carry[c.n] = p[0]
			c.n++
			p = p[1:]
		}
		if !utf8.FullRune(c.carry[:c.n]) {
			return total, nil
		}
		if r, size := utf8.DecodeRune(c.carry[:c.n]); r == utf8.RuneError && size <= 1 {
			return 0, fmt.Errorf("%w: invalid UTF-8 in a text file", ErrUnsupportedType)
		}
		c.n = 0
	}
	tail := 0 // an incomplete rune at the end waits for the next write
	for i := len(p) - 1; i >= 0 && i > len(p)-utf8.UTFMax; i-- {
		if utf8.RuneStart(p[i]) {
			if !utf8.FullRune(p[i:]) {
				tail = len(p) - i
			}
			break
		}
	}
	if !utf8.Valid(p[:len(p)-tail]) {
		return 0, fmt.Errorf("%w: invalid UTF-8 in a text file", ErrUnsupportedType)
	}
	c.n = copy(c.carry[:], p[len(p)-tail:])
	return total, nil
}

// Close reports a rune left incomplete at the end of the content.
func (c *textCheck) Close() error {
	if c.n > 0 {
		return fmt.Errorf("%w: invalid UTF-8 at the end of a text file", ErrUnsupportedType)
	}
	return nil
}
