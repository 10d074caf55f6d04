package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/finkit/finkit/auth"
)

// authKeyFile is the file beside the database holding auth's secret key
// (auth.Options.SecretKey): it encrypts TOTP secrets at rest and signs
// device tokens. Back it up with the database; without it, two-factor
// users cannot log in.
const authKeyFile = "auth.key"

// loadAuthKey reads the key from dir, creating it (mode 0600) on first
// start.
func loadAuthKey(dir string) ([]byte, error) {
	path := filepath.Join(dir, authKeyFile)
	key, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		key = make([]byte, auth.SecretKeySize)
		if _, err := rand.Read(key); err != nil {
			return nil, fmt.Errorf("auth key: %w", err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if errors.Is(err, fs.ErrExist) {
			return loadAuthKey(dir) // another process created it first
		}
		if err != nil {
			return nil, fmt.Errorf("auth key: %w", err)
		}
		if _, err := f.Write(key); err != nil {
			f.Close()
			return nil, fmt.Errorf("auth key: %w", err)
		}
		if err := f.Close(); err != nil {
			return nil, fmt.Errorf("auth key: %w", err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("auth key: %w", err)
	}
	if len(key) != auth.SecretKeySize {
		return nil, fmt.Errorf("auth key %s: want %d bytes, got %d", path, auth.SecretKeySize, len(key))
	}
	return key, nil
}
