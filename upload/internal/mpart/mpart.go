// Package mpart is a streaming multipart/form-data reader for large
// uploads. It parses what mime/multipart's NextPart parses and yields the
// same parts and bytes (quoted-printable parts decoded, as NextPart does),
// but reads through a 64 KiB buffer, finds boundaries with bytes.Index
// (mime/multipart looks back for a CR byte by byte over each 4 KiB
// window), and hands a part's bytes to a writer straight from its buffer
// (Part.WriteTo), so a large file costs no per-byte work beyond the copy.
//
// It is stricter than mime/multipart in three documented ways: the
// boundary must be valid by RFC 2046 (1–70 of its characters, not ending
// in a space); a part's header block is at most MaxHeaderBytes; and
// the ways mime/multipart fails stay failures here (a line outside a part
// over 4096 bytes, more than 10,000 header lines in a part). The
// differential test and fuzz target compare it with mime/multipart.
package mpart

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/quotedprintable"
	"net/textproto"
	"path/filepath"
	"strings"
)

const (
	// BufferSize is the read buffer: the largest piece Part.WriteTo writes.
	// Pieces of 32–64 KiB are hashed and written while they are still in
	// the CPU's cache after the socket read (as io.Copy's 32 KiB buffer
	// is); 1 MiB pieces were not.
	BufferSize = 64 << 10
	// MaxHeaderBytes is the most a part's header block may take.
	MaxHeaderBytes = 64 << 10
	maxLine        = 4096  // a preamble or boundary line, as mime/multipart's buffer allows
	maxHeaderLines = 10000 // header lines of a part, as mime/multipart allows
)

// Errors of malformed input; read errors of the underlying reader are
// returned wrapped (errors.Is and errors.As see them).
var (
	ErrBoundary       = errors.New("mpart: invalid boundary")
	ErrHeaderTooLarge = errors.New("mpart: part header too large")
	ErrMalformed      = errors.New("mpart: malformed multipart body")
	// ErrNUL is a part header with a NUL byte (a file name "x.exe\x00.csv");
	// it is returned wrapped together with ErrMalformed.
	ErrNUL = errors.New("mpart: NUL byte in a part header")
)

// Reader reads the parts of one multipart body in order.
type Reader struct {
	br *bufio.Reader
	// the boundary in its forms: "\r\n--b", "--b--", "--b", and the line
	// ending in use ("\r\n", or "\n" when the first boundary line ends so)
	nlDashBoundary, dashBoundaryDash, dashBoundary, nl []byte
	partsRead                                          int
	current                                            *Part
}

// NewReader reads the multipart body r with the given boundary (the
// Content-Type's boundary parameter); ErrBoundary when it is not valid.
func NewReader(r io.Reader, boundary string) (*Reader, error) {
	if !validBoundary(boundary) {
		return nil, fmt.Errorf("%w: %q", ErrBoundary, boundary)
	}
	b := []byte("\r\n--" + boundary + "--")
	return &Reader{
		br:               bufio.NewReaderSize(&stickyReader{r: r}, BufferSize),
		nl:               b[:2],
		nlDashBoundary:   b[:len(b)-2],
		dashBoundaryDash: b[2:],
		dashBoundary:     b[2 : len(b)-2],
	}, nil
}

// validBoundary is RFC 2046's boundary: 1–70 bchars, not ending in space.
func validBoundary(b string) bool {
	if len(b) < 1 || len(b) > 70 || b[len(b)-1] == ' ' {
		return false
	}
	for i := 0; i < len(b); i++ {
		c := b[i]
		if 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("'()+_,-./:=? ", c) >= 0 {
			continue
		}
		return false
	}
	return true
}

// NextPart skips the rest of the current part and returns the next one;
// io.EOF after the final boundary.
func (r *Reader) NextPart() (*Part, error) {
	if r.current != nil {
		_ = r.current.Close() // an error here is met again reading the next line
		r.current = nil
	}
	expectNewPart := false
	for {
		line, err := r.readLine()
		if errors.Is(err, io.EOF) && r.isFinalBoundary(line) {
			return nil, io.EOF
		}
		if err != nil {
			return nil, err
		}
		if r.isBoundaryDelimiterLine(line) {
			r.partsRead++
			p, err := r.newPart()
			if err != nil {
				return nil, err
			}
			r.current = p
			return p, nil
		}
		if r.isFinalBoundary(line) {
			return nil, io.EOF
		}
		switch {
		case expectNewPart:
			return nil, fmt.Errorf("%w: expected a boundary, got %q", ErrMalformed, truncate(line))
		case r.partsRead == 0: // preamble
		case bytes.Equal(line, r.nl): // the line ending before the next boundary
			expectNewPart = true
		default:
			return nil, fmt.Errorf("%w: unexpected line %q", ErrMalformed, truncate(line))
		}
	}
}

// readLine reads a line outside a part: at most maxLine bytes.
func (r *Reader) readLine() ([]byte, error) {
	line, err := r.br.ReadSlice('\n')
	if len(line) > maxLine || len(line) == maxLine && line[maxLine-1] != '\n' {
		return nil, fmt.Errorf("%w: a line over %d bytes", ErrMalformed, maxLine)
	}
	if errors.Is(err, io.EOF) {
		return line, io.EOF
	}
	if err != nil {
		return nil, fmt.Errorf("mpart: %w", err)
	}
	return line, nil
}

func truncate(b []byte) []byte { return b[:min(len(b), 40)] }

func skipLWSP(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t') {
		b = b[1:]
	}
	return b
}

func (r *Reader) isFinalBoundary(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, r.dashBoundaryDash)
	if !ok {
		return false
	}
	rest = skipLWSP(rest)
	return len(rest) == 0 || bytes.Equal(rest, r.nl)
}

func (r *Reader) isBoundaryDelimiterLine(line []byte) bool {
	rest, ok := bytes.CutPrefix(line, r.dashBoundary)
	if !ok {
		return false
	}
	rest = skipLWSP(rest)
	if r.partsRead == 0 && len(rest) == 1 && rest[0] == '\n' {
		// Lines end in "\n" alone: not the standard, but seen in practice
		// (mime/multipart accepts it the same way).
		r.nl = r.nl[1:]
		r.nlDashBoundary = r.nlDashBoundary[1:]
	}
	return bytes.Equal(rest, r.nl)
}

// newPart reads a part's header block.
func (r *Reader) newPart() (*Part, error) {
	if err := r.checkHeaderSize(); err != nil {
		return nil, err
	}
	h, err := textproto.NewReader(r.br).ReadMIMEHeader()
	if err != nil {
		return nil, fmt.Errorf("%w: part header: %w", ErrMalformed, err)
	}
	lines := 0
	for _, v := range h {
		lines += len(v)
	}
	if lines > maxHeaderLines {
		return nil, fmt.Errorf("%w: over %d lines", ErrHeaderTooLarge, maxHeaderLines)
	}
	p := &Part{Header: h, mr: r}
	const cte = "Content-Transfer-Encoding"
	if strings.EqualFold(h.Get(cte), "quoted-printable") {
		h.Del(cte)
		p.qp = quotedprintable.NewReader(partReader{p})
	}
	return p, nil
}

// checkHeaderSize makes sure the header block ends (with an empty line)
// within MaxHeaderBytes, or the body ends or fails before that.
func (r *Reader) checkHeaderSize() error {
	for {
		buf, _ := r.br.Peek(min(r.br.Buffered(), MaxHeaderBytes))
		if end := headerEnd(buf); end >= 0 {
			if bytes.IndexByte(buf[:end], 0) >= 0 {
				return fmt.Errorf("%w: %w", ErrMalformed, ErrNUL)
			}
			return nil
		}
		if len(buf) >= MaxHeaderBytes {
			return fmt.Errorf("%w: over %d bytes", ErrHeaderTooLarge, MaxHeaderBytes)
		}
		if _, err := r.br.Peek(len(buf) + 1); err != nil {
			return nil // the header reader reports the short body
		}
	}
}

// headerEnd is the length of the header block at the start of buf
// before its empty line, or -1 when buf does not hold its end yet.
func headerEnd(buf []byte) int {
	if bytes.HasPrefix(buf, []byte("\n")) || bytes.HasPrefix(buf, []byte("\r\n")) {
		return 0
	}
	end := -1
	for _, sep := range [][]byte{[]byte("\n\n"), []byte("\n\r\n")} {
		if i := bytes.Index(buf, sep); i >= 0 && (end < 0 || i < end) {
			end = i
		}
	}
	return end
}

// Part is one part of the body. Read it, or copy it with WriteTo, before
// asking for the next.
type Part struct {
	// Header is the part's header; Content-Transfer-Encoding is removed
	// when the part was quoted-printable (its bytes are decoded).
	Header textproto.MIMEHeader

	mr    *Reader
	qp    io.Reader // decoder of a quoted-printable part
	n     int       // bytes in the buffer known to be part data
	total int64     // bytes of part data consumed
	err   error     // the error after the n bytes (io.EOF: the part ended)
	// readErr is the error of the underlying reader, once seen.
	readErr error

	dispo       string
	dispoParams map[string]string
	dispoParsed bool
}

// FormName is the name parameter of a form-data Content-Disposition, or "".
func (p *Part) FormName() string {
	p.parseDisposition()
	if p.dispo != "form-data" {
		return ""
	}
	return p.dispoParams["name"]
}

// FileName is the base of the filename parameter of Content-Disposition,
// as mime/multipart gives it, or "".
func (p *Part) FileName() string {
	p.parseDisposition()
	name := p.dispoParams["filename"]
	if name == "" {
		return ""
	}
	return filepath.Base(name)
}

func (p *Part) parseDisposition() {
	if p.dispoParsed {
		return
	}
	p.dispoParsed = true
	var err error
	p.dispo, p.dispoParams, err = mime.ParseMediaType(p.Header.Get("Content-Disposition"))
	if err != nil {
		p.dispoParams = map[string]string{}
	}
}

// Read reads the part's data.
func (p *Part) Read(d []byte) (int, error) {
	if p.qp != nil {
		return p.qp.Read(d)
	}
	return partReader{p}.Read(d)
}

// WriteTo writes the rest of the part's data to w, in pieces of up to
// BufferSize straight from the read buffer.
func (p *Part) WriteTo(w io.Writer) (int64, error) {
	if p.qp != nil {
		return io.Copy(w, onlyReader{p.qp})
	}
	return p.writeRaw(w)
}

func (p *Part) writeRaw(w io.Writer) (int64, error) {
	var total int64
	for {
		if err := p.scan(true); err != nil && p.n == 0 {
			if errors.Is(err, io.EOF) {
				return total, nil
			}
			return total, err
		}
		k, werr := w.Write(p.peek(p.n))
		p.consume(k)
		total += int64(k)
		if werr != nil {
			return total, werr
		}
	}
}

// Close skips the rest of the part's data (as mime/multipart does,
// through the decoder of a quoted-printable part). It always returns nil:
// a failing body fails the next NextPart.
func (p *Part) Close() error {
	_, _ = p.WriteTo(io.Discard)
	return nil
}

func (p *Part) consume(k int) {
	_, _ = p.mr.br.Discard(k)
	p.total += int64(k)
	p.n -= k
}

type partReader struct{ p *Part }

func (pr partReader) Read(d []byte) (int, error) {
	p := pr.p
	if err := p.scan(false); err != nil && p.n == 0 {
		return 0, err
	}
	k := copy(d, p.peek(min(len(d), p.n)))
	p.consume(k)
	if p.n == 0 && p.err != nil {
		return k, p.err
	}
	return k, nil
}

func (p *Part) peek(n int) []byte {
	b, _ := p.mr.br.Peek(n)
	return b
}

// scan finds how many buffered bytes are part data (p.n) and what comes
// after them (p.err), reading more when it cannot tell yet. With big set,
// it first fills the buffer to at least half while the part goes on, so
// WriteTo makes few, large writes.
func (p *Part) scan(big bool) error {
	br := p.mr.br
	for p.n == 0 && p.err == nil {
		buf, _ := br.Peek(br.Buffered())
		p.n, p.err = scanUntilBoundary(buf, p.mr.dashBoundary, p.mr.nlDashBoundary, p.total, p.readErr)
		if p.err == nil && p.readErr == nil && (p.n == 0 || big && len(buf) < BufferSize/2) {
			// Not decided yet, or decided on too little: read more.
			p.n = 0
			want := len(buf) + 1
			if big {
				want = BufferSize
			}
			if _, err := br.Peek(want); err != nil && !errors.Is(err, bufio.ErrBufferFull) {
				p.readErr = err
				if errors.Is(err, io.EOF) {
					p.readErr = io.ErrUnexpectedEOF
				}
			}
		}
	}
	if p.n == 0 {
		return p.err
	}
	return nil
}

// scanUntilBoundary says how many bytes of buf are part data, and whether
// the part ends after them (io.EOF), given the bytes already consumed
// (total) and the underlying reader's error. It decides as
// mime/multipart does; it looks for a boundary cut by the end of buf only
// in the bytes that can hold one.
func scanUntilBoundary(buf, dashBoundary, nlDashBoundary []byte, total int64, readErr error) (int, error) {
	if total == 0 {
		// At the start of the body, the boundary may come without a line
		// ending before it.
		if bytes.HasPrefix(buf, dashBoundary) {
			switch matchAfterPrefix(buf, dashBoundary, readErr) {
			case -1:
				return len(dashBoundary), nil
			case 0:
				return 0, nil
			case +1:
				return 0, io.EOF
			}
		}
		if bytes.HasPrefix(dashBoundary, buf) {
			return 0, readErr
		}
	}
	if i := bytes.Index(buf, nlDashBoundary); i >= 0 {
		switch matchAfterPrefix(buf[i:], nlDashBoundary, readErr) {
		case -1:
			return i + len(nlDashBoundary), nil
		case 0:
			return i, nil
		case +1:
			return i, io.EOF
		}
	}
	if bytes.HasPrefix(nlDashBoundary, buf) {
		return 0, readErr
	}
	// A boundary cut by the end of buf starts at its last line-ending
	// byte, within the last len(nlDashBoundary)-1 bytes (a valid boundary
	// has no CR or LF of its own).
	tail := max(0, len(buf)-len(nlDashBoundary)+1)
	if i := bytes.LastIndexByte(buf[tail:], nlDashBoundary[0]); i >= 0 && bytes.HasPrefix(nlDashBoundary, buf[tail+i:]) {
		return tail + i, nil
	}
	return len(buf), readErr
}

// matchAfterPrefix says what follows a boundary at the start of buf: -1
// not a boundary after all, 0 cannot tell yet, +1 a boundary.
func matchAfterPrefix(buf, prefix []byte, readErr error) int {
	if len(buf) == len(prefix) {
		if readErr != nil {
			return +1
		}
		return 0
	}
	c := buf[len(prefix)]
	if c == ' ' || c == '\t' || c == '\r' || c == '\n' {
		return +1
	}
	if c == '-' {
		if len(buf) == len(prefix)+1 {
			if readErr != nil {
				return -1
			}
			return 0
		}
		if buf[len(prefix)+1] == '-' {
			return +1
		}
	}
	return -1
}

// stickyReader keeps returning the first error of r.
type stickyReader struct {
	r   io.Reader
	err error
}

func (s *stickyReader) Read(p []byte) (int, error) {
	if s.err != nil {
		return 0, s.err
	}
	n, err := s.r.Read(p)
	s.err = err
	return n, err
}

// onlyReader hides a reader's other methods from io.Copy.
type onlyReader struct{ io.Reader }
