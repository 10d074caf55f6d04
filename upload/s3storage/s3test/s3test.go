// Package s3test starts a real S3 server for tests: versitygw (an Apache-2
// S3 gateway over a local directory, github.com/versity/versitygw), built
// once from the Go module proxy into the user cache directory and started
// on a free loopback port over the test's temporary directory. Only tests
// import it.
//
// When versitygw cannot be built or started, Start skips the test, except
// under CI=true, where it fails.
package s3test

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Version is the versitygw release the tests run.
const Version = "v1.8.0"

// Test credentials of the server's root user (not secrets: the server
// lives for one test on loopback).
const (
	AccessKey = "finkit-test"
	SecretKey = "finkit-test-secret-key"
)

// Server is a running versitygw.
type Server struct {
	Endpoint string // host:port
	Dir      string // the directory it serves; each bucket is a subdirectory
	cmd      *exec.Cmd
}

// Binary returns the path of the versitygw binary, building it first when
// it is not in the cache.
func Binary() (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		return "", err
	}
	dir := filepath.Join(cache, "finkit", "versitygw-"+Version)
	bin := filepath.Join(dir, "versitygw")
	if _, err := os.Stat(bin); err == nil {
		return bin, nil
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "build-")
	if err != nil {
		if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
			return "", err
		}
		if tmp, err = os.MkdirTemp(filepath.Dir(dir), "build-"); err != nil {
			return "", err
		}
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "install", "github.com/versity/versitygw/cmd/versitygw@"+Version)
	cmd.Env = append(os.Environ(), "GOBIN="+tmp, "GOFLAGS=-buildvcs=false", "GOWORK=off")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build versitygw %s: %v\n%s", Version, err, out)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	if err := os.Rename(filepath.Join(tmp, "versitygw"), bin); err != nil && !exists(bin) {
		return "", err
	}
	return bin, nil
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

// unavailable skips t, or fails it under CI=true.
func unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// Start starts versitygw over a new temporary directory, stopped when the
// test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := Binary()
	if err != nil {
		unavailable(t, "versitygw: %v", err)
	}
	dir := t.TempDir()
	for try := 0; try < 3; try++ {
		s, err := start(bin, dir)
		if err == nil {
			t.Cleanup(s.Stop)
			return s
		}
		if try == 2 {
			unavailable(t, "start versitygw: %v", err)
		}
	}
	return nil
}

func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

func start(bin, dir string) (*Server, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	addr := "127.0.0.1:" + strconv.Itoa(port)
	cmd := exec.Command(bin, "--access", AccessKey, "--secret", SecretKey, "--port", addr, "--quiet", "posix", dir)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	s := &Server{Endpoint: addr, Dir: dir, cmd: cmd}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			return nil, fmt.Errorf("versitygw exited: %v", err)
		default:
		}
		if c, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
			_ = c.Close()
			return s, nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	_ = cmd.Process.Kill()
	return nil, fmt.Errorf("versitygw did not listen on %s", addr)
}

// Stop kills the server.
func (s *Server) Stop() {
	if s.cmd != nil && s.cmd.Process != nil {
		_ = s.cmd.Process.Kill()
	}
}

// Bucket creates a bucket directory and returns its name (versitygw's
// posix backend serves each top-level directory as a bucket).
func (s *Server) Bucket(t testing.TB, name string) string {
	t.Helper()
	if err := os.Mkdir(filepath.Join(s.Dir, name), 0o755); err != nil {
		t.Fatal(err)
	}
	return name
}
