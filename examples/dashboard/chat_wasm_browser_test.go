package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/examples/internal/chatbench"
	"github.com/finkit/finkit/internal/testutil"
)

// startChromium starts headless Chromium (skipped without it unless
// CI=true) and returns its first tab's context.
func startChromium(tb testing.TB, timeout time.Duration) context.Context {
	tb.Helper()
	chrome := testutil.RequireChrome(tb)
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts, chromedp.ExecPath(chrome), chromedp.UserDataDir(filepath.Join(tb.TempDir(), "profile")),
		chromedp.NoSandbox, chromedp.DisableGPU)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelT := context.WithTimeout(ctx, timeout)
	tb.Cleanup(func() { cancelT(); cancel(); cancelAlloc() })
	require.NoError(tb, chromedp.Do(ctx))
	return ctx
}

// wasmTestPage runs a Go test binary compiled for GOOS=js in the page:
// run(argv, env, hideCurves) resolves with {code, out}. hideCurves makes
// crypto.subtle refuse X25519 and Ed25519 keys first, as a browser
// without them would (NotSupportedError).
const wasmTestPage = `<!doctype html><meta charset="utf-8"><title>go test</title>
<script src="/wasm_exec.js"></script>
<script>
window.run = async (argv, env, hideCurves) => {
  if (hideCurves) {
    const importKey = crypto.subtle.importKey.bind(crypto.subtle);
    crypto.subtle.importKey = (format, data, alg, ...rest) => {
      const name = typeof alg === 'string' ? alg : alg && alg.name;
      if (name === 'X25519' || name === 'Ed25519') return Promise.reject(new DOMException(name + ' is hidden', 'NotSupportedError'));
      return importKey(format, data, alg, ...rest);
    };
  }
  const out = [];
  console.log = (...a) => out.push(a.join(' '));
  const go = new Go();
  go.argv = argv;
  go.env = env;
  let code = -1;
  go.exit = (c) => { code = c; };
  const { instance } = await WebAssembly.instantiateStreaming(fetch('/test.wasm'), go.importObject);
  await go.run(instance);
  return JSON.stringify({ code, out: out.join('\n') });
};
</script>`

// TestSecurechatInChromium runs securechat's tests compiled to
// WebAssembly in Chromium, whose WebCrypto does X25519 and Ed25519 (all
// but the few that read files): among them the RFC 7748, BoringSSL,
// NaCl/libsodium and tweetnacl X25519 vectors, the low-order refusals,
// agreement with crypto/ecdh, the C2SP Ed25519 edge cases (never more
// lenient than crypto/ed25519), X3DH and the ratchet. They run first
// through WebCrypto, then with X25519 and Ed25519 hidden from
// crypto.subtle, where the package must fall back to its Go code.
func TestSecurechatInChromium(t *testing.T) {
	ctx := startChromium(t, 8*time.Minute)
	goBin, err := exec.LookPath("go")
	require.NoError(t, err)
	bin := filepath.Join(t.TempDir(), "securechat.test.wasm")
	build := exec.Command(goBin, "test", "-c", "-o", bin, "github.com/finkit/finkit/securechat")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	msg, err := build.CombinedOutput()
	require.NoError(t, err, "building the test binary: %s", msg)
	goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
	require.NoError(t, err)
	wasmExec, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(wasmTestPage))
	})
	mux.HandleFunc("/wasm_exec.js", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/javascript")
		w.Write(wasmExec)
	})
	mux.HandleFunc("/test.wasm", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		http.ServeFile(w, r, bin)
	})
	srv := httptest.NewServer(mux) // 127.0.0.1: a secure context, so crypto.subtle exists
	t.Cleanup(srv.Close)

	// All but the tests that read files, and the fuzz targets, which read
	// their corpus (the browser has no file system).
	const skip = `^(TestKAT.*|TestRatchetRegressionVectors|TestErrorfFormatsSupported|Fuzz.*)$`
	for _, c := range []struct {
		provider string
		hide     bool
	}{{"webcrypto", false}, {"go", true}} {
		t.Run(c.provider, func(t *testing.T) {
			tab, cancel := chromedp.NewContext(ctx)
			defer cancel()
			argv, _ := json.Marshal([]string{"securechat.test", "-test.v", "-test.skip", skip})
			env, _ := json.Marshal(map[string]string{"FINKIT_WANT_CRYPTO_PROVIDER": c.provider})
			require.NoError(t, chromedp.Do(tab, chromedp.Navigate(srv.URL+"/")))
			res, err := chromedp.Run(tab, chromedp.Evaluate[string](`run(`+string(argv)+`, `+string(env)+`, `+strconv.FormatBool(c.hide)+`)`, chromedp.EvalAwaitPromise))
			require.NoError(t, err)
			var r struct {
				Code int
				Out  string
			}
			require.NoError(t, json.Unmarshal([]byte(res), &r))
			var passed, failed []string
			for _, line := range strings.Split(r.Out, "\n") {
				if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- PASS: "); ok {
					passed = append(passed, name)
				}
				if strings.Contains(line, "--- FAIL") || strings.Contains(line, "crypto provider:") || strings.Contains(line, "edge cases") {
					failed = append(failed, line)
				}
			}
			t.Logf("%s: %d passed; %s", c.provider, len(passed), strings.Join(failed, "\n"))
			require.Equal(t, 0, r.Code, "the tests failed in Chromium:\n%s", r.Out)
			require.Contains(t, r.Out, "crypto provider: "+c.provider)
			require.Greater(t, len(passed), 30)
		})
	}
}

// chatModulePage starts the chat worker (static/chat/worker.js, the
// dashboard's) and lets the test call the module's methods through it,
// as chat.js does.
const chatModulePage = `<!doctype html><meta charset="utf-8"><title>chat module</title>
<script>
const w = new Worker('/chat/worker.js');
const calls = new Map();
let next = 1;
w.onmessage = (ev) => {
  const m = ev.data || {};
  const c = calls.get(m.id);
  if (!c) return;
  calls.delete(m.id);
  if ('error' in m) c.reject(new Error(m.error)); else c.resolve(m.value);
};
window.call = (method, ...args) => new Promise((resolve, reject) => {
  const id = next++;
  calls.set(id, { resolve, reject });
  w.postMessage({ id, method, args });
});
</script>`

// serveChatModule serves chatModulePage, the dashboard's worker and
// wasm_exec.js, and the gzip-compressed module wasmGz.
func serveChatModule(tb testing.TB, wasmGz []byte) *httptest.Server {
	tb.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write([]byte(chatModulePage))
	})
	file := func(path, name, typ string) {
		b, err := staticFS.ReadFile(name)
		require.NoError(tb, err)
		mux.HandleFunc(path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", typ)
			w.Header().Set("Content-Security-Policy", chatPageCSP)
			w.Write(b)
		})
	}
	file("/chat/worker.js", "static/chat/worker.js", "text/javascript")
	file("/static/chat/wasm_exec.js", "static/chat/wasm_exec.js", "text/javascript")
	mux.HandleFunc("/chat/client.wasm", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/wasm")
		w.Header().Set("Content-Encoding", "gzip")
		w.Write(wasmGz)
	})
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkChatInChromium measures an X3DH session setup and a 1 KiB
// ratchet message in Chromium, in the dashboard's worker, with the same
// code (chatbench) as natively, and natively in the same run. With
// FINKIT_CHAT_BASELINE_WASM naming another gzip-compressed build of the
// module (an older one, say), both run in the same browser, turn about.
// The first round is cold (V8 compiles WebAssembly with its baseline
// compiler first), the others warm; on a shared machine single rounds
// vary with the load, so it prints every round and, per build, the
// median and the minimum of the warm ones (b.Log would keep only ten
// lines):
//
//	go test -run '^$' -bench ChatInChromium -benchtime 1x ./dashboard/
func BenchmarkChatInChromium(b *testing.B) {
	ctx := startChromium(b, 10*time.Minute)
	type module struct {
		name            string
		srv             *httptest.Server
		tab             context.Context
		setups, message []float64 // warm rounds, ms
	}
	mods := []*module{{name: "this build", srv: serveChatModule(b, chatWasmGz)}}
	if path := os.Getenv("FINKIT_CHAT_BASELINE_WASM"); path != "" {
		gz, err := os.ReadFile(path)
		require.NoError(b, err)
		mods = append([]*module{{name: "baseline", srv: serveChatModule(b, gz)}}, mods...)
	}
	native := &module{name: "native Go"}
	for _, m := range mods {
		tab, cancel := chromedp.NewContext(ctx)
		b.Cleanup(cancel)
		m.tab = tab
		require.NoError(b, chromedp.Do(tab, chromedp.Navigate(m.srv.URL+"/")))
		load, err := chromedp.Run(tab, chromedp.Evaluate[string](`call('load').then(JSON.stringify)`, chromedp.EvalAwaitPromise))
		require.NoError(b, err)
		fmt.Printf("%s: load %s\n", m.name, load)
	}
	const rounds, setups, messages = 12, 10, 200
	for range b.N {
		for r := range rounds {
			for _, m := range mods {
				res, err := chromedp.Run(m.tab, chromedp.Evaluate[string](`call('bench', `+strconv.Itoa(setups)+`, `+strconv.Itoa(messages)+`).then(JSON.stringify)`, chromedp.EvalAwaitPromise))
				require.NoError(b, err)
				var v struct {
					SetupMs, MessageMs float64
					Crypto             string
				}
				require.NoError(b, json.Unmarshal([]byte(res), &v))
				kind := "warm"
				if r == 0 {
					kind = "cold"
				} else {
					m.setups, m.message = append(m.setups, v.SetupMs), append(m.message, v.MessageMs)
				}
				fmt.Printf("round %2d (%s) %-10s setup %7.3f ms  message %6.4f ms  crypto %-9s  load %s\n", r, kind, m.name, v.SetupMs, v.MessageMs, v.Crypto, loadAverage())
			}
			res, err := chatbench.Measure(setups, messages)
			require.NoError(b, err)
			s, msg := float64(res.Setup.Microseconds())/1000, float64(res.Message.Nanoseconds())/1e6
			if r > 0 {
				native.setups, native.message = append(native.setups, s), append(native.message, msg)
			}
			fmt.Printf("round %2d        %-10s setup %7.3f ms  message %6.4f ms\n", r, native.name, s, msg)
		}
	}
	for _, m := range append(mods, native) {
		fmt.Printf("warm %-10s setup median %7.3f min %7.3f ms  message median %6.4f min %6.4f ms\n",
			m.name, median(m.setups), slices.Min(m.setups), median(m.message), slices.Min(m.message))
	}
}

func median(v []float64) float64 {
	s := slices.Sorted(slices.Values(v))
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// loadAverage is the first three fields of /proc/loadavg ("" elsewhere).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return ""
	}
	f := strings.Fields(string(b))
	return strings.Join(f[:min(3, len(f))], " ")
}
