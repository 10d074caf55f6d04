package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func runCLI(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	return runCLIWithStdin(t, "", args...)
}

func runCLIWithStdin(t *testing.T, stdin string, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code = run(context.Background(), args, strings.NewReader(stdin), &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDispatch(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		wantCode   int
		wantStdout string
		wantStderr string
	}{
		{"help lists commands", []string{"help"}, 0, "version", ""},
		{"help for one command", []string{"help", "version"}, 0, "usage: finkit version", ""},
		{"help for unknown command", []string{"help", "nope"}, 2, "", "unknown command"},
		{"no command", nil, 2, "", "usage:"},
		{"unknown command", []string{"nope"}, 2, "", `unknown command "nope"`},
		{"version", []string{"version"}, 0, "finkit dev", ""},
		{"version json", []string{"version", "--json"}, 0, `"version": "dev"`, ""},
		{"bad flag", []string{"version", "--bogus"}, 2, "", "usage error"},
		{"bad log level", []string{"--log-level", "loud", "version"}, 2, "", "loud"},
		{"bad log format", []string{"--log-format", "xml", "version"}, 2, "", "xml"},
		{"log flags accepted", []string{"--log-level", "DEBUG", "--log-format", "json", "version"}, 0, "finkit dev", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, stdout, stderr := runCLI(t, tt.args...)
			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr)
			assert.Contains(t, stdout, tt.wantStdout)
			assert.Contains(t, stderr, tt.wantStderr)
		})
	}
}

// A subcommand's usage line is its whole alternative, a | inside it
// ("fifo|average", "admin|user") included, and `portfolio account` answers
// -h and `finkit help portfolio account` like every other command.
func TestSubcommandHelp(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"help", "portfolio", "account", "add"}, "usage: finkit portfolio account add ID --currency CCY [--kind K] [--cost fifo|average]\n"},
		{[]string{"portfolio", "account", "add", "--help"}, "usage: finkit portfolio account add ID --currency CCY [--kind K] [--cost fifo|average]\n"},
		{[]string{"help", "user", "set-role"}, "usage: finkit user set-role USERNAME admin|user [--db PATH]\n"},
		{[]string{"help", "portfolio", "account"}, "usage: finkit portfolio account add ID"},
		{[]string{"portfolio", "account", "-h"}, "usage: finkit portfolio account add ID"},
	} {
		code, out, stderr := runCLI(t, tc.args...)
		assert.Equal(t, 0, code, "%v: %s", tc.args, stderr)
		first, _, _ := strings.Cut(out, "\n")
		assert.True(t, strings.HasPrefix(out, tc.want), "%v: %q", tc.args, first)
		if strings.Contains(tc.want, "account add ID") && !strings.HasSuffix(tc.want, "\n") {
			assert.Contains(t, first, "account list", "%v", tc.args)
		}
	}
}
