package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// layoutCheck is what checkLayoutJS reports about a page.
type layoutCheck struct {
	ClientWidth int      `json:"clientWidth"`
	ScrollWidth int      `json:"scrollWidth"`
	Wide        []string `json:"wide"` // elements sticking out of the page, when it overflows
	Bad         []string `json:"bad"`  // header links outside the viewport or covered
	Links       int      `json:"links"`
	NoHint      []string `json:"noHint"` // boxes that scroll sideways without the edge shadow
}

// checkLayoutJS opens the navigation when it is collapsed, then checks that
// the page does not scroll sideways and that every link and button of the
// header lies inside the viewport and is what a tap at its centre hits,
// and lists the boxes that scroll sideways without the shadow that says so.
const checkLayoutJS = `(() => {
  const t = document.querySelector('.nav-toggle');
  if (t && getComputedStyle(t).display !== 'none' && t.getAttribute('aria-expanded') !== 'true') t.click();
  const de = document.documentElement;
  const vw = de.clientWidth, vh = window.innerHeight;
  const res = {clientWidth: vw, scrollWidth: de.scrollWidth, wide: [], bad: [], links: 0, noHint: []};
  for (const el of document.body.querySelectorAll('*')) {
    const cs = getComputedStyle(el);
    if ((cs.overflowX === 'auto' || cs.overflowX === 'scroll') && el.scrollWidth > el.clientWidth + 1 &&
        el.tagName !== 'PRE' && !cs.backgroundAttachment.includes('local'))
      res.noHint.push(el.tagName.toLowerCase() + '.' + el.className + ' ' + el.scrollWidth + '>' + el.clientWidth);
  }
  if (de.scrollWidth > vw) {
    const clipped = el => { for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
      const o = getComputedStyle(p).overflowX; if (o !== 'visible') return true; } return false; };
    for (const el of document.body.querySelectorAll('*')) {
      const r = el.getBoundingClientRect();
      if (r.right > vw + 1 && !clipped(el)) { res.wide.push(el.tagName.toLowerCase() + '.' + el.className + ' right=' + Math.round(r.right)); if (res.wide.length > 8) break; }
    }
  }
  for (const a of document.querySelectorAll('header.top a, header.top button')) {
    if (a.classList.contains('nav-toggle')) continue;
    res.links++;
    const label = a.textContent.trim().replace(/\s+/g, ' ');
    const r = a.getBoundingClientRect();
    if (r.width === 0 || r.height === 0) { res.bad.push(label + ': not shown'); continue; }
    if (r.left < 0 || r.top < 0 || r.right > vw + 0.5 || r.bottom > vh + 0.5) {
      res.bad.push(label + ': outside the viewport at ' + [r.left, r.top, r.right, r.bottom].map(Math.round).join(',')); continue; }
    const hit = document.elementFromPoint(r.left + r.width / 2, r.top + r.height / 2);
    if (!hit || !(hit === a || a.contains(hit))) res.bad.push(label + ': covered by ' + (hit ? hit.outerHTML.slice(0, 60) : 'nothing'));
  }
  return res;
})()`

// viewport is a screen size the pages must work at.
type viewport struct {
	name   string
	w, h   int64
	mobile bool
}

var testViewports = []viewport{{"phone", 390, 844, true}, {"laptop", 1366, 900, false}}

// TestLayoutAtPhoneAndLaptopWidths opens every page at 390 px (as a phone,
// so a page without a viewport is laid out 980 px wide and fails) and at
// 1366 px: the page must not scroll sideways and every header link must
// be inside the viewport and clickable. A failure saves a screenshot.
func TestLayoutAtPhoneAndLaptopWidths(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e, 4*time.Minute)
	admin := e.user(t, "layout-admin", auth.RoleAdmin)
	plain := e.user(t, "layout-user", auth.RoleUser)
	status, _, _ := e.post(t, admin, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)

	// A paper fill for the P&L chart, and a finished Monte Carlo job.
	e.post(t, admin, "/paper/order", url.Values{"side": {"buy"}, "symbol": {"AAPL"}, "qty": {"10"}})
	jobID, _ := e.startJob(t, admin, map[string]any{"paths": 200})
	e.waitJob(t, admin, jobID)

	anonymous := []string{"/", "/login", "/register", "/forgot", "/reset?token=x", "/no-such-page"}
	loggedIn := []string{"/", "/portfolio", "/transactions", "/portfolio/report", "/quotes", "/stats", "/stats?symbol=BTC-USD",
		"/backtest", "/backtest?run=1&mc=on", "/backtest/jobs/" + jobID, "/paper", "/chat", "/account", "/admin", "/admin/uploads", "/no-such-page"}
	for _, vp := range testViewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(vp.w, vp.h, opts...)))
		b.clearCookies(t)
		for _, p := range anonymous {
			checkLayout(t, b, vp, "anon"+p, p)
		}
		b.login(t, e, admin)
		for _, p := range loggedIn {
			checkLayout(t, b, vp, "user"+p, p)
		}
		// A user without the admin role gets a page saying so.
		b.clearCookies(t)
		b.login(t, e, plain)
		checkLayout(t, b, vp, "plain/admin", "/admin")
		text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
		require.NoError(t, err)
		require.Contains(t, text, "for administrators")
	}

	// On the phone the menu opens and a tap on one of its links navigates.
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	b.open(t, "/portfolio")
	expanded, err := chromedp.Run(b.ctx, chromedp.AttributeValue(chromedp.CSS(".nav-toggle"), "aria-expanded"))
	require.NoError(t, err)
	require.Equal(t, "false", expanded.Value)
	visible, err := chromedp.Run(b.ctx, chromedp.Evaluate[bool](`document.querySelector('nav a[href="/stats"]').getClientRects().length > 0`))
	require.NoError(t, err)
	require.False(t, visible, "the collapsed menu shows its links")
	require.NoError(t, chromedp.Do(b.ctx, chromedp.Click(chromedp.CSS(".nav-toggle")),
		chromedp.Click(chromedp.CSS(`nav a[href="/stats"]`)), chromedp.WaitReady(chromedp.CSS(".kpis"))))
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	require.True(t, strings.HasSuffix(loc, "/stats"), loc)
}

func checkLayout(t *testing.T, b *browser, vp viewport, name, path string) {
	t.Helper()
	name = vp.name + "-" + url.PathEscape(name)
	b.open(t, path)
	res, err := chromedp.Run(b.ctx, chromedp.Evaluate[layoutCheck](checkLayoutJS))
	require.NoError(t, err, name)
	var problems []string
	if res.ClientWidth != int(vp.w) {
		problems = append(problems, fmt.Sprintf("laid out %d px wide, not %d (viewport meta?)", res.ClientWidth, vp.w))
	}
	if res.ScrollWidth > res.ClientWidth {
		problems = append(problems, fmt.Sprintf("scrolls sideways: %d px content in %d px: %s", res.ScrollWidth, res.ClientWidth, strings.Join(res.Wide, "; ")))
	}
	if res.Links == 0 && !strings.HasPrefix(path, "/portfolio/report") { // the report is a document without the app's header
		problems = append(problems, "no header links")
	}
	problems = append(problems, res.Bad...)
	for _, box := range res.NoHint {
		problems = append(problems, "scrolls sideways without a hint at its edge: "+box)
	}
	if len(problems) > 0 {
		b.failWithShot(t, name, "%s", strings.Join(problems, "\n  "))
		return
	}
	if keepShots() {
		t.Logf("%s: %s", name, b.screenshot(t, name))
	}
}
