package main

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/internal/testutil"
)

// browser is a headless Chromium tab for the dashboard's end-to-end tests.
type browser struct {
	ctx  context.Context
	base string // the test server's URL
}

// newBrowser starts Chromium (skipped without it unless CI=true) with a
// private profile; the tab lives until the test ends.
func newBrowser(t *testing.T, e *testEnv, timeout time.Duration) *browser {
	t.Helper()
	chrome := testutil.RequireChrome(t)
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(chrome), chromedp.UserDataDir(filepath.Join(t.TempDir(), "profile")),
		chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	t.Cleanup(func() { cancelT(); cancel(); cancelAlloc() })
	require.NoError(t, chromedp.Do(ctx))
	return &browser{ctx: ctx, base: e.srv.URL}
}

// login gives the browser the session of an HTTP client that logged in.
func (b *browser) login(t *testing.T, e *testEnv, c *http.Client) {
	t.Helper()
	u, _ := url.Parse(e.srv.URL)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == e.app.auth.CookieName() {
			session = ck
		}
	}
	require.NotNil(t, session, "the client has no session cookie")
	httpOnly := true
	_, err := chromedp.Call(b.ctx, network.SetCookie, network.SetCookieParams{Name: session.Name, Value: session.Value,
		Domain: u.Hostname(), Path: "/", HTTPOnly: &httpOnly})
	require.NoError(t, err)
}

// clearCookies logs the browser out.
func (b *browser) clearCookies(t *testing.T) {
	t.Helper()
	_, err := chromedp.Call(b.ctx, network.ClearBrowserCookies, cdp.Empty{})
	require.NoError(t, err)
}

func (b *browser) open(t *testing.T, path string) {
	t.Helper()
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Navigate(b.base+path), chromedp.WaitReady(chromedp.CSS("body"))), path)
}

var (
	shotsOnce sync.Once
	shotsDir  string
)

// screenshotDir is where screenshots go: $FINKIT_SCREENSHOTS, or a new
// directory under the system's temporary directory that outlives the test
// (so a failure's picture can be looked at).
func screenshotDir(t *testing.T) string {
	shotsOnce.Do(func() {
		if d := os.Getenv("FINKIT_SCREENSHOTS"); d != "" {
			shotsDir = d
			_ = os.MkdirAll(d, 0o750)
			return
		}
		d, err := os.MkdirTemp("", "finkit-screenshots-")
		if err != nil {
			t.Logf("no screenshot directory: %v", err)
			return
		}
		shotsDir = d
	})
	return shotsDir
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// screenshot saves the whole page as PNG and returns its path ("" when it
// could not).
func (b *browser) screenshot(t *testing.T, name string) string {
	t.Helper()
	dir := screenshotDir(t)
	if dir == "" {
		return ""
	}
	png, err := chromedp.Run(b.ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	path := filepath.Join(dir, strings.Trim(unsafeName.ReplaceAllString(name, "_"), "_")+".png")
	if err := os.WriteFile(path, png, 0o600); err != nil {
		t.Logf("screenshot %s: %v", name, err)
		return ""
	}
	return path
}

// failWithShot fails the test with msg and the path of a screenshot of the
// page as it is.
func (b *browser) failWithShot(t *testing.T, name, format string, args ...any) {
	t.Helper()
	t.Errorf("%s: %s (screenshot: %s)", name, fmt.Sprintf(format, args...), b.screenshot(t, "FAIL-"+name))
}

// keepShots reports whether every checked page is to be saved as a
// screenshot, failing or not (FINKIT_SCREENSHOTS set).
func keepShots() bool { return os.Getenv("FINKIT_SCREENSHOTS") != "" }

// do runs steps with a time limit of its own; on failure it saves a
// screenshot of the page and fails the test with its path.
func (b *browser) do(t *testing.T, name string, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.ctx, 20*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("%s: %v (screenshot: %s)", name, err, b.screenshot(t, "FAIL-"+name))
	}
}
