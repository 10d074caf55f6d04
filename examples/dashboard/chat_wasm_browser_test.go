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

// wasmTests is securechat's test binary compiled to WebAssembly, served
// with wasm_exec.js and wasmTestPage on 127.0.0.1 (a secure context, so
// crypto.subtle exists) for Chromium to run.
type wasmTests struct {
	ctx context.Context // the browser's
	srv *httptest.Server
}

func newWasmTests(tb testing.TB, timeout time.Duration) *wasmTests {
	tb.Helper()
	ctx := startChromium(tb, timeout)
	goBin, err := exec.LookPath("go")
	require.NoError(tb, err)
	bin := filepath.Join(tb.TempDir(), "securechat.test.wasm")
	build := exec.Command(goBin, "test", "-c", "-o", bin, "github.com/finkit/finkit/securechat")
	build.Env = append(os.Environ(), "GOOS=js", "GOARCH=wasm")
	msg, err := build.CombinedOutput()
	require.NoError(tb, err, "building the test binary: %s", msg)
	goroot, err := exec.Command(goBin, "env", "GOROOT").Output()
	require.NoError(tb, err)
	wasmExec, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(goroot)), "lib", "wasm", "wasm_exec.js"))
	require.NoError(tb, err)
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
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return &wasmTests{ctx: ctx, srv: srv}
}

// run runs the test binary with args in a new tab, X25519 and Ed25519
// hidden from crypto.subtle when hide is set, and returns its exit code
// and output.
func (w *wasmTests) run(tb testing.TB, args []string, env map[string]string, hide bool) (int, string) {
	tb.Helper()
	tab, cancel := chromedp.NewContext(w.ctx)
	defer cancel()
	argv, _ := json.Marshal(append([]string{"securechat.test"}, args...))
	envJSON, _ := json.Marshal(env)
	require.NoError(tb, chromedp.Do(tab, chromedp.Navigate(w.srv.URL+"/")))
	res, err := chromedp.Run(tab, chromedp.Evaluate[string](`run(`+string(argv)+`, `+string(envJSON)+`, `+strconv.FormatBool(hide)+`)`, chromedp.EvalAwaitPromise))
	require.NoError(tb, err)
	var r struct {
		Code int
		Out  string
	}
	require.NoError(tb, json.Unmarshal([]byte(res), &r))
	return r.Code, r.Out
}

// TestSecurechatInChromium runs securechat's tests compiled to
// WebAssembly in Chromium, whose WebCrypto does X25519 and Ed25519 (all
// but the one that reads files): among them the RFC 7748 and BoringSSL
// X25519 vectors, the repository's NaCl, libsodium, x/crypto, tweetnacl
// and Argon2id known answers, the low-order refusals,
// agreement with crypto/ecdh, the C2SP Ed25519 edge cases (never more
// lenient than crypto/ed25519), X3DH and the ratchet (the recorded
// transcript of a seeded session, byte for byte), WebCrypto failing
// mid-session and its detection. They run first
// through WebCrypto, then with X25519 and Ed25519 hidden from
// crypto.subtle, where the package must fall back to its Go code.
func TestSecurechatInChromium(t *testing.T) {
	w := newWasmTests(t, 8*time.Minute)
	// All but the test that reads files, and the fuzz targets, which read
	// their corpus (the browser has no file system).
	const skip = `^(TestErrorfFormatsSupported|Fuzz.*)$`
	for _, c := range []struct {
		provider string
		hide     bool
	}{{"webcrypto", false}, {"go", true}} {
		t.Run(c.provider, func(t *testing.T) {
			code, out := w.run(t, []string{"-test.v", "-test.skip", skip}, map[string]string{"FINKIT_WANT_CRYPTO_PROVIDER": c.provider}, c.hide)
			var passed, notes []string
			for _, line := range strings.Split(out, "\n") {
				if name, ok := strings.CutPrefix(strings.TrimSpace(line), "--- PASS: "); ok {
					passed = append(passed, name)
				}
				if strings.Contains(line, "--- FAIL") || strings.Contains(line, "crypto provider:") || strings.Contains(line, "edge cases") {
					notes = append(notes, strings.TrimSpace(line))
				}
			}
			t.Logf("%s: %d passed; %s", c.provider, len(passed), strings.Join(notes, "; "))
			require.Equal(t, 0, code, "the tests failed in Chromium:\n%s", out)
			require.Contains(t, out, "crypto provider: "+c.provider)
			require.Greater(t, len(passed), 30)
		})
	}
}

// BenchmarkSecurechatPrimitivesInChromium runs securechat's benchmarks of
// the primitives behind a session setup (an X25519 agreement with a loaded
// key, a new key pair, an Ed25519 verification) in Chromium, through
// WebCrypto and through the Go fallback, in the same browser, and prints
// them:
//
//	go test -run '^$' -bench SecurechatPrimitivesInChromium -benchtime 1x ./dashboard/
func BenchmarkSecurechatPrimitivesInChromium(b *testing.B) {
	w := newWasmTests(b, 8*time.Minute)
	for range b.N {
		for _, hide := range []bool{false, true, false, true} {
			code, out := w.run(b, []string{"-test.run", "^$", "-test.bench", "^Benchmark(KeyPair|NewKeyPair|VerifySignature)", "-test.benchtime", "200x"}, map[string]string{}, hide)
			require.Equal(b, 0, code, out)
			for _, line := range strings.Split(out, "\n") {
				if strings.HasPrefix(line, "Benchmark") {
					fmt.Printf("%-9s %s  load %s\n", map[bool]string{false: "webcrypto", true: "go"}[hide], line, loadAverage())
				}
			}
		}
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
// FINKIT_CHAT_BASELINE_WASM naming other gzip-compressed builds of the
// module (older ones, say; a path list, each named by its file name),
// all run in the same browser, turn about.
// It prints a page's very first setup (in a tab of its own, after the
// module's warm-up), then rounds of ten setups: the first round is cold
// (V8 compiles WebAssembly with its baseline compiler first), the others
// warm; on a shared machine single rounds
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
	if paths := os.Getenv("FINKIT_CHAT_BASELINE_WASM"); paths != "" {
		for _, path := range filepath.SplitList(paths) {
			gz, err := os.ReadFile(path)
			require.NoError(b, err)
			mods = append(mods, &module{name: strings.TrimSuffix(filepath.Base(path), ".wasm.gz"), srv: serveChatModule(b, gz)})
		}
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
	for _, m := range mods { // a page's very first session setup, in tabs of their own
		var setups, answers []float64
		for range 5 {
			ms, wait := firstSetup(b, ctx, m.srv.URL)
			setups, answers = append(setups, ms), append(answers, wait)
		}
		fmt.Printf("%s: first setup of a page median %.3f ms %v (bench called once the module was loaded answered after a median %.1f ms, with the wait for the module's warm-up)  load %s\n",
			m.name, median(setups), setups, median(answers), loadAverage())
	}
	const rounds, setups, messages = 12, 10, 200
	for range b.N {
		for r := range rounds {
			// Each round starts with the next build, so none is always
			// measured first; the cold round starts with this build.
			for i := range mods {
				m := mods[(r+i)%len(mods)]
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

// firstSetup loads the module in a new tab and returns the time of its
// first session setup (the cold rounds average ten), and the time bench
// took to answer, called as soon as the module was loaded: with the
// wait for the module's warm-up, in a build that has one.
func firstSetup(b *testing.B, ctx context.Context, url string) (setupMs, answerMs float64) {
	tab, cancel := chromedp.NewContext(ctx)
	defer cancel()
	require.NoError(b, chromedp.Do(tab, chromedp.Navigate(url+"/")))
	_, err := chromedp.Run(tab, chromedp.Evaluate[any](`call('load')`, chromedp.EvalAwaitPromise))
	require.NoError(b, err)
	res, err := chromedp.Run(tab, chromedp.Evaluate[string](`(async () => { const t = performance.now(); const v = await call('bench', 1, 1); v.answerMs = performance.now() - t; return JSON.stringify(v); })()`, chromedp.EvalAwaitPromise))
	require.NoError(b, err)
	var v struct{ SetupMs, AnswerMs float64 }
	require.NoError(b, json.Unmarshal([]byte(res), &v))
	return v.SetupMs, v.AnswerMs
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
