package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthKeyFile(t *testing.T) {
	dir := t.TempDir()
	k1, err := loadAuthKey(dir)
	require.NoError(t, err)
	require.Len(t, k1, 32)
	fi, err := os.Stat(filepath.Join(dir, authKeyFile))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	k2, err := loadAuthKey(dir)
	require.NoError(t, err)
	assert.Equal(t, k1, k2, "the key survives restarts")
	require.NoError(t, os.WriteFile(filepath.Join(dir, authKeyFile), []byte("short"), 0o600))
	_, err = loadAuthKey(dir)
	require.Error(t, err)
}
