package main

import (
	"math"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/internal/testutil"
)

// The end-to-end flows in real Chromium that the other browser
// tests do not cover: a paper trade that leaves the net worth alone, a
// backtest with its Monte Carlo histogram, a long Monte Carlo job whose
// progress bar moves live and that can be cancelled, the quotes board's
// consensus and concurrency line, the PDF report's net worth and the 403
// of the admin page. A failing step saves a screenshot and prints its path.

// require fails the test at once when ok is false, with a screenshot of
// the page taken then (only then) and its path.
func (b *browser) require(t *testing.T, ok bool, name, format string, args ...any) {
	t.Helper()
	if !ok {
		b.failWithShot(t, name, format, args...)
		t.FailNow()
	}
}

// kpiNumber reads the number of a KPI card ("Total value", "Cash") of the
// page in the browser: 12,345.67 USD as 12345.67.
func kpiNumber(t *testing.T, b *browser, label string) float64 {
	t.Helper()
	text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
	  for (const k of document.querySelectorAll('.kpi')) if (k.querySelector('.k').textContent.trim() === `+strconv.Quote(label)+`)
	    return k.querySelector('.v').textContent.trim();
	  return '';
	})()`))
	require.NoError(t, err)
	f, err := strconv.ParseFloat(strings.ReplaceAll(strings.Fields(text + " x")[0], ",", ""), 64)
	b.require(t, err == nil, "kpi", "KPI %q reads %q", label, text)
	return f
}

func TestPaperTradeAndBacktestInChromium(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "trader", auth.RoleUser)
	status, _, _ := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	b := newBrowser(t, e, 3*time.Minute)
	b.login(t, e, c)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(1366, 900)))

	// A paper buy of 20 NVDA: the play money and the shares stay out of
	// the net worth (cash and total move only with prices and rates, not
	// by the 100,000 USD of play money, 5 times the demo's cash).
	b.open(t, "/portfolio")
	cashBefore, totalBefore := kpiNumber(t, b, "Cash"), kpiNumber(t, b, "Total value")
	b.open(t, "/paper")
	b.do(t, "paper buy",
		chromedp.SetValue(chromedp.CSS(`form[action="/paper/order"] select[name="symbol"]`), "NVDA"),
		chromedp.SetValue(chromedp.CSS(`form[action="/paper/order"] input[name="qty"]`), "20"),
		chromedp.Click(chromedp.CSS(`form[action="/paper/order"] button[value="buy"]`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	filled, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(".flash.ok")))
	require.NoError(t, err)
	require.Contains(t, filled, "Filled: buy 20 NVDA")
	pnl, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('#paper-pnl svg.chart-wide title').length`))
	require.NoError(t, err)
	b.require(t, pnl > 0, "paper-pnl", "the P&L chart has no hover values")
	b.open(t, "/portfolio")
	// (The euro savings count at the moving EUR/USD rate: equal to 0.5 %.)
	cashAfter := kpiNumber(t, b, "Cash")
	b.require(t, math.Abs(cashAfter-cashBefore) <= 0.005*cashBefore, "net-worth", "cash %v, before the paper trade %v", cashAfter, cashBefore)
	totalAfter := kpiNumber(t, b, "Total value")
	require.InEpsilon(t, totalBefore, totalAfter, 0.02, "the net worth moved by more than prices do")
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.NotContains(t, text, "Paper trading")

	// A backtest with a Monte Carlo run: the histogram and the verdict.
	b.open(t, "/backtest")
	b.do(t, "backtest",
		chromedp.Click(chromedp.CSS(`input[name="mc"]`)),
		chromedp.Click(chromedp.CSS(`form.bt-form button:not([formaction])`)),
		chromedp.WaitVisible(chromedp.CSS(`section.verdict svg.chart-wide[aria-label="Monte Carlo outcomes: paths per return bucket"]`)),
	)
	verdict, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("section.verdict p.lead")))
	require.NoError(t, err)
	require.Contains(t, verdict, "simulated")
	bars, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`document.querySelectorAll('section.verdict svg.chart-wide rect').length`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, bars, 10, "histogram bars")

	// A long job from the same form: its bar moves while the page stays
	// (the script polls; no reload), and the cancel button stops it.
	b.do(t, "start job",
		chromedp.SetValue(chromedp.CSS(`input[name="paths"]`), strconv.Itoa(maxJobPaths)),
		chromedp.Click(chromedp.CSS(`button[formaction="/backtest/jobs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`#mc-job progress`)),
	)
	_, err = chromedp.Run(b.ctx, chromedp.Evaluate[bool](`window.sameJobPage = true`))
	require.NoError(t, err)
	// The paths done, as the bar's text says them (the bar itself moves
	// by tenths of a percent: slowly on a busy machine).
	var seen []int
	for deadline := time.Now().Add(60 * time.Second); len(seen) < 3 && time.Now().Before(deadline); time.Sleep(300 * time.Millisecond) {
		text, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`window.sameJobPage ? document.getElementById('job-progress-text').textContent + ' bar=' + document.getElementById('job-progress').value : 'reloaded'`))
		require.NoError(t, err)
		require.NotEqual(t, "reloaded", text, "the page reloaded while the job ran")
		m := regexp.MustCompile(`^([\d.]+) % · (\d+) of \d+ paths bar=([\d.]+)$`).FindStringSubmatch(text)
		require.NotNil(t, m, text)
		pct, _ := strconv.ParseFloat(m[1], 64)
		bar, _ := strconv.ParseFloat(m[3], 64)
		require.Equal(t, pct, bar, "the bar shows the text's share: %s", text)
		done, _ := strconv.Atoi(m[2])
		if len(seen) > 0 {
			require.GreaterOrEqual(t, done, seen[len(seen)-1], "the job went back")
		}
		if len(seen) == 0 || done > seen[len(seen)-1] {
			seen = append(seen, done)
		}
	}
	b.require(t, len(seen) == 3, "job-progress", "the bar did not move live: %v", seen)
	if keepShots() {
		t.Logf("job running: %s", b.screenshot(t, "job-running"))
	}
	b.do(t, "cancel job",
		chromedp.Click(chromedp.CSS(`form[action$="/cancel"] button`)),
		chromedp.WaitVisible(chromedp.CSS(".flash.ok")),
	)
	msg, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS(".flash.ok")))
	require.NoError(t, err)
	require.Contains(t, msg, "Job cancelled after")
	// A short job runs to its end: the page shows the result by itself.
	b.do(t, "short job",
		chromedp.SetValue(chromedp.CSS(`input[name="paths"]`), "2000"),
		chromedp.Click(chromedp.CSS(`button[formaction="/backtest/jobs"]`)),
		chromedp.WaitVisible(chromedp.CSS(`section.verdict svg.chart-wide[aria-label="Monte Carlo outcomes: paths per return bucket"]`)),
	)
	done, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#job-progress-text")))
	require.NoError(t, err)
	require.Equal(t, "100.0 % · 2000 of 2000 paths", done)
	if keepShots() {
		t.Logf("job done: %s", b.screenshot(t, "job-done"))
	}
}

var concurrencyRE = regexp.MustCompile(`fetched from (\d+) sources in [\d.]+ ms; one after another would take [\d.]+ ms`)

func TestQuotesPDFAndAdminInChromium(t *testing.T) {
	pdftotext := testutil.RequireTool(t, "pdftotext")
	e := newTestEnv(t)
	c := e.user(t, "saver", auth.RoleUser)
	// Cash only, so the net worth is exact whenever it is read.
	e.post(t, c, "/portfolio/accounts", url.Values{"id": {"bank"}, "name": {"Bank"}, "kind": {"bank"}, "currency": {"USD"}, "cost": {"fifo"}})
	status, _, _ := e.post(t, c, "/transactions", url.Values{"account": {"bank"}, "kind": {"deposit"}, "date": {"2025-02-03"}, "amount": {"12345.67"}})
	require.Equal(t, http.StatusSeeOther, status)
	b := newBrowser(t, e, 2*time.Minute)
	b.login(t, e, c)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))

	// The quotes board: consensus prices from several sources, and the
	// line that says what asking them at once saved.
	b.open(t, "/quotes")
	line, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("#concurrency")))
	require.NoError(t, err)
	m := concurrencyRE.FindStringSubmatch(line)
	b.require(t, m != nil, "quotes", "concurrency line %q", line)
	n, _ := strconv.Atoi(m[1])
	require.GreaterOrEqual(t, n, 2)
	agreeing, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`Math.min(...Array.from(document.querySelectorAll('#quotes tbody tr[data-symbol]')).map(r => r.querySelectorAll('.src:not(.unused)').length))`))
	require.NoError(t, err)
	require.GreaterOrEqual(t, agreeing, 2, "every consensus from several sources")

	// The PDF report: its text has the net worth the page shows.
	b.open(t, "/portfolio")
	total, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`Array.from(document.querySelectorAll('.kpi')).find(k => k.querySelector('.k').textContent.trim() === 'Total value').querySelector('.v').textContent.trim()`))
	require.NoError(t, err)
	require.Equal(t, "12,345.67 USD", total)
	status, pdf, h := e.get(t, c, "/portfolio/report.pdf")
	require.Equal(t, http.StatusOK, status)
	require.Equal(t, "application/pdf", h.Get("Content-Type"))
	path := filepath.Join(t.TempDir(), "report.pdf")
	require.NoError(t, os.WriteFile(path, []byte(pdf), 0o600))
	out, err := exec.Command(pdftotext, "-layout", path, "-").Output()
	require.NoError(t, err)
	require.Contains(t, strings.ToLower(string(out)), "total value")
	require.Contains(t, string(out), total, "the PDF's text has the net worth")

	// The admin page is 403 for a user, and says so.
	b.open(t, "/admin")
	code, err := chromedp.Run(b.ctx, chromedp.Evaluate[int](`performance.getEntriesByType('navigation')[0].responseStatus`))
	require.NoError(t, err)
	require.Equal(t, http.StatusForbidden, code)
	text, err := chromedp.Run(b.ctx, chromedp.Text(chromedp.CSS("main")))
	require.NoError(t, err)
	require.Contains(t, text, "for administrators")
}
