package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func userCmd(t *testing.T, stdin string, args ...string) (string, string, error) {
	t.Helper()
	var out, errOut bytes.Buffer
	e := &env{stdin: strings.NewReader(stdin), stdout: &out, stderr: &errOut, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := runUser(context.Background(), e, args)
	return out.String(), errOut.String(), err
}

func TestUserCommand(t *testing.T) {
	db := filepath.Join(t.TempDir(), "data", "finkit.db")
	const pw = "a sufficiently long passphrase\n"

	out, errOut, err := userCmd(t, pw, "--db", db, "add", "--admin", "--email", "Root@Example.COM", "Root")
	require.NoError(t, err)
	assert.Regexp(t, `^Created admin root \(id [^)]+\)\.\n$`, out)
	assert.Empty(t, errOut, "no log lines on the console")

	out, errOut, err = userCmd(t, "another fine passphrase\r\n", "add", "--db", db, "bob")
	require.NoError(t, err)
	assert.Regexp(t, `^Created user bob \(id [^)]+\)\.\n$`, out)
	assert.Empty(t, errOut)
	audit, err := os.ReadFile(filepath.Join(filepath.Dir(db), "audit.log"))
	require.NoError(t, err, "audit records go to the audit log next to the database")
	assert.Equal(t, 2, strings.Count(string(audit), `"event":"user.registered"`), "%s", audit)
	assert.NotContains(t, string(audit), "passphrase")

	_, _, err = userCmd(t, pw, "add", "--db", db, "BOB")
	require.ErrorContains(t, err, "already taken")

	out, _, err = userCmd(t, "", "list", "--db", db)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	require.Len(t, lines, 3)
	assert.Contains(t, lines[0], "USERNAME")
	assert.Regexp(t, `^bob\s+user\s+active`, lines[1])
	assert.Regexp(t, `^root\s+admin\s+active\s+Root@example.com`, lines[2])

	out, _, err = userCmd(t, "", "set-role", "--db", db, "bob", "admin")
	require.NoError(t, err)
	assert.Equal(t, "bob is now admin\n", out)

	out, _, err = userCmd(t, "", "--db", db, "list", "--json")
	require.NoError(t, err)
	var users []map[string]any
	require.NoError(t, json.Unmarshal([]byte(out), &users))
	require.Len(t, users, 2)
	assert.Equal(t, "admin", users[0]["role"])
	assert.NotContains(t, out, "argon2", "hashes never printed")
	assert.NotContains(t, out, "passphrase")
}

func TestUserCommandErrors(t *testing.T) {
	db := filepath.Join(t.TempDir(), "finkit.db")
	tests := []struct {
		name  string
		stdin string
		args  []string
		usage bool
		want  string
	}{
		{"no subcommand", "", []string{"--db", db}, true, "missing subcommand"},
		{"unknown subcommand", "", []string{"--db", db, "remove"}, true, "unknown subcommand"},
		{"add without name", "x", []string{"add", "--db", db}, true, "exactly one USERNAME"},
		{"add password in argv", "x", []string{"add", "--db", db, "carol", "hunter2hunter2hunter2"}, true, "never from arguments"},
		{"add bad username", "x", []string{"add", "--db", db, "c d"}, true, "invalid username"},
		{"add empty stdin", "", []string{"add", "--db", db, "carol"}, false, "no password on stdin"},
		{"add weak password", "password\n", []string{"add", "--db", db, "carol"}, false, "too short"},
		{"add short common password", "iloveyou\n", []string{"add", "--db", db, "carol"}, false, "too short"},
		{"add a common word repeated", "password password password\n", []string{"add", "--db", db, "carol"}, false, "repeated"},
		{"set-role bad role", "", []string{"set-role", "--db", db, "carol", "root"}, true, "invalid role"},
		{"set-role missing args", "", []string{"set-role", "--db", db, "carol"}, true, "USERNAME and a role"},
		{"list missing db", "", []string{"list", "--db", filepath.Join(t.TempDir(), "none.db")}, false, "no such file"},
		{"list extra arg", "", []string{"list", "--db", db, "x"}, true, "no arguments"},
		{"bad flag", "", []string{"add", "--bogus", "carol"}, true, "bogus"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := userCmd(t, tt.stdin, tt.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			assert.Equal(t, tt.usage, strings.Contains(err.Error(), "usage error"), err.Error())
		})
	}
	// set-role of an unknown user once the database exists.
	_, _, err := userCmd(t, "a sufficiently long passphrase\n", "add", "--db", db, "dave")
	require.NoError(t, err)
	_, _, err = userCmd(t, "", "set-role", "--db", db, "nobody", "admin")
	require.ErrorContains(t, err, "not found")
}

func TestUserPasswordTooLongOnStdin(t *testing.T) {
	db := filepath.Join(t.TempDir(), "finkit.db")
	_, _, err := userCmd(t, strings.Repeat("x", 2000), "add", "--db", db, "erin")
	require.ErrorContains(t, err, "longer than 1024 bytes")
}

func TestUserDBPathCannotCarryDriverOptions(t *testing.T) {
	dir := t.TempDir()
	for _, db := range []string{
		filepath.Join(dir, "f.db?_pragma=foreign_keys(0)"),
		filepath.Join(dir, "f.db#x"),
	} {
		_, _, err := userCmd(t, "a sufficiently long passphrase\n", "add", "--db", db, "eve")
		require.ErrorIs(t, err, errUsage, db)
		_, _, err = userCmd(t, "", "list", "--db", db)
		require.ErrorIs(t, err, errUsage, db)
	}
}
