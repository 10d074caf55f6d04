package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/auth/sqlstore"
	"github.com/finkit/finkit/logging"
	"golang.org/x/term"

	"github.com/finkit/finkit/examples/internal/appdb"
)

// defaultDBPath is the dashboard's SQLite file.
const defaultDBPath = "data/finkit.db"

// runUser manages dashboard users in the SQLite file:
//
//	finkit user add [--admin] [--email ADDR] USERNAME   (password from a TTY prompt or stdin)
//	finkit user list [--json]
//	finkit user set-role USERNAME admin|user
//
// --db PATH may be given before or after the subcommand.
func runUser(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("user", e)
	db := fs.String("db", appdb.FromEnv(defaultDBPath), "SQLite database file (the dashboard's) or postgres:// URL")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	rest := fs.Args()
	if len(rest) == 0 {
		return usageErrorf("missing subcommand: add, list or set-role")
	}
	sub, rest := rest[0], rest[1:]
	switch sub {
	case "add":
		return runUserAdd(ctx, e, *db, rest)
	case "list":
		return runUserList(ctx, e, *db, rest)
	case "set-role":
		return runUserSetRole(ctx, e, *db, rest)
	default:
		return usageErrorf("unknown subcommand %q: want add, list or set-role", sub)
	}
}

func runUserAdd(ctx context.Context, e *env, dbPath string, args []string) error {
	fs := newFlagSet("user add", e)
	db := fs.String("db", dbPath, "SQLite database file")
	admin := fs.Bool("admin", false, "give the user the admin role")
	email := fs.String("email", "", "email address (optional)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return usageErrorf("user add takes exactly one USERNAME (the password is read from the terminal or stdin, never from arguments)")
	}
	name, err := auth.NormalizeUsername(fs.Arg(0))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	role := auth.RoleUser
	if *admin {
		role = auth.RoleAdmin
	}
	svc, closeDB, err := openAuth(ctx, e, *db, true)
	if err != nil {
		return err
	}
	defer closeDB()
	if _, err := svc.UserByUsername(ctx, name); err == nil {
		return fmt.Errorf("user %q: %w", name, auth.ErrUsernameTaken)
	}
	password, err := readPassword(e, name, svc)
	if err != nil {
		return err
	}
	u, err := svc.Register(ctx, auth.RegisterRequest{Username: name, Email: *email, Password: password, Role: role})
	if err != nil {
		return err
	}
	kind := "user"
	if u.Role == auth.RoleAdmin {
		kind = "admin"
	}
	_, err = fmt.Fprintf(e.stdout, "Created %s %s (id %s).\n", kind, u.Username, u.ID)
	return err
}

func runUserList(ctx context.Context, e *env, dbPath string, args []string) error {
	fs := newFlagSet("user list", e)
	db := fs.String("db", dbPath, "SQLite database file")
	asJSON := fs.Bool("json", false, "print JSON")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return usageErrorf("user list takes no arguments")
	}
	svc, closeDB, err := openAuth(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer closeDB()
	users, err := svc.Users(ctx)
	if err != nil {
		return err
	}
	if *asJSON {
		if users == nil {
			users = []auth.User{}
		}
		return writeJSON(e.stdout, users)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "USERNAME\tROLE\tSTATUS\tEMAIL\tCREATED")
	for _, u := range users {
		status := "active"
		if u.Disabled {
			status = "disabled"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", u.Username, u.Role, status, u.Email, u.CreatedAt.Format("2006-01-02 15:04"))
	}
	return tw.Flush()
}

func runUserSetRole(ctx context.Context, e *env, dbPath string, args []string) error {
	fs := newFlagSet("user set-role", e)
	db := fs.String("db", dbPath, "SQLite database file")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf("user set-role takes USERNAME and a role (admin or user)")
	}
	role, err := auth.ParseRole(fs.Arg(1))
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	svc, closeDB, err := openAuth(ctx, e, *db, false)
	if err != nil {
		return err
	}
	defer closeDB()
	u, err := svc.UserByUsername(ctx, fs.Arg(0))
	if err != nil {
		return err
	}
	if u, err = svc.SetRole(ctx, u.ID, role); err != nil {
		return err
	}
	_, err = fmt.Fprintf(e.stdout, "%s is now %s\n", u.Username, u.Role)
	return err
}

// openAuth opens the SQLite file (creating its directory when create is
// set), migrates the auth tables and returns a Service auditing to the
// CLI's logger.
func openAuth(ctx context.Context, e *env, path string, create bool) (*auth.Service, func(), error) {
	if path == "" {
		return nil, nil, usageErrorf("--db must not be empty")
	}
	if !appdb.IsURL(path) {
		// The path goes into a file: URI; '?' or '#' would start its query
		// (driver options such as foreign_keys) or fragment.
		if strings.ContainsAny(path, "?#") {
			return nil, nil, usageErrorf("--db %q: the path must not contain '?' or '#'", path)
		}
		if !create {
			if _, err := os.Stat(path); err != nil {
				return nil, nil, fmt.Errorf("database %s: %w (create a user first with `finkit user add`)", path, err)
			}
		} else if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return nil, nil, fmt.Errorf("database directory: %w", err)
		}
	}
	db, err := appdb.Open(ctx, path)
	if err != nil {
		return nil, nil, fmt.Errorf("open %s: %w", appdb.Name(path), err)
	}
	store, err := sqlstore.New(ctx, db.DB, db.Auth())
	if err != nil {
		db.Close()
		return nil, nil, fmt.Errorf("open %s: %w", appdb.Name(path), err)
	}
	closeAll := func() {
		store.Close()
		db.Close()
	}
	audit, closeAudit, err := openAuditLog(path)
	if err != nil {
		closeAll()
		return nil, nil, err
	}
	svc, err := auth.New(auth.Options{Store: store, Logger: audit})
	if err != nil {
		closeAudit()
		closeAll()
		return nil, nil, err
	}
	return svc, func() { closeAudit(); closeAll() }, nil
}

// openAuditLog returns the logger auth's audit records (user.registered,
// role changes, ...) go to: a JSON log file, FINKIT_AUDIT_LOG or audit.log
// next to the SQLite database (data/audit.log for a postgres:// URL),
// never the console, where output is for the person typing.
func openAuditLog(dbPath string) (*slog.Logger, func(), error) {
	path := os.Getenv("FINKIT_AUDIT_LOG")
	if path == "" {
		dir := "data"
		if !appdb.IsURL(dbPath) {
			dir = filepath.Dir(dbPath)
		}
		path = filepath.Join(dir, "audit.log")
	}
	l, closer, err := logging.New(logging.Options{Level: "info", Format: "json", Service: "finkit", File: logging.FileOptions{Path: path}})
	if err != nil {
		return nil, nil, fmt.Errorf("audit log %s: %w", path, err)
	}
	return l, func() { _ = closer.Close() }, nil
}

// readPassword reads the new user's password: with a prompt and without
// echo (twice, to confirm) when stdin is a terminal, else the first line
// of stdin. It never comes from the command line.
func readPassword(e *env, username string, svc *auth.Service) (string, error) {
	if f, ok := e.stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		fmt.Fprintf(e.stderr, "Password for %s (at least %d characters): ", username, auth.DefaultMinLength)
		pw, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if err := svc.CheckPassword(string(pw), username); err != nil {
			return "", err
		}
		fmt.Fprint(e.stderr, "Repeat password: ")
		again, err := term.ReadPassword(int(f.Fd()))
		fmt.Fprintln(e.stderr)
		if err != nil {
			return "", fmt.Errorf("read password: %w", err)
		}
		if string(pw) != string(again) {
			return "", errors.New("passwords do not match")
		}
		return string(pw), nil
	}
	line, err := bufio.NewReaderSize(io.LimitReader(e.stdin, auth.MaxPasswordBytes+2), auth.MaxPasswordBytes+2).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	if !strings.HasSuffix(line, "\n") && len(line) > auth.MaxPasswordBytes {
		return "", fmt.Errorf("password on stdin longer than %d bytes", auth.MaxPasswordBytes)
	}
	pw := strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
	if pw == "" {
		return "", errors.New("no password on stdin: pipe one line, or run in a terminal to be prompted")
	}
	return pw, nil
}
