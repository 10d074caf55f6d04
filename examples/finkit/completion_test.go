package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestBashCompletion sources the generated script in a real bash and
// completes partial command lines with it.
func TestBashCompletion(t *testing.T) {
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Skip("no bash")
	}
	code, script, stderr := runCLI(t, "completion", "bash")
	require.Equal(t, 0, code, stderr)
	path := filepath.Join(t.TempDir(), "finkit.bash")
	require.NoError(t, os.WriteFile(path, []byte(script), 0o644))
	for _, tc := range []struct {
		words []string
		want  []string
	}{
		{[]string{"finkit", "pd"}, []string{"pdf"}},
		{[]string{"finkit", "mo"}, []string{"montecarlo"}},
		{[]string{"finkit", "pdf", "--pap"}, []string{"--paper"}},
		{[]string{"finkit", "pdf", "--fail"}, []string{"--fail-on-redirect"}},
		{[]string{"finkit", "user", "se"}, []string{"set-role"}},
		{[]string{"finkit", "user", "add", "--ad"}, []string{"--admin"}},
		{[]string{"finkit", "portfolio", "report", "--ba"}, []string{"--base", "--base-url"}},
		{[]string{"finkit", "portfolio", "ac"}, []string{"account"}},
		{[]string{"finkit", "portfolio", "account", ""}, []string{"add", "list"}},
		{[]string{"finkit", "portfolio", "account", "add", "isk", "--cu"}, []string{"--currency"}},
		{[]string{"finkit", "portfolio", "account", "add", "--allow"}, []string{"--allow-margin", "--allow-short"}},
		{[]string{"finkit", "portfolio", "account", "list", "--us"}, []string{"--user"}},
		{[]string{"finkit", "help", "ba"}, []string{"backtest"}},
		{[]string{"finkit", "completion", "--"}, nil},
	} {
		quoted := make([]string, len(tc.words))
		for i, w := range tc.words {
			quoted[i] = "'" + w + "'"
		}
		cmd := exec.Command(bash, "--norc", "-c", `source "$1"; COMP_WORDS=(`+strings.Join(quoted, " ")+`); COMP_CWORD=`+
			strconv.Itoa(len(tc.words)-1)+`; _finkit; printf '%s\n' "${COMPREPLY[@]}"`, "bash", path)
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "%s", out)
		got := strings.Fields(string(out))
		if tc.want == nil {
			assert.Empty(t, got, "%v", tc.words)
			continue
		}
		assert.Equal(t, tc.want, got, "%v", tc.words)
	}
}

func TestCompletionScripts(t *testing.T) {
	code, fish, _ := runCLI(t, "completion", "fish")
	require.Equal(t, 0, code)
	assert.Contains(t, fish, "complete -c finkit -n '__fish_seen_subcommand_from user; and __fish_seen_subcommand_from add' -l admin")
	assert.Contains(t, fish, "complete -c finkit -n '__fish_seen_subcommand_from portfolio; and __fish_seen_subcommand_from account; and not __fish_seen_subcommand_from add list' -f -a add")
	assert.Contains(t, fish, "-l currency")
	// File names stay offered where a command takes a file (pdf page.html,
	// portfolio import FILE.csv): only the command words turn them off.
	assert.NotContains(t, fish, "complete -c finkit -f\n")
	assert.Contains(t, fish, "complete -c finkit -n __fish_use_subcommand -f -a pdf")
	code, zsh, _ := runCLI(t, "completion", "zsh")
	require.Equal(t, 0, code)
	assert.Contains(t, zsh, "bashcompinit")
	code, _, stderr := runCLI(t, "completion", "tcsh")
	assert.Equal(t, 2, code)
	assert.Contains(t, stderr, "unknown shell")
}
