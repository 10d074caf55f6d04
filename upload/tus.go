package upload

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"os"
	"strconv"
	"unicode/utf8"
)

// serveTus serves the tus 1.0 endpoints under {base}/tus/: OPTIONS
// (discovery), POST (creation), HEAD (offset), PATCH (append), DELETE
// (termination). Upload URLs are {base}/tus/{id}; id is also the upload's
// id once the last byte has arrived.
func (m *Manager) serveTus(w http.ResponseWriter, r *http.Request, p Principal, seg []string) {
	h := w.Header()
	h.Set("Tus-Resumable", tusVersion)
	if r.Method == http.MethodOptions {
		h.Set("Tus-Version", tusVersion)
		h.Set("Tus-Extension", tusExtensions)
		h.Set("Tus-Checksum-Algorithm", tusChecksumAlgos)
		h.Set("Tus-Max-Size", strconv.FormatInt(m.opts.MaxResumable, 10))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if r.Header.Get("Tus-Resumable") != tusVersion {
		h.Set("Tus-Version", tusVersion)
		writeJSON(w, http.StatusPreconditionFailed, map[string]string{"error": "unsupported tus version; use 1.0.0"})
		return
	}
	if !m.enterIntake() {
		writeError(w, ErrClosed)
		return
	}
	defer m.intake.Done()
	defer m.trackBody(w, r)()
	switch {
	case len(seg) == 0 || len(seg) == 1 && seg[0] == "":
		if r.Method != http.MethodPost {
			methodNotAllowed(w, "OPTIONS, POST")
			return
		}
		m.tusCreate(w, r, p)
	case len(seg) == 1:
		switch r.Method {
		case http.MethodHead:
			m.tusHead(w, r, p, seg[0])
		case http.MethodPatch:
			m.tusPatch(w, r, p, seg[0])
		case http.MethodDelete:
			m.tusDelete(w, r, p, seg[0])
		default:
			methodNotAllowed(w, "OPTIONS, HEAD, PATCH, DELETE")
		}
	default:
		writeError(w, fmt.Errorf("%w: no such endpoint", ErrNotFound))
	}
}

func (m *Manager) tusURL(id string) string {
	base := m.opts.BasePath
	if base == "" || base[len(base)-1] != '/' {
		base += "/"
	}
	return base + "tus/" + id
}

func (m *Manager) tusCreate(w http.ResponseWriter, r *http.Request, p Principal) {
	ctx := r.Context()
	s, err := m.newSession(r, p)
	if err == nil {
		err = m.reserve(ctx)
		if err == nil {
			m.unreserve(1) // only a check: the slot is taken when the upload completes
		}
	}
	var f *os.File
	if err == nil {
		s.Temp, f, err = m.newTemp()
	}
	if err == nil {
		err = m.opts.Dir.SyncTemp(f)
		_ = f.Close()
		if err == nil {
			err = m.opts.Store.CreateSession(ctx, s)
		}
		if err != nil {
			m.dropTemp(s.Temp)
		}
	}
	if err != nil {
		m.audit(ctx, "upload.rejected", p, Upload{Name: s.Name, Size: s.Length}, "rejected", slog.String("reason", publicMessage(err)))
		m.writeErrorLogged(w, r, err)
		return
	}
	m.opts.Logger.Info("upload: resumable upload created", slog.String("id", s.ID), slog.Int64("length", s.Length))
	w.Header().Set("Location", m.tusURL(s.ID))
	w.Header().Set("Upload-Expires", s.Expires.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusCreated)
}

// newSession checks a creation request's headers.
func (m *Manager) newSession(r *http.Request, p Principal) (Session, error) {
	if r.Header.Get("Upload-Defer-Length") != "" {
		return Session{}, fmt.Errorf("%w: Upload-Defer-Length is not supported", ErrBadRequest)
	}
	length, err := parseTusSize(r.Header.Get("Upload-Length"))
	if err != nil {
		return Session{}, err
	}
	meta, err := parseTusMetadata(r.Header.Get("Upload-Metadata"))
	if err != nil {
		return Session{}, err
	}
	name := meta["filename"]
	if name == "" {
		name = meta["name"]
	}
	delete(meta, "filename")
	delete(meta, "name")
	delete(meta, "filetype")
	delete(meta, "type")
	if err := CheckName(name); err != nil {
		return Session{Name: SanitizeName(name)}, err
	}
	s := Session{ID: randomID(), Owner: p.ID, OwnerName: p.Name, Name: SanitizeName(name), Length: length, Meta: meta,
		Created: m.now(), Expires: m.now().Add(m.opts.SessionTTL), HashState: marshalHash(sha256.New())}
	switch {
	case length == 0:
		return s, ErrEmptyFile
	case length > m.opts.MaxResumable:
		return s, fmt.Errorf("%w: at most %d bytes", ErrTooLarge, m.opts.MaxResumable)
	}
	ft, err := typeFor(m.opts.Types, s.Name)
	if err != nil {
		return s, err
	}
	s.Type = ft.MediaType
	return s, nil
}

func marshalHash(h hash.Hash) []byte {
	b, _ := h.(encoding.BinaryMarshaler).MarshalBinary() // crypto/sha256 always can
	return b
}

// session loads the caller's live session; an expired one is deleted and
// answers ErrExpired, another owner's is ErrNotFound.
func (m *Manager) session(ctx context.Context, p Principal, id string) (Session, error) {
	s, err := m.opts.Store.GetSession(ctx, id)
	if err != nil {
		return Session{}, err
	}
	if s.Owner != p.ID {
		return Session{}, fmt.Errorf("%w: session %s", ErrNotFound, id)
	}
	if s.Expires.Before(m.now()) {
		m.expireSession(ctx, s)
		return Session{}, fmt.Errorf("%w: the upload expired", ErrExpired)
	}
	return s, nil
}

func (m *Manager) tusHead(w http.ResponseWriter, r *http.Request, p Principal, id string) {
	h := w.Header()
	h.Set("Cache-Control", "no-store")
	s, err := m.session(r.Context(), p, id)
	if err == nil && s.Offset == s.Length {
		// All its bytes are here but it is not recorded (its last PATCH met
		// a storage outage, or the process died right before recording it).
		// A client resuming takes Upload-Offset = Upload-Length as done and
		// stops, so it is completed now, or the HEAD fails (503: retry).
		if err := m.completeReceived(r.Context(), p, s); err != nil {
			m.audit(r.Context(), "upload.rejected", p, Upload{ID: s.ID, Name: s.Name, Size: s.Offset, Type: s.Type}, "rejected", slog.String("reason", publicMessage(err)))
			m.writeErrorLogged(w, r, err) // HEAD answers have no body
			return
		}
		s, err = m.session(r.Context(), p, id)
	}
	if errors.Is(err, ErrNotFound) {
		// A finished upload: report it complete so a client resuming it stops.
		if u, uerr := m.opts.Store.Get(r.Context(), id); uerr == nil && u.Owner == p.ID {
			h.Set("Upload-Offset", strconv.FormatInt(u.Size, 10))
			h.Set("Upload-Length", strconv.FormatInt(u.Size, 10))
			w.WriteHeader(http.StatusOK)
			return
		}
	}
	if err != nil {
		w.WriteHeader(StatusOf(err)) // HEAD answers have no body
		return
	}
	h.Set("Upload-Offset", strconv.FormatInt(s.Offset, 10))
	h.Set("Upload-Length", strconv.FormatInt(s.Length, 10))
	h.Set("Upload-Expires", s.Expires.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusOK)
}

// emptyBody reports whether a request has no body bytes (a body of
// unknown length is read for one).
func emptyBody(r *http.Request) bool {
	if r.ContentLength >= 0 {
		return r.ContentLength == 0
	}
	var b [1]byte
	n, _ := io.ReadFull(r.Body, b[:])
	return n == 0
}

// completeReceived completes a session that has all its bytes, as the
// PATCH that brought the last of them does (nothing when another request
// completed it meanwhile).
func (m *Manager) completeReceived(ctx context.Context, p Principal, s Session) error {
	if err := m.reserve(ctx); err != nil {
		return err
	}
	defer m.unreserve(1)
	unlock := lockIn(&m.mu, m.tusMu, s.ID)
	defer unlock()
	s, err := m.session(ctx, p, s.ID)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil || s.Offset != s.Length {
		return err
	}
	return m.completeSession(ctx, p, s)
}

func (m *Manager) tusDelete(w http.ResponseWriter, r *http.Request, p Principal, id string) {
	unlock := lockIn(&m.mu, m.tusMu, id)
	defer unlock()
	s, err := m.session(r.Context(), p, id)
	if err != nil {
		writeError(w, err)
		return
	}
	if err := m.opts.Store.DeleteSession(r.Context(), id); err != nil {
		m.writeErrorLogged(w, r, err)
		return
	}
	m.dropTemp(s.Temp)
	m.audit(r.Context(), "upload.terminated", p, Upload{ID: s.ID, Name: s.Name, Size: s.Offset, Type: s.Type}, "terminated")
	w.WriteHeader(http.StatusNoContent)
}

// expireSession deletes an expired session and its bytes.
func (m *Manager) expireSession(ctx context.Context, s Session) {
	unlock := lockIn(&m.mu, m.tusMu, s.ID)
	defer unlock()
	if err := m.opts.Store.DeleteSession(ctx, s.ID); err != nil {
		m.opts.Logger.Warn("upload: delete expired session", slog.String("id", s.ID), slog.Any("error", err))
		return
	}
	m.dropTemp(s.Temp)
	m.audit(ctx, "upload.expired", Principal{ID: s.Owner, Name: s.OwnerName}, Upload{ID: s.ID, Name: s.Name, Size: s.Offset, Type: s.Type}, "expired")
}

func (m *Manager) tusPatch(w http.ResponseWriter, r *http.Request, p Principal, id string) {
	ctx := r.Context()
	if mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); mt != tusContentType {
		writeError(w, fmt.Errorf("%w: PATCH needs Content-Type %s", ErrUnsupportedType, tusContentType))
		return
	}
	offset, err := parseTusSize(r.Header.Get("Upload-Offset"))
	if err != nil {
		writeError(w, err)
		return
	}
	var want []byte
	if c := r.Header.Get("Upload-Checksum"); c != "" {
		if want, err = parseTusChecksum(c); err != nil {
			writeError(w, err)
			return
		}
	}
	if err := m.reserve(ctx); err != nil { // the last chunk makes a job: take a slot first
		writeError(w, err)
		return
	}
	defer m.unreserve(1)
	unlock := lockIn(&m.mu, m.tusMu, id)
	defer unlock()
	s, err := m.session(ctx, p, id)
	if errors.Is(err, ErrNotFound) && emptyBody(r) {
		// An empty PATCH at the end of an upload a HEAD (or a PATCH whose
		// answer was lost) completed: it is done.
		if u, uerr := m.opts.Store.Get(ctx, id); uerr == nil && u.Owner == p.ID && offset == u.Size {
			w.Header().Set("Upload-Offset", strconv.FormatInt(u.Size, 10))
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	if err == nil && s.Offset != offset {
		err = fmt.Errorf("%w: the upload is at offset %d", ErrConflict, s.Offset)
	}
	if err == nil {
		s, err = m.appendChunk(ctx, s, r.Body, want)
	}
	if err == nil && s.Offset == s.Length {
		err = m.completeSession(ctx, p, s)
	}
	if err != nil {
		if !errors.Is(err, ErrConflict) && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrExpired) {
			m.audit(ctx, "upload.rejected", p, Upload{ID: s.ID, Name: s.Name, Size: s.Offset, Type: s.Type}, "rejected", slog.String("reason", publicMessage(err)))
		}
		m.writeErrorLogged(w, r, err)
		return
	}
	w.Header().Set("Upload-Offset", strconv.FormatInt(s.Offset, 10))
	w.Header().Set("Upload-Expires", s.Expires.UTC().Format(http.TimeFormat))
	w.WriteHeader(http.StatusNoContent)
}

// appendChunk writes a PATCH body at the session's offset. Bytes beyond
// the acknowledged offset (left by a crash) are cut off first. Without a
// checksum, what arrived before a dropped connection is kept (the client
// resumes after it); with one, a chunk is kept whole or not at all.
func (m *Manager) appendChunk(ctx context.Context, s Session, body io.Reader, want []byte) (Session, error) {
	f, err := m.opts.Dir.OpenTemp(s.Temp)
	if err != nil {
		return s, err
	}
	defer f.Close()
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.HashState); err != nil {
		return s, fmt.Errorf("upload: session %s: hash state: %w", s.ID, err)
	}
	if err := f.Truncate(s.Offset); err != nil {
		return s, fmt.Errorf("upload: session %s: %w", s.ID, err)
	}
	if _, err := f.Seek(s.Offset, io.SeekStart); err != nil {
		return s, fmt.Errorf("upload: session %s: %w", s.ID, err)
	}
	chunk := sha256.New()
	side := []io.Writer{h, chunk}
	if ft, err := typeFor(m.opts.Types, s.Name); err == nil && ft.Text {
		text, err := textCheckAt(f, s.Offset)
		if err != nil {
			return s, fmt.Errorf("upload: session %s: %w", s.ID, err)
		}
		side = append(side, text)
	}
	bp := copyBufs.Get().(*[]byte)
	tw := newTempWriter(f, io.MultiWriter(side...), s.Offset, s.Length-s.Offset)
	n, rerr := fillCopy(tw, io.LimitReader(body, s.Length-s.Offset), *bp)
	_ = tw.Close()
	copyBufs.Put(bp)
	if rerr == nil {
		var extra [1]byte
		if k, _ := body.Read(extra[:]); k > 0 {
			rerr = fmt.Errorf("%w: the chunk goes past Upload-Length", ErrBadRequest)
		}
	}
	if errors.Is(rerr, errTempWrite) { // h may hold bytes the file did not get: keep nothing of the chunk
		_ = f.Truncate(s.Offset)
		return s, fmt.Errorf("upload: session %s: %w", s.ID, rerr)
	}
	if errors.Is(rerr, ErrUnsupportedType) { // not text: refused as soon as it shows
		m.dropSession(ctx, s)
		return s, rerr
	}
	if errors.Is(rerr, ErrBadRequest) || want != nil && (rerr != nil || !bytes.Equal(chunk.Sum(nil), want)) {
		_ = f.Truncate(s.Offset)
		if rerr == nil {
			rerr = ErrChecksum
		}
		return s, rerr
	}
	if err := f.Sync(); err != nil {
		return s, fmt.Errorf("upload: session %s: sync: %w", s.ID, err)
	}
	if n > 0 {
		to := s.Offset + n
		if err := m.opts.Store.AdvanceSession(context.WithoutCancel(ctx), s.ID, s.Offset, to, marshalHash(h)); err != nil {
			return s, err
		}
		from := s.Offset
		s.Offset, s.HashState = to, marshalHash(h)
		if err := m.checkSessionHead(f, s, from); err != nil {
			m.dropSession(ctx, s)
			return s, err
		}
	}
	if rerr != nil && !errors.Is(rerr, ErrBadRequest) {
		rerr = readError(rerr)
	}
	return s, rerr
}

// checkSessionHead checks the type of a resumable upload as soon as its
// first SniffLen bytes (or all of it, when shorter) have arrived.
func (m *Manager) checkSessionHead(f *os.File, s Session, from int64) error {
	need := min(int64(SniffLen), s.Length)
	if from >= need || s.Offset < need {
		return nil
	}
	head := make([]byte, need)
	if _, err := f.ReadAt(head, 0); err != nil {
		return fmt.Errorf("upload: session %s: %w", s.ID, err)
	}
	ft, err := typeFor(m.opts.Types, s.Name)
	if err != nil {
		return err
	}
	return checkHead(ft, head)
}

// dropSession deletes a session that failed validation.
func (m *Manager) dropSession(ctx context.Context, s Session) {
	if err := m.opts.Store.DeleteSession(context.WithoutCancel(ctx), s.ID); err != nil {
		m.opts.Logger.Warn("upload: delete rejected session", slog.String("id", s.ID), slog.Any("error", err))
		return
	}
	m.dropTemp(s.Temp)
}

// completeSession turns a fully received session into a queued job.
func (m *Manager) completeSession(ctx context.Context, p Principal, s Session) error {
	ctx = context.WithoutCancel(ctx)
	ft, err := typeFor(m.opts.Types, s.Name)
	if err == nil && ft.Text {
		err = m.checkTextEnd(s.Temp, s.Length)
	}
	if err != nil {
		m.dropSession(ctx, s)
		return err
	}
	h := sha256.New()
	if err := h.(encoding.BinaryUnmarshaler).UnmarshalBinary(s.HashState); err != nil {
		return fmt.Errorf("upload: session %s: hash state: %w", s.ID, err)
	}
	now := m.now()
	sum := hex.EncodeToString(h.Sum(nil))
	u := Upload{ID: s.ID, Owner: s.Owner, OwnerName: s.OwnerName, Name: s.Name, Type: ft.MediaType, Size: s.Length,
		SHA256: sum, Key: objectKey(sum), Temp: s.Temp, Meta: s.Meta, State: StateQueued, Message: "queued",
		RunAt: now, Created: now, Updated: now}
	sctx, rctx, cancel := m.stagingCtx(ctx)
	defer cancel()
	locals, err := m.stageAll(sctx, []Upload{u})
	if err != nil {
		return err
	}
	if len(locals) > 0 {
		u.Temp = stagingPrefix + u.ID
	}
	if err := m.opts.Store.CompleteSession(rctx, u); err != nil {
		if cur, gerr := m.opts.Store.Get(ctx, u.ID); errors.Is(err, ErrNotFound) && gerr == nil && cur.Owner == u.Owner {
			// Another instance sharing Dir completed it meanwhile: its
			// upload may refer to the staged key this one wrote again.
			if cur.Temp != u.Temp {
				m.unstage(ctx, []Upload{u}) // its job is past the staged copy
			}
			return nil
		}
		m.unstage(ctx, []Upload{u})
		return fmt.Errorf("upload: record the upload: %w", err)
	}
	for _, local := range locals {
		m.dropTemp(local)
	}
	m.audit(ctx, "upload.accepted", p, u, "accepted", slog.Bool("resumable", true))
	m.nudge()
	return nil
}

// textCheckAt returns the text check of a resumable upload's bytes from
// off on. Every PATCH checks its own bytes; the bytes before off were
// checked by the PATCHes that wrote them, and all a check carries over is
// a rune cut by the end of the last chunk, read back from the file.
func textCheckAt(f *os.File, off int64) (*textCheck, error) {
	c := &textCheck{}
	var tail [utf8.UTFMax - 1]byte
	n := min(off, int64(len(tail)))
	if n == 0 {
		return c, nil
	}
	if _, err := f.ReadAt(tail[:n], off-n); err != nil {
		return nil, err
	}
	b := tail[:n]
	for i := len(b) - 1; i >= 0; i-- {
		if utf8.RuneStart(b[i]) {
			if !utf8.FullRune(b[i:]) {
				c.n = copy(c.carry[:], b[i:])
			}
			break
		}
	}
	return c, nil
}

// checkTextEnd fails when a text upload of length bytes ends in the
// middle of a rune (its bytes before were checked as they arrived).
func (m *Manager) checkTextEnd(temp string, length int64) error {
	f, err := m.opts.Dir.OpenTemp(temp)
	if err != nil {
		return err
	}
	defer f.Close()
	c, err := textCheckAt(f, length)
	if err != nil {
		return err
	}
	return c.Close()
}
