package main

import (
	"bufio"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/finkit/finkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDocumentedExamples runs every example that `finkit help CMD` shows
// and every `go run ./examples/finkit …` line of the README, in order, in a
// scratch directory that sees the repository's examples/ and papertrade/
// (the paths the examples name), so the documentation cannot drift from
// the tool. Each must exit 0 and print something. The help examples and
// the README's each start from an empty database.
func TestDocumentedExamples(t *testing.T) {
	repo, err := filepath.Abs(filepath.Join("..", ".."))
	require.NoError(t, err)
	var help []string
	for _, c := range commands() {
		help = append(help, c.examples...)
	}
	readme := readmeExamples(t, filepath.Join(repo, "README.md"))
	require.NotEmpty(t, help)
	require.NotEmpty(t, readme)
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	t.Setenv("FINKIT_DB", "")
	t.Setenv("FINKIT_AUDIT_LOG", "")
	t.Setenv("FINKIT_CHAT_PASSPHRASE", "a documented passphrase for the key file")
	server := uploadServer(t)
	t.Run("help", func(t *testing.T) { runExamples(t, repo, server, help) })
	t.Run("README", func(t *testing.T) { runExamples(t, repo, server, readme) })
}

func runExamples(t *testing.T, repo, server string, lines []string) {
	work := t.TempDir()
	for _, d := range []string{"examples", "papertrade"} {
		require.NoError(t, os.Symlink(filepath.Join(repo, d), filepath.Join(work, d)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(work, "prices.csv"), []byte("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,1000\n2024-01-03,10.5,12,10,11.5,1200\n"), 0o644))
	t.Chdir(work)

	for _, line := range lines {
		t.Run(line, func(t *testing.T) {
			args := strings.Fields(line)
			stdin := ""
			switch args[0] {
			case "pdf":
				testutil.RequireChrome(t)
			case "user":
				stdin = "correct horse battery staple 42\n"
			case "upload":
				for i, a := range args {
					args[i] = strings.NewReplacer("http://localhost:8080", server, "TOKEN", "admin-token").Replace(a)
				}
			case "completion":
				if len(args) > 1 && strings.Contains(args[len(args)-1], "/") {
					args = args[:2] // the README redirects the script into a file
				}
			}
			code, stdout, stderr := runCLIWithStdin(t, stdin, args...)
			require.Equal(t, 0, code, "finkit %s\nstdout: %s\nstderr: %s", line, stdout, stderr)
			if args[0] != "pdf" {
				assert.NotEmpty(t, strings.TrimSpace(stdout), "finkit %s printed nothing", line)
			}
		})
	}
}

// readmeExamples returns the finkit command lines of the README's shell
// blocks, without "go run ./examples/finkit", comments and redirections.
func readmeExamples(t *testing.T, path string) []string {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	const prefix = "go run ./examples/finkit "
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line, ok := strings.CutPrefix(strings.TrimSpace(sc.Text()), prefix)
		if !ok {
			continue
		}
		line, _, _ = strings.Cut(line, "#")
		line, _, _ = strings.Cut(line, ">")
		out = append(out, strings.TrimSpace(line))
	}
	require.NoError(t, sc.Err())
	return out
}
