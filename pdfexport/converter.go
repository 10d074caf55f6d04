package pdfexport

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Converter turns web pages into PDF documents with one warm headless
// Chromium. It is safe for concurrent use; at most Options.PoolSize
// conversions run at once, each in a fresh tab and browser context of its
// own (see the package documentation). Close it to stop Chromium.
type Converter struct {
	opts     Options
	execPath string
	policy   *policy
	log      *slog.Logger
	baseDir  string // holds the profiles of all generations

	root       context.Context // parent of every browser; canceled by Close
	rootCancel context.CancelFunc
	slots      chan struct{}
	closing    chan struct{}
	closeOnce  sync.Once
	closeErr   error

	mu     sync.Mutex
	cur    *generation
	nextID int
	closed bool
	wg     sync.WaitGroup // running conversions and background shutdowns

	docs  sync.Map     // ConvertHTML documents by id: string -> string
	proxy *egressProxy // with DenyPrivateNetworks, the only way out of Chromium

	conversions atomic.Int64
	starts      atomic.Int64
	tabsOpened  atomic.Int64
}

// New finds Chromium, starts it with a fresh temporary profile and returns a
// Converter that keeps it warm. ctx bounds only the start.
func New(ctx context.Context, opts Options) (*Converter, error) {
	if opts.PoolSize < 0 {
		return nil, fmt.Errorf("%w: negative PoolSize %d", ErrInvalidOption, opts.PoolSize)
	}
	if opts.DefaultTimeout < 0 || opts.StartTimeout < 0 {
		return nil, fmt.Errorf("%w: negative timeout", ErrInvalidOption)
	}
	if opts.PoolSize == 0 {
		opts.PoolSize = DefaultPoolSize
	}
	if opts.RestartAfter == 0 {
		opts.RestartAfter = DefaultRestartAfter
	}
	if opts.DefaultTimeout == 0 {
		opts.DefaultTimeout = DefaultTimeout
	}
	if opts.StartTimeout == 0 {
		opts.StartTimeout = DefaultStartTimeout
	}
	if opts.MaxPDFBytes == 0 {
		opts.MaxPDFBytes = DefaultMaxPDFBytes
	}
	pol, err := newPolicy(opts.DenyPrivateNetworks, opts.AllowHosts, opts.Resolver)
	if err != nil {
		return nil, err
	}
	path, err := FindBrowser(opts.ExecPath)
	if err != nil {
		return nil, err
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	sweepStaleBaseDirs(os.TempDir(), log)
	base, err := os.MkdirTemp("", baseDirPattern)
	if err != nil {
		return nil, fmt.Errorf("pdfexport: creating the profile directory: %w", err)
	}
	if err := claimBaseDir(base); err != nil {
		_ = os.RemoveAll(base)
		return nil, fmt.Errorf("pdfexport: creating the profile directory: %w", err)
	}
	root, rootCancel := context.WithCancel(context.Background())
	c := &Converter{
		opts: opts, execPath: path, policy: pol, log: log, baseDir: base,
		root: root, rootCancel: rootCancel,
		slots: make(chan struct{}, opts.PoolSize), closing: make(chan struct{}),
	}
	if opts.DenyPrivateNetworks {
		if c.proxy, err = startEgressProxy(pol, opts.Dial, log); err != nil {
			rootCancel()
			_ = os.RemoveAll(base)
			return nil, err
		}
	}
	c.mu.Lock()
	g, err := c.startGeneration(ctx)
	if err == nil {
		c.cur = g
		c.starts.Add(1)
	}
	c.mu.Unlock()
	if err != nil {
		rootCancel()
		if c.proxy != nil {
			c.proxy.close()
		}
		_ = os.RemoveAll(base)
		return nil, err
	}
	return c, nil
}

// Close aborts running conversions, stops Chromium, waits until every
// process of it has exited and removes the temporary profile. Calling it
// again returns the first result.
func (c *Converter) Close() error {
	c.closeOnce.Do(func() {
		close(c.closing)
		c.mu.Lock()
		c.closed = true
		g := c.cur
		c.cur = nil
		c.mu.Unlock()
		c.rootCancel() // aborts running conversions
		c.wg.Wait()    // they release their generations; retired ones shut down
		if g != nil {
			g.shutdown(c.log)
		}
		if c.proxy != nil {
			c.proxy.close()
		}
		killProcessesUsing(c.baseDir)
		if err := removeAllRetry(c.baseDir); err != nil {
			c.closeErr = fmt.Errorf("pdfexport: removing %s: %w", c.baseDir, err)
		}
	})
	return c.closeErr
}

// Stats are counters of a Converter.
type Stats struct {
	Conversions   int64 // conversions attempted (a crash retry counts twice)
	BrowserStarts int64 // Chromium processes started, including restarts
	TabsOpened    int64 // tabs opened, each in a fresh browser context: one per conversion, opened ahead
}

// Stats returns the converter's counters.
func (c *Converter) Stats() Stats {
	return Stats{Conversions: c.conversions.Load(), BrowserStarts: c.starts.Load(), TabsOpened: c.tabsOpened.Load()}
}

// acquire waits for a free slot and returns the generation to convert on,
// starting a new browser when the current one crashed or is due for a
// restart.
func (c *Converter) acquire(ctx context.Context) (*generation, error) {
	select {
	case c.slots <- struct{}{}:
	case <-ctx.Done():
		return nil, fmt.Errorf("pdfexport: waiting for a free tab: %w", ctx.Err())
	case <-c.closing:
		return nil, ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		<-c.slots
		return nil, ErrClosed
	}
	g := c.cur
	if g != nil && (g.dead() || (c.opts.RestartAfter > 0 && g.uses >= c.opts.RestartAfter)) {
		if g.dead() {
			c.log.Warn("pdfexport: the browser died; starting a new one", slog.Int("generation", g.id))
		} else {
			c.log.Info("pdfexport: restarting the browser", slog.Int("generation", g.id), slog.Int("conversions", g.uses))
		}
		c.retireLocked(g)
		g = nil
	}
	if g == nil {
		ng, err := c.startGeneration(ctx)
		if err != nil {
			<-c.slots
			return nil, err
		}
		c.starts.Add(1)
		c.cur = ng
		g = ng
	}
	g.active++
	g.uses++
	return g, nil
}

// retireLocked takes g out of service; it shuts down once idle.
func (c *Converter) retireLocked(g *generation) {
	g.retired = true
	g.stop()
	if c.cur == g {
		c.cur = nil
	}
	if g.active == 0 {
		c.wg.Go(func() { g.shutdown(c.log) })
	}
}

func (c *Converter) release(g *generation) {
	c.mu.Lock()
	g.active--
	if g.dead() && !g.retired {
		c.retireLocked(g)
	} else if g.retired && g.active == 0 {
		c.wg.Go(func() { g.shutdown(c.log) })
	}
	c.mu.Unlock()
	<-c.slots
}

// Convert loads the page at rawURL and returns it as PDF. Only http and
// https URLs are accepted.
func (c *Converter) Convert(ctx context.Context, rawURL string, opts PageOptions) ([]byte, error) {
	var buf bytes.Buffer
	if err := c.ConvertTo(ctx, &buf, rawURL, opts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ConvertTo is like Convert but streams the PDF to w in chunks as Chromium
// produces them (TransferMode ReturnAsStream), so a large document is never
// held in memory whole. On error, part of the PDF may have been written.
func (c *Converter) ConvertTo(ctx context.Context, w io.Writer, rawURL string, opts PageOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	u, err := checkURL(rawURL)
	if err != nil {
		return err
	}
	if len(opts.Headers) > 0 {
		if _, err := headerOrigin(u.String()); err != nil {
			return err
		}
	}
	// With DenyPrivateNetworks the host is checked once the conversion has
	// its slot and tab (see convertOnce), within the conversion's budget.
	return c.run(ctx, w, u.String(), opts)
}

// ConvertHTML renders the HTML document html and returns it as PDF. The
// document is served to Chromium through request interception under a
// private origin, so relative URLs in it do not resolve: use absolute URLs
// or inline resources (data: URLs, <style>). Options with Headers are
// refused (ErrInvalidOption): they are sent to the page's origin only,
// and the document has none on the network.
func (c *Converter) ConvertHTML(ctx context.Context, html string, opts PageOptions) ([]byte, error) {
	var buf bytes.Buffer
	if err := c.ConvertHTMLTo(ctx, &buf, html, opts); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// ConvertHTMLTo is like ConvertHTML but streams the PDF to w.
func (c *Converter) ConvertHTMLTo(ctx context.Context, w io.Writer, html string, opts PageOptions) error {
	if err := opts.validate(); err != nil {
		return err
	}
	if len(opts.Headers) > 0 {
		return fmt.Errorf("%w: Headers go to the page URL's origin, and an HTML document has none: use Convert", ErrInvalidOption)
	}
	var b [12]byte
	_, _ = rand.Read(b[:])
	id := hex.EncodeToString(b[:])
	// The string is kept as it is (no copy while waiting for a slot); it
	// is turned into bytes when Chromium asks for it.
	c.docs.Store(id, html)
	defer c.docs.Delete(id)
	return c.run(ctx, w, syntheticPrefix+id, opts)
}

// countingWriter counts the bytes written through it.
type countingWriter struct {
	w io.Writer
	n int64
}

func (cw *countingWriter) Write(p []byte) (int, error) {
	n, err := cw.w.Write(p)
	cw.n += int64(n)
	return n, err
}

// run converts with one automatic retry when the browser crashed before any
// byte was written.
func (c *Converter) run(ctx context.Context, w io.Writer, target string, opts PageOptions) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()

	cw := &countingWriter{w: w}
	var err error
	for attempt := 0; attempt < 2; attempt++ {
		var g *generation
		g, err = c.acquire(ctx)
		if err != nil {
			return err
		}
		c.conversions.Add(1)
		var t *tab
		t, err = c.convertOnceReleasingOnPanic(ctx, g, cw, target, opts)
		if err == nil {
			// The caller has its PDF; closing the tab and its browser
			// context happens in the background, and the slot frees up
			// after it, so the pool stays bounded.
			c.wg.Go(func() {
				g.closeTab(t)
				c.release(g)
			})
			return nil
		}
		if !g.dead() && errors.Is(err, context.Canceled) && ctx.Err() == nil && c.root.Err() == nil {
			// Neither the caller nor Close canceled anything, so the
			// browser connection is going away; chromedp marks the
			// browser dead a moment after the failing call returns.
			t := time.NewTimer(2 * time.Second)
			select {
			case <-g.ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
		crashed := g.dead() && ctx.Err() == nil && c.root.Err() == nil
		c.release(g)
		if !crashed {
			break
		}
		if cw.n > 0 || attempt == 1 {
			return fmt.Errorf("%w: %v", ErrBrowserCrashed, err)
		}
		c.log.Warn("pdfexport: the browser crashed during a conversion; retrying on a new one", slog.Any("err", err))
	}
	if err != nil && c.root.Err() != nil && ctx.Err() == nil {
		return fmt.Errorf("%w: %v", ErrClosed, err)
	}
	return err
}

// convertOnceReleasingOnPanic is convertOnce, except that a panic (from
// the caller's writer, say) frees the conversion's pool slot before it
// goes on up; convertOnce itself closes the tab.
func (c *Converter) convertOnceReleasingOnPanic(ctx context.Context, g *generation, w io.Writer, target string, opts PageOptions) (*tab, error) {
	defer func() {
		if p := recover(); p != nil {
			c.release(g)
			panic(p)
		}
	}()
	return c.convertOnce(ctx, g, w, target, opts)
}

// errIs reports whether err is one of targets.
func errIs(err error, targets ...error) bool {
	for _, t := range targets {
		if errors.Is(err, t) {
			return true
		}
	}
	return false
}
