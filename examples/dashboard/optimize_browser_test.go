package main

import (
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestOptimizeJobInChromium: on the backtest page a user opens the
// optimisation, gives ranges, starts it; its progress bar moves while the
// page stays (the script polls), the page shows the best parameters and
// the table when it ends, and the button backtests them. The pages lay out
// at 390 and 1366 px without sideways scrolling.
func TestOptimizeJobInChromium(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "quant", auth.RoleUser)
	b := newBrowser(t, e, 3*time.Minute)
	b.login(t, e, c)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(1366, 900)))

	b.open(t, "/backtest")
	b.do(t, "open optimisation", chromedp.Click(chromedp.CSS(`#optimize summary`)),
		chromedp.WaitVisible(chromedp.CSS(`input[name="opt.smacross.fast"]`)))
	fast, err := chromedp.Run(b.ctx, chromedp.Value(chromedp.CSS(`input[name="opt.smacross.fast"]`)))
	require.NoError(t, err)
	require.Equal(t, "5,10,15,20", fast, "the default range from the parameter's definition")
	if keepShots() {
		t.Logf("optimisation form: %s", b.screenshot(t, "optimize-form"))
	}
	b.do(t, "start optimisation",
		chromedp.SetValue(chromedp.CSS(`input[name="opt.smacross.fast"]`), "1:20:1"),
		chromedp.SetValue(chromedp.CSS(`input[name="opt.smacross.slow"]`), "21:45:1"),
		chromedp.SetValue(chromedp.CSS(`input[name="folds"]`), "5"),
		chromedp.Click(chromedp.CSS(`button[formaction="/backtest/optimize"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#mc-job progress`)),
	)
	_, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.sameJobPage = true`))
	require.NoError(t, err)
	progressRE := regexp.MustCompile(`^([\d.]+) % · (\d+) of 3005 backtests bar=([\d.]+)$`)
	var seen []int
	for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.sameJobPage ? document.getElementById('job-progress-text').textContent + ' bar=' + document.getElementById('job-progress').value : 'reloaded'`))
		require.NoError(t, err)
		if text == "reloaded" {
			break // done: the page reloaded to show the result
		}
		m := progressRE.FindStringSubmatch(text)
		b.require(t, m != nil, "optimize-progress", "progress reads %q", text)
		pct, _ := strconv.ParseFloat(m[1], 64)
		bar, _ := strconv.ParseFloat(m[3], 64)
		require.Equal(t, pct, bar, "the bar shows the text's share: %s", text)
		done, _ := strconv.Atoi(m[2])
		if len(seen) > 0 {
			require.GreaterOrEqual(t, done, seen[len(seen)-1], "the job went back")
		}
		if (len(seen) == 0 || done > seen[len(seen)-1]) && done < 3005 {
			seen = append(seen, done)
			if len(seen) == 2 && keepShots() {
				t.Logf("optimisation running: %s", b.screenshot(t, "optimize-running"))
			}
		}
	}
	b.require(t, len(seen) >= 2, "optimize-progress", "the bar did not move live: %v", seen)
	b.do(t, "optimisation result", chromedp.WaitVisible(chromedp.CSS(`#opt-result`)))
	done, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#job-progress-text")))
	require.NoError(t, err)
	require.Equal(t, "100.0 % · 3005 of 3005 backtests", done)
	best, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#opt-best")))
	require.NoError(t, err)
	m := regexp.MustCompile(`Fast SMA (\d+) · Slow SMA (\d+)`).FindStringSubmatch(best)
	b.require(t, m != nil, "optimize-best", "best parameters read %q", best)
	rows, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#opt-runs tbody tr').length`))
	require.NoError(t, err)
	require.Equal(t, optShown, rows)
	folds, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#opt-folds tbody tr').length`))
	require.NoError(t, err)
	require.Equal(t, 5, folds)
	loc, err := chromedp.Run(b.ctx, chromedp.Location())
	require.NoError(t, err)
	jobPage := strings.TrimPrefix(strings.SplitN(loc, "#", 2)[0], b.base)
	if keepShots() {
		t.Logf("optimisation done: %s", b.screenshot(t, "optimize-done"))
	}

	// The button backtests the best parameters.
	b.do(t, "backtest the best", chromedp.Click(chromedp.CSS(`#opt-backtest`)), chromedp.WaitVisible(chromedp.CSS(`#bt-stats`)))
	heads, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`[...document.querySelectorAll('main h2')].map(h => h.textContent).join('|')`))
	require.NoError(t, err)
	require.Contains(t, heads, "SMACross("+m[1]+","+m[2]+")")

	for _, vp := range testViewports {
		opts := []chromedp.EmulateViewportOption{}
		if vp.mobile {
			opts = append(opts, chromedp.EmulateMobile)
		}
		require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(vp.w, vp.h, opts...)))
		checkLayout(t, b, vp, "optimize-job", jobPage)
		checkLayout(t, b, vp, "optimize-form", "/backtest")
	}
	status, _, _ := e.get(t, c, jobPage)
	require.Equal(t, http.StatusOK, status)
}
