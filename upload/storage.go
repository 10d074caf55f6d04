package upload

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path"
	"regexp"
	"strings"
	"time"
)

// Storage keeps the bytes of stored files under keys the pipeline chooses
// (never a client's file name). It is small enough for an S3-compatible
// backend: Put must be atomic (a reader sees the whole object or none) and
// durable when it returns.
type Storage interface {
	// Put stores everything r yields under key, replacing an object there,
	// and returns the number of bytes stored.
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	// Open returns the object for reading; ErrNotFound when there is none.
	Open(ctx context.Context, key string) (io.ReadSeekCloser, error)
	// Stat describes the object; ErrNotFound when there is none.
	Stat(ctx context.Context, key string) (ObjectInfo, error)
	// Delete removes the object; deleting a missing object is no error.
	Delete(ctx context.Context, key string) error
}

// ObjectInfo describes a stored object.
type ObjectInfo struct {
	Key     string
	Size    int64
	ModTime time.Time
}

// keyPattern is what a storage key may look like: lower-case segments of
// letters, digits, '.', '_' and '-' that do not start with a dot.
var keyPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]{0,127}(/[a-z0-9][a-z0-9_.-]{0,127}){0,7}$`)

// ValidKey reports whether key is usable as a storage key.
func ValidKey(key string) bool {
	return keyPattern.MatchString(key) && !strings.Contains(key, "..")
}

// tempPattern is what a temporary file's name looks like.
var tempPattern = regexp.MustCompile(`^[a-z0-9]{8,64}\.part$`)

const (
	objectsDir = "objects"
	tempDir    = "tmp"
)

// FS is the local-filesystem Storage, rooted in one directory through an
// os.Root so that no key, however built, can reach outside it. Objects live
// under objects/; temporary files of uploads in progress live under tmp/ in
// the same file system, so a finished file is moved into place by a rename.
// Every write is fsynced, file and directory, before it is reported done.
type FS struct {
	root *os.Root
}

// OpenFS opens (creating when needed) the storage directory dir.
func OpenFS(dir string) (*FS, error) {
	if dir == "" {
		return nil, errors.New("upload: OpenFS: empty directory")
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("upload: create storage directory: %w", err)
	}
	root, err := os.OpenRoot(dir)
	if err != nil {
		return nil, fmt.Errorf("upload: open storage directory: %w", err)
	}
	for _, d := range []string{objectsDir, tempDir} {
		if err := root.Mkdir(d, 0o750); err != nil && !errors.Is(err, fs.ErrExist) {
			_ = root.Close()
			return nil, fmt.Errorf("upload: create %s: %w", d, err)
		}
	}
	return &FS{root: root}, nil
}

// Close releases the directory handle.
func (f *FS) Close() error { return f.root.Close() }

func objectPath(key string) (string, error) {
	if !ValidKey(key) {
		return "", fmt.Errorf("%w: %q", ErrBadKey, key)
	}
	return path.Join(objectsDir, key), nil
}

func tempPath(name string) (string, error) {
	if !tempPattern.MatchString(name) {
		return "", fmt.Errorf("%w: temporary file %q", ErrBadKey, name)
	}
	return path.Join(tempDir, name), nil
}

func notFound(err error) error {
	if errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	}
	return err
}

// Put writes r to a temporary file, fsyncs it and renames it to key.
func (f *FS) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	if _, err := objectPath(key); err != nil {
		return 0, err
	}
	name := NewTempName()
	t, err := f.CreateTemp(name)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(t, ctxReader{ctx, r})
	if err == nil {
		err = t.Close()
	} else {
		_ = t.Close()
	}
	if err == nil {
		err = f.Commit(ctx, name, key, false)
	}
	if err != nil {
		_ = f.RemoveTemp(name)
		return 0, fmt.Errorf("upload: put %s: %w", key, err)
	}
	return n, nil
}

// Open opens the object for reading.
func (f *FS) Open(_ context.Context, key string) (io.ReadSeekCloser, error) {
	p, err := objectPath(key)
	if err != nil {
		return nil, err
	}
	file, err := f.root.Open(p)
	if err != nil {
		return nil, notFound(err)
	}
	return file, nil
}

// Stat describes the object.
func (f *FS) Stat(_ context.Context, key string) (ObjectInfo, error) {
	p, err := objectPath(key)
	if err != nil {
		return ObjectInfo{}, err
	}
	fi, err := f.root.Stat(p)
	if err != nil {
		return ObjectInfo{}, notFound(err)
	}
	if !fi.Mode().IsRegular() {
		return ObjectInfo{}, fmt.Errorf("%w: %s is not a file", ErrNotFound, key)
	}
	return ObjectInfo{Key: key, Size: fi.Size(), ModTime: fi.ModTime()}, nil
}

// Delete removes the object and syncs its directory.
func (f *FS) Delete(_ context.Context, key string) error {
	p, err := objectPath(key)
	if err != nil {
		return err
	}
	if err := f.root.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return fmt.Errorf("upload: delete %s: %w", key, err)
	}
	return f.syncDir(path.Dir(p))
}

// List implements Lister: the objects whose keys start with prefix, which
// must be empty or a valid key followed by "/" (a folder of keys).
func (f *FS) List(ctx context.Context, prefix string) ([]ObjectInfo, error) {
	dir := objectsDir
	if prefix != "" {
		p, err := objectPath(strings.TrimSuffix(prefix, "/"))
		if err != nil || !strings.HasSuffix(prefix, "/") {
			return nil, fmt.Errorf("%w: list prefix %q", ErrBadKey, prefix)
		}
		dir = p
	}
	var out []ObjectInfo
	err := fs.WalkDir(f.root.FS(), dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil // removed meanwhile, or no such folder
			}
			return err
		}
		if cerr := ctx.Err(); cerr != nil {
			return cerr
		}
		if !d.Type().IsRegular() {
			return nil
		}
		fi, ierr := d.Info()
		if ierr != nil {
			return nil // removed meanwhile
		}
		out = append(out, ObjectInfo{Key: strings.TrimPrefix(p, objectsDir+"/"), Size: fi.Size(), ModTime: fi.ModTime()})
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("upload: list %s: %w", prefix, err)
	}
	return out, nil
}

// NewTempName returns a fresh temporary file name for CreateTemp.
func NewTempName() string { return randomID() + ".part" }

// CreateTemp creates the new, empty temporary file name (from
// NewTempName; the caller learns the name before the file exists, so it
// can mark it as in use first).
func (f *FS) CreateTemp(name string) (*os.File, error) {
	p, err := tempPath(name)
	if err != nil {
		return nil, err
	}
	file, err := f.root.OpenFile(p, os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o640)
	if err != nil {
		return nil, fmt.Errorf("upload: create temporary file: %w", err)
	}
	return file, nil
}

// OpenTemp opens an existing temporary file for reading and writing.
func (f *FS) OpenTemp(name string) (*os.File, error) {
	p, err := tempPath(name)
	if err != nil {
		return nil, err
	}
	file, err := f.root.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		return nil, notFound(err)
	}
	return file, nil
}

// RemoveTemp deletes a temporary file; a missing one is no error.
func (f *FS) RemoveTemp(name string) error {
	p, err := tempPath(name)
	if err != nil {
		return err
	}
	if err := f.root.Remove(p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("upload: remove temporary file: %w", err)
	}
	return nil
}

// TempInfo describes a temporary file.
type TempInfo struct {
	Name    string
	Size    int64
	ModTime time.Time
}

// Temps lists the temporary files.
func (f *FS) Temps() ([]TempInfo, error) {
	d, err := f.root.Open(tempDir)
	if err != nil {
		return nil, fmt.Errorf("upload: list temporary files: %w", err)
	}
	defer d.Close()
	entries, err := d.ReadDir(-1)
	if err != nil {
		return nil, fmt.Errorf("upload: list temporary files: %w", err)
	}
	out := make([]TempInfo, 0, len(entries))
	for _, e := range entries {
		if !tempPattern.MatchString(e.Name()) {
			continue
		}
		fi, err := e.Info()
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, TempInfo{Name: e.Name(), Size: fi.Size(), ModTime: fi.ModTime()})
	}
	return out, nil
}

// Commit moves a finished temporary file to key: it fsyncs the file,
// renames it into place and fsyncs the object's directory. With dedup set,
// an object already stored under key (the same content, when keys are
// content hashes) is kept and the temporary file is removed instead. A
// missing temporary file is ErrNotFound.
func (f *FS) Commit(_ context.Context, tempName, key string, dedup bool) error {
	tp, err := tempPath(tempName)
	if err != nil {
		return err
	}
	op, err := objectPath(key)
	if err != nil {
		return err
	}
	file, err := f.root.OpenFile(tp, os.O_RDWR, 0)
	if err != nil {
		return notFound(err)
	}
	err = file.Sync()
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("upload: sync temporary file: %w", err)
	}
	if err := f.root.MkdirAll(path.Dir(op), 0o750); err != nil {
		return fmt.Errorf("upload: create object directory: %w", err)
	}
	if dedup {
		if fi, err := f.root.Stat(op); err == nil && fi.Mode().IsRegular() {
			return f.RemoveTemp(tempName)
		}
	}
	if err := f.root.Rename(tp, op); err != nil {
		return fmt.Errorf("upload: move into place: %w", err)
	}
	if err := f.syncDir(path.Dir(op)); err != nil {
		return err
	}
	return f.syncDir(tempDir)
}

// SyncTemp makes a temporary file's creation durable (fsync of the file
// and of the temporary directory).
func (f *FS) SyncTemp(t *os.File) error {
	if err := t.Sync(); err != nil {
		return fmt.Errorf("upload: sync temporary file: %w", err)
	}
	return f.syncDir(tempDir)
}

func (f *FS) syncDir(dir string) error {
	d, err := f.root.Open(dir)
	if err != nil {
		return fmt.Errorf("upload: sync directory: %w", err)
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("upload: sync directory: %w", err)
	}
	return nil
}

// randomID returns 26 lower-case hex characters of crypto randomness (104
// bits), used for upload ids and temporary names.
func randomID() string {
	var b [13]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b[:])
}

// ctxReader stops reading once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
