package pdfexport

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	cdpio "github.com/chromedp/cdproto/io"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
)

// pageState collects the events of one tab. onEvent runs in chromedp's
// event loop, so it only records and signals.
type pageState struct {
	mu        sync.Mutex
	changed   chan struct{}
	lifecycle map[cdp.LoaderID]map[string]bool
	responses map[network.RequestID]responseInfo
	failures  []resourceFailure
	urls      map[network.RequestID]string
	exception string
}

type responseInfo struct {
	url    string
	status int
	typ    network.ResourceType
}

type resourceFailure struct {
	id     network.RequestID
	url    string
	reason string
}

func newPageState() *pageState {
	return &pageState{
		changed:   make(chan struct{}),
		lifecycle: map[cdp.LoaderID]map[string]bool{},
		responses: map[network.RequestID]responseInfo{},
		urls:      map[network.RequestID]string{},
	}
}

func (s *pageState) onEvent(ev any) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch ev := ev.(type) {
	case *page.EventLifecycleEvent:
		m := s.lifecycle[ev.LoaderID]
		if m == nil {
			m = map[string]bool{}
			s.lifecycle[ev.LoaderID] = m
		}
		m[ev.Name] = true
	case *network.EventRequestWillBeSent:
		if ev.Request != nil {
			s.urls[ev.RequestID] = ev.Request.URL
		}
		return
	case *network.EventResponseReceived:
		if ev.Response == nil {
			return
		}
		s.responses[ev.RequestID] = responseInfo{url: ev.Response.URL, status: int(ev.Response.Status), typ: ev.Type}
	case *network.EventLoadingFailed:
		if ev.Canceled {
			return
		}
		s.failures = append(s.failures, resourceFailure{id: ev.RequestID, url: s.urls[ev.RequestID], reason: ev.ErrorText})
	case *runtime.EventExceptionThrown:
		if s.exception == "" && ev.ExceptionDetails != nil {
			d := ev.ExceptionDetails
			text := d.Text
			if d.Exception != nil && d.Exception.Description != "" {
				text = d.Exception.Description
			}
			if i := strings.IndexByte(text, '\n'); i > 0 {
				text = text[:i]
			}
			s.exception = text
		}
	default:
		return
	}
	close(s.changed)
	s.changed = make(chan struct{})
}

// waitFor blocks until cond (called with s.mu held) is true.
func (s *pageState) waitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ok := cond()
		ch := s.changed
		s.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (s *pageState) hasLifecycle(loader cdp.LoaderID, name string) func() bool {
	return func() bool { return s.lifecycle[loader][name] }
}

// convertOnce runs one conversion in a fresh tab of g. On success it
// returns the tab for the caller to close; on failure it discards the tab
// itself.
func (c *Converter) convertOnce(ctx context.Context, g *generation, w io.Writer, target string, o PageOptions) (used *tab, err error) {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = c.opts.DefaultTimeout
	}
	deadline := time.Now().Add(timeout)
	stage := "opening a tab"
	// The tab is new, in a browser context of its own, and serves only
	// this conversion.
	t, err := g.takeTab(timeout)
	if err != nil {
		return nil, c.explain(ctx, ctx, g, timeout, stage, err)
	}
	st := newPageState()
	defer func() {
		if p := recover(); p != nil {
			// A panic (the caller's writer) must not keep the tab and its
			// browser context.
			g.discardTab(t)
			panic(p)
		}
		if err != nil {
			g.discardTab(t)
			used = nil
			return
		}
		used = t
	}()
	// The handler of scoped headers ends with runCtx: wait for it after
	// cancelRun.
	waitHeaders := func() {}
	defer func() { waitHeaders() }()
	runCtx, cancelRun := context.WithDeadline(t.ctx, deadline)
	defer cancelRun()
	stopAfter := context.AfterFunc(ctx, cancelRun)
	defer stopAfter()
	defer func() {
		if err != nil {
			err = c.explain(ctx, runCtx, g, timeout, stage, err)
		}
	}()
	if err := chromedp.Listen(runCtx, st.onEvent); err != nil {
		return nil, err
	}
	if c.policy.deny && !strings.HasPrefix(target, syntheticPrefix) {
		stage = "checking " + displayURL(target)
		if err := c.vetTarget(runCtx, t, target); err != nil {
			return nil, err
		}
	}
	stage = "preparing the tab"
	if err := prepareTab(runCtx, g, target, o); err != nil {
		return nil, err
	}
	if waitHeaders, err = scopeHeaders(runCtx, target, o.Headers); err != nil {
		return nil, err
	}
	stage = "loading " + displayURL(target)
	nav, err := c.navigate(runCtx, st, target, o)
	if err != nil {
		return nil, err
	}
	stage = "waiting for the load event of " + displayURL(target)
	if err := st.waitFor(runCtx, st.hasLifecycle(nav.LoaderID, "load")); err != nil {
		return nil, err
	}
	stage = "waiting for " + o.Wait.String()
	if err := waitReady(runCtx, st, nav.LoaderID, o.Wait); err != nil {
		return nil, err
	}
	if err := st.pageErrors(nav.LoaderID, o); err != nil {
		return nil, err
	}
	if o.Title != "" {
		stage = "setting the title"
		title, _ := json.Marshal(o.Title)
		if _, err := chromedp.Run(runCtx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("void (document.title = %s)", title))); err != nil {
			return nil, err
		}
	}
	stage = "printing"
	res, err := chromedp.Call(runCtx, page.PrintToPDF, printParams(o))
	if err != nil {
		return nil, err
	}
	stage = "reading the PDF"
	return nil, copyStream(runCtx, w, res.Stream, c.opts.MaxPDFBytes)
}

// vetTarget refuses a target whose host the private-network policy denies.
func (c *Converter) vetTarget(ctx context.Context, t *tab, target string) error {
	host, err := urlHost(target)
	if err == nil {
		_, _, err = c.policy.vet(ctx, host, t.budget)
	}
	if err != nil {
		return fmt.Errorf("pdfexport: %s: %w", displayURL(target), err)
	}
	return nil
}

// prepareTab sets the tab's media, user agent and cookies.
// They are set explicitly, also to their defaults, so nothing depends on
// what Chromium picks for a new tab.
func prepareTab(ctx context.Context, g *generation, target string, o PageOptions) error {
	media := o.Media
	if media == "" {
		media = "print"
	}
	if _, err := chromedp.Call(ctx, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: media}); err != nil {
		return err
	}
	ua := o.UserAgent
	if ua == "" {
		ua = g.userAgent
	}
	if ua != "" {
		if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua}); err != nil {
			return err
		}
	}
	if len(o.Cookies) == 0 {
		return nil
	}
	_, err := chromedp.Call(ctx, network.SetCookies, network.SetCookiesParams{Cookies: cookieParams(target, o.Cookies)})
	return err
}

// cookieParams converts the options' cookies; one without a domain is set
// for the target's URL.
func cookieParams(target string, cookies []Cookie) []*network.CookieParam {
	params := make([]*network.CookieParam, 0, len(cookies))
	for _, ck := range cookies {
		p := &network.CookieParam{Name: ck.Name, Value: ck.Value, Domain: ck.Domain, Path: ck.Path, Secure: ck.Secure, HTTPOnly: ck.HTTPOnly}
		if ck.Domain == "" {
			p.URL = target
		}
		if !ck.Expires.IsZero() {
			p.Expires = cdp.TimeSinceEpoch(float64(ck.Expires.UnixNano()) / 1e9)
		}
		params = append(params, p)
	}
	return params
}

// navigate loads target and turns a failed main document (an HTTP error
// status unless allowed, a network error, a refusal by the policy, a
// download) into an error.
func (c *Converter) navigate(ctx context.Context, st *pageState, target string, o PageOptions) (page.NavigateResult, error) {
	nav, err := chromedp.Call(ctx, page.Navigate, page.NavigateParams{URL: target})
	if err != nil {
		return page.NavigateResult{}, err
	}
	// Listen handled every event that came before the reply, so the main
	// document's response is known when there was one.
	st.mu.Lock()
	resp, haveResp := st.responses[network.RequestID(nav.LoaderID)]
	st.mu.Unlock()
	if haveResp && resp.status >= 400 && !o.AllowHTTPErrors {
		return page.NavigateResult{}, &HTTPStatusError{URL: displayURL(resp.url), StatusCode: resp.status}
	}
	if nav.ErrorText != "" && !(o.AllowHTTPErrors && haveResp) {
		if c.policy.deny && strings.Contains(nav.ErrorText, "ERR_BLOCKED_BY_CLIENT") {
			return page.NavigateResult{}, fmt.Errorf("%w: %s (or a redirect from it) was refused", ErrBlockedURL, displayURL(target))
		}
		return page.NavigateResult{}, &NavigationError{URL: displayURL(target), Reason: nav.ErrorText}
	}
	if nav.IsDownload {
		return page.NavigateResult{}, &NavigationError{URL: displayURL(target), Reason: "the URL is a download, not a page"}
	}
	return nav, nil
}

// waitReady waits, after the load event, for what the caller asked.
func waitReady(ctx context.Context, st *pageState, loader cdp.LoaderID, w WaitFor) error {
	switch w.Kind {
	case WaitNetworkIdle:
		return st.waitFor(ctx, st.hasLifecycle(loader, "networkIdle"))
	case WaitVisible:
		sel, _ := json.Marshal(w.Selector)
		if _, err := chromedp.Run(ctx, chromedp.Evaluate[chromedp.Void](fmt.Sprintf("void document.querySelector(%s)", sel))); err != nil {
			return fmt.Errorf("%w: selector %q: %v", ErrInvalidOption, w.Selector, err)
		}
		return pollTrue(ctx, fmt.Sprintf(visibleJS, sel))
	case WaitExpression:
		return pollTrue(ctx, "!!("+strings.TrimRight(strings.TrimSpace(w.Expression), ";")+"\n)")
	case WaitDelay:
		t := time.NewTimer(w.Delay)
		defer t.Stop()
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// pageErrors reports a JavaScript exception or a failed sub-resource when
// the options ask to fail on them. The main document and favicons do not
// count.
func (s *pageState) pageErrors(loader cdp.LoaderID, o PageOptions) error {
	main := network.RequestID(loader)
	s.mu.Lock()
	exc := s.exception
	var resErr error
	for id, r := range s.responses {
		if id != main && r.status >= 400 && !isFavicon(r.url) {
			resErr = fmt.Errorf("%w: %s answered HTTP %d", ErrResourceFailed, displayURL(r.url), r.status)
			break
		}
	}
	for _, f := range s.failures {
		if f.id != main && resErr == nil && !isFavicon(f.url) {
			resErr = fmt.Errorf("%w: %s: %s", ErrResourceFailed, displayURL(f.url), f.reason)
		}
	}
	s.mu.Unlock()
	if o.FailOnJSError && exc != "" {
		return fmt.Errorf("%w: %s", ErrJSException, exc)
	}
	if o.FailOnResourceError && resErr != nil {
		return resErr
	}
	return nil
}

// visibleJS is true when the element exists, is displayed and has a box.
const visibleJS = `(() => {
	const e = document.querySelector(%s);
	if (!e) return false;
	const s = getComputedStyle(e);
	if (s.display === 'none' || s.visibility === 'hidden') return false;
	const r = e.getBoundingClientRect();
	return r.width > 0 && r.height > 0;
})()`

// pollTrue evaluates expr every 50ms until it is true. An exception keeps
// the poll going (the page may not be ready) but is reported on timeout.
func pollTrue(ctx context.Context, expr string) error {
	var last error
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](expr))
		if err == nil && ok {
			return nil
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			last = err
		}
		t := time.NewTimer(50 * time.Millisecond)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
		if ctx.Err() != nil {
			break
		}
	}
	if last != nil {
		return fmt.Errorf("%w (last evaluation error: %v)", ctx.Err(), last)
	}
	return ctx.Err()
}

func printParams(o PageOptions) page.PrintToPDFParams {
	paper := o.Paper
	if paper == (PaperSize{}) {
		paper = A4()
	}
	m := DefaultMargins()
	if o.Margins != nil {
		m = *o.Margins
	}
	top, right, bottom, left := m.Top.Inches(), m.Right.Inches(), m.Bottom.Inches(), m.Left.Inches()
	p := page.PrintToPDFParams{
		Landscape:         ptr(o.Landscape),
		PrintBackground:   ptr(o.PrintBackground),
		Scale:             o.Scale,
		PaperWidth:        paper.Width.Inches(),
		PaperHeight:       paper.Height.Inches(),
		MarginTop:         &top,
		MarginRight:       &right,
		MarginBottom:      &bottom,
		MarginLeft:        &left,
		PageRanges:        o.PageRanges,
		PreferCSSPageSize: ptr(o.PreferCSSPageSize),
		TransferMode:      page.PrintToPDFTransferModeReturnAsStream,
	}
	if o.HeaderHTML != "" || o.FooterHTML != "" {
		p.DisplayHeaderFooter = ptr(true)
		p.HeaderTemplate, p.FooterTemplate = o.HeaderHTML, o.FooterHTML
		if p.HeaderTemplate == "" {
			p.HeaderTemplate = "<span></span>"
		}
		if p.FooterTemplate == "" {
			p.FooterTemplate = "<span></span>"
		}
	}
	return p
}

func ptr[T any](v T) *T { return &v }

// copyStream copies a DevTools stream to w in 1 MiB chunks and closes it.
// More than limit bytes (when limit > 0) is an error wrapping
// ErrPDFTooLarge; what was written up to the limit stays written.
func copyStream(ctx context.Context, w io.Writer, h cdpio.StreamHandle, limit int64) (err error) {
	defer func() {
		if ctx.Err() != nil {
			return // the tab is going away, and its streams with it
		}
		cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		if _, cerr := chromedp.Call(cctx, cdpio.Close, cdpio.CloseParams{Handle: h}); cerr != nil && err == nil {
			err = fmt.Errorf("closing the PDF stream: %w", cerr)
		}
	}()
	var written int64
	over := false
	for {
		res, err := chromedp.Call(ctx, cdpio.Read, cdpio.ReadParams{Handle: h, Size: 1 << 20})
		if err != nil {
			return err
		}
		data := res.Data
		if limit > 0 && written+int64(len(data)) > limit {
			data = data[:limit-written]
			over = true
		}
		if len(data) > 0 {
			if _, err := w.Write(data); err != nil {
				return fmt.Errorf("writing the PDF: %w", err)
			}
			written += int64(len(data))
		}
		if over {
			return fmt.Errorf("%w: more than %d bytes", ErrPDFTooLarge, limit)
		}
		if res.EOF {
			return nil
		}
	}
}

// explain turns a low-level error into the package's error shape: the
// caller's context error, a timeout that says what was awaited, or the error
// with the stage it happened in.
func (c *Converter) explain(ctx, runCtx context.Context, g *generation, timeout time.Duration, stage string, err error) error {
	var hs *HTTPStatusError
	var ne *NavigationError
	switch {
	case errors.As(err, &hs), errors.As(err, &ne), errIs(err, ErrBlockedURL, ErrJSException, ErrResourceFailed, ErrInvalidOption, ErrPDFTooLarge):
		return err
	case ctx.Err() != nil:
		return fmt.Errorf("pdfexport: %s: %w", stage, ctx.Err())
	case errors.Is(runCtx.Err(), context.DeadlineExceeded) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("pdfexport: timed out after %s %s: %w", timeout, stage, context.DeadlineExceeded)
	case g.dead():
		return fmt.Errorf("pdfexport: browser died while %s: %w", stage, err)
	default:
		return fmt.Errorf("pdfexport: %s: %w", stage, err)
	}
}

func isFavicon(u string) bool {
	p, err := url.Parse(u)
	return err == nil && p.Path == "/favicon.ico"
}

// displayURL is how a URL appears in errors and logs: ConvertHTML's
// synthetic URLs as "the HTML document", others without userinfo, query
// string and fragment, which can carry tokens and signatures (a removed
// query shows as "?…").
func displayURL(raw string) string {
	if strings.HasPrefix(raw, syntheticPrefix) {
		return "the HTML document"
	}
	u, err := url.Parse(raw)
	if err != nil {
		return "(an unparsable URL)"
	}
	q := u.RawQuery != "" || u.ForceQuery
	u.User, u.RawQuery, u.ForceQuery, u.Fragment, u.RawFragment = nil, "", false, "", ""
	s := u.String()
	if q {
		s += "?…"
	}
	return s
}
