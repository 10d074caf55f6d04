package upload

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/finkit/finkit/upload/internal/mpart"
)

const (
	maxFields     = 16      // non-file form fields per request
	maxFieldBytes = 1 << 10 // bytes per form field value
	copyBufSize   = 256 << 10
)

var fieldName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)

var copyBufs = sync.Pool{New: func() any { b := make([]byte, copyBufSize); return &b }}

// received is a file written to a temporary file, not yet in the store.
type received struct {
	temp string
	name string
	typ  string
	size int64
	sum  string
}

// reserve takes a queue slot for one more file, or fails with ErrQueueFull
// (or ErrClosed during shutdown). Slots are the jobs queued or running in
// the store plus the files being received.
func (m *Manager) reserve(ctx context.Context) error {
	if m.closed.Load() {
		return ErrClosed
	}
	n := m.reserved.Add(1)
	pending, err := m.opts.Store.Pending(ctx)
	if err != nil {
		m.reserved.Add(-1)
		return fmt.Errorf("upload: count pending jobs: %w", err)
	}
	if int64(pending)+n > int64(m.opts.QueueSize) {
		m.reserved.Add(-1)
		return ErrQueueFull
	}
	return nil
}

func (m *Manager) unreserve(n int) { m.reserved.Add(-int64(n)) }

// handleIntake serves POST {base}: a streamed multipart/form-data body
// whose file parts become queued jobs (202), or nothing at all on error.
func (m *Manager) handleIntake(w http.ResponseWriter, r *http.Request, p Principal) {
	if !m.enterIntake() {
		writeError(w, ErrClosed)
		return
	}
	defer m.intake.Done()
	defer m.trackBody(w, r)()
	ctx := r.Context()
	if err := m.reserve(ctx); err != nil { // a first slot, before a byte is read
		m.reject(w, r, p, err, nil)
		return
	}
	slots := 1
	defer func() { m.unreserve(slots) }()
	mt, params, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" || params["boundary"] == "" {
		m.reject(w, r, p, fmt.Errorf("%w: send multipart/form-data", ErrUnsupportedType), nil)
		return
	}
	if r.ContentLength > m.opts.MaxRequestSize {
		m.reject(w, r, p, fmt.Errorf("%w: the request is over %d bytes", ErrTooLarge, m.opts.MaxRequestSize), nil)
		return
	}
	body := &limitedBody{r: http.MaxBytesReader(w, r.Body, m.opts.MaxRequestSize)}
	mr, err := mpart.NewReader(body, params["boundary"])
	if err != nil {
		m.reject(w, r, p, fmt.Errorf("%w: invalid multipart boundary", ErrBadRequest), nil)
		return
	}
	files, meta, err := m.readParts(r.Context(), mr, &slots)
	if err != nil && body.over {
		err = fmt.Errorf("%w: the request is over %d bytes", ErrTooLarge, m.opts.MaxRequestSize)
	}
	if err == nil && len(files) == 0 {
		err = fmt.Errorf("%w: no file in the request", ErrBadRequest)
	}
	if err != nil {
		m.discard(files)
		m.reject(w, r, p, err, files)
		return
	}
	ups, err := m.enqueue(ctx, p, files, meta)
	if err != nil {
		m.reject(w, r, p, err, files)
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"uploads": ups})
}

// readParts streams every part of the body: form fields into meta, files
// into temporary files. On error the files received so far are returned
// for the caller to discard.
func (m *Manager) readParts(ctx context.Context, mr *mpart.Reader, slots *int) ([]received, map[string]string, error) {
	var files []received
	meta := map[string]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return files, meta, nil
		}
		if err != nil {
			return files, nil, readError(err)
		}
		if part.FileName() == "" && part.FormName() != "" {
			err = readField(part, meta)
		} else {
			var f received
			f, err = m.receivePart(ctx, part, len(files), slots)
			if err == nil || f.name != "" {
				files = append(files, f) // a refused file too, for its name in the audit log (it has no temp)
			}
		}
		_ = part.Close()
		if err != nil {
			return files, nil, err
		}
	}
}

func readField(part *mpart.Part, meta map[string]string) error {
	name := part.FormName()
	if !fieldName.MatchString(name) || len(meta) >= maxFields {
		return fmt.Errorf("%w: unexpected form field %q", ErrBadRequest, SanitizeName(name))
	}
	b, err := io.ReadAll(io.LimitReader(part, maxFieldBytes+1))
	if err != nil {
		return readError(err)
	}
	if len(b) > maxFieldBytes || strings.ContainsRune(string(b), 0) {
		return fmt.Errorf("%w: form field %s is too long", ErrBadRequest, name)
	}
	meta[name] = string(b)
	return nil
}

// receivePart checks one file part and streams it to a temporary file.
func (m *Manager) receivePart(ctx context.Context, part *mpart.Part, n int, slots *int) (received, error) {
	if n >= m.opts.MaxFiles {
		return received{}, fmt.Errorf("%w: at most %d files per request", ErrTooManyFiles, m.opts.MaxFiles)
	}
	if n > 0 { // the first file uses the request's first slot
		if err := m.reserve(ctx); err != nil {
			return received{}, err
		}
		*slots++
	}
	return m.receive(part, part.FileName(), m.opts.MaxFileSize)
}

// receive validates and writes one file from r: the type is checked from
// its first bytes before anything is written; the content is hashed and
// (for text types) checked in the same pass as it is written; the file is
// fsynced before receive returns.
func (m *Manager) receive(r io.Reader, clientName string, limit int64) (received, error) {
	name := SanitizeName(clientName)
	if err := CheckName(clientName); err != nil {
		return received{name: name}, err
	}
	ft, err := typeFor(m.opts.Types, name)
	if err != nil {
		return received{name: name}, err
	}
	br := bufio.NewReaderSize(r, SniffLen)
	head, err := br.Peek(SniffLen)
	if err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, bufio.ErrBufferFull) {
		return received{name: name}, readError(err)
	}
	if err := checkHead(ft, head); err != nil {
		return received{name: name}, err
	}
	temp, f, err := m.newTemp()
	if err != nil {
		return received{name: name}, err
	}
	h := sha256.New()
	size, err := m.copyChecked(f, h, ft, br, limit)
	if err == nil {
		err = m.opts.Dir.SyncTemp(f)
	}
	if cerr := f.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		m.dropTemp(temp)
		return received{name: name}, err
	}
	return received{temp: temp, name: name, typ: ft.MediaType, size: size, sum: hex.EncodeToString(h.Sum(nil))}, nil
}

// copyChecked copies at most limit bytes of r to f and h (and, for a
// text type, the text check) through a tempWriter, in the large pieces r
// gives when it is a WriterTo (a multipart part, through the bufio.Reader
// of its head).
func (m *Manager) copyChecked(f *os.File, h hash.Hash, ft FileType, r io.Reader, limit int64) (int64, error) {
	var side io.Writer = h
	var text *textCheck
	if ft.Text {
		text = &textCheck{}
		side = io.MultiWriter(h, text)
	}
	tw := newTempWriter(f, side, 0, limit)
	n, err := io.Copy(tw, r)
	_ = tw.Close()
	switch {
	case errors.Is(err, errOverLimit):
		return 0, fmt.Errorf("%w: a file is over %d bytes", ErrTooLarge, limit)
	case err != nil && errors.Is(err, ErrUnsupportedType):
		return 0, err
	case errors.Is(err, errTempWrite): // a full disk is no malformed upload
		return 0, err
	case err != nil:
		return 0, readError(err)
	case n == 0:
		return 0, ErrEmptyFile
	}
	if text != nil {
		if err := text.Close(); err != nil {
			return 0, err
		}
	}
	return n, nil
}

var errOverLimit = errors.New("upload: over the size limit")

// limitedBody notes when http.MaxBytesReader stopped the body, which the
// multipart reader may report as a malformed stream.
type limitedBody struct {
	r    io.ReadCloser
	over bool
}

func (b *limitedBody) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		b.over = true
	}
	return n, err
}

func (b *limitedBody) Close() error { return b.r.Close() }

// fillCopy copies src to dst, filling buf before each write, so a source
// that yields small pieces (a request body read straight from the socket)
// still makes few, large writes to the file and the hash.
func fillCopy(dst io.Writer, src io.Reader, buf []byte) (int64, error) {
	var total int64
	for {
		n, err := fill(src, buf)
		if n > 0 {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return total, werr
			}
			total += int64(n)
		}
		if errors.Is(err, io.EOF) {
			return total, nil
		}
		if err != nil {
			return total, err // including io.ErrUnexpectedEOF: a body cut short
		}
	}
}

// fill reads into buf until it is full or src fails; io.EOF is returned
// only as src's own end.
func fill(src io.Reader, buf []byte) (int, error) {
	n := 0
	for n < len(buf) {
		k, err := src.Read(buf[n:])
		n += k
		if err != nil {
			return n, err
		}
	}
	return n, nil
}

// readError classifies an error reading the request body.
func readError(err error) error {
	if errors.Is(err, ErrTimeout) || errors.Is(err, ErrClosed) {
		return err
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return fmt.Errorf("%w: the request is over %d bytes", ErrTooLarge, mbe.Limit)
	}
	if errors.Is(err, mpart.ErrNUL) {
		return fmt.Errorf("%w: a part header (its file name) contains a NUL byte", ErrBadName)
	}
	return fmt.Errorf("%w: the upload was interrupted or malformed", ErrBadRequest)
}

// discard removes received files that will not be kept.
func (m *Manager) discard(files []received) {
	for _, f := range files {
		if f.temp != "" {
			m.dropTemp(f.temp)
		}
	}
}

// objectKey is the content-addressed storage key of a SHA-256 (hex).
func objectKey(sum string) string { return "sha256/" + sum[:2] + "/" + sum }

// enqueue records the received files as queued jobs, all or none.
func (m *Manager) enqueue(ctx context.Context, p Principal, files []received, meta map[string]string) ([]Upload, error) {
	now := m.now()
	ups := make([]Upload, 0, len(files))
	for _, f := range files {
		ups = append(ups, m.newUpload(p, f, meta, now))
	}
	sctx, rctx, cancel := m.stagingCtx(ctx)
	defer cancel()
	locals, err := m.stageAll(sctx, ups)
	if err != nil {
		m.discard(files)
		return nil, err
	}
	if err := m.opts.Store.Create(rctx, ups...); err != nil {
		m.unstage(ctx, ups)
		m.discard(files)
		return nil, fmt.Errorf("upload: record the upload: %w", err)
	}
	for _, local := range locals { // staged: the local copies are no longer needed
		m.dropTemp(local)
	}
	for _, u := range ups {
		m.audit(ctx, "upload.accepted", p, u, "accepted")
	}
	m.nudge()
	return ups, nil
}

func (m *Manager) newUpload(p Principal, f received, meta map[string]string, now time.Time) Upload {
	return Upload{
		ID: randomID(), Owner: p.ID, OwnerName: p.Name,
		Name: f.name, Type: f.typ, Size: f.size, SHA256: f.sum, Key: objectKey(f.sum), Temp: f.temp,
		Meta: meta, State: StateQueued, Message: "queued", RunAt: now, Created: now, Updated: now,
	}
}

// reject answers an intake error and audits it.
func (m *Manager) reject(w http.ResponseWriter, r *http.Request, p Principal, err error, files []received) {
	name, size := "", int64(0)
	if len(files) > 0 {
		name, size = files[len(files)-1].name, files[len(files)-1].size
	}
	m.audit(r.Context(), "upload.rejected", p, Upload{Name: name, Size: size}, "rejected", slog.String("reason", publicMessage(err)))
	m.writeErrorLogged(w, r, err)
}

// stoppableBody is a request body that ends when the client stalls and
// that Shutdown can stop. Each read re-arms a read deadline of
// Options.BodyIdleTimeout (a client that sends nothing for that long gets
// ErrTimeout); stop makes reads fail from then on and wakes a read blocked
// on a stalled client with a deadline in the past.
type stoppableBody struct {
	io.ReadCloser
	rc    *http.ResponseController
	idle  time.Duration
	mu    sync.Mutex // orders re-arming against stop
	armed time.Time  // when the deadline was last set
	// stopped is set by stop, under mu.
	stopped bool
}

var errBodyStopped = fmt.Errorf("%w: the server is shutting down", ErrClosed)

func (b *stoppableBody) Read(p []byte) (int, error) {
	if err := b.arm(); err != nil {
		return 0, err
	}
	n, err := b.ReadCloser.Read(p)
	if err != nil && errors.Is(err, os.ErrDeadlineExceeded) {
		b.mu.Lock()
		stopped := b.stopped
		b.mu.Unlock()
		if stopped {
			return n, errBodyStopped
		}
		return n, fmt.Errorf("%w: the client sent nothing for %v", ErrTimeout, b.idle)
	}
	return n, err
}

// arm moves the read deadline to now+idle, at most every idle/8 (the
// idle limit is then between 7/8 of idle and idle).
func (b *stoppableBody) arm() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.stopped {
		return errBodyStopped
	}
	now := time.Now()
	if now.Sub(b.armed) < b.idle/8 {
		return nil
	}
	b.armed = now
	_ = b.rc.SetReadDeadline(now.Add(b.idle)) // unsupported (HTTP/2 over some proxies): no idle limit
	return nil
}

func (b *stoppableBody) stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stopped = true
	_ = b.rc.SetReadDeadline(time.Now())
}

// trackBody gives r's body the idle limit and makes it stoppable by
// Shutdown until the returned function is called. The last deadline stays
// set: net/http may read what is left of the body after the handler, and
// the server resets the deadline for the connection's next request.
func (m *Manager) trackBody(w http.ResponseWriter, r *http.Request) func() {
	b := &stoppableBody{ReadCloser: r.Body, rc: http.NewResponseController(w), idle: m.opts.BodyIdleTimeout}
	r.Body = b
	m.bodies.Store(b, struct{}{})
	return func() { m.bodies.Delete(b) }
}

// stopBodies stops every request body being read.
func (m *Manager) stopBodies() {
	m.bodies.Range(func(k, _ any) bool {
		k.(*stoppableBody).stop()
		return true
	})
}
