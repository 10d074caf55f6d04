package main

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"math"
	"path"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/auth"
	"github.com/finkit/finkit/portfolio"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pages are the parsed templates: each page is the layout plus its own file.
type pages struct {
	byName map[string]*template.Template
}

var funcs = template.FuncMap{
	"money":  func(d decimal.Decimal, ccy string) string { return portfolio.FormatMoney(d, ccy) },
	"qty":    portfolio.FormatQuantity,
	"price":  displayPrice,
	"wpct":   func(w float64) string { return fmt.Sprintf("%.1f%%", w*100) },
	"pct":    fmtPct,
	"pctf":   func(f float64) string { return fmtPct(f * 100) }, // fraction → percent
	"num":    fmtNum,
	"count":  func(n int) string { return fmtNum(float64(n), 0) }, // 1,040
	"f2":     func(f float64) string { return fmtNum(f, 2) },
	"fprice": priceText,
	"ms": func(d time.Duration) string {
		return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond))
	},
	"date": func(t time.Time) string {
		if t.IsZero() {
			return "—"
		}
		return t.Format("2006-01-02")
	},
	"signClass": func(v any) string {
		var s int
		switch x := v.(type) {
		case decimal.Decimal:
			s = x.Sign()
		case float64:
			if x > 0 {
				s = 1
			} else if x < 0 {
				s = -1
			}
		}
		switch {
		case s > 0:
			return "up"
		case s < 0:
			return "down"
		}
		return ""
	},
	"weightBar":     func(w float64) string { return fmt.Sprintf("%.1f", math.Max(0, math.Min(100, w*100))) },
	"valueChart":    valueChart,
	"allocRows":     allocationRows,
	"equityChart":   equityChart,
	"drawdownChart": drawdownChart,
	"mcHistogram":   mcHistogram,
	"priceChart":    priceChart,
	"volumeChart":   volumeChart,
	"periods":       func() []string { return valuePeriods },
	"add":           func(a, b int) int { return a + b },
	"sub":           func(a, b int) int { return a - b },
	"f2num": func(d decimal.Decimal) string {
		f, _ := d.Float64()
		return fmtNum(f, 2)
	},
}

func loadPages() (*pages, error) {
	layout, err := templateFS.ReadFile("templates/layout.html")
	if err != nil {
		return nil, err
	}
	files, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	p := &pages{byName: map[string]*template.Template{}}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "layout" || name == "report" {
			continue
		}
		body, err := templateFS.ReadFile(f)
		if err != nil {
			return nil, err
		}
		t, err := template.New("layout").Funcs(funcs).Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("template layout: %w", err)
		}
		if _, err := t.New(name).Parse(string(body)); err != nil {
			return nil, fmt.Errorf("template %s: %w", name, err)
		}
		p.byName[name] = t
	}
	// The PDF report is a standalone document with inline CSS.
	css, err := staticFS.ReadFile("static/style.css")
	if err != nil {
		return nil, err
	}
	rep, err := templateFS.ReadFile("templates/report.html")
	if err != nil {
		return nil, err
	}
	rf := template.FuncMap{"css": func() template.CSS { return template.CSS(css) }}
	t, err := template.New("report").Funcs(funcs).Funcs(rf).Parse(string(rep))
	if err != nil {
		return nil, fmt.Errorf("template report: %w", err)
	}
	p.byName["report"] = t
	return p, nil
}

// view is what every page template gets.
type view struct {
	Title  string
	Active string
	User   *auth.User
	Flash  string
	Error  string
	Data   any
}

// render executes page into a buffer first, so a template error becomes a
// clean 500 instead of half a page.
func (a *app) render(c *gin.Context, status int, page string, v view) {
	if !a.requestView(c, &v) {
		return
	}
	t, ok := a.pages.byName[page]
	if !ok {
		a.fail(c, fmt.Errorf("no template %q", page))
		return
	}
	var buf bytes.Buffer
	name := "layout"
	if page == "report" {
		name = "report"
	}
	if err := t.ExecuteTemplate(&buf, name, v); err != nil {
		a.fail(c, fmt.Errorf("render %s: %w", page, err))
		return
	}
	c.Data(status, "text/html; charset=utf-8", buf.Bytes())
}

// requestView adds to v what every page shows of the request: the user
// and the flash message. It answers and returns false when the client has
// left (nobody to render for).
func (a *app) requestView(c *gin.Context, v *view) bool {
	if u, ok := auth.UserFrom(c.Request.Context()); ok && v.User == nil {
		v.User = &u
	}
	if fl, ok := a.flash.take(c); ok {
		if fl.Kind == flashError && v.Error == "" {
			v.Error = fl.Text
		} else if fl.Kind == flashOK && v.Flash == "" {
			v.Flash = fl.Text
		}
	}
	if err := c.Request.Context().Err(); err != nil {
		a.fail(c, err)
		return false
	}
	return true
}

// contentMarker stands for a page's content in renderContent's layout.
// html/template escapes '<' in every value it prints as text, so the
// request's own data (a user name, a flash message) cannot contain it.
const contentMarker = "<!--finkit:content-->"

// renderContent is render for a page whose content was rendered before
// (the "content" template's output, cached): the layout is executed
// around contentMarker (templates/rendered.html) and the content is
// written in its place, not copied through the template. keep, when not
// nil, keeps the whole body made for each layout (page names the content
// in it): a request without a flash message whose layout was made before
// is answered with those bytes (gzip-compressed to a client that accepts
// it with --gzip, keptBody), and the layout is not executed at all. A page with a
// flash message is sent as it is.
func (a *app) renderContent(c *gin.Context, status int, v view, content []byte, keep *bodies, page string) {
	if !a.requestView(c, &v) {
		return
	}
	key, kept := bodyKey{page: page, layout: layoutKeyOf(v)}, keep != nil && v.Flash == "" && v.Error == ""
	if kept {
		if body, ok := keep.get(key); ok {
			body.serve(c.Writer, c.Request, status)
			return
		}
	}
	v.Data = template.HTML(contentMarker)
	var buf bytes.Buffer
	if err := a.pages.byName["rendered"].ExecuteTemplate(&buf, "layout", v); err != nil {
		a.fail(c, fmt.Errorf("render layout: %w", err))
		return
	}
	head, tail, ok := bytes.Cut(buf.Bytes(), []byte(contentMarker))
	if !ok {
		a.fail(c, errors.New("render layout: no content marker"))
		return
	}
	if kept {
		body := newKeptBody("text/html; charset=utf-8", slices.Concat(head, content, tail), a.cfg.gzip)
		keep.put(key, body)
		body.serve(c.Writer, c.Request, status)
		return
	}
	if a.cfg.gzip {
		c.Header("Vary", "Accept-Encoding") // the page's other responses are compressed
	}
	writeHTML(c, status, head, content, tail)
}

// writeHTML answers with the HTML page made of parts.
func writeHTML(c *gin.Context, status int, parts ...[]byte) {
	n := 0
	for _, b := range parts {
		n += len(b)
	}
	h := c.Writer.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(n))
	c.Status(status)
	for _, b := range parts {
		if _, err := c.Writer.Write(b); err != nil {
			return // the client left
		}
	}
}

// layoutKey is everything the layout around a page's content reads of
// its view, but the flash messages (bodies are kept only without them):
// the layout over the same key is the same bytes. TestLayoutReadsOnlyItsKey
// holds the layout template to it.
type layoutKey struct {
	title, active string
	user          bool // logged in
	username      string
	admin         bool
}

func layoutKeyOf(v view) layoutKey {
	k := layoutKey{title: v.Title, active: v.Active}
	if v.User != nil {
		k.user, k.username, k.admin = true, v.User.Username, v.User.IsAdmin()
	}
	return k
}

// bodyKey names a kept body: its content and its layout.
type bodyKey struct {
	page   string
	layout layoutKey
}

// maxBodies bounds the bodies one content keeps: one per layout, so
// usually one (its owner's); a change of the owner's role or name adds
// one.
const maxBodies = 8

// bodies keeps the whole pages made of one owner's cached content (see
// renderContent), so a request copies one run of bytes. It belongs to
// what holds that content (renderedPortfolio), so it goes with it. The
// zero value is ready to use; it is safe for concurrent use.
type bodies struct {
	mu sync.Mutex
	m  map[bodyKey]*keptBody
}

func (b *bodies) get(k bodyKey) (*keptBody, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	body, ok := b.m[k]
	return body, ok
}

func (b *bodies) put(k bodyKey, body *keptBody) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) >= maxBodies {
		b.m = map[bodyKey]*keptBody{}
	}
	b.m[k] = body
}

// size is the bytes the kept bodies hold (keptBody.size).
func (b *bodies) size() int64 {
	b.mu.Lock()
	defer b.mu.Unlock()
	var n int64
	for _, body := range b.m {
		n += body.size()
	}
	return n
}

// displayPrice rounds a unit price for reading as the library's summaries
// do (the ledger keeps the exact value).
func displayPrice(d decimal.Decimal, ccy string) string {
	return portfolio.FormatPrice(portfolio.RoundPrice(d, ccy), ccy)
}

func fmtPct(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	return fmt.Sprintf("%+.2f%%", f)
}

// fmtNum formats f with d decimals and thousands separators; NaN is "—".
func fmtNum(f float64, d int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "—"
	}
	s := fmt.Sprintf("%.*f", d, math.Abs(f))
	intPart, frac, _ := strings.Cut(s, ".")
	var b strings.Builder
	if f < 0 && strings.Trim(s, "0.") != "" {
		b.WriteByte('-')
	}
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(r)
	}
	if frac != "" {
		b.WriteByte('.')
		b.WriteString(frac)
	}
	return b.String()
}
