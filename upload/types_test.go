package upload

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"
	"unicode/utf8"
)

var (
	pngHead  = []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x02\x00\x00\x00")
	jpegHead = []byte{0xFF, 0xD8, 0xFF, 0xE0, 0, 0x10, 'J', 'F', 'I', 'F', 0}
)

func TestTypeChecks(t *testing.T) {
	types := DefaultTypes()
	tests := []struct {
		name    string
		content []byte
		want    error
		media   string
	}{
		{"tx.csv", []byte("date,account,kind\n2024-01-02,a,deposit\n"), nil, "text/csv"},
		{"TX.CSV", []byte("a,b\n1,2\n"), nil, "text/csv"},
		{"img.png", pngHead, nil, "image/png"},
		{"img.jpeg", jpegHead, nil, "image/jpeg"},
		{"img.jpg", jpegHead, nil, "image/jpeg"},
		{"doc.pdf", []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n"), nil, "application/pdf"},
		{"fake.png", []byte("<!DOCTYPE html><html><script>alert(1)</script></html>"), ErrUnsupportedType, ""},
		{"fake.csv", []byte("<html><body>hi</body></html>"), ErrUnsupportedType, ""},
		{"png-as.csv", pngHead, ErrUnsupportedType, ""},
		{"jpeg-as.png", jpegHead, ErrUnsupportedType, ""},
		{"tx.csv.exe", []byte("MZ\x90\x00"), ErrUnsupportedType, ""},
		{"tx.exe", []byte("a,b\n"), ErrUnsupportedType, ""},
		{"noext", []byte("a,b\n"), ErrUnsupportedType, ""},
		{"nul.csv", []byte("a,b\x00\n"), ErrUnsupportedType, ""},
		{"utf16.csv", []byte("\xfe\xff\x00a\x00,"), ErrUnsupportedType, ""},
		{"empty.csv", nil, ErrEmptyFile, ""},
		{"script.svg", []byte("<svg onload=alert(1)>"), ErrUnsupportedType, ""},
	}
	for _, tt := range tests {
		ft, err := typeFor(types, tt.name)
		if err == nil {
			err = checkHead(ft, tt.content)
		}
		if !errors.Is(err, tt.want) || (tt.want == nil && err != nil) {
			t.Errorf("%s: err = %v, want %v", tt.name, err, tt.want)
			continue
		}
		if tt.want == nil && ft.MediaType != tt.media {
			t.Errorf("%s: type %s, want %s", tt.name, ft.MediaType, tt.media)
		}
	}
}

// TestTextCheckSplits compares textCheck, fed in random pieces, with
// utf8.Valid and a NUL search over the whole content.
func TestTextCheckSplits(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	alphabet := [][]byte{[]byte("a"), []byte(","), []byte("é"), []byte("€"), []byte("😀"), {0xff}, {0xe2, 0x82}, {0}, {0x80}, []byte("\n")}
	for i := range 5000 {
		var content []byte
		for range rng.IntN(12) {
			content = append(content, alphabet[rng.IntN(len(alphabet))]...)
		}
		want := utf8.Valid(content) && bytes.IndexByte(content, 0) < 0
		var c textCheck
		var err error
		rest := content
		for len(rest) > 0 && err == nil {
			n := 1 + rng.IntN(len(rest))
			_, err = c.Write(rest[:n])
			rest = rest[n:]
		}
		if err == nil {
			err = c.Close()
		}
		if got := err == nil; got != want {
			t.Fatalf("case %d %q: textCheck ok=%v, want %v (%v)", i, content, got, want, err)
		}
	}
}

// TestSignatureForGenericTypes: a type whose sniffed type is generic
// (application/octet-stream) is told apart by its signature alone.
func TestSignatureForGenericTypes(t *testing.T) {
	parquet := FileType{MediaType: "application/vnd.apache.parquet", Extensions: []string{".parquet"}, Detected: "application/octet-stream", Signature: []byte("PAR1")}
	types := append(DefaultTypes(), parquet)
	ft, err := typeFor(types, "data.parquet")
	if err != nil {
		t.Fatal(err)
	}
	if err := checkHead(ft, []byte("PAR1\x15\x04\x15\x00\x01\x02")); err != nil {
		t.Fatalf("real signature refused: %v", err)
	}
	if err := checkHead(ft, []byte("MZ\x90\x00\x03\x00\x00\x00\x04\x00")); !errors.Is(err, ErrUnsupportedType) {
		t.Fatalf("an executable named .parquet: %v", err)
	}
}
