package testutil

import (
	"os"
	"path/filepath"
	"testing"
)

func TestFindChromeHonoursEnv(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "my-chrome")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("FINKIT_CHROME", fake)
	if got := FindChrome(); got != fake {
		t.Fatalf("FindChrome() = %q, want %q", got, fake)
	}
	t.Setenv("FINKIT_CHROME", filepath.Join(dir, "absent"))
	if got := FindChrome(); got != "" {
		t.Fatalf("FindChrome() with a missing FINKIT_CHROME = %q, want empty", got)
	}
}

func TestRequireToolFindsShell(t *testing.T) {
	if p := RequireTool(t, "sh"); p == "" {
		t.Fatal("RequireTool(sh) returned empty path")
	}
}
