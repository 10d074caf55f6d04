package upload

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestFSPutOpenStatDelete(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	fsys, err := OpenFS(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	n, err := fsys.Put(ctx, "ab/abcdef", strings.NewReader("hello"))
	if err != nil || n != 5 {
		t.Fatalf("Put = %d, %v", n, err)
	}
	info, err := fsys.Stat(ctx, "ab/abcdef")
	if err != nil || info.Size != 5 {
		t.Fatalf("Stat = %+v, %v", info, err)
	}
	f, err := fsys.Open(ctx, "ab/abcdef")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(f)
	f.Close()
	if string(b) != "hello" {
		t.Fatalf("read %q", b)
	}
	if temps, _ := fsys.Temps(); len(temps) != 0 {
		t.Fatalf("temporary files left: %v", temps)
	}
	if err := fsys.Delete(ctx, "ab/abcdef"); err != nil {
		t.Fatal(err)
	}
	if _, err := fsys.Stat(ctx, "ab/abcdef"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Stat after Delete = %v", err)
	}
	if err := fsys.Delete(ctx, "ab/abcdef"); err != nil {
		t.Fatalf("second Delete = %v", err)
	}
}

func TestFSRejectsEscapingKeys(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	outside := filepath.Join(dir, "outside")
	fsys, err := OpenFS(filepath.Join(dir, "store"))
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	// A symlink inside the root pointing out of it must not be followed.
	if err := os.Symlink(outside, filepath.Join(dir, "store", objectsDir, "link")); err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{"../outside", "../../etc/passwd", "/etc/passwd", `..\x`, "a/../../b", "", ".hidden", "A", "a//b", "a\x00b", "link/x"} {
		if _, err := fsys.Put(ctx, key, strings.NewReader("x")); err == nil {
			t.Errorf("Put(%q) succeeded", key)
		}
		if _, err := fsys.Open(ctx, key); err == nil {
			t.Errorf("Open(%q) succeeded", key)
		}
	}
	if _, err := os.Stat(outside); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("something was written outside the root: %v", err)
	}
	for _, name := range []string{"../x.part", "x", "../../objects/y.part"} {
		if _, err := fsys.OpenTemp(name); err == nil {
			t.Errorf("OpenTemp(%q) succeeded", name)
		}
	}
}

func TestFSCommitDedup(t *testing.T) {
	ctx := context.Background()
	fsys, err := OpenFS(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer fsys.Close()
	for i := range 2 {
		name := NewTempName()
		tf, err := fsys.CreateTemp(name)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = tf.WriteString("same")
		tf.Close()
		if err := fsys.Commit(ctx, name, "sha256/aa/aabb", true); err != nil {
			t.Fatalf("commit %d: %v", i, err)
		}
	}
	if temps, _ := fsys.Temps(); len(temps) != 0 {
		t.Fatalf("temporary files left: %v", temps)
	}
	if err := fsys.Commit(ctx, "0123456789abcdef.part", "sha256/aa/cc", true); !errors.Is(err, ErrNotFound) {
		t.Fatalf("commit of a missing temp = %v", err)
	}
}
