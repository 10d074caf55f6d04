// Package cluster runs finkit's dashboard as several processes on one
// PostgreSQL server, for the multi-instance tests: a throw-away server of
// the test's own (StartPostgres), the dashboard and the CLI built from
// this checkout (Build), and instances on fixed loopback ports that can be
// stopped, killed and started again (Instance), with small HTTP helpers.
//
//	c := cluster.Start(t, cluster.Options{Instances: 2})
//	c.AddUser(t, "ann", "a long passphrase", false)
//	token := c.Instances[0].Login(t, "ann", "a long passphrase")
//	resp := c.Instances[1].Get(t, "/api/portfolio", token)
//	c.Instances[1].Restart(t)
//	c.PG.Stop(); c.PG.Start()
//
// Every instance gets its own data directory (uploads, logs) holding the
// same auth.key, as an operator would deploy the secret to each.
package cluster

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Binaries are the built programs.
type Binaries struct {
	Dashboard string // examples/dashboard
	CLI       string // examples/finkit
}

// Build compiles the dashboard and the CLI into a temporary directory of
// t (the go build cache makes later builds a link).
func Build(t testing.TB) Binaries {
	t.Helper()
	dir := t.TempDir()
	b := Binaries{Dashboard: filepath.Join(dir, "dashboard"), CLI: filepath.Join(dir, "finkit")}
	for pkg, out := range map[string]string{
		"github.com/finkit/finkit/examples/dashboard": b.Dashboard,
		"github.com/finkit/finkit/examples/finkit":    b.CLI,
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
		outp, err := cmd.CombinedOutput()
		cancel()
		if err != nil {
			t.Fatalf("go build %s: %v\n%s", pkg, err, outp)
		}
	}
	return b
}

// Options configure Start.
type Options struct {
	// Instances is the number of dashboards (default 2).
	Instances int
	// Args are extra flags for every dashboard.
	Args []string
	// Env are extra environment variables (KEY=VALUE) for every
	// dashboard and CLI run; FINKIT_ variables of the test's own
	// environment are not passed on.
	Env []string
	// Binaries, when set, are used instead of building.
	Binaries *Binaries
}

// Cluster is a PostgreSQL server, a database on it and the dashboards
// serving it.
type Cluster struct {
	PG        *Postgres
	DB        string // the database URL every instance and the CLI use
	Bin       Binaries
	Dir       string // the test's directory for the cluster
	Instances []*Instance
	env       []string
}

// Start starts a PostgreSQL server, creates database "finkit" and starts
// opts.Instances dashboards on it, one after another (the first applies
// the migrations), each listening when Start returns. Everything is
// stopped when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	if opts.Instances <= 0 {
		opts.Instances = 2
	}
	pg := StartPostgres(t)
	c := &Cluster{PG: pg, DB: pg.Database("finkit"), Dir: t.TempDir()}
	if opts.Binaries != nil {
		c.Bin = *opts.Binaries
	} else {
		c.Bin = Build(t)
	}
	c.env = append(withoutFinkitEnv(os.Environ()), opts.Env...)
	key := make([]byte, 32)
	_, _ = rand.Read(key)
	for i := range opts.Instances {
		in := &Instance{Name: string(rune('A' + i)), Port: freePort(t), bin: c.Bin.Dashboard, env: c.env}
		in.Dir = filepath.Join(c.Dir, in.Name)
		in.Addr = fmt.Sprintf("127.0.0.1:%d", in.Port)
		in.URL = "http://" + in.Addr
		in.args = append([]string{"--addr", in.Addr, "--data", filepath.Join(in.Dir, "data"), "--db", c.DB,
			"--log-format", "json", "--log-level", "info"}, opts.Args...)
		if err := os.MkdirAll(filepath.Join(in.Dir, "data"), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(in.Dir, "data", "auth.key"), key, 0o600); err != nil {
			t.Fatal(err)
		}
		in.Start(t)
		t.Cleanup(func() { in.stop(syscall.SIGKILL) })
		c.Instances = append(c.Instances, in)
	}
	return c
}

// CLI returns a command running the finkit CLI on the cluster's database
// (FINKIT_DB), for the caller to start.
func (c *Cluster) CLI(ctx context.Context, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, c.Bin.CLI, args...)
	cmd.Env = append(append([]string(nil), c.env...), "FINKIT_DB="+c.DB, "FINKIT_AUDIT_LOG="+filepath.Join(c.Dir, "cli-audit.log"))
	cmd.Dir = c.Dir // anything else the CLI writes by default lands in the test's directory
	return cmd
}

// AddUser creates a dashboard user through the CLI.
func (c *Cluster) AddUser(t testing.TB, name, password string, admin bool) {
	t.Helper()
	args := []string{"user", "add"}
	if admin {
		args = append(args, "--admin")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.CLI(ctx, append(args, name)...)
	cmd.Stdin = strings.NewReader(password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("finkit user add %s: %v\n%s", name, err, out)
	}
}

// Instance is one dashboard process on a fixed loopback port, kept across
// restarts.
type Instance struct {
	Name string // "A", "B", …
	Port int
	Addr string // 127.0.0.1:port
	URL  string // http://127.0.0.1:port
	Dir  string // its directory: data/ and dashboard.log (appended across restarts)

	bin  string
	args []string
	env  []string
	cmd  *exec.Cmd
	done chan error
}

// WS is the URL of the instance's chat relay.
func (in *Instance) WS() string { return "ws://" + in.Addr + "/chat/ws" }

// LogPath is the file the instance's log goes to.
func (in *Instance) LogPath() string { return filepath.Join(in.Dir, "dashboard.log") }

// Log returns what the instance has logged so far.
func (in *Instance) Log() string {
	b, _ := os.ReadFile(in.LogPath())
	return string(b)
}

// PID is the process id of the running instance (0 when stopped).
func (in *Instance) PID() int {
	if in.cmd == nil || in.cmd.Process == nil {
		return 0
	}
	return in.cmd.Process.Pid
}

// Start starts the instance and waits until /healthz answers.
func (in *Instance) Start(t testing.TB) {
	t.Helper()
	if in.cmd != nil {
		t.Fatalf("instance %s is running", in.Name)
	}
	logf, err := os.OpenFile(in.LogPath(), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(in.bin, in.args...)
	cmd.Env = in.env
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		logf.Close()
		t.Fatalf("start instance %s: %v", in.Name, err)
	}
	in.cmd, in.done = cmd, make(chan error, 1)
	go func() {
		in.done <- cmd.Wait()
		logf.Close()
	}()
	deadline := time.Now().Add(90 * time.Second)
	for {
		resp, err := http.Get(in.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		select {
		case err := <-in.done:
			in.done <- err
			t.Fatalf("instance %s exited at start: %v\n%s", in.Name, err, tail(in.Log(), 4000))
		case <-time.After(50 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("instance %s not listening after 90 s\n%s", in.Name, tail(in.Log(), 4000))
		}
	}
}

// Stop shuts the instance down gracefully (SIGTERM) and waits for it.
func (in *Instance) Stop(t testing.TB) {
	t.Helper()
	in.stop(syscall.SIGTERM)
}

// Kill ends the instance with SIGKILL, as a crash would.
func (in *Instance) Kill(t testing.TB) {
	t.Helper()
	in.stop(syscall.SIGKILL)
}

// Restart stops the instance gracefully and starts it again on its port.
func (in *Instance) Restart(t testing.TB) {
	t.Helper()
	in.Stop(t)
	in.Start(t)
}

func (in *Instance) stop(sig syscall.Signal) {
	if in.cmd == nil {
		return
	}
	_ = in.cmd.Process.Signal(sig)
	select {
	case <-in.done:
	case <-time.After(30 * time.Second):
		_ = in.cmd.Process.Kill()
		<-in.done
	}
	in.cmd = nil
}

// Response is a finished HTTP exchange.
type Response struct {
	Status int
	Header http.Header
	Body   string
}

// Do sends a request to the instance: body, when not nil, as JSON; token,
// when not empty, as a bearer token. A transport error is returned in err.
func (in *Instance) Do(ctx context.Context, method, path string, body any, token string) (Response, error) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return Response{}, err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, in.URL+path, rd)
	if err != nil {
		return Response{}, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	return Response{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}, err
}

// Get is Do of a GET, failing the test on a transport error.
func (in *Instance) Get(t testing.TB, path, token string) Response {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := in.Do(ctx, http.MethodGet, path, nil, token)
	if err != nil {
		t.Fatalf("GET %s on %s: %v", path, in.Name, err)
	}
	return r
}

// LoginResult is the JSON API's answer to a login attempt.
type LoginResult struct {
	Status int
	Token  string
	Body   string
}

// TryLogin logs in through the JSON API (/api/login), returning the status
// and, on success, the session token.
func (in *Instance) TryLogin(t testing.TB, user, password string) LoginResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	r, err := in.Do(ctx, http.MethodPost, "/api/login", map[string]string{"username": user, "password": password}, "")
	if err != nil {
		t.Fatalf("login on %s: %v", in.Name, err)
	}
	res := LoginResult{Status: r.Status, Body: r.Body}
	if r.Status == http.StatusOK {
		var out struct {
			Token string `json:"token"`
		}
		if err := json.Unmarshal([]byte(r.Body), &out); err != nil || out.Token == "" {
			t.Fatalf("login on %s: no token in %q", in.Name, r.Body)
		}
		res.Token = out.Token
	}
	return res
}

// Login logs in and returns the session token, failing the test otherwise.
func (in *Instance) Login(t testing.TB, user, password string) string {
	t.Helper()
	r := in.TryLogin(t, user, password)
	if r.Status != http.StatusOK {
		t.Fatalf("login %s on %s: %d %s", user, in.Name, r.Status, r.Body)
	}
	return r.Token
}

func withoutFinkitEnv(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "FINKIT_") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
