//go:build linux

package pdfexport

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// passedFlags returns the command-line switches the package starts Chromium
// with (behind the egress proxy, as DenyPrivateNetworks does), as chromedp
// really passes them: a stand-in executable records its arguments.
func passedFlags(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "args")
	fake := filepath.Join(dir, "fake-chrome")
	require.NoError(t, os.WriteFile(fake, []byte("#!/bin/sh\nprintf '%s\\n' \"$@\" > "+out+"\nexit 1\n"), 0o700))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	actx, cancelAlloc := chromedp.NewExecAllocator(ctx, chromeOptions(fake, filepath.Join(dir, "profile"), "http://127.0.0.1:1")...)
	defer cancelAlloc()
	bctx, cancelB := chromedp.NewContext(actx)
	defer cancelB()
	require.Error(t, chromedp.Do(bctx), "the stand-in browser cannot start")
	raw, err := os.ReadFile(out)
	require.NoError(t, err)
	var names []string
	for arg := range strings.SplitSeq(strings.TrimSpace(string(raw)), "\n") {
		if name, ok := strings.CutPrefix(arg, "--"); ok {
			name, _, _ = strings.Cut(name, "=")
			names = append(names, name)
		}
	}
	return names
}

// chromiumBinary maps the browser executable the converter runs
// (/proc/PID/exe, past any wrapper script) into memory.
func chromiumBinary(t *testing.T, c *Converter) []byte {
	t.Helper()
	c.mu.Lock()
	pid := c.cur.pid()
	c.mu.Unlock()
	require.NotZero(t, pid)
	f, err := os.Open(fmt.Sprintf("/proc/%d/exe", pid))
	require.NoError(t, err)
	defer f.Close()
	fi, err := f.Stat()
	require.NoError(t, err)
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	t.Cleanup(func() { _ = syscall.Munmap(data) })
	return data
}

// knowsSwitch reports whether bin holds name as a string of its own:
// Chromium keeps every switch it knows as a NUL-terminated constant, so a
// switch it knows appears followed by NUL and not preceded by another
// character of a switch name.
func knowsSwitch(bin []byte, name string) bool {
	pat := []byte(name + "\x00")
	for off := 0; ; {
		i := bytes.Index(bin[off:], pat)
		if i < 0 {
			return false
		}
		i += off
		if i == 0 || !isSwitchByte(bin[i-1]) {
			return true
		}
		off = i + 1
	}
}

func isSwitchByte(b byte) bool {
	return 'a' <= b && b <= 'z' || '0' <= b && b <= '9' || b == '-'
}

// TestChromiumKnowsEveryFlag: a switch Chromium does not know is silently
// ignored, so a misspelt one (--force-webrtc-ip-handling-policy) leaves a
// hole nobody sees. Every switch the package passes must be one the
// installed Chromium has.
func TestChromiumKnowsEveryFlag(t *testing.T) {
	t.Parallel()
	c := sharedConverter(t)
	bin := chromiumBinary(t, c)
	require.True(t, knowsSwitch(bin, "remote-debugging-pipe"), "the switch scan found nothing; the test proves nothing")
	require.False(t, knowsSwitch(bin, "not-a-chromium-switch-at-all"))
	require.False(t, knowsSwitch(bin, "ip-handling-policy"), "a tail of a longer switch is not a switch")
	flags := passedFlags(t)
	require.Contains(t, flags, "webrtc-ip-handling-policy")
	require.Contains(t, flags, "proxy-bypass-list")
	for _, name := range flags {
		assert.True(t, knowsSwitch(bin, name), "Chromium does not know --%s", name)
	}
}

// TestWebRTCStaysBehindTheProxy: with DenyPrivateNetworks a page must not
// send STUN or TURN packets over UDP around the egress proxy, here to a
// "server" on 127.0.0.1 that counts them.
func TestWebRTCStaysBehindTheProxy(t *testing.T) {
	t.Parallel()
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	require.NoError(t, err)
	defer pc.Close()
	var packets atomic.Int32
	go func() {
		buf := make([]byte, 2048)
		for {
			if _, _, err := pc.ReadFrom(buf); err != nil {
				return
			}
			packets.Add(1)
		}
	}()
	addr := pc.LocalAddr().String()
	c := newConverter(t, Options{PoolSize: 1, DenyPrivateNetworks: true})
	page := fmt.Sprintf(`<!doctype html><p id="out">gathering</p><script>
		const pc = new RTCPeerConnection({iceServers: [
			{urls: 'stun:%[1]s'},
			{urls: 'turn:%[1]s?transport=udp', username: 'u', credential: 'p'},
		]});
		pc.createDataChannel('probe');
		const found = [];
		const finish = () => { document.getElementById('out').textContent = 'candidates: ' + found.length; window.iceDone = true; };
		pc.onicecandidate = e => { if (e.candidate) found.push(e.candidate.candidate); else finish(); };
		pc.createOffer().then(o => pc.setLocalDescription(o));
		setTimeout(finish, 3000);
	</script>`, addr)
	_, err = c.ConvertHTML(testCtx(t), page, PageOptions{Wait: ForExpression("window.iceDone === true")})
	require.NoError(t, err)
	assert.Zero(t, packets.Load(), "WebRTC sent UDP packets to %s around the proxy", addr)
}
