package pdfexport

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/finkit/finkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLowerFindings covers, on one converter: stale profile directories of
// a killed owner are swept by New; errors and logs show URLs without their
// query strings; a PDF larger than MaxPDFBytes fails.
func TestLowerFindings(t *testing.T) {
	t.Parallel()
	testutil.RequireChrome(t)

	// A converter that was SIGKILLed left its profile (cookies, cache)
	// behind; one whose owner runs is in use.
	dead := exec.Command("true")
	require.NoError(t, dead.Run())
	stale, err := os.MkdirTemp("", baseDirPattern+"stale-")
	require.NoError(t, err)
	require.NoError(t, os.MkdirAll(filepath.Join(stale, "profile-1", "Default"), 0o700))
	require.NoError(t, os.WriteFile(filepath.Join(stale, "profile-1", "Default", "Cookies"), []byte("session=secret"), 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(stale, ownerFile), []byte(strconv.Itoa(dead.ProcessState.Pid())+" 1"), 0o600))
	live, err := os.MkdirTemp("", baseDirPattern+"live-")
	require.NoError(t, err)
	defer os.RemoveAll(live)
	require.NoError(t, claimBaseDir(live))

	const secret = "tok-3f9a1c"
	mux := http.NewServeMux()
	ts := httptest.NewServer(mux)
	defer ts.Close()
	port := ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]
	mux.HandleFunc("/missing", http.NotFound)
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<p>page</p><img src="http://public.test:%s/missing?sig=%s"><img src="http://127.0.0.1:%s/x.png?token=%s">`, port, secret, port, secret)
	})
	var logs syncBuffer
	c, err := New(testCtx(t), Options{
		PoolSize: 1, DenyPrivateNetworks: true, AllowHosts: []string{"public.test"}, MaxPDFBytes: 4096,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			if host, p, err := net.SplitHostPort(address); err == nil && host == "public.test" {
				address = net.JoinHostPort("127.0.0.1", p)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
	})
	require.NoError(t, err)
	defer func() { require.NoError(t, c.Close()) }()

	_, err = os.Stat(stale)
	assert.True(t, os.IsNotExist(err), "the stale profile directory was swept: %v", err)
	_, err = os.Stat(live)
	assert.NoError(t, err, "a directory whose owner runs is left alone")

	public := "http://public.test:" + port
	_, err = c.Convert(testCtx(t), public+"/missing?token="+secret, PageOptions{})
	require.ErrorIs(t, err, ErrHTTPStatus)
	assert.NotContains(t, err.Error(), secret)
	assert.Contains(t, err.Error(), public+"/missing?…")

	_, err = c.Convert(testCtx(t), "http://127.0.0.1:"+port+"/x?token="+secret, PageOptions{})
	require.ErrorIs(t, err, ErrBlockedURL)
	assert.NotContains(t, err.Error(), secret)

	_, err = c.Convert(testCtx(t), public+"/page", PageOptions{FailOnResourceError: true, Wait: ForNetworkIdle()})
	require.ErrorIs(t, err, ErrResourceFailed)
	assert.NotContains(t, err.Error(), secret)

	_, err = c.Convert(testCtx(t), public+"/page", PageOptions{Wait: ForNetworkIdle()})
	require.ErrorIs(t, err, ErrPDFTooLarge)
	assert.Contains(t, logs.String(), "blocked a request")
	assert.NotContains(t, logs.String(), secret, "the converter's log repeats a query string")

	_, err = c.ConvertHTML(testCtx(t), "<p>tiny</p>", PageOptions{Timeout: 20 * time.Second})
	assert.ErrorIs(t, err, ErrPDFTooLarge, "even a small PDF is more than 4096 bytes")
}
