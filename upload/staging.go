package upload

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Copier is a Storage that copies an object to another key by itself (an
// S3 server-side copy). The pipeline uses it, when the Storage has it, to
// move a staged upload to its content-addressed key.
type Copier interface {
	Copy(ctx context.Context, dst, src string) error
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
