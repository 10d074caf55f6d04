package main

import (
	"context"
	"math"
	"net/http"
	"sort"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/portfolio"
)

// The logged-in home page: net worth, today's change, a small value chart
// of the last month, the day's biggest movers among the holdings, and the
// holdings and accounts in a line each through portfolio.Reportable.

type overviewView struct {
	*portfolioView
	Today    float64 // change of the value since the previous close, flows taken out
	TodayPct float64
	HasToday bool
	Movers   []mover
	Lines    []string // Summary() of each holding and account
}

// mover is a holding's move since the previous daily close.
type mover struct {
	Symbol, Name string
	Price, Prev  float64
	ChangePct    float64
	Currency     string
}

// overview serves the home page from the owner's cached portfolio
// (rendered.go): its content is rendered once per valuation, like the
// portfolio page's. Empty books are rendered per request: their welcome
// names the user, and there is nothing to value.
func (a *app) overview(c *gin.Context) {
	ctx := c.Request.Context()
	r, err := a.renderPortfolio(ctx, currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	page := view{Title: "Overview", Active: "home"}
	if r.view.Empty {
		page.Data = a.overviewOf(ctx, r.view)
		a.render(c, http.StatusOK, "overview", page)
		return
	}
	content, err := r.overviewContent(ctx, a)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderContent(c, http.StatusOK, page, content, &r.bodies, "overview")
}

// overviewOf is the home page's view of the portfolio pv.
func (a *app) overviewOf(ctx context.Context, pv *portfolioView) overviewView {
	v := overviewView{portfolioView: pv}
	if p := pv.Perf; p != nil && len(p.Points) >= 2 {
		last, prev := p.Points[len(p.Points)-1], p.Points[len(p.Points)-2]
		v.Today = last.Value - prev.Value - last.Flow
		if prev.Value > 0 {
			v.TodayPct = v.Today / prev.Value * 100
		}
		v.HasToday = true
	}
	if pv.Val != nil {
		v.Movers = a.movers(ctx, pv.Val.Holdings)
		var items []portfolio.Reportable
		for _, h := range pv.Val.Holdings {
			items = append(items, h)
		}
		for _, r := range pv.Accounts {
			items = append(items, r.Balance)
		}
		for _, it := range items {
			v.Lines = append(v.Lines, it.Summary())
		}
	}
	return v
}

// movers returns up to five holdings with the largest moves (up or down)
// between the last two daily closes of the simulated history.
func (a *app) movers(ctx context.Context, hs []portfolio.Holding) []mover {
	seen := map[string]bool{}
	var out []mover
	for _, h := range hs {
		if seen[h.Symbol] {
			continue
		}
		seen[h.Symbol] = true
		hist, err := a.history0.History(ctx, h.Symbol, marketdata.HistoryRequest{Start: time.Now().AddDate(0, 0, -10), Interval: marketdata.Daily})
		if err != nil || len(hist.Bars) < 2 {
			continue
		}
		last, prev := hist.Bars[len(hist.Bars)-1].Close, hist.Bars[len(hist.Bars)-2].Close
		if prev <= 0 {
			continue
		}
		out = append(out, mover{Symbol: h.Symbol, Name: h.Name, Price: last, Prev: prev, ChangePct: (last/prev - 1) * 100, Currency: hist.Currency})
	}
	sort.SliceStable(out, func(i, j int) bool { return math.Abs(out[i].ChangePct) > math.Abs(out[j].ChangePct) })
	if len(out) > 5 {
		out = out[:5]
	}
	return out
}
