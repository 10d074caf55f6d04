package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

// The portfolio page and /api/portfolio are made once per owner, revision
// of the books, base currency and valuation, and served from that until
// one of them changes: a cached request checks the revision and copies
// bytes, instead of valuing the books, formatting a few hundred numbers
// and executing the page's template every time.

// valuationTTL is how long one valuation of an owner's books is served.
// The Aggregator keeps a quote as long (Options.CacheTTL in
// openMarketData), so the prices a page shows are at most one more second
// older than the ones the Aggregator would give; the first request after
// it values the books again, which also lets the Aggregator revalidate
// the quotes (stale while revalidate).
const valuationTTL = time.Second

// staleFor is how long past valuationTTL an unchanged owner's last
// valuation is still served while one background goroutine values the
// books again (stale while revalidate, as the Aggregator serves quotes):
// no request waits for a revaluation that only moves prices. A change of
// the books or of the base is always made before the request is
// answered.
const staleFor = 5 * time.Second

// refreshTimeout bounds one background revaluation.
const refreshTimeout = 30 * time.Second

// renderedPortfolio is one owner's portfolio for one revision of the
// books, one base currency and one valuation: the view, the body of
// /api/portfolio, and the portfolio page's content by chart period, each
// rendered on first use. It belongs to the owner's cache entry, so it is
// never served for anyone else's books. view and json are read-only.
type renderedPortfolio struct {
	rev   uint64    // of the owner's books
	base  string    // valued in
	at    time.Time // valued at
	view  *portfolioView
	json  *keptBody
	pages *pages // to render content ahead (warmFrom); nil in some tests

	held atomic.Int64 // bytes of content and overview (size)

	mu       sync.Mutex
	content  map[string][]byte // the page's content, by chart period
	overview []byte            // the home page's content (home.go)

	bodies bodies // whole pages made of the content (renderContent)
}

// renderSlot is an owner's current renderedPortfolio; mu lets one request
// at a time make a new one while the others wait for it, and refreshing
// is set while a background goroutine values the books again. cur is
// stored under mu and read without it only to weigh it (weight).
type renderSlot struct {
	mu         sync.Mutex
	cur        atomic.Pointer[renderedPortfolio]
	refreshing bool
}

// weight is what the slot's portfolio keeps, in maxCachedWeight's units.
func (s *renderSlot) weight() int64 {
	if r := s.cur.Load(); r != nil {
		return r.size() / bytesPerWeight
	}
	return 0
}

// size is the bytes r keeps: the JSON, the page content and the whole
// bodies, each with its compressed copy once made.
func (r *renderedPortfolio) size() int64 {
	n := r.held.Load() + r.bodies.size()
	if r.json != nil {
		n += r.json.size()
	}
	return n
}

// rendered returns owner's portfolio in base: the current one while the
// books' revision and the base are the same and it was valued less than
// valuationTTL ago; the current one too, up to staleFor later, while a
// background goroutine values it again; else a new one from build.
func (c *bookCache) rendered(ctx context.Context, owner string, store portfolio.Store, base string,
	build func(context.Context) (*renderedPortfolio, error)) (*renderedPortfolio, error) {
	ob := c.entry(owner)
	arrived := ob.lock()
	_, err := c.ledgerLocked(ctx, ob, owner, store, arrived)
	// build reads the revision again, after this: what it makes is of
	// this revision or a later one, so labelling it rev at worst makes
	// one more.
	rev := ob.rev
	ob.mu.Unlock()
	if err != nil {
		return nil, err
	}
	slot := &ob.render
	slot.mu.Lock()
	defer slot.mu.Unlock()
	now := c.now()
	if r := slot.cur.Load(); r != nil && r.rev == rev && r.base == base && !now.Before(r.at) {
		age := now.Sub(r.at)
		if age < valuationTTL {
			return r, nil
		}
		if age < valuationTTL+staleFor {
			if !slot.refreshing {
				slot.refreshing = true
				c.background.Add(1)
				go c.refresh(ctx, slot, r, build)
			}
			return r, nil
		}
	}
	r, err := build(ctx)
	if err != nil {
		return nil, err
	}
	r.rev, r.base, r.at = rev, base, now
	slot.cur.Store(r)
	return r, nil
}

// refresh values old's books again in the background, renders the page
// content old had, and makes the result current unless a request has
// replaced old meanwhile (after a write: its revision is newer). A failed
// revaluation keeps old until it is too stale to serve.
func (c *bookCache) refresh(ctx context.Context, slot *renderSlot, old *renderedPortfolio,
	build func(context.Context) (*renderedPortfolio, error)) {
	defer c.background.Done()
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), refreshTimeout)
	defer cancel()
	defer context.AfterFunc(c.stopped, cancel)() // ends with the cache
	r, err := build(ctx)
	if err == nil {
		r.warmFrom(old)
	}
	slot.mu.Lock()
	defer slot.mu.Unlock()
	slot.refreshing = false
	if err != nil || slot.cur.Load() != old {
		return
	}
	r.rev, r.base, r.at = old.rev, old.base, c.now()
	slot.cur.Store(r)
}

// wait waits for the background revaluations.
func (c *bookCache) wait() {
	c.background.Wait()
}

// close ends the background revaluations and waits for them (the app
// calls it before it closes what they use).
func (c *bookCache) close() {
	c.stop()
	c.background.Wait()
}

// warmFrom renders the page content of every chart period old had, so
// the requests after a background revaluation find it ready.
func (r *renderedPortfolio) warmFrom(old *renderedPortfolio) {
	if r.pages == nil {
		return
	}
	old.mu.Lock()
	periods := slices.Collect(maps.Keys(old.content))
	old.mu.Unlock()
	for _, period := range periods {
		_, _ = r.pageContent(r.pages, period)
	}
}

// renderPortfolio returns the user's portfolio in base, valued and
// encoded once per valuationTTL and change of the books.
func (a *app) renderPortfolio(ctx context.Context, u auth.User, base string) (*renderedPortfolio, error) {
	return a.books.rendered(ctx, u.ID, a.bookOf(u), base, func(ctx context.Context) (*renderedPortfolio, error) {
		v, err := a.buildPortfolio(ctx, u, base)
		if err != nil {
			return nil, err
		}
		body, err := json.Marshal(portfolioJSONBody(v))
		if err != nil {
			return nil, fmt.Errorf("encode portfolio: %w", err)
		}
		return &renderedPortfolio{view: v, json: newKeptBody("application/json; charset=utf-8", body, a.cfg.gzip), pages: a.pages}, nil
	})
}

// portfolioJSONBody is the body of /api/portfolio.
func portfolioJSONBody(v *portfolioView) gin.H {
	problems := make([]gin.H, 0, len(v.Problems))
	for _, p := range v.Problems {
		problems = append(problems, gin.H{"transaction": p.Tx, "reason": p.Reason})
	}
	return gin.H{"base": v.Base, "valuation": v.Val, "summary": v.Lines, "problems": problems}
}

// pageContent returns the portfolio page's content (its "content"
// template) with the value chart of period, rendered on first use. The
// content depends on the view only: the layout around it (user, flash
// messages) is rendered per request.
func (r *renderedPortfolio) pageContent(p *pages, period string) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if html, ok := r.content[period]; ok {
		return html, nil
	}
	v := *r.view
	v.Period = period
	var buf bytes.Buffer
	if err := p.byName["portfolio"].ExecuteTemplate(&buf, "content", view{Data: &v}); err != nil {
		return nil, fmt.Errorf("render portfolio: %w", err)
	}
	if r.content == nil {
		r.content = map[string][]byte{}
	}
	r.content[period] = buf.Bytes()
	r.held.Add(int64(buf.Len()))
	return buf.Bytes(), nil
}

// overviewContent returns the home page's content (the "content"
// template of overview), rendered on first use; like pageContent it
// depends on the view only, as long as the books are not empty (whose
// welcome names the user). A request that ends while the movers are read
// keeps nothing, so a later one does not get a page without them.
func (r *renderedPortfolio) overviewContent(ctx context.Context, a *app) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.overview != nil {
		return r.overview, nil
	}
	v := a.overviewOf(ctx, r.view)
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	if err := a.pages.byName["overview"].ExecuteTemplate(&buf, "content", view{Data: v}); err != nil {
		return nil, fmt.Errorf("render overview: %w", err)
	}
	r.overview = buf.Bytes()
	r.held.Add(int64(buf.Len()))
	return r.overview, nil
}

func (a *app) portfolioPage(c *gin.Context) {
	r, err := a.renderPortfolio(c.Request.Context(), currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	period := pickPeriod(c.Query("period"))
	content, err := r.pageContent(a.pages, period)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.renderContent(c, http.StatusOK, view{Title: "Portfolio", Active: "portfolio"}, content, &r.bodies, "portfolio "+period)
}

func (a *app) portfolioJSON(c *gin.Context) {
	r, err := a.renderPortfolio(c.Request.Context(), currentUser(c), pickBase(c))
	if err != nil {
		a.fail(c, err)
		return
	}
	r.json.serve(c.Writer, c.Request, http.StatusOK)
}
