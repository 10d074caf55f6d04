package cluster

import (
	"context"
	"database/sql"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // driver "pgx"
)

// Postgres is a throw-away PostgreSQL server of the test's own (initdb
// into a temporary directory, pg_ctl on a free loopback port), so that a
// test may stop and start it. As root it runs as the postgres user, as
// .ci/run does.
type Postgres struct {
	t    TB
	bin  string // directory of initdb, pg_ctl, postgres
	dir  string // cluster directory
	Port int
	// URL is the connection URL of its "postgres" database.
	URL string
}

// TB is what StartPostgres needs of its caller: a *testing.T or
// *testing.B, or a command's stand-in (examples/internal/relaybench).
type TB interface {
	Helper()
	Fatal(args ...any)
	Fatalf(format string, args ...any)
	Skip(args ...any)
	Cleanup(func())
}

var _ TB = testing.TB(nil)

// StartPostgres initdb's and starts a server for the test, stopped and
// removed when the test ends. Without PostgreSQL's programs the test is
// skipped, unless CI=true, where it fails (CI installs them).
func StartPostgres(t TB) *Postgres {
	t.Helper()
	bin := postgresBin()
	if bin == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("CI=true: PostgreSQL's initdb is not installed (apt-get install postgresql)")
		}
		t.Skip("multi-instance test: PostgreSQL's initdb is not installed")
	}
	dir, err := os.MkdirTemp("", "finkit-pg-")
	if err != nil {
		t.Fatal(err)
	}
	p := &Postgres{t: t, bin: bin, dir: dir, Port: freePort(t)}
	t.Cleanup(func() {
		_ = p.pgctl("-m", "immediate", "stop")
		_ = os.RemoveAll(dir)
	})
	if err := p.chown(); err != nil {
		t.Fatal(err)
	}
	if out, err := p.command(filepath.Join(bin, "initdb"), "-D", p.data(), "-U", "postgres", "-A", "trust",
		"-E", "UTF8", "--no-sync").CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	p.URL = fmt.Sprintf("postgres://postgres@127.0.0.1:%d/postgres?sslmode=disable", p.Port)
	p.Start()
	return p
}

func (p *Postgres) data() string { return filepath.Join(p.dir, "data") }

// Start starts the server (again) on its port and waits until it accepts
// connections.
func (p *Postgres) Start() {
	p.t.Helper()
	opts := fmt.Sprintf("-c listen_addresses=127.0.0.1 -p %d -k %s -c fsync=off -c max_connections=200", p.Port, p.dir)
	if err := p.pgctl("-l", filepath.Join(p.dir, "log"), "-w", "-t", "60", "-o", opts, "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(p.dir, "log"))
		p.t.Fatalf("pg_ctl start: %v\n%s", err, log)
	}
}

// Stop stops the server at once (immediate mode: clients see their
// connections drop, as in a crash).
func (p *Postgres) Stop() {
	p.t.Helper()
	if err := p.pgctl("-m", "immediate", "-w", "stop"); err != nil {
		p.t.Fatalf("pg_ctl stop: %v", err)
	}
}

// Database creates a new database and returns its URL.
func (p *Postgres) Database(name string) string {
	p.t.Helper()
	db, err := sql.Open("pgx", p.URL)
	if err != nil {
		p.t.Fatal(err)
	}
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		p.t.Fatalf("create database %s: %v", name, err)
	}
	return fmt.Sprintf("postgres://postgres@127.0.0.1:%d/%s?sslmode=disable", p.Port, name)
}

func (p *Postgres) pgctl(args ...string) error {
	out, err := p.command(filepath.Join(p.bin, "pg_ctl"), append([]string{"-D", p.data()}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%w: %s", err, out)
	}
	return nil
}

// command runs a PostgreSQL program, as the postgres user when we are
// root (the server refuses to run as root).
func (p *Postgres) command(name string, args ...string) *exec.Cmd {
	if os.Geteuid() == 0 {
		return exec.Command("runuser", append([]string{"-u", "postgres", "--", name}, args...)...)
	}
	return exec.Command(name, args...)
}

func (p *Postgres) chown() error {
	if os.Geteuid() != 0 {
		return nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return fmt.Errorf("running as root needs the postgres user: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return os.Chown(p.dir, uid, gid)
}

// postgresBin finds the newest /usr/lib/postgresql/N/bin with initdb, or
// initdb on PATH.
func postgresBin() string {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb")
	sort.Slice(dirs, func(i, j int) bool {
		vi, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[i]))))
		vj, _ := strconv.Atoi(filepath.Base(filepath.Dir(filepath.Dir(dirs[j]))))
		return vi < vj
	})
	if len(dirs) > 0 {
		return filepath.Dir(dirs[len(dirs)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		return filepath.Dir(p)
	}
	return ""
}

// freePort returns a loopback TCP port that was free a moment ago.
func freePort(t TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
