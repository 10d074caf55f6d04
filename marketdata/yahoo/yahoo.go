package yahoo

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the API root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://query2.finance.yahoo.com"

// DefaultCookieURL is where a session cookie is picked up before asking for
// a crumb.
const DefaultCookieURL = "https://fc.yahoo.com"

// Options configure a Client.
type Options struct {
	BaseURL    string       // API root; tests point it at httptest
	CookieURL  string       // session-cookie page; default DefaultCookieURL
	NoCrumb    bool         // never fetch a cookie and crumb
	HTTPClient *http.Client // default: 10s timeout; a cookie jar is added when it has none
	UserAgent  string       // default: a descriptive finkit agent
	MaxBytes   int64        // response size limit; default 4 MiB
	// Aliases lists known renames: asked symbol → the symbol Yahoo may
	// answer with ("FB": "META"). Any other answered symbol is refused.
	Aliases map[string]string
}

// Client is a Yahoo Finance chart API client. It implements
// marketdata.Provider, RateProvider and HistoryProvider.
type Client struct {
	base      string
	cookieURL string
	noCrumb   bool
	http      *httpx.Client
	aliases   map[string]string

	mu    sync.Mutex // guards crumb; held while refreshing it
	crumb string
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("yahoo", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	cookieURL := opts.CookieURL
	if cookieURL == "" {
		cookieURL = DefaultCookieURL
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: httpx.DefaultTimeout}
	}
	if hc.Jar == nil {
		jar, err := cookiejar.New(nil)
		if err != nil {
			return nil, fmt.Errorf("yahoo: cookie jar: %w", err)
		}
		cp := *hc // do not modify the caller's client
		cp.Jar = jar
		hc = &cp
	}
	return &Client{base: base, cookieURL: cookieURL, noCrumb: opts.NoCrumb, aliases: httpx.Aliases(opts.Aliases),
		http: httpx.New("yahoo", hc, opts.UserAgent, opts.MaxBytes)}, nil
}

// refreshCrumb picks up a session cookie and a new crumb. It returns the
// crumb in use when another goroutine refreshed it meanwhile.
func (c *Client) refreshCrumb(ctx context.Context, stale string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.crumb != stale {
		return c.crumb, nil
	}
	// The cookie page answers 404 with Set-Cookie; only the cookie matters.
	if _, err := c.http.Get(ctx, "", c.cookieURL, ""); err != nil {
		return "", err
	}
	resp, err := c.http.Get(ctx, "", c.base+"/v1/test/getcrumb", "text/plain")
	if err != nil {
		return "", err
	}
	if err := c.http.Check(resp, ""); err != nil {
		return "", err
	}
	crumb := strings.TrimSpace(string(resp.Body))
	if crumb == "" || len(crumb) > 64 || strings.ContainsAny(crumb, " <>{}\"\n") {
		return "", &marketdata.Error{Provider: "yahoo", Kind: marketdata.ErrUnavailable, Msg: "no crumb: " + httpx.Snippet(resp.Body)}
	}
	c.crumb = crumb
	return crumb, nil
}

func (c *Client) currentCrumb() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.crumb
}

// Name returns "yahoo".
func (c *Client) Name() string { return "yahoo" }

// Supports reports whether symbol is well-formed; Yahoo covers all kinds.
func (c *Client) Supports(symbol string) bool {
	_, err := marketdata.ParseSymbol(symbol)
	return err == nil
}

// Quote returns the latest regular-market price of symbol.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	start := time.Now()
	r, err := c.chart(ctx, symbol, url.Values{"range": {"5d"}, "interval": {"1d"}})
	if err != nil {
		return marketdata.Quote{}, err
	}
	if !httpx.SameSymbol(symbol, r.Meta.Symbol, c.aliases) {
		return marketdata.Quote{}, c.http.Bad(strings.ToUpper(symbol), "answered for "+r.Meta.Symbol, nil)
	}
	q, err := QuoteFromChart(r)
	if err != nil {
		return marketdata.Quote{}, c.wrap(symbol, err)
	}
	q.Symbol = strings.ToUpper(symbol)
	q.Latency = time.Since(start)
	return q, nil
}

// Rate returns the exchange rate from → to through the FROMTO=X pair.
func (c *Client) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	q, err := c.Quote(ctx, marketdata.FXSymbol(from, to))
	if err != nil {
		return marketdata.Rate{}, err
	}
	return marketdata.Rate{From: from, To: to, Rate: q.Price, Time: q.Time, Provider: "yahoo", Latency: q.Latency}, nil
}

// History returns bars of symbol between req.Start and req.End (default:
// one year up to now), with splits and dividends.
func (c *Client) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	iv := req.Interval
	if iv == "" {
		iv = marketdata.Daily
	}
	switch iv {
	case marketdata.Daily, marketdata.Weekly, marketdata.Monthly, marketdata.Minute, marketdata.Minute5, marketdata.Hourly:
	default:
		return marketdata.History{}, marketdata.NewError("yahoo", symbol, marketdata.ErrUnsupported, "interval "+string(iv))
	}
	end := req.End
	if end.IsZero() {
		end = time.Now()
	}
	start := req.Start
	if start.IsZero() {
		start = end.AddDate(-1, 0, 0)
	}
	if !start.Before(end) {
		return marketdata.History{}, fmt.Errorf("yahoo: %s: start %s not before end %s", symbol, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	r, err := c.chart(ctx, symbol, url.Values{
		"period1": {strconv.FormatInt(start.Unix(), 10)}, "period2": {strconv.FormatInt(end.Unix(), 10)},
		"interval": {string(iv)}, "events": {"div|split"}, "includePrePost": {"false"},
	})
	if err != nil {
		return marketdata.History{}, err
	}
	if !httpx.SameSymbol(symbol, r.Meta.Symbol, c.aliases) {
		return marketdata.History{}, c.http.Bad(strings.ToUpper(symbol), "answered for "+r.Meta.Symbol, nil)
	}
	h, err := HistoryFromChart(r)
	if err != nil {
		return marketdata.History{}, c.wrap(symbol, err)
	}
	h.Symbol = strings.ToUpper(symbol)
	return h, nil
}

func (c *Client) wrap(symbol string, err error) error {
	var e *marketdata.Error
	if errors.As(err, &e) {
		e.Provider, e.Symbol = "yahoo", strings.ToUpper(symbol)
		return e
	}
	return c.http.Bad(strings.ToUpper(symbol), "", err)
}

// chart fetches and decodes /v8/finance/chart/SYMBOL, getting a cookie and
// crumb and retrying once when Yahoo asks for them.
func (c *Client) chart(ctx context.Context, symbol string, q url.Values) (*Chart, error) {
	sym, err := marketdata.ParseSymbol(symbol)
	if err != nil {
		return nil, &marketdata.Error{Provider: "yahoo", Symbol: symbol, Kind: marketdata.ErrInvalidSymbol, Err: err}
	}
	crumb := c.currentCrumb()
	for attempt := 0; ; attempt++ {
		if crumb != "" {
			q.Set("crumb", crumb)
		}
		ch, err := c.chartOnce(ctx, sym.Raw, q)
		var e *marketdata.Error
		if err == nil || c.noCrumb || attempt > 0 || !errors.As(err, &e) || e.Status != http.StatusUnauthorized {
			return ch, err
		}
		var rerr error
		if crumb, rerr = c.refreshCrumb(ctx, crumb); rerr != nil {
			e.Msg += "; getting a crumb failed"
			e.Err = rerr
			return nil, e
		}
	}
}

func (c *Client) chartOnce(ctx context.Context, sym string, q url.Values) (*Chart, error) {
	u := c.base + "/v8/finance/chart/" + url.PathEscape(sym) + "?" + q.Encode()
	resp, err := c.http.Get(ctx, sym, u, "application/json")
	if err != nil {
		return nil, err
	}
	ch, perr := ParseChart(resp.Body)
	if resp.Status < 200 || resp.Status > 299 {
		// Prefer the payload's own explanation ("Not Found", "Invalid Crumb")
		// over the bare status, except for rate limits (Retry-After).
		var e *marketdata.Error
		if resp.Status == http.StatusTooManyRequests || !errors.As(perr, &e) || errors.Is(perr, marketdata.ErrBadResponse) {
			return nil, c.http.Check(resp, sym)
		}
		e.Status = resp.Status
	}
	if perr != nil {
		return nil, c.wrap(sym, perr)
	}
	return ch, nil
}

// Chart is the decoded chart payload (one result).
type Chart struct {
	Meta       Meta    `json:"meta"`
	Timestamp  []int64 `json:"timestamp"`
	Indicators struct {
		Quote []struct {
			Open   []*float64 `json:"open"`
			High   []*float64 `json:"high"`
			Low    []*float64 `json:"low"`
			Close  []*float64 `json:"close"`
			Volume []*float64 `json:"volume"`
		} `json:"quote"`
		AdjClose []struct {
			AdjClose []*float64 `json:"adjclose"`
		} `json:"adjclose"`
	} `json:"indicators"`
	Events struct {
		Dividends map[string]struct {
			Amount float64 `json:"amount"`
			Date   int64   `json:"date"`
		} `json:"dividends"`
		Splits map[string]struct {
			Date        int64   `json:"date"`
			Numerator   float64 `json:"numerator"`
			Denominator float64 `json:"denominator"`
		} `json:"splits"`
	} `json:"events"`
}

// Meta is the chart's meta object (the fields finkit uses).
type Meta struct {
	Currency             string   `json:"currency"`
	Symbol               string   `json:"symbol"`
	ExchangeName         string   `json:"exchangeName"`
	InstrumentType       string   `json:"instrumentType"`
	RegularMarketTime    *int64   `json:"regularMarketTime"`
	RegularMarketPrice   *float64 `json:"regularMarketPrice"`
	ChartPreviousClose   *float64 `json:"chartPreviousClose"`
	PreviousClose        *float64 `json:"previousClose"`
	GMTOffset            int      `json:"gmtoffset"`
	ExchangeTimezoneName string   `json:"exchangeTimezoneName"`
	DataGranularity      string   `json:"dataGranularity"`
	LongName             string   `json:"longName"`
}

type apiError struct {
	Code        string `json:"code"`
	Description string `json:"description"`
}

// ParseChart decodes a chart response body. An error object in the payload
// becomes ErrNotFound ("Not Found") or ErrUnavailable (auth/crumb problems)
// or ErrBadResponse; HTML or malformed JSON is ErrBadResponse.
func ParseChart(body []byte) (*Chart, error) {
	if httpx.LooksLikeHTML(body) {
		return nil, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: "HTML instead of JSON"}
	}
	var env struct {
		Chart *struct {
			Result []Chart   `json:"result"`
			Error  *apiError `json:"error"`
		} `json:"chart"`
		Finance *struct {
			Error *apiError `json:"error"`
		} `json:"finance"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: "decoding chart JSON", Err: err}
	}
	var ae *apiError
	switch {
	case env.Chart != nil && env.Chart.Error != nil:
		ae = env.Chart.Error
	case env.Finance != nil && env.Finance.Error != nil:
		ae = env.Finance.Error
	}
	if ae != nil {
		kind := marketdata.ErrBadResponse
		switch strings.ToLower(ae.Code) {
		case "not found":
			kind = marketdata.ErrNotFound
		case "unauthorized", "forbidden":
			kind = marketdata.ErrUnavailable
		case "too many requests":
			kind = marketdata.ErrRateLimited
		}
		return nil, &marketdata.Error{Kind: kind, Msg: strings.TrimSpace(ae.Code + ": " + ae.Description)}
	}
	if env.Chart == nil || len(env.Chart.Result) == 0 {
		return nil, &marketdata.Error{Kind: marketdata.ErrNotFound, Msg: "empty chart result"}
	}
	return &env.Chart.Result[0], nil
}

// unit returns the main currency and the divisor for sub-unit currencies.
func unit(cur string) (string, float64) {
	switch cur {
	case "GBp", "GBX":
		return "GBP", 100
	case "ZAc", "ZAC":
		return "ZAR", 100
	case "ILA":
		return "ILS", 100
	}
	return strings.ToUpper(cur), 1
}

func finite(p *float64) bool { return p != nil && !math.IsNaN(*p) && !math.IsInf(*p, 0) }

// QuoteFromChart extracts the latest price from a chart: meta's
// regularMarketPrice, else the last non-null close.
func QuoteFromChart(ch *Chart) (marketdata.Quote, error) {
	cur, div := unit(ch.Meta.Currency)
	if !marketdata.IsCurrency(cur) {
		return marketdata.Quote{}, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: fmt.Sprintf("currency %q", ch.Meta.Currency)}
	}
	q := marketdata.Quote{Symbol: ch.Meta.Symbol, Currency: cur, Provider: "yahoo"}
	if finite(ch.Meta.RegularMarketPrice) && *ch.Meta.RegularMarketPrice > 0 {
		q.Price = *ch.Meta.RegularMarketPrice / div
		if ch.Meta.RegularMarketTime != nil {
			t, ok := httpx.UnixTime(*ch.Meta.RegularMarketTime, time.Now())
			if !ok {
				return marketdata.Quote{}, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: fmt.Sprintf("regularMarketTime %d in the future", *ch.Meta.RegularMarketTime)}
			}
			q.Time = t
		}
	} else {
		h, err := HistoryFromChart(ch)
		if err != nil {
			return marketdata.Quote{}, err
		}
		if len(h.Bars) == 0 {
			return marketdata.Quote{}, &marketdata.Error{Kind: marketdata.ErrNotFound, Msg: "no price in chart"}
		}
		last := h.Bars[len(h.Bars)-1]
		q.Price, q.Time = last.Close, last.Time
	}
	if !marketdata.ValidPrice(q.Price) {
		return marketdata.Quote{}, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: fmt.Sprintf("price %v outside the plausible range", q.Price)}
	}
	switch {
	case finite(ch.Meta.PreviousClose):
		q.PrevClose = *ch.Meta.PreviousClose / div
	case finite(ch.Meta.ChartPreviousClose):
		q.PrevClose = *ch.Meta.ChartPreviousClose / div
	}
	return q, nil
}

// HistoryFromChart converts a chart's arrays into bars, skipping bars whose
// close is null. For daily and longer bars, Time is midnight UTC of the
// trading date in the exchange's time zone, and a last bar stamped at
// regularMarketTime (still trading) sets History.Live.
func HistoryFromChart(ch *Chart) (marketdata.History, error) {
	cur, div := unit(ch.Meta.Currency)
	h := marketdata.History{Symbol: ch.Meta.Symbol, Currency: cur, Provider: "yahoo", Interval: marketdata.Interval(ch.Meta.DataGranularity)}
	n := len(ch.Timestamp)
	if n == 0 {
		return h, nil // no bars in range (weekend, holiday); not an error
	}
	if len(ch.Indicators.Quote) == 0 {
		return h, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: "timestamps without quote arrays"}
	}
	iq := ch.Indicators.Quote[0]
	var adj []*float64
	if len(ch.Indicators.AdjClose) > 0 {
		adj = ch.Indicators.AdjClose[0].AdjClose
	}
	for _, a := range [][]*float64{iq.Open, iq.High, iq.Low, iq.Close, iq.Volume, adj} {
		if a != nil && len(a) != n {
			return h, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: fmt.Sprintf("array length %d, want %d timestamps", len(a), n)}
		}
	}
	if len(iq.Close) != n {
		return h, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: "missing close array"}
	}
	daily := false
	switch h.Interval {
	case "1d", "5d", "1wk", "1mo", "3mo":
		daily = true
	}
	loc := time.FixedZone(ch.Meta.ExchangeTimezoneName, ch.Meta.GMTOffset)
	if l, err := time.LoadLocation(ch.Meta.ExchangeTimezoneName); err == nil && ch.Meta.ExchangeTimezoneName != "" {
		loc = l
	}
	get := func(a []*float64, i int) float64 {
		if a == nil || !finite(a[i]) {
			return 0
		}
		return *a[i]
	}
	h.Bars = make([]marketdata.Bar, 0, n)
	for i, ts := range ch.Timestamp {
		if !finite(iq.Close[i]) {
			continue // Yahoo's null bar
		}
		t := time.Unix(ts, 0).UTC()
		if daily {
			y, m, d := t.In(loc).Date()
			t = time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
		}
		b := marketdata.Bar{Time: t, Open: get(iq.Open, i) / div, High: get(iq.High, i) / div, Low: get(iq.Low, i) / div,
			Close: *iq.Close[i] / div, Volume: get(iq.Volume, i)}
		b.AdjClose = b.Close
		if adj != nil && finite(adj[i]) {
			b.AdjClose = *adj[i] / div
		}
		if b.Open == 0 {
			b.Open = b.Close
		}
		if b.High == 0 {
			b.High = max(b.Open, b.Close)
		}
		if b.Low == 0 {
			b.Low = min(b.Open, b.Close)
		}
		if k := len(h.Bars); k > 0 && !b.Time.After(h.Bars[k-1].Time) {
			if b.Time.Equal(h.Bars[k-1].Time) {
				h.Bars[k-1] = b // duplicate day (live bar repeated): keep the newest
				continue
			}
			return h, &marketdata.Error{Kind: marketdata.ErrBadResponse, Msg: "timestamps not ascending"}
		}
		h.Bars = append(h.Bars, b)
	}
	if daily && ch.Meta.RegularMarketTime != nil && len(h.Bars) > 0 && ch.Timestamp[n-1] == *ch.Meta.RegularMarketTime {
		h.Live = true
	}
	for _, d := range ch.Events.Dividends {
		h.Dividends = append(h.Dividends, marketdata.Dividend{Time: time.Unix(d.Date, 0).UTC(), Amount: d.Amount / div})
	}
	for _, s := range ch.Events.Splits {
		if s.Numerator > 0 && s.Denominator > 0 {
			h.Splits = append(h.Splits, marketdata.Split{Time: time.Unix(s.Date, 0).UTC(), Numerator: s.Numerator, Denominator: s.Denominator})
		}
	}
	sortByTime(h.Dividends, func(d marketdata.Dividend) time.Time { return d.Time })
	sortByTime(h.Splits, func(s marketdata.Split) time.Time { return s.Time })
	return h, nil
}

func sortByTime[T any](s []T, f func(T) time.Time) {
	for i := 1; i < len(s); i++ {
		for j := i; j > 0 && f(s[j]).Before(f(s[j-1])); j-- {
			s[j], s[j-1] = s[j-1], s[j]
		}
	}
}
