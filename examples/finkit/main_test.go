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
