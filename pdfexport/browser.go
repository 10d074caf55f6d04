package pdfexport

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"
)

// browserNames are the executables looked up on PATH, in order.
var browserNames = []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"}

// FindBrowser returns the path of the browser to run: execPath when it is
// not empty, else the env variable FINKIT_CHROME, else the first of chromium,
// chromium-browser, google-chrome and google-chrome-stable on PATH. It returns
// an error wrapping ErrNoBrowser when none is found.
func FindBrowser(execPath string) (string, error) {
	for _, cand := range []struct{ name, from string }{{execPath, "Options.ExecPath"}, {os.Getenv("FINKIT_CHROME"), "FINKIT_CHROME"}} {
		if cand.name == "" {
			continue
		}
		p, err := exec.LookPath(cand.name)
		if err != nil {
			return "", fmt.Errorf("%w (%s=%q: %v)", ErrNoBrowser, cand.from, cand.name, err)
		}
		return p, nil
	}
	for _, name := range browserNames {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// syntheticPrefix is the URL under which ConvertHTML serves its documents
// through request interception. The .invalid TLD can never resolve, so no
// request to it ever leaves the browser.
const syntheticPrefix = "http://pdfexport.invalid/doc/"

// generation is one Chromium process. A converter has at most one current
// generation; a retired one lives until its last conversion ends.
type generation struct {
	id            int
	profile       string
	allocCancel   context.CancelFunc
	ctx           context.Context // the browser's chromedp context
	cancel        context.CancelFunc
	active, uses  int            // guarded by Converter.mu
	retired       bool           // guarded by Converter.mu
	handlers      sync.WaitGroup // interception handlers, tab fillers and closers
	shutdownOnce  sync.Once
	handlerTokens chan struct{}
	proxy         *egressProxy // nil without DenyPrivateNetworks
	frames        sync.Map     // main frame id -> *budget of its conversion

	// ready holds fresh tabs: opening a tab (a new browser context and a
	// window) costs a few hundred milliseconds, so a filler goroutine opens
	// them ahead of the conversions that need them. Every conversion uses
	// a new one.
	userAgent  string        // the browser's own User-Agent, restored between conversions
	tabsOpened *atomic.Int64 // the converter's counter

	ready   chan *tab
	want    chan struct{} // one token per tab the filler should open
	stopped chan struct{} // closed when the generation is retired
	stopOne sync.Once
}

// tab is an open tab in a browser context of its own (Chromium's
// Target.createBrowserContext: an incognito-like profile with its own
// cookie jar, HTTP cache, HTTP auth cache, storage and history). It serves
// exactly one conversion; closing it disposes of the browser context and
// everything the page left in it.
type tab struct {
	ctx    context.Context
	cancel context.CancelFunc
	frame  cdp.FrameID // the main frame's id, which is the target's
	budget *budget     // what the conversion may hold of shared resources
}

// openTab opens a tab in a fresh browser context within limit. Behind the
// egress proxy, the browser context gets a proxy listener of its own, so
// the proxy charges the page's requests to the tab's budget.
func (g *generation) openTab(limit time.Duration) (*tab, error) {
	g.tabsOpened.Add(1)
	b := newBudget(g.ctx)
	var bcOpts []chromedp.CreateBrowserContextOption
	if g.proxy != nil {
		proxyURL, err := g.proxy.listen(b)
		if err != nil {
			b.cancel()
			return nil, err
		}
		bcOpts = append(bcOpts, func(p *target.CreateBrowserContextParams) {
			p.ProxyServer = proxyURL
			p.ProxyBypassList = "<-loopback>" // as for the browser, see chromeOptions
		})
	}
	ctx, cancel := chromedp.NewContext(g.ctx, chromedp.WithNewBrowserContext(bcOpts...))
	done := make(chan error, 1)
	// The first Do binds the tab's event loop to its context, so it must
	// not carry the timeout; the timer below bounds it instead.
	go func() { done <- chromedp.Do(ctx) }()
	timer := time.NewTimer(limit)
	defer timer.Stop()
	select {
	case err := <-done:
		if err != nil {
			cancel()
			b.cancel()
			return nil, err
		}
		t := &tab{ctx: ctx, cancel: cancel, frame: cdp.FrameID(chromedp.FromContext(ctx).Target.TargetID), budget: b}
		g.frames.Store(t.frame, b)
		return t, nil
	case <-timer.C:
		cancel()
		b.cancel()
		<-done
		return nil, fmt.Errorf("opening a tab took longer than %s: %w", limit, context.DeadlineExceeded)
	}
}

// budgetOf returns the budget of the conversion whose main frame is frame,
// or nil when frame is not a main frame (an iframe, a shared or service
// worker).
func (g *generation) budgetOf(frame cdp.FrameID) *budget {
	if b, ok := g.frames.Load(frame); ok {
		return b.(*budget)
	}
	return nil
}

// dropTab closes t, disposes of its browser context and ends its budget.
func (g *generation) dropTab(t *tab) {
	g.frames.Delete(t.frame)
	t.cancel()
	t.budget.cancel()
}

// fill keeps ready topped up until the generation is retired or dies.
func (g *generation) fill(log *slog.Logger) {
	defer func() {
		for {
			select {
			case t := <-g.ready:
				g.dropTab(t)
			default:
				return
			}
		}
	}()
	for {
		select {
		case <-g.want:
		case <-g.stopped:
			return
		case <-g.ctx.Done():
			return
		}
		t, err := g.openTab(30 * time.Second)
		if err != nil {
			if g.ctx.Err() == nil {
				log.Debug("pdfexport: pre-opening a tab", slog.Any("err", err))
			}
			continue
		}
		select {
		case g.ready <- t:
		case <-g.stopped:
			g.dropTab(t)
			return
		case <-g.ctx.Done():
			g.dropTab(t)
			return
		}
	}
}

// takeTab returns a warm tab, or opens one when none is ready.
func (g *generation) takeTab(limit time.Duration) (*tab, error) {
	select {
	case t := <-g.ready:
		return t, nil
	default:
		return g.openTab(limit)
	}
}

// discardTab closes t in the background (the conversion's result does not
// wait for Chromium to tear the tab down).
func (g *generation) discardTab(t *tab) {
	g.handlers.Go(func() { g.closeTab(t) })
}

// closeTab asks the filler for a replacement, then closes t and disposes of
// its browser context, which takes the page's cookies, cache, HTTP auth
// cache, storage and history with it. A tab is never reused: a page must
// not be able to see, or navigate back to, another conversion's state.
func (g *generation) closeTab(t *tab) {
	select {
	case g.want <- struct{}{}:
	default:
	}
	g.dropTab(t)
}

// stop ends the filler; the generation takes no new conversions.
func (g *generation) stop() {
	g.stopOne.Do(func() { close(g.stopped) })
}

// dead reports whether the browser process is gone (crashed or stopped).
func (g *generation) dead() bool { return g.ctx.Err() != nil }

// pid returns the browser's process id, or 0.
func (g *generation) pid() int {
	if c := chromedp.FromContext(g.ctx); c != nil && c.Browser != nil && c.Browser.Process() != nil {
		return c.Browser.Process().Pid
	}
	return 0
}

func (c *Converter) allocatorOptions(profile string) []chromedp.ExecAllocatorOption {
	proxyURL := ""
	if c.proxy != nil {
		proxyURL = c.proxy.url()
	}
	return chromeOptions(c.execPath, profile, proxyURL)
}

// chromeOptions are browserOptions plus, when proxyURL is set, the flags
// that send all traffic through the egress proxy.
func chromeOptions(execPath, profile, proxyURL string) []chromedp.ExecAllocatorOption {
	opts := browserOptions(execPath, profile)
	if proxyURL != "" {
		opts = append(opts,
			chromedp.ProxyServer(proxyURL),
			// Chromium sends loopback addresses around a proxy unless told
			// not to; they must go through it to be refused.
			chromedp.Flag("proxy-bypass-list", "<-loopback>"),
		)
	}
	return opts
}

// browserOptions are the flags every Chromium of the package starts with.
func browserOptions(execPath, profile string) []chromedp.ExecAllocatorOption {
	opts := append([]chromedp.ExecAllocatorOption{}, chromedp.DefaultExecAllocatorOptions[:]...)
	opts = append(opts,
		chromedp.ExecPath(execPath),
		chromedp.UserDataDir(profile),
		chromedp.DisableGPU,
		chromedp.Flag("headless", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("disable-quic", true),
		// chromedp's defaults allow pop-ups; a page must not open windows
		// that outlive its conversion.
		chromedp.Flag("disable-popup-blocking", false),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		// WebRTC sends STUN and TURN over UDP, which neither the Fetch
		// interception nor the egress proxy sees: allow only what can go
		// through the proxy (TCP).
		chromedp.Flag("webrtc-ip-handling-policy", "disable_non_proxied_udp"),
		// chromedp's defaults include switches this Chromium no longer
		// knows (or knows only on macOS); an unknown switch is ignored
		// silently, so leave them out rather than look protected.
		chromedp.Flag("disable-client-side-phishing-detection", false),
		chromedp.Flag("safebrowsing-disable-auto-update", false),
		chromedp.Flag("use-mock-keychain", false),
		// Set explicitly so chromedp does not decide by itself: the
		// sandbox only has to go when running as root, where it cannot work.
		chromedp.Flag("no-sandbox", os.Geteuid() == 0),
		chromedp.WindowSize(1280, 1024),
	)
	return opts
}

// startGeneration starts a new Chromium with a fresh profile. ctx bounds the
// start only; the browser lives until shutdown.
func (c *Converter) startGeneration(ctx context.Context) (*generation, error) {
	c.nextID++
	id := c.nextID
	profile := filepath.Join(c.baseDir, fmt.Sprintf("profile-%d", id))
	if err := os.MkdirAll(profile, 0o700); err != nil {
		return nil, fmt.Errorf("pdfexport: creating the browser profile: %w", err)
	}
	allocCtx, allocCancel := chromedp.NewExecAllocator(c.root, c.allocatorOptions(profile)...)
	logf := func(format string, args ...any) { c.log.Debug("chromedp: " + fmt.Sprintf(format, args...)) }
	bctx, bcancel := chromedp.NewContext(allocCtx, chromedp.WithLogf(logf), chromedp.WithErrorf(logf), chromedp.WithBrowserOption(chromedp.WithConsolef(logf)))
	g := &generation{id: id, profile: profile, allocCancel: allocCancel, ctx: bctx, cancel: bcancel,
		handlerTokens: make(chan struct{}, 32),
		proxy:         c.proxy,
		tabsOpened:    &c.tabsOpened,
		ready:         make(chan *tab, c.opts.PoolSize),
		want:          make(chan struct{}, c.opts.PoolSize),
		stopped:       make(chan struct{}),
	}

	startCtx, cancelStart := context.WithTimeout(ctx, c.opts.StartTimeout)
	defer cancelStart()
	started := make(chan error, 1)
	go func() {
		err := chromedp.Do(bctx)
		if err == nil {
			var v browser.GetVersionResult
			if v, err = chromedp.CallBrowser(bctx, browser.GetVersion, cdp.Empty{}); err == nil {
				g.userAgent = v.UserAgent
			}
		}
		if err == nil {
			err = c.enableInterception(g)
		}
		started <- err
	}()
	var err error
	select {
	case err = <-started:
	case <-startCtx.Done():
		err = startCtx.Err()
	case <-c.closing:
		err = ErrClosed
	}
	if err != nil {
		g.cancel()
		<-started // returns quickly once the context is canceled
		g.shutdown(c.log)
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, fmt.Errorf("pdfexport: starting %s timed out after %s: %w", c.execPath, c.opts.StartTimeout, err)
		}
		return nil, fmt.Errorf("pdfexport: starting %s: %w", c.execPath, err)
	}
	for range c.opts.PoolSize {
		g.want <- struct{}{}
	}
	g.handlers.Go(func() { g.fill(c.log) })
	c.log.Debug("pdfexport: browser started", slog.Int("generation", id), slog.Int("pid", g.pid()))
	return g, nil
}

// enableInterception turns on the browser-wide Fetch domain. Browser-level
// interception sees the requests of every tab, iframe (also out-of-process
// cross-site ones), worker and redirect hop, which page-level interception
// does not. Without DenyPrivateNetworks only ConvertHTML's synthetic URLs
// are intercepted.
func (c *Converter) enableInterception(g *generation) error {
	events := chromedp.BrowserEvents(g.ctx, fetch.RequestPaused)
	pattern := syntheticPrefix + "*"
	if c.policy.deny {
		pattern = "*"
	}
	if _, err := chromedp.CallBrowser(g.ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}}); err != nil {
		return fmt.Errorf("enabling request interception: %w", err)
	}
	g.handlers.Go(func() {
		for ev, err := range events {
			if err != nil {
				return // the browser is gone
			}
			select {
			case g.handlerTokens <- struct{}{}:
			case <-g.ctx.Done():
				return
			}
			g.handlers.Go(func() {
				defer func() { <-g.handlerTokens }()
				c.handlePaused(g, ev)
			})
		}
	})
	return nil
}

// handlePaused answers one intercepted request: it serves ConvertHTML
// documents and applies the private-network policy.
func (c *Converter) handlePaused(g *generation, ev fetch.EventRequestPaused) {
	ctx := g.ctx
	u := ""
	if ev.Request != nil {
		u = ev.Request.URL
	}
	fail := func(reason network.ErrorReason) {
		if _, err := chromedp.CallBrowser(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: reason}); err != nil && ctx.Err() == nil {
			c.log.Debug("pdfexport: failing a request", slog.String("url", displayURL(u)), slog.Any("err", err))
		}
	}
	if rest, ok := strings.CutPrefix(u, syntheticPrefix); ok {
		html, found := c.docs.Load(rest)
		if !found {
			fail(network.ErrorReasonNameNotResolved)
			return
		}
		_, err := chromedp.CallBrowser(ctx, fetch.FulfillRequest, fetch.FulfillRequestParams{
			RequestID:       ev.RequestID,
			ResponseCode:    200,
			ResponseHeaders: []*fetch.HeaderEntry{{Name: "Content-Type", Value: "text/html; charset=utf-8"}, {Name: "Cache-Control", Value: "no-store"}},
			Body:            []byte(html.(string)),
		})
		if err != nil && ctx.Err() == nil {
			c.log.Debug("pdfexport: serving an HTML document", slog.Any("err", err))
		}
		return
	}
	if strings.HasPrefix(u, "http://pdfexport.invalid/") {
		fail(network.ErrorReasonNameNotResolved)
		return
	}
	if !c.policy.deny {
		c.answer(g, ev, nil)
		return
	}
	host, err := urlHost(u)
	if err == nil {
		v, _, decided := c.policy.known(host)
		if decided {
			err = v.err
		} else if b := g.budgetOf(ev.FrameID); b != nil {
			// The name has to be resolved: do it within the budget of the
			// page's conversion, without holding a shared handler slot.
			g.handlers.Go(func() {
				_, _, err := c.policy.vet(b.ctx, host, b)
				if b.ctx.Err() != nil {
					return // the tab is closed, and the request with it
				}
				c.answer(g, ev, err)
			})
			return
		}
		// Otherwise (an iframe's or a worker's request) the egress proxy,
		// which knows the page's browser context, resolves and checks the
		// name within the conversion's budget before it connects.
	}
	c.answer(g, ev, err)
}

// answer continues a paused request, or fails it when the policy refused
// it (refusal non-nil).
func (c *Converter) answer(g *generation, ev fetch.EventRequestPaused, refusal error) {
	ctx := g.ctx
	u := ""
	if ev.Request != nil {
		u = ev.Request.URL
	}
	if refusal != nil {
		c.log.Warn("pdfexport: blocked a request", slog.String("url", displayURL(u)), slog.Any("reason", refusal))
		if _, err := chromedp.CallBrowser(ctx, fetch.FailRequest, fetch.FailRequestParams{RequestID: ev.RequestID, ErrorReason: network.ErrorReasonBlockedByClient}); err != nil && ctx.Err() == nil {
			c.log.Debug("pdfexport: failing a request", slog.String("url", displayURL(u)), slog.Any("err", err))
		}
		return
	}
	if _, err := chromedp.CallBrowser(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: ev.RequestID}); err != nil && ctx.Err() == nil {
		c.log.Debug("pdfexport: continuing a request", slog.String("url", displayURL(u)), slog.Any("err", err))
	}
}

// shutdown stops the browser, waits for it and its helpers to exit, kills any
// child process still using the profile, and removes the profile. It is safe
// to call more than once.
func (g *generation) shutdown(log *slog.Logger) {
	g.shutdownOnce.Do(func() {
		g.stop()
		if !g.dead() {
			cctx, cancel := context.WithTimeout(g.ctx, 3*time.Second)
			_ = chromedp.Cancel(cctx) // a graceful Browser.close; errors mean it is already gone
			cancel()
		}
		g.cancel()
		g.allocCancel() // waits for the process to exit
		g.handlers.Wait()
		killProcessesUsing(g.profile)
		if err := removeAllRetry(g.profile); err != nil {
			log.Warn("pdfexport: removing the browser profile", slog.String("dir", g.profile), slog.Any("err", err))
		}
	})
}

// removeAllRetry removes dir, retrying for a short while because Chromium's
// helper processes can still create files right after the main process
// exits.
func removeAllRetry(dir string) error {
	deadline := time.Now().Add(3 * time.Second)
	for {
		err := os.RemoveAll(dir)
		if err == nil || time.Now().After(deadline) {
			return err
		}
		time.Sleep(20 * time.Millisecond)
	}
}
