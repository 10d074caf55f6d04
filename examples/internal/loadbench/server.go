package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
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

	pprof string // host:port of the server's profiles (-tags pprof), or ""
}

// build compiles the dashboard package pkg into dir and returns the
// binary; with pprof, the binary serves Go's profiles (see start).
func build(ctx context.Context, pkg, dir string, pprof bool) (string, error) {
	bin := filepath.Join(dir, "dashboard")
	args := []string{"build", "-o", bin}
	if pprof {
		args = append(args, "-tags", "pprof")
	}
	cmd := exec.CommandContext(ctx, "go", append(args, pkg)...)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go build %s: %w", pkg, err)
	}
	return bin, nil
}

// start runs bin on a free loopback port with its data in dir, its log
// (JSON, info level: the access log is on) going to dir/dashboard.log, and
// returns once it is listening. With pprof, a binary built with -tags
// pprof serves Go's profiles on another loopback port (server.profile).
func start(ctx context.Context, bin, dir string, pprof bool) (*server, error) {
	logFile, err := os.Create(filepath.Join(dir, "dashboard.log"))
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "--addr", "127.0.0.1:0", "--data", filepath.Join(dir, "data"),
		"--log-format", "json", "--log-level", "info")
	cmd.Env = withoutEnv(os.Environ(), "FINKIT_")
	var pprofAddr string
	if pprof {
		if pprofAddr, err = freePort(); err != nil {
			return nil, err
		}
		cmd.Env = append(cmd.Env, "FINKIT_PPROF_ADDR="+pprofAddr)
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start dashboard: %w", err)
	}
	s := &server{cmd: cmd, done: make(chan error, 1), pprof: pprofAddr}
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

// freePort returns a loopback host:port nothing listens on right now.
func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// profile starts taking a CPU profile of the server for d into
// dir/<name>.pprof (nothing when dir is ""); the returned function waits
// for it.
func (s *server) profile(ctx context.Context, dir, name string, d time.Duration) func() error {
	if dir == "" {
		return func() error { return nil }
	}
	if s.pprof == "" {
		return func() error { return errors.New("-profile needs a dashboard built with -tags pprof") }
	}
	file := filepath.Join(dir, strings.Trim(strings.NewReplacer("/", "_", " ", "_", "(", "", ")", "").Replace(name), "_")+".pprof")
	done := make(chan error, 1)
	go func() {
		u := fmt.Sprintf("http://%s/debug/pprof/profile?seconds=%d", s.pprof, max(1, int(d.Seconds())))
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		if err != nil {
			done <- err
			return
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			done <- fmt.Errorf("profile: %w", err)
			return
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			done <- fmt.Errorf("profile: status %d", resp.StatusCode)
			return
		}
		body, err := io.ReadAll(resp.Body)
		if err == nil {
			err = os.WriteFile(file, body, 0o644)
		}
		done <- err
	}()
	return func() error { return <-done }
}
