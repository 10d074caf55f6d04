package upload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// Copier is a Storage that copies an object to another key by itself (an
// S3 server-side copy). The pipeline uses it, when the Storage has it, to
// move a staged upload to its content-addressed key.
type Copier interface {
	Copy(ctx context.Context, dst, src string) error
}

// Lister is a Storage that lists its objects. With a shared Storage that
// is a Lister, the janitor deletes staged objects that no upload refers
// to (see Options.StagingGrace); FS and upload/s3storage are Listers.
type Lister interface {
	// List returns the objects whose keys start with prefix.
	List(ctx context.Context, prefix string) ([]ObjectInfo, error)
}

// Aborter is a Storage that can abort the uploads it started and never
// completed: an S3 multipart upload stays in the bucket, costing storage,
// when the instance putting an object of unknown length is killed before
// it completes or aborts it. With a shared Storage that is an Aborter,
// the janitor aborts those started more than Options.StagingGrace ago;
// upload/s3storage is one.
type Aborter interface {
	// AbortIncomplete aborts the incomplete uploads of keys starting with
	// prefix that were started before cutoff, and returns how many it
	// aborted. It never touches uploads outside the Storage's own
	// namespace (for upload/s3storage, its bucket and prefix).
	AbortIncomplete(ctx context.Context, prefix string, cutoff time.Time) (int, error)
}

// stagingPrefix is where uploads wait in a shared Storage until their job
// stores them under their content-addressed key.
const stagingPrefix = "incoming/"

// shared reports whether files are stored in a Storage other than Dir
// (object storage several instances share). Then an accepted file is
// staged in that Storage before it is acknowledged, so that any instance
// can run its job, not only the one whose disk received it.
func (m *Manager) shared() bool {
	fs, ok := m.opts.Storage.(*FS)
	return !ok || fs != m.opts.Dir
}

// stagedKey returns the staging key of an upload's Temp, if it is staged.
func stagedKey(temp string) (string, bool) {
	if strings.HasPrefix(temp, stagingPrefix) {
		return temp, true
	}
	return "", false
}

// stage copies an upload's temporary file into the shared Storage under
// incoming/{id} and points u.Temp there; the local file is removed by the
// caller once the upload is recorded.
func (m *Manager) stage(ctx context.Context, u *Upload) error {
	f, err := m.opts.Dir.OpenTemp(u.Temp)
	if err != nil {
		return err
	}
	defer f.Close()
	key := stagingPrefix + u.ID
	n, err := m.opts.Storage.Put(ctx, key, f)
	if err == nil && n != u.Size {
		err = fmt.Errorf("staged %d of %d bytes", n, u.Size)
	}
	if err != nil {
		_ = m.opts.Storage.Delete(context.WithoutCancel(ctx), key)
		return fmt.Errorf("%w: stage the file: %w", ErrUnavailable, err)
	}
	u.Temp = key
	return nil
}

// stageAll stages every upload (when the Storage is shared) and returns
// the local temporary files they came from.
func (m *Manager) stageAll(ctx context.Context, ups []Upload) ([]string, error) {
	if !m.shared() {
		return nil, nil
	}
	locals := make([]string, 0, len(ups))
	for i := range ups {
		local := ups[i].Temp
		if err := m.stage(ctx, &ups[i]); err != nil {
			m.unstage(ctx, ups[:i])
			return nil, err
		}
		locals = append(locals, local)
	}
	return locals, nil
}

// unstage deletes staged copies of uploads that were not recorded.
func (m *Manager) unstage(ctx context.Context, ups []Upload) {
	for _, u := range ups {
		if key, ok := stagedKey(u.Temp); ok {
			if err := m.opts.Storage.Delete(context.WithoutCancel(ctx), key); err != nil {
				m.opts.Logger.Warn("upload: delete staged file", slog.String("key", key), slog.Any("error", err))
			}
		}
	}
}

// stagingCtx bounds staging files and recording them, together, to half
// of StagingGrace from now, before the first staging PUT starts: the
// janitor deletes a staged object that nothing refers to once it is older
// than the whole grace, and an object store may date an object from the
// start of its upload (S3 dates a multipart upload's object by its
// initiation), so an upload that is recorded at all is recorded before its
// staged object could be swept, however slow the staging was. stage keeps
// ctx's cancellation (the client gone); record does not.
func (m *Manager) stagingCtx(ctx context.Context) (stage, record context.Context, cancel context.CancelFunc) {
	deadline := time.Now().Add(m.opts.StagingGrace / 2)
	sctx, scancel := context.WithDeadline(ctx, deadline)
	rctx, rcancel := context.WithDeadline(context.WithoutCancel(ctx), deadline)
	return sctx, rctx, func() { scancel(); rcancel() }
}

// sweepStaged deletes staged objects older than StagingGrace that no
// upload refers to. They are left by an instance that died after staging
// a file and before recording it (the client got no 202), or by a job
// that stored a file and could not delete its staged copy. It only logs
// its errors: a storage that is down must not keep New from starting.
// It also aborts incomplete uploads older than StagingGrace (Aborter).
func (m *Manager) sweepStaged(ctx context.Context) {
	if !m.shared() {
		return
	}
	cutoff := m.now().Add(-m.opts.StagingGrace)
	m.abortIncomplete(ctx, cutoff)
	l, ok := m.opts.Storage.(Lister)
	if !ok {
		return
	}
	objs, err := l.List(ctx, stagingPrefix)
	if err != nil {
		m.opts.Logger.Warn("upload: list staged files", slog.Any("error", err))
		return
	}
	var old []ObjectInfo
	for _, o := range objs {
		if o.ModTime.Before(cutoff) {
			old = append(old, o)
		}
	}
	if len(old) == 0 {
		return
	}
	refs, err := m.opts.Store.TempNames(ctx) // read after listing: an upload recorded meanwhile is seen
	if err != nil {
		m.opts.Logger.Warn("upload: referenced staged files", slog.Any("error", err))
		return
	}
	used := make(map[string]bool, len(refs))
	for _, r := range refs {
		used[r] = true
	}
	for _, o := range old {
		if used[o.Key] {
			continue
		}
		if err := m.opts.Storage.Delete(ctx, o.Key); err != nil {
			m.opts.Logger.Warn("upload: delete unreferenced staged file", slog.String("key", o.Key), slog.Any("error", err))
			continue
		}
		m.opts.Logger.Info("upload: unreferenced staged file deleted", slog.String("key", o.Key), slog.Int64("size", o.Size))
	}
}

// abortIncomplete aborts the Storage's incomplete uploads (of any key)
// started before cutoff, when it is an Aborter. The Manager's puts into
// a shared Storage are staging puts, which end within half of
// StagingGrace (stagingCtx), so none still running is aborted; a job
// that stores an upload recorded unstaged (or copies one without a
// Copier) has no such bound, and if its put outlasts StagingGrace it
// fails as a transient error and is retried.
func (m *Manager) abortIncomplete(ctx context.Context, cutoff time.Time) {
	a, ok := m.opts.Storage.(Aborter)
	if !ok {
		return
	}
	n, err := a.AbortIncomplete(ctx, "", cutoff)
	if n > 0 {
		m.opts.Logger.Info("upload: abandoned incomplete uploads aborted", slog.Int("count", n))
	}
	if err != nil {
		m.opts.Logger.Warn("upload: abort incomplete uploads", slog.Any("error", err))
	}
}

// commitStaged moves a staged upload to its key: a server-side copy (or a
// streamed one) unless the content is stored already, then the staged
// object is deleted. A staged object already gone is ErrNotFound (an
// earlier attempt moved it).
func (m *Manager) commitStaged(ctx context.Context, staged string, u Upload) error {
	if _, err := m.opts.Storage.Stat(ctx, u.Key); err != nil {
		if !errors.Is(err, ErrNotFound) {
			return Transient(err)
		}
		if err := m.copyObject(ctx, u.Key, staged); err != nil {
			return err
		}
	} else if _, err := m.opts.Storage.Stat(ctx, staged); err != nil {
		return err // already moved (ErrNotFound) or the storage failed
	}
	if err := m.opts.Storage.Delete(ctx, staged); err != nil {
		m.opts.Logger.Warn("upload: delete staged file", slog.String("key", staged), slog.Any("error", err))
	}
	return nil
}

func (m *Manager) copyObject(ctx context.Context, dst, src string) error {
	if c, ok := m.opts.Storage.(Copier); ok {
		if err := c.Copy(ctx, dst, src); err != nil && !errors.Is(err, ErrNotFound) {
			return Transient(err)
		} else if err != nil {
			return err
		}
		return nil
	}
	f, err := m.opts.Storage.Open(ctx, src)
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := m.opts.Storage.Put(ctx, dst, f); err != nil {
		return Transient(err)
	}
	return nil
}
