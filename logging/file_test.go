package logging

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLogFilesArePrivate: logs hold user data; the file, its directory and
// every rotated backup are readable by the owner only, unless configured.
func TestLogFilesArePrivate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "logs")
	path := filepath.Join(dir, "app.log")
	l, c, err := New(Options{File: FileOptions{Path: path, MaxSizeMB: 1}})
	require.NoError(t, err)
	pad := strings.Repeat("x", 1000)
	for i := range 1500 { // one rotation
		l.Info("fill", "i", i, "pad", pad)
	}
	require.NoError(t, c.Close())
	perm := func(p string) os.FileMode {
		fi, err := os.Stat(p)
		require.NoError(t, err)
		return fi.Mode().Perm()
	}
	assert.Equal(t, os.FileMode(0o700), perm(dir))
	assert.Equal(t, os.FileMode(0o600), perm(path))
	backups, _ := filepath.Glob(filepath.Join(dir, "app-*.log"))
	require.NotEmpty(t, backups)
	for _, b := range backups {
		assert.Equal(t, os.FileMode(0o600), perm(b), b)
	}

	// An existing world-readable file is made private; a configured mode
	// is kept.
	old := filepath.Join(t.TempDir(), "old.log")
	require.NoError(t, os.WriteFile(old, []byte("x\n"), 0o644))
	require.NoError(t, os.Chmod(old, 0o644))
	_, c, err = New(Options{File: FileOptions{Path: old}})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	assert.Equal(t, os.FileMode(0o600), perm(old))
	shared := filepath.Join(t.TempDir(), "group", "shared.log")
	_, c, err = New(Options{File: FileOptions{Path: shared, Mode: 0o640, DirMode: 0o750}})
	require.NoError(t, err)
	require.NoError(t, c.Close())
	assert.Equal(t, os.FileMode(0o640), perm(shared))
	assert.Equal(t, os.FileMode(0o750), perm(filepath.Dir(shared)))

	_, _, err = New(Options{File: FileOptions{Path: filepath.Join(t.TempDir(), "x.log"), Mode: os.ModeDir | 0o600}})
	assert.ErrorIs(t, err, ErrInvalidOption)
}

// TestLogFileReopenedAfterDeleteOrRename: an operator (or logrotate
// without copytruncate) removing or renaming the file must not make the
// records that follow vanish.
func TestLogFileReopenedAfterDeleteOrRename(t *testing.T) {
	for _, move := range []string{"delete", "rename"} {
		t.Run(move, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "app.log")
			l, c, err := New(Options{File: FileOptions{Path: path}})
			require.NoError(t, err)
			defer c.Close()
			l.Info("before")
			if move == "delete" {
				require.NoError(t, os.Remove(path))
			} else {
				require.NoError(t, os.Rename(path, path+".1"))
			}
			time.Sleep(reopenCheckEvery + 100*time.Millisecond)
			l.Info("after")
			l.Info("after again")
			data, err := os.ReadFile(path)
			require.NoError(t, err, "a new file is opened at the path")
			assert.Contains(t, string(data), `"msg":"after"`)
			assert.Contains(t, string(data), `"msg":"after again"`)
			fi, err := os.Stat(path)
			require.NoError(t, err)
			assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
			assert.Zero(t, c.Dropped())
		})
	}
}

type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, syscall.ENOSPC }

// TestDroppedRecordsAreCounted: a record that cannot be written is counted,
// so the app can alert on it.
func TestDroppedRecordsAreCounted(t *testing.T) {
	l, c, err := New(Options{Output: failingWriter{}})
	require.NoError(t, err)
	l.Info("one")
	l.Info("two")
	assert.Equal(t, uint64(2), c.Dropped())

	path := filepath.Join(t.TempDir(), "app.log")
	l, c, err = New(Options{File: FileOptions{Path: path}})
	require.NoError(t, err)
	l.Info("kept")
	require.NoError(t, c.Close())
	l.Info("after close")
	assert.Equal(t, uint64(1), c.Dropped())
	assert.False(t, errors.Is(nil, ErrClosed))
}
