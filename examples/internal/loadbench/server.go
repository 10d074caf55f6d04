package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// server is a running dashboard process.
type server struct {
	cmd  *exec.Cmd
	url  string // http://127.0.0.1:port
	done chan error
}

// build compiles the dashboard package pkg into dir and returns the binary.
func build(ctx context.Context, pkg, dir string) (string, error) {
	bin := filepath.Join(dir, "dashboard")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, pkg)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return bin, nil
}

// start runs bin on a free loopback port with its data in dir, its log
// (JSON, info level: the access log is on) going to dir/dashboard.log, and
// returns once it is listening.
func start(ctx context.Context, bin, dir string) (*server, error) {
	logFile, err := os.Create(filepath.Join(dir, "dashboard.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"),
		"--log-format", "json", "--log-level", "info")
	cmd.Env = withoutEnv(os.Environ(), "FINKIT_")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dashboard: %w", err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1)}
	urlc := make(chan string, 1)
	go func() {
		// The listening line names the port; everything goes to the file.
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			line := sc.Bytes()
			_, _ = logFile.Write(append(line, '\n'))
			var rec struct{ Msg, URL string }
			if s.url == "" && json.Unmarshal(line, &rec) == nil && rec.Msg == "dashboard listening" {
				urlc <- rec.URL
			}
		}
		_, _ = io.Copy(logFile, stderr)
		_ = logFile.Close()
		s.done <- cmd.Wait()
	}()
	select {
	case u := <-urlc:
		s.url = u
		return s, nil
	case err := <-s.done:
		return nil, fmt.Errorf("dashboard exited before listening: %v (see %s)", err, logFile.Name())
	case <-time.After(60 * time.Second):
		s.stop()
		return nil, errors.New("dashboard did not start within 60 s")
	case <-ctx.Done():
		s.stop()
		return nil, ctx.Err()
	}
}

// stop asks the dashboard to shut down and waits for it.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(os.Interrupt)
	select {
	case <-s.done:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

func withoutEnv(env []string, prefix string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, prefix) {
			out = append(out, kv)
		}
	}
	return out
}

// clockTicks is USER_HZ, the unit of utime and stime in /proc/<pid>/stat:
// 100 on every Linux architecture Go supports.
const clockTicks = 100

// cpuTime is the CPU time (user + system) the process has used so far.
func cpuTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, err
	}
	// The command name (field 2) is in parentheses and may hold spaces.
	end := strings.LastIndexByte(string(b), ')')
	if end < 0 {
		return 0, errors.New("malformed /proc stat")
	}
	f := strings.Fields(string(b[end+1:]))
	if len(f) < 13 {
		return 0, errors.New("malformed /proc stat")
	}
	// After the name: state is field 3, utime 14 and stime 15.
	ut, err1 := strconv.ParseInt(f[11], 10, 64)
	st, err2 := strconv.ParseInt(f[12], 10, 64)
	if err := errors.Join(err1, err2); err != nil {
		return 0, err
	}
	return time.Duration(ut+st) * time.Second / clockTicks, nil
}

// rss returns the process's resident set size in bytes (VmRSS).
func rss(pid int) (int64, error) {
	return statusField(pid, "VmRSS:")
}

func statusField(pid int, name string) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if rest, ok := strings.CutPrefix(line, name); ok {
			f := strings.Fields(rest)
			if len(f) == 0 {
				break
			}
			kb, err := strconv.ParseInt(f[0], 10, 64)
			return kb << 10, err
		}
	}
	return 0, fmt.Errorf("no %s in /proc status", name)
}

// loadAvg returns the one-minute load average.
func loadAvg() float64 {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(b))
	if len(f) == 0 {
		return 0
	}
	x, _ := strconv.ParseFloat(f[0], 64)
	return x
}
