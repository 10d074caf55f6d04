package testutil

import (
	"os"
	"os/exec"
	"testing"
)

// ChromeNames are the executable names searched on PATH, in order, when the
// FINKIT_CHROME environment variable is unset.
var chromeNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindChrome returns the path of a Chromium-family browser: FINKIT_CHROME
// when set, otherwise the first of the usual names found on PATH. It returns
// "" when there is none.
func FindChrome() string {
	if p := os.Getenv("FINKIT_CHROME"); p != "" {
		if path, err := exec.LookPath(p); err == nil {
			return path
		}
		return ""
	}
	for _, name := range chromeNames {
		if path, err := exec.LookPath(name); err == nil {
			return path
		}
	}
	return ""
}

// RequireTool returns the path of the named executable. When it is missing
// the test is skipped with a clear reason, unless CI=true, where it fails:
// CI installs every tool the tests need, so a missing one is a CI bug.
func RequireTool(tb testing.TB, name string) string {
	tb.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	missing(tb, name+" is not installed (Debian: apt-get install -y "+debianPackage(name)+"; or run `make deps`)")
	return ""
}

// RequireChrome returns the path of Chromium for tests that drive a real
// browser. When it is missing the test is skipped with a clear reason unless
// CI=true, where the test fails instead.
func RequireChrome(tb testing.TB) string {
	tb.Helper()
	if path := FindChrome(); path != "" {
		return path
	}
	missing(tb, "Chromium is not installed (Debian: apt-get install -y chromium; or run `make deps`; or set FINKIT_CHROME)")
	return ""
}

func missing(tb testing.TB, reason string) {
	tb.Helper()
	if os.Getenv("CI") == "true" {
		tb.Fatalf("CI=true: %s", reason)
	}
	tb.Skip(reason)
}

func debianPackage(tool string) string {
	switch tool {
	case "pdftotext", "pdfinfo", "pdftoppm", "pdffonts":
		return "poppler-utils"
	default:
		return tool
	}
}
