package main

import (
	"net/http"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// TestOverviewMoversFitAPhone: on a 390 px phone the home page's movers
// table shows its change column inside the card, without scrolling the
// table sideways (the change, the column the table is for, was cut off
// behind the previous close).
func TestOverviewMoversFitAPhone(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e, 2*time.Minute)
	c := e.user(t, "movers", auth.RoleUser)
	status, _, _ := e.post(t, c, "/portfolio/demo", nil)
	require.Equal(t, http.StatusSeeOther, status)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)))
	b.login(t, e, c)
	b.open(t, "/")
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const h = [...document.querySelectorAll('h2')].find(h => h.textContent.includes('movers'));
		if (!h) return 'no movers card';
		const card = h.closest('section'), table = card.querySelector('table');
		if (!table) return 'no movers table';
		const edge = card.getBoundingClientRect().right;
		for (const th of table.querySelectorAll('th')) {
			const r = th.getBoundingClientRect();
			if (r.width > 0 && r.right > edge + 0.5) return th.textContent + ' ends at ' + Math.round(r.right) + ' px, the card at ' + Math.round(edge);
		}
		return '';
	})()`))
	require.NoError(t, err)
	if out != "" {
		b.failWithShot(t, "overview-movers-390", "%s", out)
	}
}

// TestOptimisationTablesFitALaptop: at 1366 px a finished optimisation's
// tables (the best runs and the walk-forward folds) fit their card
// without scrolling sideways (the folds' out-of-sample figures, what the
// walk-forward is for, were behind the card's edge, the winner's
// parameters on one line taking the width).
func TestOptimisationTablesFitALaptop(t *testing.T) {
	e := newTestEnv(t)
	b := newBrowser(t, e, 2*time.Minute)
	c := e.user(t, "opt-layout", auth.RoleUser)
	id, _ := e.startOptimizeJob(t, c, map[string]any{"symbol": "SPY", "strategy": "smacross",
		"ranges": map[string]string{"fast": "5:20:5", "slow": "20:60:10"}, "metric": "sharpe_ratio", "folds": 2})
	e.waitOptimizeJob(t, c, id)
	require.NoError(t, chromedp.Do(b.ctx, chromedp.EmulateViewport(1366, 900)))
	b.login(t, e, c)
	b.open(t, "/backtest/jobs/"+id)
	out, err := chromedp.Run(b.ctx, chromedp.Evaluate[string](`(() => {
		const t = document.getElementById('opt-folds');
		if (!t) return 'no folds table';
		for (const box of document.querySelectorAll('.table-scroll')) {
			if (box.scrollWidth > box.clientWidth + 1) return (box.querySelector('table').id || 'a table') + ' is ' + box.scrollWidth + ' px wide in a box of ' + box.clientWidth;
		}
		return '';
	})()`))
	require.NoError(t, err)
	if out != "" {
		b.failWithShot(t, "optimisation-tables-1366", "%s", out)
	}
}
