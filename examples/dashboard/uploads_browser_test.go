package main

import (
	"context"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/testutil"
	"github.com/finkit/finkit/upload"
)

// TestUploadsPageInChromium drives the upload page in a real browser: the
// admin picks two files (one small, sent as multipart; one over the tus
// threshold, sent in chunks), each row's progress bar fills and its status
// follows the job over server-sent events until "done".
func TestUploadsPageInChromium(t *testing.T) {
	chrome := testutil.RequireChrome(t)
	e := newTestEnv(t)
	c := e.user(t, "browser-admin", auth.RoleAdmin)
	u, _ := url.Parse(e.srv.URL)
	var session *http.Cookie
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == e.app.auth.CookieName() {
			session = ck
		}
	}
	require.NotNil(t, session)

	dir := t.TempDir()
	small := filepath.Join(dir, "small.csv")
	big := filepath.Join(dir, "big-history.csv")
	require.NoError(t, os.WriteFile(small, []byte("Date,Open,High,Low,Close\n2024-01-02,1,2,0.5,1.5\n2024-01-03,1.5,2,1,1.8\n"), 0o600))
	var b strings.Builder
	b.WriteString("Date,Open,High,Low,Close\n")
	day := time.Date(1990, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; b.Len() < 9<<20; i++ { // over the page's 8 MiB tus threshold
		b.WriteString(day.AddDate(0, 0, i).Format("2006-01-02") + ",100,101,99,100.5\n")
	}
	require.NoError(t, os.WriteFile(big, []byte(b.String()), 0o600))

	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(chrome), chromedp.UserDataDir(filepath.Join(dir, "profile")), chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	ctx, cancel := chromedp.NewContext(actx)
	defer cancel()
	ctx, cancelT := context.WithTimeout(ctx, 90*time.Second)
	defer cancelT()

	httpOnly := true
	_, err := chromedp.Call(ctx, network.SetCookie, network.SetCookieParams{Name: session.Name, Value: session.Value, Domain: u.Hostname(), Path: "/", HTTPOnly: &httpOnly})
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx,
		chromedp.Navigate(e.srv.URL+"/admin/uploads"),
		chromedp.WaitReady(chromedp.CSS("#dropzone")),
		chromedp.SetUploadFiles(chromedp.CSS("#upload-input"), []string{small, big}),
	))
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#upload-progress .up').length === 2 || document.querySelector('#upload-progress .down') !== null`,
		chromedp.WithPollingTimeout(80*time.Second)))
	rows, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#upload-progress")))
	require.NoError(t, err, "rows: %s", rows)
	require.NotContains(t, rows, "rejected", rows)
	require.Equal(t, 2, strings.Count(rows, "done"), rows)
	require.Contains(t, e.logs.String(), "resumable upload created", "the large file did not go through tus")
	// The "Past uploads" table shows both finished uploads without a reload.
	_, err = chromedp.Run(ctx, chromedp.Poll[bool](`document.querySelectorAll('#upload-table tbody tr[data-state="done"]').length === 2`,
		chromedp.WithPollingTimeout(20*time.Second)))
	table, _ := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#upload-table")))
	require.NoError(t, err, "table: %s", table)
	require.Contains(t, table, "big-history.csv", table)
	if out := os.Getenv("FINKIT_UPLOADS_SCREENSHOT"); out != "" { // to look at the page
		require.NoError(t, chromedp.Do(ctx, chromedp.EmulateViewport(1100, 1000)))
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(out, png, 0o600))
	}

	ups, err := e.app.uploads.List(context.Background(), upload.ListOptions{})
	require.NoError(t, err)
	require.Len(t, ups, 2)
	for _, up := range ups {
		require.Equal(t, upload.StateDone, up.State, up.Message)
	}
}
