package mpart

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/textproto"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// transcript is what a reader made of a body: each part's header, names
// and bytes, and whether reading failed (per part and at the end). It
// ends at the first failure: where a reader stands in the body after a
// failed part (a quoted-printable decoding error mid-part) depends on how
// its reads were cut, in mime/multipart too, and the intake gives up on
// the request at the first error anyway.
type transcript struct {
	parts []partRecord
	// fail is set when NextPart failed (other than io.EOF).
	fail bool
}

type partRecord struct {
	header             string
	formName, fileName string
	data               []byte
	fail               bool
	skipped            bool
}

func (t transcript) String() string {
	var b strings.Builder
	for i, p := range t.parts {
		fmt.Fprintf(&b, "part %d: header %s name %q file %q skipped %v fail %v data %q\n", i, p.header, p.formName, p.fileName, p.skipped, p.fail, truncate(p.data))
	}
	fmt.Fprintf(&b, "fail %v", t.fail)
	return b.String()
}

func headerString(h textproto.MIMEHeader) string {
	keys := make([]string, 0, len(h))
	for k := range h {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for _, k := range keys {
		fmt.Fprintf(&b, "%q=%q;", k, h[k])
	}
	return b.String()
}

// stdTranscript reads body with mime/multipart's NextPart; parts whose
// index is in skip are not read (NextPart skips them).
func stdTranscript(body []byte, boundary string, skip func(int) bool) transcript {
	mr := multipart.NewReader(bytes.NewReader(body), boundary)
	var t transcript
	for i := 0; i < 1000; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return t
		}
		if err != nil {
			t.fail = true
			return t
		}
		rec := partRecord{header: headerString(p.Header), formName: p.FormName(), fileName: p.FileName(), skipped: skip(i)}
		if !rec.skipped {
			rec.data, err = io.ReadAll(p)
			rec.fail = err != nil
		}
		t.parts = append(t.parts, rec)
		if rec.fail {
			return t // what follows a failed part is not compared
		}
	}
	t.fail = true
	return t
}

// ourTranscript does the same with this package, reading parts with
// Read (io.ReadAll) or WriteTo, through src (which may cut the body's
// reads into small pieces).
func ourTranscript(src io.Reader, boundary string, skip func(int) bool, writeTo bool) (transcript, error) {
	mr, err := NewReader(src, boundary)
	if err != nil {
		return transcript{}, err
	}
	var t transcript
	for i := 0; i < 1000; i++ {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return t, nil
		}
		if errors.Is(err, ErrHeaderTooLarge) {
			return t, err
		}
		if err != nil {
			t.fail = true
			return t, nil
		}
		rec := partRecord{header: headerString(p.Header), formName: p.FormName(), fileName: p.FileName(), skipped: skip(i)}
		if !rec.skipped {
			if writeTo {
				var buf bytes.Buffer
				_, err = p.WriteTo(&buf)
				rec.data = buf.Bytes()
			} else {
				rec.data, err = io.ReadAll(onlyReader{p})
			}
			rec.fail = err != nil
		}
		t.parts = append(t.parts, rec)
		if rec.fail {
			return t, nil
		}
	}
	t.fail = true
	return t, nil
}

func normalize(t transcript) transcript {
	for i := range t.parts {
		if len(t.parts[i].data) == 0 {
			t.parts[i].data = nil
		}
	}
	return t
}

// compare checks that every way of reading body with this package gives
// what mime/multipart gives.
func compare(t *testing.T, body []byte, boundary string) {
	t.Helper()
	if !validBoundary(boundary) {
		if _, err := NewReader(bytes.NewReader(body), boundary); !errors.Is(err, ErrBoundary) {
			t.Fatalf("boundary %q accepted", boundary)
		}
		return
	}
	skips := map[string]func(int) bool{
		"all":  func(int) bool { return false },
		"odd":  func(i int) bool { return i%2 == 1 },
		"none": func(int) bool { return true },
	}
	qp := qpParts(body, boundary)
	for skipName, skip0 := range skips {
		// A quoted-printable part is always read: skipping one that fails
		// to decode leaves either reader at a place that depends on how
		// its reads were cut.
		skip := func(i int) bool { return skip0(i) && !qp[i] }
		want := normalize(stdTranscript(body, boundary, skip)).String()
		srcs := map[string]func() io.Reader{
			"bytes":   func() io.Reader { return bytes.NewReader(body) },
			"half":    func() io.Reader { return iotest.HalfReader(bytes.NewReader(body)) },
			"one":     func() io.Reader { return iotest.OneByteReader(bytes.NewReader(body)) },
			"dataerr": func() io.Reader { return iotest.DataErrReader(bytes.NewReader(body)) },
		}
		for srcName, src := range srcs {
			if srcName == "one" && len(body) > 16<<10 {
				continue // one byte a read: too slow for big bodies
			}
			for _, writeTo := range []bool{false, true} {
				got, err := ourTranscript(src(), boundary, skip, writeTo)
				if errors.Is(err, ErrHeaderTooLarge) {
					continue // stricter by design
				}
				if g := normalize(got).String(); g != want {
					t.Fatalf("boundary %q, skip %s, source %s, WriteTo %v: body %q\nmime/multipart:\n%s\nmpart:\n%s",
						boundary, skipName, srcName, writeTo, debugBody(body), want, g)
				}
			}
		}
	}
}

func writerBody(t testing.TB, boundary string, parts ...[2]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if err := mw.SetBoundary(boundary); err != nil {
		t.Fatal(err)
	}
	for _, p := range parts {
		w, err := mw.CreateFormFile("file", p[0])
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.WriteString(w, p[1])
	}
	_ = mw.Close()
	return buf.Bytes()
}

func seeds(t testing.TB) [][2]string {
	const b = "XyZ"
	body := string(writerBody(t, b, [2]string{"a.csv", "a,b\n1,2\n"}, [2]string{"b.png", "\x89PNG\r\n--XyZ-no\r\n--Xy"}))
	big := strings.Repeat("line without carriage return\n", 5000)
	return [][2]string{
		{body, b},
		{body[:len(body)-3], b}, // final boundary cut
		{body[:len(body)/2], b}, // body cut mid-part
		{strings.ReplaceAll(body, "\r\n", "\n"), b},           // LF-only lines
		{"preamble\r\n" + body + "epilogue", b},               // preamble and epilogue
		{"--XyZ  \t\r\nA: b\r\n\r\ndata\r\n--XyZ--  \r\n", b}, // white space after boundaries
		{"--XyZ\r\n\r\n\r\n--XyZ--", b},                       // empty part, final without CRLF
		{"--XyZ\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\na=3Db=\r\nc\r\n--XyZ--\r\n", b},
		{"--XyZ\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\nbad=ZZ\r\n--XyZ\r\n\r\nx\r\n--XyZ--\r\n", b},
		{"--XyZ\r\nA: b\r\n\r\n" + big + "\r\n--XyZ--\r\n", b},
		{"--XyZ\r\nA: b\r\n\r\n" + big + "\r\n--XyZX\r\n--XyZ-\r\n--XyZ--\r\n", b},
		{"--XyZ\r\nA: b\r\n\r\nx\r\n--XyZ\r\nbroken header\r\n\r\ny\r\n--XyZ--\r\n", b},
		{"--XyZ\r\n A: continued first\r\n\r\nx\r\n--XyZ--\r\n", b},
		{"--XyZ\r\nA: b\r\n\r\nx\r\n--XyZ\r\n", b}, // no final boundary
		{"--XyZ\r\nA: b\r\n\r\nx\r\ngarbage\r\n--XyZ--", b},
		{"--XyZ\r\nA: b\r\n\r\nx\r\n--XyZ--\r\n\r\ngarbage", b},
		{strings.Repeat("p", 5000) + "\r\n" + body, b}, // preamble line too long
		{"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"../../etc/passwd\"\r\n\r\nx\r\n--XyZ--", b},
		{"--XyZ\r\nContent-Disposition: form-data; name=\"f\"; filename=\"x.exe\x00.csv\"\r\n\r\nx\r\n--XyZ--", b}, // NUL in a name
		{"--XyZ\r\nA: b\x00c\r\n\r\nx\r\n--XyZ--", b},
		{"--XyZ\r\nA\x00: b\r\n\r\nx\r\n--XyZ--", b},
		{"--XyZ\r\nA: b\r\n\r\nx\x00\r\n--XyZ--", b}, // NUL in the data, not the header
		{body, "a b"},
		{"--a b\r\n\r\nx\r\n--a b--", "a b"},
		{body, "bad\rboundary"},
		{body, ""},
		{body, strings.Repeat("x", 71)},
	}
}

func TestAgainstMimeMultipart(t *testing.T) {
	for _, s := range seeds(t) {
		compare(t, []byte(s[0]), s[1])
	}
}

// TestRandomBodies compares random bodies: parts of random bytes rich in
// near-boundaries, with random line endings, cut at random places.
func TestRandomBodies(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const boundary = "bnd"
	pieces := []string{"\r\n", "\n", "\r", "-", "--", "--bnd", "\r\n--bnd", "\r\n--bn", "\r\n--bnd-", "x", "yy", " ", "\t", "=", "=3D", "\x00"}
	for i := 0; i < 150; i++ {
		var b strings.Builder
		if rng.IntN(4) == 0 {
			b.WriteString("preamble\r\n")
		}
		nl := "\r\n"
		if rng.IntN(5) == 0 {
			nl = "\n"
		}
		for p := rng.IntN(4); p >= 0; p-- {
			b.WriteString("--" + boundary + nl)
			if rng.IntN(3) == 0 {
				b.WriteString("Content-Transfer-Encoding: quoted-printable" + nl)
			}
			b.WriteString(`Content-Disposition: form-data; name="f"; filename="a.csv"` + nl + nl)
			for k := rng.IntN(40); k > 0; k-- {
				b.WriteString(pieces[rng.IntN(len(pieces))])
			}
			if rng.IntN(16) == 0 { // past the buffer's end
				b.WriteString(strings.Repeat("z", rng.IntN(3*BufferSize/2)))
			}
			b.WriteString(nl)
		}
		b.WriteString("--" + boundary + "--" + nl)
		body := b.String()
		if rng.IntN(3) == 0 {
			body = body[:rng.IntN(len(body)+1)]
		}
		compare(t, []byte(body), boundary)
	}
}

func TestHeaderLimit(t *testing.T) {
	body := "--b\r\nX: " + strings.Repeat("v", MaxHeaderBytes) + "\r\n\r\nx\r\n--b--\r\n"
	mr, err := NewReader(strings.NewReader(body), "b")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mr.NextPart(); !errors.Is(err, ErrHeaderTooLarge) {
		t.Fatalf("header of %d bytes: %v", MaxHeaderBytes, err)
	}
	many := "--b\r\n" + strings.Repeat("A: b\r\n", maxHeaderLines+1) + "\r\nx\r\n--b--\r\n"
	mr, _ = NewReader(strings.NewReader(many), "b")
	if _, err := mr.NextPart(); err == nil {
		t.Fatal("over 10,000 header lines accepted")
	}
}

// TestReadErrorsPassThrough: an error of the underlying reader (a body
// over its limit, a timeout) reaches the caller for errors.Is.
func TestReadErrorsPassThrough(t *testing.T) {
	boom := errors.New("boom")
	body := "--b\r\nA: b\r\n\r\n" + strings.Repeat("x", 10000)
	mr, _ := NewReader(io.MultiReader(strings.NewReader(body), iotest.ErrReader(boom)), "b")
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.WriteTo(io.Discard); !errors.Is(err, boom) {
		t.Fatalf("WriteTo: %v", err)
	}
	if _, err := mr.NextPart(); !errors.Is(err, boom) {
		t.Fatalf("NextPart after the error: %v", err)
	}
}

// TestWriteToWritesLargePieces: a 4 MiB part arrives in writes of at
// least half of BufferSize (one per full buffer, give or take), however
// small the reads underneath.
func TestWriteToWritesLargePieces(t *testing.T) {
	data := strings.Repeat("0123456789abcde\n", 4<<20/16)
	body := "--b\r\n\r\n" + data + "\r\n--b--\r\n"
	mr, _ := NewReader(&smallReads{r: strings.NewReader(body), n: 16 << 10}, "b")
	p, err := mr.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	var w countingWriter
	if n, err := p.WriteTo(&w); err != nil || n != int64(len(data)) || w.bytes.String() != data {
		t.Fatalf("WriteTo: %d bytes, %v", n, err)
	}
	if w.writes > 2*(4<<20)/BufferSize+2 {
		t.Fatalf("%d writes for 4 MiB", w.writes)
	}
}

type smallReads struct {
	r io.Reader
	n int
}

func (s *smallReads) Read(p []byte) (int, error) { return s.r.Read(p[:min(len(p), s.n)]) }

type countingWriter struct {
	bytes  bytes.Buffer
	writes int
}

func (c *countingWriter) Write(p []byte) (int, error) {
	c.writes++
	return c.bytes.Write(p)
}

func FuzzAgainstMimeMultipart(f *testing.F) {
	for _, s := range seeds(f) {
		f.Add([]byte(s[0]), s[1])
	}
	f.Fuzz(func(t *testing.T, body []byte, boundary string) {
		compare(t, body, boundary)
	})
}

func debugBody(b []byte) string {
	if len(b) > 2000 {
		return fmt.Sprintf("%q … (%d bytes) … %q", b[:1000], len(b), b[len(b)-1000:])
	}
	return fmt.Sprintf("%q", b)
}

// qpParts tells which parts (by index) are quoted-printable.
func qpParts(body []byte, boundary string) map[int]bool {
	out := map[int]bool{}
	mr, err := NewReader(bytes.NewReader(body), boundary)
	if err != nil {
		return out
	}
	for i := 0; i < 1000; i++ {
		p, err := mr.NextPart()
		if err != nil {
			return out
		}
		out[i] = p.qp != nil
		if _, err := p.WriteTo(io.Discard); err != nil {
			return out
		}
	}
	return out
}

// TestNULInHeader: a NUL byte in a part's header block is ErrNUL (and
// ErrMalformed), so the intake can say why; one in the data is data.
func TestNULInHeader(t *testing.T) {
	for _, h := range []string{"Content-Disposition: form-data; name=\"f\"; filename=\"x.exe\x00.csv\"", "A: b\x00c"} {
		r, err := NewReader(strings.NewReader("--b\r\n"+h+"\r\n\r\nx\r\n--b--\r\n"), "b")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.NextPart(); !errors.Is(err, ErrNUL) || !errors.Is(err, ErrMalformed) {
			t.Errorf("%q: %v, want ErrNUL and ErrMalformed", h, err)
		}
	}
	r, _ := NewReader(strings.NewReader("--b\r\nA: b\r\n\r\nx\x00y\r\n--b--\r\n"), "b")
	p, err := r.NextPart()
	if err != nil {
		t.Fatal(err)
	}
	if got, err := io.ReadAll(p); err != nil || string(got) != "x\x00y" {
		t.Fatalf("data with a NUL: %q %v", got, err)
	}
}
