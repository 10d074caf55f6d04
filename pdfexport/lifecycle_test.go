package pdfexport

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestFindBrowser(t *testing.T) {
	dir := t.TempDir()
	fake := filepath.Join(dir, "my-chrome")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\n"), 0o755))

	t.Setenv("FINKIT_CHROME", "")
	p, err := FindBrowser(fake)
	require.NoError(t, err)
	assert.Equal(t, fake, p)

	_, err = FindBrowser(filepath.Join(dir, "absent"))
	require.ErrorIs(t, err, ErrNoBrowser)
	assert.Contains(t, err.Error(), "apt-get install")
	assert.Contains(t, err.Error(), "Options.ExecPath")

	t.Setenv("FINKIT_CHROME", fake)
	p, err = FindBrowser("")
	require.NoError(t, err)
	assert.Equal(t, fake, p)

	t.Setenv("FINKIT_CHROME", filepath.Join(dir, "absent"))
	_, err = FindBrowser("")
	require.ErrorIs(t, err, ErrNoBrowser)
	assert.Contains(t, err.Error(), "FINKIT_CHROME")

	t.Setenv("FINKIT_CHROME", "")
	t.Setenv("PATH", dir) // holds no chromium
	_, err = FindBrowser("")
	require.ErrorIs(t, err, ErrNoBrowser)

	_, err = New(testCtx(t), Options{})
	require.ErrorIs(t, err, ErrNoBrowser)
}

func TestNewRejectsBadOptions(t *testing.T) {
	for _, o := range []Options{
		{PoolSize: -1},
		{DefaultTimeout: -time.Second},
		{AllowHosts: []string{""}},
		{AllowHosts: []string{"10.0.0.0/99"}},
		{AllowHosts: []string{"bad host"}},
		{AllowHosts: []string{"*.*.x"}},
	} {
		_, err := New(testCtx(t), o)
		assert.ErrorIs(t, err, ErrInvalidOption, "%+v", o)
	}
}

// ourProcesses lists the processes whose command line mentions the
// converter's profile directory.
func ourProcesses(c *Converter) []int { return processesUsing(c.baseDir) }

// TestBrowserLifecycle runs one converter through a crash between
// conversions, a crash during one, restarts after N conversions and a Close
// that aborts a running conversion, and checks that no Chromium process of
// ours is left and the profile is gone.
func TestBrowserLifecycle(t *testing.T) {
	t.Parallel()
	c := newConverter(t, Options{PoolSize: 1, RestartAfter: 3})
	ctx := testCtx(t)
	curPID := func() int {
		c.mu.Lock()
		defer c.mu.Unlock()
		require.NotNil(t, c.cur)
		return c.cur.pid()
	}

	_, err := c.ConvertHTML(ctx, "<p>before</p>", PageOptions{}) // conversion 1
	require.NoError(t, err)
	require.NotEmpty(t, ourProcesses(c), "Chromium should be running with our profile")
	c.mu.Lock()
	firstProfile := c.cur.profile
	c.mu.Unlock()

	// A crash between conversions: the next one starts a new browser.
	require.NoError(t, syscall.Kill(curPID(), syscall.SIGKILL))
	pdf, err := c.ConvertHTML(ctx, "<p>after the crash</p>", PageOptions{}) // new browser, 1
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "after the crash")
	assert.Equal(t, int64(2), c.Stats().BrowserStarts)

	// A crash during a conversion: it is retried once on a new browser.
	var hits atomic.Int32
	crashNow := make(chan struct{})
	slowHit := make(chan struct{}, 1)
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch {
		case r.URL.Path == "/slow":
			select {
			case slowHit <- struct{}{}:
			default:
			}
			select {
			case <-time.After(20 * time.Second):
			case <-r.Context().Done():
			}
		case hits.Add(1) == 1:
			close(crashNow)
			select {
			case <-time.After(10 * time.Second):
			case <-r.Context().Done():
			}
		default:
			fmt.Fprint(w, "<p>retried page</p>")
		}
	}))
	defer ts.Close()
	go func() {
		<-crashNow
		_ = syscall.Kill(curPID(), syscall.SIGKILL)
	}()
	pdf, err = c.Convert(ctx, ts.URL+"/", PageOptions{}) // crashed on 2, retried on a new browser, 1
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "retried page")
	assert.Equal(t, int64(3), c.Stats().BrowserStarts)

	// Restart after RestartAfter (3) conversions.
	for i := range 3 { // 2, 3, then a restart before the last
		pdf, err := c.ConvertHTML(ctx, fmt.Sprintf("<p>conversion %d</p>", i), PageOptions{})
		require.NoError(t, err)
		assert.Contains(t, pdfText(t, pdf, 0), fmt.Sprintf("conversion %d", i))
	}
	assert.Equal(t, int64(4), c.Stats().BrowserStarts)
	// Retired and crashed browsers are cleaned up in the background.
	require.Eventually(t, func() bool {
		_, err := os.Stat(firstProfile)
		return os.IsNotExist(err) && len(processesUsing(firstProfile)) == 0
	}, 15*time.Second, 100*time.Millisecond)

	// Close aborts a running conversion and leaves nothing behind.
	pids := ourProcesses(c)
	require.NotEmpty(t, pids)
	errc := make(chan error, 1)
	go func() {
		_, err := c.Convert(ctx, ts.URL+"/slow", PageOptions{})
		errc <- err
	}()
	select { // the browser is loading the slow page: the conversion is running
	case <-slowHit:
	case <-time.After(30 * time.Second):
		t.Fatal("the slow page was never requested")
	}
	start := time.Now()
	require.NoError(t, c.Close())
	assert.Less(t, time.Since(start), 15*time.Second)
	require.ErrorIs(t, <-errc, ErrClosed)

	assert.Empty(t, ourProcesses(c), "processes left behind after Close")
	for _, pid := range pids {
		// Gone, or a zombie waiting for init to reap it: not running.
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err == nil {
			i := strings.LastIndexByte(string(stat), ')')
			require.Greater(t, len(stat), i+2)
			assert.Equal(t, byte('Z'), stat[i+2], "pid %d still runs: %s", pid, stat)
		}
	}
	assert.NoDirExists(t, c.baseDir)

	_, err = c.ConvertHTML(ctx, "<p>x</p>", PageOptions{})
	assert.ErrorIs(t, err, ErrClosed)
	assert.NoError(t, c.Close(), "Close is idempotent")
}

func TestDenyPrivateNetworks(t *testing.T) {
	t.Parallel()
	var secretHits atomic.Int32
	mux := http.NewServeMux()
	mux.HandleFunc("/secret", func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1)
		fmt.Fprint(w, "<p>INTERNAL SECRET</p>")
	})
	mux.HandleFunc("/secret.png", func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1)
		http.NotFound(w, r)
	})
	ts := httptest.NewServer(mux)
	defer ts.Close()
	port := ts.URL[strings.LastIndexByte(ts.URL, ':')+1:]
	internal := "http://127.0.0.1:" + port
	public := "http://public.test:" + port
	other := "http://other.test:" + port

	// Pages on the "public" host that reach into the private network in
	// several ways.
	mux.HandleFunc("/public/img", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<p>PUBLIC PAGE</p><img src="%s/secret.png"><iframe src="%s/secret"></iframe>`, internal, internal)
	})
	mux.HandleFunc("/public/fetch", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<p>PUBLIC FETCH</p><script>fetch(%q).catch(() => {}); new Worker(URL.createObjectURL(new Blob(['fetch(%q).catch(()=>{})'])));</script>`, internal+"/secret", "http://localhost:"+port+"/secret")
	})
	mux.HandleFunc("/ws", func(w http.ResponseWriter, r *http.Request) {
		secretHits.Add(1) // a WebSocket handshake reached the private server
		http.Error(w, "no", http.StatusBadRequest)
	})
	mux.HandleFunc("/public/ws", func(w http.ResponseWriter, r *http.Request) {
		ws := "ws://127.0.0.1:" + port + "/ws"
		fmt.Fprintf(w, `<p>PUBLIC WS</p><script>try { new WebSocket(%q) } catch (e) {}
			new Worker(URL.createObjectURL(new Blob(['try { new WebSocket(%q) } catch (e) {}'])));</script>`, ws, ws)
	})
	mux.HandleFunc("/public/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, internal+"/secret", http.StatusFound)
	})
	mux.HandleFunc("/public/frame", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, `<p>OUTER</p><iframe src="%s/other/inner"></iframe>`, other)
	})
	mux.HandleFunc("/other/inner", func(w http.ResponseWriter, r *http.Request) {
		// A cross-site iframe runs in its own renderer process.
		fmt.Fprintf(w, `<p>INNER</p><img src="%s/secret.png">`, internal)
	})

	// public.test and other.test are allow-listed by name, as an app would
	// allow-list a trusted host, and the egress proxy's Dial hook points
	// them at the local test server. 127.0.0.1 and localhost stay blocked.
	mux.HandleFunc("/iso/set", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "srv", Value: "server-cookie"})
		fmt.Fprint(w, `<p>SET</p><script>document.cookie = "js=script-cookie"; localStorage.setItem("k", "stored-value");</script>`)
	})
	mux.HandleFunc("/iso/get", func(w http.ResponseWriter, r *http.Request) {
		var names []string
		for _, ck := range r.Cookies() {
			names = append(names, ck.Name+"="+ck.Value)
		}
		fmt.Fprintf(w, `<p>server-saw=[%s] ua=[%s] xa=[%s]</p><p id="js"></p>
			<script>document.getElementById("js").textContent = "ls=[" + localStorage.getItem("k") + "] doc=[" + document.cookie + "]";</script>`,
			strings.Join(names, ","), r.UserAgent(), r.Header.Get("X-A"))
	})

	// PoolSize 1: consecutive conversions run one after the other, which
	// makes the isolation check below meaningful.
	c := newConverter(t, Options{
		PoolSize:            1,
		DenyPrivateNetworks: true,
		AllowHosts:          []string{"public.test", "other.test"},
		Dial: func(ctx context.Context, network, address string) (net.Conn, error) {
			host, p, err := net.SplitHostPort(address)
			if err != nil {
				return nil, err
			}
			if host == "public.test" || host == "other.test" {
				address = net.JoinHostPort("127.0.0.1", p)
			}
			var d net.Dialer
			return d.DialContext(ctx, network, address)
		},
		DefaultTimeout: 20 * time.Second,
	})
	ctx := testCtx(t)

	for _, u := range []string{internal + "/secret", "http://localhost:" + port + "/secret", "http://[::1]:" + port + "/secret",
		"http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://[::ffff:127.0.0.1]:" + port + "/secret", "http://0.0.0.0:" + port + "/secret"} {
		_, err := c.Convert(ctx, u, PageOptions{})
		assert.ErrorIs(t, err, ErrBlockedURL, u)
	}

	_, err := c.Convert(ctx, public+"/public/redirect", PageOptions{})
	assert.ErrorIs(t, err, ErrBlockedURL, "redirect to a private address")

	pdf, err := c.Convert(ctx, public+"/public/img", PageOptions{Wait: ForNetworkIdle()})
	require.NoError(t, err)
	text := pdfText(t, pdf, 0)
	assert.Contains(t, text, "PUBLIC PAGE")
	assert.NotContains(t, text, "INTERNAL SECRET")

	_, err = c.Convert(ctx, public+"/public/img", PageOptions{FailOnResourceError: true})
	assert.ErrorIs(t, err, ErrResourceFailed)

	_, err = c.Convert(ctx, public+"/public/fetch", PageOptions{Wait: ForNetworkIdle()})
	require.NoError(t, err)

	_, err = c.Convert(ctx, public+"/public/ws", PageOptions{Wait: ForDelay(500 * time.Millisecond)})
	require.NoError(t, err)

	pdf, err = c.Convert(ctx, public+"/public/frame", PageOptions{Wait: ForNetworkIdle()})
	require.NoError(t, err)
	text = pdfText(t, pdf, 0)
	assert.Contains(t, text, "OUTER")
	assert.Contains(t, text, "INNER", "the allow-listed cross-site iframe itself loads")

	pdf, err = c.ConvertHTML(ctx, fmt.Sprintf(`<p>HTML DOC</p><img src="%s/secret.png">`, internal), PageOptions{Wait: ForNetworkIdle()})
	require.NoError(t, err, "ConvertHTML works behind the policy")
	assert.Contains(t, pdfText(t, pdf, 0), "HTML DOC")

	assert.Zero(t, secretHits.Load(), "a request reached the private server")

	// A conversion sees nothing of the previous one: cookies (set by
	// option, by the server and by script), local storage, the user agent
	// and extra headers are gone.
	_, err = c.Convert(ctx, public+"/iso/set", PageOptions{
		Cookies: []Cookie{{Name: "opt", Value: "option-cookie"}}, UserAgent: "agent-A", Headers: map[string]string{"X-A": "header-A"},
	})
	require.NoError(t, err)
	pdf, err = c.Convert(ctx, public+"/iso/get", PageOptions{})
	require.NoError(t, err)
	text = pdfText(t, pdf, 0)
	assert.Contains(t, text, "server-saw=[]")
	assert.Contains(t, text, "ls=[null] doc=[]")
	assert.Contains(t, text, "xa=[]")
	assert.NotContains(t, text, "agent-A")

	// Control: without the policy the same kind of page does reach it, so
	// the test above is not passing by accident.
	shared := sharedConverter(t)
	pdf, err = shared.Convert(ctx, internal+"/public/img", PageOptions{Wait: ForNetworkIdle()})
	require.NoError(t, err)
	assert.Contains(t, pdfText(t, pdf, 0), "INTERNAL SECRET")
	assert.NotZero(t, secretHits.Load())
}
