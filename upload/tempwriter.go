package upload

import (
	"errors"
	"fmt"
	"io"
	"os"
)

const (
	// parallelMin is the smallest write whose hashing is handed to the
	// helper goroutine; smaller pieces are hashed inline (a hand-off costs
	// more than hashing them).
	parallelMin = 32 << 10
	// writebackStep is how many bytes are written between two starts of
	// the kernel's writeback of the file.
	writebackStep = 8 << 20
)

// tempWriter is the fast path of every upload's bytes into its temporary
// file. Each piece goes to the file and, at the same time on a helper
// goroutine, to side (the SHA-256, and the text check of a text type), so
// hashing, the largest cost after the kernel's copies, overlaps the file
// write instead of following it. Write returns only when both are done
// with the piece, so the caller may reuse it as io.Writer allows. Every
// writebackStep bytes it starts the kernel writing the file back to disk
// (startWriteback), so the fsync that makes the file durable before it is
// acknowledged finds little left to write. At most limit bytes are taken:
// a write beyond them fails with errOverLimit and writes nothing. A
// write the file fails (a full disk) is errTempWrite: side may then have
// taken bytes the file has not, so its state (the hash) must not be kept.
//
// Close must be called to stop the helper.
type tempWriter struct {
	f       *os.File
	side    io.Writer
	limit   int64 // bytes still allowed
	off     int64 // file offset after the last write
	flushed int64 // offset up to which writeback was started
	work    chan []byte
	done    chan error
}

// errTempWrite is a failed write of an upload's temporary file.
var errTempWrite = errors.New("upload: write the temporary file")

// newTempWriter writes to f, whose offset is off, and to side.
func newTempWriter(f *os.File, side io.Writer, off, limit int64) *tempWriter {
	w := &tempWriter{f: f, side: side, limit: limit, off: off, flushed: off,
		work: make(chan []byte), done: make(chan error)}
	go w.helper()
	return w
}

func (w *tempWriter) helper() {
	for p := range w.work {
		_, err := w.side.Write(p)
		w.done <- err
	}
}

func (w *tempWriter) Write(p []byte) (int, error) {
	if int64(len(p)) > w.limit {
		return 0, errOverLimit
	}
	var n int
	var err, serr error
	if len(p) < parallelMin {
		if _, serr = w.side.Write(p); serr == nil {
			n, err = w.f.Write(p)
		}
	} else {
		w.work <- p
		n, err = w.f.Write(p)
		serr = <-w.done
	}
	w.limit -= int64(n)
	w.off += int64(n)
	if err != nil {
		return n, fmt.Errorf("%w: %w", errTempWrite, err)
	}
	if serr != nil {
		return n, serr
	}
	if w.off-w.flushed >= writebackStep {
		startWriteback(w.f, w.flushed, w.off-w.flushed)
		w.flushed = w.off
	}
	return n, nil
}

// Close stops the helper goroutine; it does not close the file.
func (w *tempWriter) Close() error {
	close(w.work)
	return nil
}
