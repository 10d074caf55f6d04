package upload

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"sync"
)

// FileResumeStore is a ResumeStore in one small JSON file (a map from key
// to tus location), rewritten atomically on each change. It is safe for
// the goroutines of one process; two processes sharing the file may lose
// each other's entries, which only costs a restart from byte 0.
type FileResumeStore struct {
	Path string
	mu   sync.Mutex
}

func (s *FileResumeStore) read() map[string]string {
	m := map[string]string{}
	b, err := os.ReadFile(s.Path)
	if err == nil {
		_ = json.Unmarshal(b, &m) // a damaged file is an empty one
	}
	return m
}

func (s *FileResumeStore) write(m map[string]string) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(s.Path), 0o700); err != nil {
		return fmt.Errorf("upload: resume state: %w", err)
	}
	tmp := s.Path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("upload: resume state: %w", err)
	}
	if err := os.Rename(tmp, s.Path); err != nil {
		return fmt.Errorf("upload: resume state: %w", err)
	}
	return nil
}

// Load returns the location saved under key.
func (s *FileResumeStore) Load(key string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	loc, ok := s.read()[key]
	return loc, ok
}

// Save records location under key.
func (s *FileResumeStore) Save(key, location string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.read()
	m[key] = location
	return s.write(m)
}

// Forget removes key.
func (s *FileResumeStore) Forget(key string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	m := s.read()
	if _, ok := m[key]; !ok {
		return nil
	}
	delete(m, key)
	if len(m) == 0 {
		if err := os.Remove(s.Path); err != nil && !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("upload: resume state: %w", err)
		}
		return nil
	}
	return s.write(m)
}

// FileResumeKey names a local file's content for a ResumeStore: its
// absolute path, size, modification time and the SHA-256 of its first MiB,
// so an edited file is never continued from another version's bytes.
func FileResumeKey(path string) (string, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return "", err
	}
	h := sha256.New()
	if _, err := io.Copy(h, io.LimitReader(f, 1<<20)); err != nil {
		return "", err
	}
	return abs + "|" + strconv.FormatInt(fi.Size(), 10) + "|" + strconv.FormatInt(fi.ModTime().UnixNano(), 10) + "|" + hex.EncodeToString(h.Sum(nil)), nil
}
