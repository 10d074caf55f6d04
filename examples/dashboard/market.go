package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/shopspring/decimal"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/sim"
)

var decimalHundred = decimal.NewFromInt(100)

// defaultSymbols are shown on the quotes page when none are asked for.
var defaultSymbols = []string{"AAPL", "MSFT", "NVDA", "SPY", "EQNR.OL", "SAP.DE", "HSBA.L", "BTC-USD", "ETH-USD", "EURUSD=X"}

const (
	maxSymbols     = 20
	watchInterval  = 2 * time.Second
	historyYears   = 3
	defaultStatSym = "AAPL"
)

// parseSymbols reads a comma- or space-separated symbol list.
func parseSymbols(s string) ([]string, error) {
	if strings.TrimSpace(s) == "" {
		return defaultSymbols, nil
	}
	seen := map[string]bool{}
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' }) {
		sym := strings.ToUpper(strings.TrimSpace(f))
		if _, err := marketdata.ParseSymbol(sym); err != nil {
			return nil, err
		}
		if !seen[sym] {
			seen[sym] = true
			out = append(out, sym)
		}
	}
	if len(out) > maxSymbols {
		return nil, fmt.Errorf("at most %d symbols, got %d", maxSymbols, len(out))
	}
	return out, nil
}

type quotesView struct {
	Symbols string
	Result  *marketdata.Result
	Known   []sim.Instrument
	Age     string // of the oldest consensus shown, when the cache answered
}

// oldestAge says how old the oldest consensus of res is ("" when none is).
func oldestAge(res *marketdata.Result) string {
	var age time.Duration
	for _, m := range res.Quotes {
		age = max(age, m.Age)
	}
	switch {
	case age <= 0:
		return ""
	case age < time.Second:
		return fmt.Sprintf("%d ms", age.Milliseconds())
	}
	return fmt.Sprintf("%.1f s", age.Seconds())
}

func (a *app) quotesPage(c *gin.Context) {
	syms, err := parseSymbols(c.Query("symbols"))
	if err != nil {
		a.render(c, http.StatusBadRequest, "quotes", view{Title: "Quotes", Active: "quotes", Error: err.Error(),
			Data: quotesView{Symbols: c.Query("symbols"), Known: sim.Instruments()}})
		return
	}
	res, err := a.agg.Quotes(c.Request.Context(), syms)
	if err != nil {
		a.fail(c, err)
		return
	}
	a.render(c, http.StatusOK, "quotes", view{Title: "Quotes", Active: "quotes",
		Data: quotesView{Symbols: strings.Join(syms, ","), Result: res, Known: sim.Instruments(), Age: oldestAge(res)}})
}

func (a *app) quotesJSON(c *gin.Context) {
	syms, err := parseSymbols(c.Query("symbols"))
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request", "message": err.Error()})
		return
	}
	res, err := a.agg.Quotes(c.Request.Context(), syms)
	if err != nil {
		a.fail(c, err)
		return
	}
	body, err := a.quotesEnc.body(res)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Data(http.StatusOK, "application/json; charset=utf-8", body)
}

// apiQuotes is /api/quotes: prices as decimal strings with their currency
// (as in /api/portfolio), durations in milliseconds with the unit in the
// name, and the Aggregator's own timings of the fan-out.
type apiQuotes struct {
	Quotes      []apiQuote      `json:"quotes"`
	Missing     []string        `json:"missing"`
	Errors      []apiQuoteError `json:"errors"`
	Fetch       apiFetch        `json:"fetch"`
	Concurrency string          `json:"concurrency"` // "fetched from N sources in X ms; one after another would take Y ms"
	ElapsedMS   float64         `json:"elapsed_ms"`  // this request (short when the cache answered)
}

type apiQuote struct {
	Symbol       string      `json:"symbol"`
	Price        string      `json:"price"`
	Currency     string      `json:"currency"`
	Confidence   string      `json:"confidence"`
	Trusted      bool        `json:"trusted"`
	Reason       string      `json:"reason,omitempty"`
	Agreeing     int         `json:"agreeing"`
	Independent  int         `json:"independent"`
	SpreadPct    string      `json:"spread_pct"`
	Stale        bool        `json:"stale"`
	Time         time.Time   `json:"time"`    // market time of the newest agreeing quote
	Fetched      time.Time   `json:"fetched"` // when the consensus was merged
	AgeMS        float64     `json:"age_ms"`  // how old the consensus was when served
	Revalidating bool        `json:"revalidating"`
	Sources      []apiSource `json:"sources"`
}

type apiSource struct {
	Provider  string  `json:"provider"`
	Price     string  `json:"price,omitempty"` // in the consensus currency
	Currency  string  `json:"currency"`
	LatencyMS float64 `json:"latency_ms"`
	Used      bool    `json:"used"`
	Outlier   bool    `json:"outlier,omitempty"`
	Error     string  `json:"error,omitempty"`
}

type apiQuoteError struct {
	Provider string `json:"provider"`
	Symbol   string `json:"symbol,omitempty"`
	Error    string `json:"error"`
}

type apiFetch struct {
	Sources      int       `json:"sources"`
	Calls        int       `json:"calls"`
	WallMS       float64   `json:"wall_ms"`       // the parallel fan-out, first call to last answer
	SequentialMS float64   `json:"sequential_ms"` // the calls' latencies summed: one after another
	At           time.Time `json:"at"`
}

func millis(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

// decimalText is a float price as the decimal marketdata makes of it.
func decimalText(f float64) string {
	d, err := marketdata.ToDecimal(f)
	if err != nil {
		return ""
	}
	return d.String()
}

func newAPIQuotes(res *marketdata.Result) apiQuotes {
	out := apiQuotes{Quotes: []apiQuote{}, Missing: res.Missing, Errors: []apiQuoteError{}, ElapsedMS: millis(res.Elapsed),
		Concurrency: res.Fetch.Summary(),
		Fetch: apiFetch{Sources: res.Fetch.Sources, Calls: res.Fetch.Calls, WallMS: millis(res.Fetch.Wall),
			SequentialMS: millis(res.Fetch.Sequential), At: res.Fetch.At}}
	if out.Missing == nil {
		out.Missing = []string{}
	}
	for _, m := range res.Quotes {
		q := apiQuote{Symbol: m.Symbol, Price: decimalText(m.Price), Currency: m.Currency, Confidence: string(m.Confidence),
			Trusted: m.Confidence.Trusted(), Reason: m.Reason, Agreeing: m.Agreeing, Independent: m.Independent,
			SpreadPct: strconv.FormatFloat(m.SpreadPct, 'f', 3, 64), Stale: m.Stale, Time: m.Time, Fetched: m.Fetched,
			AgeMS: millis(m.Age), Revalidating: m.Revalidating, Sources: make([]apiSource, 0, len(m.Sources))}
		for _, s := range m.Sources {
			src := apiSource{Provider: s.Provider, Currency: s.Currency, LatencyMS: millis(s.Latency), Used: s.Used, Outlier: s.Outlier, Error: s.Error}
			if s.Price > 0 {
				src.Price = decimalText(s.Price)
			}
			q.Sources = append(q.Sources, src)
		}
		out.Quotes = append(out.Quotes, q)
	}
	for _, e := range res.Errors {
		out.Errors = append(out.Errors, apiQuoteError{Provider: e.Provider, Symbol: e.Symbol, Error: e.Message})
	}
	return out
}

// quoteEvent is one server-sent event of the quotes stream.
type quoteEvent struct {
	Symbol    string `json:"symbol"`
	Price     string `json:"price,omitempty"`
	Currency  string `json:"currency,omitempty"`
	SpreadPct string `json:"spread_pct,omitempty"`
	// From the trust model: a low-confidence price is shown with a
	// warning, never as a bare number.
	Confidence marketdata.Confidence `json:"confidence,omitempty"`
	Trusted    bool                  `json:"trusted"`
	Reason     string                `json:"reason,omitempty"`
	Time       time.Time             `json:"time"`
	Error      string                `json:"error,omitempty"`
	Sources    []marketdata.Source   `json:"sources,omitempty"`
	Summary    string                `json:"summary"`
	Dropped    uint64                `json:"dropped"`
}

// quotesStream streams consensus quotes from Aggregator.Watch as
// server-sent events until the client goes away or the server shuts down.
func (a *app) quotesStream(c *gin.Context) {
	syms, err := parseSymbols(c.Query("symbols"))
	if err != nil {
		c.JSON(http.StatusBadRequest, gin.H{"error": "bad_request", "message": err.Error()})
		return
	}
	release, err := a.streamSlot(c)
	if err != nil {
		status, retry, _ := statusOf(err)
		setRetryAfter(c, retry)
		c.String(status, "%s\n", err.Error())
		return
	}
	defer release()
	ctx := c.Request.Context()
	updates, err := a.agg.Watch(ctx, syms, watchInterval)
	if err != nil {
		a.fail(c, err)
		return
	}
	c.Header("Content-Type", "text/event-stream")
	c.Header("Cache-Control", "no-cache")
	c.Header("X-Accel-Buffering", "no")
	c.Status(http.StatusOK)
	c.Writer.WriteHeaderNow()
	c.Writer.Flush()
	// A plain loop instead of gin's Context.Stream: Stream needs
	// http.CloseNotifier, which the logging middleware's writer (rightly)
	// does not offer; the request context ends when the client leaves.
	w := c.Writer
	for {
		select {
		case <-ctx.Done():
			return
		case u, ok := <-updates:
			if !ok {
				return
			}
			ev := quoteEvent{Symbol: u.Symbol, Time: u.Time, Dropped: u.Dropped, Summary: u.Summary()}
			if u.Err != nil {
				ev.Error = u.Err.Error()
			} else {
				ev.Price = priceText(u.Quote.Price)
				ev.Currency = u.Quote.Currency
				ev.SpreadPct = fmt.Sprintf("%.3f%%", u.Quote.SpreadPct)
				ev.Confidence, ev.Trusted, ev.Reason = u.Quote.Confidence, u.Quote.Confidence.Trusted(), u.Quote.Reason
				ev.Sources = u.Quote.Sources
			}
			b, err := json.Marshal(ev)
			if err != nil {
				return
			}
			if _, err := fmt.Fprintf(w, "event: quote\ndata: %s\n\n", b); err != nil {
				return
			}
			w.Flush()
		}
	}
}

// priceText formats a float price with sensible decimals.
func priceText(p float64) string {
	switch {
	case p >= 1000:
		return fmtNum(p, 2)
	case p >= 1:
		return fmtNum(p, 2+boolInt(p < 10))
	default:
		return fmtNum(p, 4)
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

// history fetches up to historyYears of daily bars from the simulator.
func (a *app) history(c *gin.Context, symbol string) (marketdata.History, error) {
	end := time.Now().UTC()
	return a.history0.History(c.Request.Context(), symbol, marketdata.HistoryRequest{
		Start: end.AddDate(-historyYears, 0, 0), End: end, Interval: marketdata.Daily,
	})
}

type statsView struct {
	Symbol  string
	Known   []sim.Instrument
	Hist    marketdata.History
	Stats   marketdata.Stats
	Periods []marketdata.PeriodChange
	Chart   chart
	RSI     float64
	SMA50   float64
	SMA200  float64
	Hist20  []histBar
	Summary string
}

type histBar struct {
	Label  string
	Count  int
	Neg    bool
	Lo, Hi float64 // the bucket's daily returns, in percent
}

func (a *app) statsPage(c *gin.Context) {
	sym := strings.ToUpper(strings.TrimSpace(c.DefaultQuery("symbol", defaultStatSym)))
	v := statsView{Symbol: sym, Known: sim.Instruments()}
	h, err := a.history(c, sym)
	if err != nil {
		status := http.StatusBadGateway
		if errors.Is(err, marketdata.ErrNotFound) || errors.Is(err, marketdata.ErrInvalidSymbol) {
			status = http.StatusNotFound
		}
		msg := "No price history for " + sym + ": it is not one of the known symbols below."
		if status != http.StatusNotFound {
			a.log.WarnContext(c.Request.Context(), "history unavailable", "symbol", sym, "error", err)
			msg = "The price history of " + sym + " is unavailable right now. Try again in a moment."
		}
		a.render(c, status, "stats", view{Title: "Statistics", Active: "stats", Error: msg, Data: v})
		return
	}
	st, err := marketdata.Analyze(h.Bars, marketdata.StatsOptions{RiskFree: 0.03})
	if err != nil {
		a.log.InfoContext(c.Request.Context(), "statistics unavailable", "symbol", sym, "error", err)
		a.render(c, http.StatusUnprocessableEntity, "stats", view{Title: "Statistics", Active: "stats",
			Error: "There is not enough price history of " + sym + " for statistics.", Data: v})
		return
	}
	v.Hist, v.Stats, v.Periods, v.Summary = h, st, st.Periods[:], st.Summary()
	closes := marketdata.Closes(nil, h.Bars, false)
	v.Chart = lineChart(closes, 860, 220)
	if r, err := marketdata.RSI(nil, closes, 14); err == nil && len(r) > 0 {
		v.RSI = r[len(r)-1]
	}
	if s, err := marketdata.SMA(nil, closes, 50); err == nil && len(s) > 0 {
		v.SMA50 = s[len(s)-1]
	}
	if s, err := marketdata.SMA(nil, closes, 200); err == nil && len(s) > 0 {
		v.SMA200 = s[len(s)-1]
	}
	if rets, err := marketdata.Returns(nil, closes); err == nil {
		if hg, err := marketdata.ReturnHistogram(rets, 21); err == nil {
			for i, n := range hg.Counts {
				mid := (hg.Edges[i] + hg.Edges[i+1]) / 2
				v.Hist20 = append(v.Hist20, histBar{Label: fmt.Sprintf("%+.1f%%", mid*100), Count: n,
					Neg: mid < 0, Lo: hg.Edges[i] * 100, Hi: hg.Edges[i+1] * 100})
			}
		}
	}
	a.render(c, http.StatusOK, "stats", view{Title: "Statistics · " + sym, Active: "stats", Data: v})
}

// chart is a server-side SVG line chart.
type chart struct {
	W, H   int
	Points string
	Area   string
	Min    float64
	Max    float64
	Up     bool
}

func lineChart(ys []float64, w, h int) chart {
	ch := chart{W: w, H: h}
	if len(ys) < 2 {
		return ch
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, y := range ys {
		lo, hi = math.Min(lo, y), math.Max(hi, y)
	}
	if hi == lo {
		hi = lo + 1
	}
	ch.Min, ch.Max, ch.Up = lo, hi, ys[len(ys)-1] >= ys[0]
	var b strings.Builder
	pad := 6.0
	for i, y := range ys {
		x := float64(i) / float64(len(ys)-1) * float64(w)
		py := pad + (1-(y-lo)/(hi-lo))*(float64(h)-2*pad)
		if i > 0 {
			b.WriteByte(' ')
		}
		fmt.Fprintf(&b, "%.1f,%.1f", x, py)
	}
	ch.Points = b.String()
	ch.Area = fmt.Sprintf("0,%d %s %d,%d", h, ch.Points, w, h)
	return ch
}
