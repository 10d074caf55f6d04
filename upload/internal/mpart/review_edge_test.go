package mpart

import (
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

// compareLean is compare for big bodies: every part read, through whole
// and halved reads, by Read and by WriteTo.
func compareLean(t *testing.T, body []byte, boundary string) {
	t.Helper()
	all := func(int) bool { return false }
	want := normalize(stdTranscript(body, boundary, all)).String()
	for _, half := range []bool{false, true} {
		for _, writeTo := range []bool{false, true} {
			var src = bytes.NewReader(body)
			var r interface{ Read([]byte) (int, error) } = src
			if half {
				r = iotest.HalfReader(src)
			}
			got, err := ourTranscript(r, boundary, all, writeTo)
			if err != nil {
				t.Fatal(err)
			}
			if g := normalize(got).String(); g != want {
				t.Fatalf("half %v WriteTo %v: body of %d bytes\nmime/multipart:\n%s\nmpart:\n%s", half, writeTo, len(body), want, g)
			}
		}
	}
}

// TestBoundaryAtBufferEdges (review): a boundary, or boundary-like data,
// straddling the read buffer's end (and its half, where WriteTo stops
// filling) at every offset, CRLF and LF-only bodies, against
// mime/multipart.
func TestBoundaryAtBufferEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	const b = "edge-bnd"
	for _, nl := range []string{"\r\n", "\n"} {
		head := "--" + b + nl + `Content-Disposition: form-data; name="f"; filename="a.bin"` + nl + nl
		for _, near := range []string{nl + "--" + b + nl, nl + "--" + b + "X", "\r\r\n--" + b + "--" + nl} {
			for _, edge := range []int{BufferSize / 2, BufferSize} {
				for d := -len(near) - 2; d <= 2; d++ {
					pad := edge + d - len(head)
					body := head + strings.Repeat("a", pad) + near + "tail" + nl + "--" + b + nl + nl + "second" + nl + "--" + b + "--" + nl
					compareLean(t, []byte(body), b)
				}
			}
		}
	}
}

// TestManyTinyParts (review): ten thousand one-byte parts, some without
// a filename, read the same as mime/multipart reads them.
func TestManyTinyParts(t *testing.T) {
	var s strings.Builder
	for i := 0; i < 10000; i++ {
		s.WriteString("--t\r\n")
		if i%3 == 0 {
			s.WriteString("Content-Disposition: form-data; name=\"x\"\r\n")
		} else {
			s.WriteString("Content-Disposition: form-data; name=\"f\"; filename=\"a.csv\"\r\n")
		}
		s.WriteString("\r\nz\r\n")
	}
	s.WriteString("--t--\r\n")
	compare(t, []byte(s.String()), "t")
}

// TestBoundaryAtLaterBufferEdges (review): with the 64 KiB buffer a part
// of a few hundred KiB crosses several refills; a boundary, or
// boundary-like data, straddling the second and third buffer ends (where a
// refill after a whole buffer of data ends, for whole reads) at every
// offset, and the same bodies read in odd-sized pieces, against
// mime/multipart.
func TestBoundaryAtLaterBufferEdges(t *testing.T) {
	if testing.Short() {
		t.Skip("large bodies")
	}
	const b = "edge-bnd"
	nl := "\r\n"
	head := "--" + b + nl + `Content-Disposition: form-data; name="f"; filename="a.bin"` + nl + nl
	for _, near := range []string{nl + "--" + b + nl, nl + "--" + b + "X", "\r\r\n--" + b + "--" + nl} {
		for _, edge := range []int{2 * BufferSize, 3 * BufferSize} {
			for d := -len(near) - 2; d <= 2; d++ {
				pad := edge + d - len(head)
				body := []byte(head + strings.Repeat("a", pad) + near + "tail" + nl + "--" + b + "--" + nl)
				compareLean(t, body, b)
				want := normalize(stdTranscript(body, b, func(int) bool { return false })).String()
				for _, size := range []int{7919, BufferSize/2 + 1} {
					got, err := ourTranscript(&oddReads{r: bytes.NewReader(body), n: size}, b, func(int) bool { return false }, true)
					if err != nil {
						t.Fatal(err)
					}
					if g := normalize(got).String(); g != want {
						t.Fatalf("reads of %d, edge %d%+d: mpart disagrees with mime/multipart", size, edge, d)
					}
				}
			}
		}
	}
}

// oddReads returns at most n bytes a read.
type oddReads struct {
	r interface{ Read([]byte) (int, error) }
	n int
}

func (o *oddReads) Read(p []byte) (int, error) { return o.r.Read(p[:min(len(p), o.n)]) }
