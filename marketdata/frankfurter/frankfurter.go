package frankfurter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the API root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://api.frankfurter.dev/v1"

// Options configure a Client.
type Options struct {
	BaseURL    string
	HTTPClient *http.Client // default: 10s timeout
	UserAgent  string
	MaxBytes   int64
	// Now is the clock; a History request without End ends at Now.
	// Default: time.Now.
	Now func() time.Time
}

// Client is a Frankfurter client. It implements marketdata.BatchProvider
// (pair symbols such as "EURUSD=X"), RateProvider, HistoryProvider and
// Supporter.
type Client struct {
	base string
	http *httpx.Client
	now  func() time.Time
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("frankfurter", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	return &Client{base: base, http: httpx.New("frankfurter", opts.HTTPClient, opts.UserAgent, opts.MaxBytes), now: opts.Now}, nil
}

// Name returns "frankfurter".
func (c *Client) Name() string { return "frankfurter" }

// Upstream returns "ecb": Frankfurter republishes the ECB reference rates,
// so next to the ecb client it counts as the same source in the
// Aggregator's consensus (marketdata.Upstreamer), never as a second vote.
func (c *Client) Upstream() string { return "ecb" }

// Supports reports whether symbol is a currency pair.
func (c *Client) Supports(symbol string) bool {
	s, err := marketdata.ParseSymbol(symbol)
	return err == nil && s.Kind == marketdata.KindFX
}

// Latest is a /latest or /DATE answer.
type Latest struct {
	Amount float64            `json:"amount"`
	Base   string             `json:"base"`
	Date   string             `json:"date"`
	Rates  map[string]float64 `json:"rates"`
}

// Series is a time-series answer.
type Series struct {
	Amount    float64                       `json:"amount"`
	Base      string                        `json:"base"`
	StartDate string                        `json:"start_date"`
	EndDate   string                        `json:"end_date"`
	Rates     map[string]map[string]float64 `json:"rates"`
}

// ParseLatest decodes and validates a /latest answer.
func ParseLatest(body []byte) (Latest, error) {
	var l Latest
	if err := json.Unmarshal(body, &l); err != nil {
		return Latest{}, fmt.Errorf("decoding JSON: %w", err)
	}
	if !marketdata.IsCurrency(l.Base) {
		return Latest{}, fmt.Errorf("base %q", l.Base)
	}
	if _, err := time.Parse(time.DateOnly, l.Date); err != nil {
		return Latest{}, fmt.Errorf("date %q", l.Date)
	}
	if l.Amount == 0 {
		l.Amount = 1
	}
	if !validAmount(l.Amount) {
		return Latest{}, fmt.Errorf("amount %v", l.Amount)
	}
	for cur, r := range l.Rates {
		if !marketdata.IsCurrency(cur) || !marketdata.ValidRate(r) || !marketdata.ValidRate(r/l.Amount) {
			return Latest{}, fmt.Errorf("rate %s=%v for amount %v", cur, r, l.Amount)
		}
	}
	return l, nil
}

// validAmount reports whether a base amount is plausible: the API quotes
// per 1 unit unless asked for more.
func validAmount(a float64) bool { return a >= 1e-3 && a <= 1e9 }

func (c *Client) get(ctx context.Context, label, path string, q url.Values) ([]byte, time.Duration, error) {
	start := time.Now()
	resp, err := c.http.Get(ctx, label, c.base+path+"?"+q.Encode(), "application/json")
	if err != nil {
		return nil, 0, err
	}
	if resp.Status < 200 || resp.Status > 299 {
		err := c.http.Check(resp, label)
		var msg struct {
			Message string `json:"message"`
		}
		var e *marketdata.Error
		if json.Unmarshal(resp.Body, &msg) == nil && msg.Message != "" && errors.As(err, &e) {
			e.Msg = msg.Message
			if resp.Status == http.StatusUnprocessableEntity || strings.Contains(msg.Message, "not found") {
				e.Kind = marketdata.ErrNotFound // unknown currency
			}
		}
		return nil, 0, err
	}
	if httpx.LooksLikeHTML(resp.Body) {
		return nil, 0, c.http.Bad(label, "HTML instead of JSON", nil)
	}
	return resp.Body, time.Since(start), nil
}

func stamp(date string) time.Time {
	t, _ := time.Parse(time.DateOnly, date)
	return t.Add(15 * time.Hour) // published around 16:00 CET
}

// latest fetches rates from base into the given currencies.
func (c *Client) latest(ctx context.Context, label, base string, to []string) (Latest, time.Duration, error) {
	body, lat, err := c.get(ctx, label, "/latest", url.Values{"base": {base}, "symbols": {strings.Join(to, ",")}})
	if err != nil {
		return Latest{}, 0, err
	}
	l, err := ParseLatest(body)
	if err != nil {
		return Latest{}, 0, c.http.Bad(label, "", err)
	}
	if l.Base != base {
		return Latest{}, 0, c.http.Bad(label, fmt.Sprintf("asked base %s, got %s", base, l.Base), nil)
	}
	return l, lat, nil
}

// Rate returns the latest rate from → to.
func (c *Client) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	pair := from + "/" + to
	if !marketdata.IsCurrency(from) || !marketdata.IsCurrency(to) {
		return marketdata.Rate{}, marketdata.NewError("frankfurter", pair, marketdata.ErrInvalidSymbol, "want ISO 4217 codes")
	}
	if from == to {
		return marketdata.Rate{From: from, To: to, Rate: 1, Provider: "frankfurter"}, nil
	}
	l, lat, err := c.latest(ctx, pair, from, []string{to})
	if err != nil {
		return marketdata.Rate{}, err
	}
	r, ok := l.Rates[to]
	if !ok {
		return marketdata.Rate{}, c.http.NotFound(pair, "currency missing from answer")
	}
	return marketdata.Rate{From: from, To: to, Rate: r / l.Amount, Time: stamp(l.Date), Provider: "frankfurter", Latency: lat}, nil
}

// Quote returns the latest rate of a pair symbol.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	return c.http.OneQuote(ctx, symbol, c.Quotes, "currency missing from answer")
}

// Quotes prices pair symbols with one request per distinct base currency.
func (c *Client) Quotes(ctx context.Context, symbols []string) (map[string]marketdata.Quote, error) {
	parsed, err := c.http.FXSymbols(symbols...)
	if err != nil {
		return nil, err
	}
	byBase := map[string][]int{}
	var bases []string
	for i, p := range parsed {
		if _, ok := byBase[p.Base]; !ok {
			bases = append(bases, p.Base)
		}
		byBase[p.Base] = append(byBase[p.Base], i)
	}
	sort.Strings(bases)
	out := make(map[string]marketdata.Quote, len(symbols))
	for _, b := range bases {
		var to []string
		for _, i := range byBase[b] {
			if parsed[i].Quote != b && !contains(to, parsed[i].Quote) {
				to = append(to, parsed[i].Quote)
			}
		}
		var l Latest
		var lat time.Duration
		if len(to) > 0 {
			var err error
			if l, lat, err = c.latest(ctx, "", b, to); err != nil {
				return nil, err
			}
		}
		for _, i := range byBase[b] {
			p := parsed[i]
			r, ok := l.Rates[p.Quote]
			if p.Quote == p.Base {
				r, ok = 1, true
			}
			if ok {
				out[symbols[i]] = marketdata.Quote{Symbol: p.Raw, Price: r / l.Amount, Currency: p.Quote, Time: stamp(l.Date), Provider: "frankfurter", Latency: lat}
			}
		}
	}
	return out, nil
}

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

// History returns daily rates of a pair symbol from the time-series
// endpoint.
func (c *Client) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	ps, err := c.http.FXSymbols(symbol)
	if err != nil {
		return marketdata.History{}, err
	}
	p := ps[0]
	if req.Interval != "" && req.Interval != marketdata.Daily {
		return marketdata.History{}, marketdata.NewError("frankfurter", p.Raw, marketdata.ErrUnsupported, "interval "+string(req.Interval))
	}
	end := req.End
	if end.IsZero() {
		end = c.now()
	}
	start := req.Start
	if start.IsZero() {
		start = end.AddDate(-1, 0, 0)
	}
	path := "/" + start.UTC().Format(time.DateOnly) + ".." + end.UTC().Format(time.DateOnly)
	body, _, err := c.get(ctx, p.Raw, path, url.Values{"base": {p.Base}, "symbols": {p.Quote}})
	if err != nil {
		return marketdata.History{}, err
	}
	var s Series
	if err := json.Unmarshal(body, &s); err != nil {
		return marketdata.History{}, c.http.Bad(p.Raw, "decoding JSON", err)
	}
	if s.Base != p.Base {
		return marketdata.History{}, c.http.Bad(p.Raw, fmt.Sprintf("asked base %s, got %s", p.Base, s.Base), nil)
	}
	amount := s.Amount
	if amount == 0 {
		amount = 1
	}
	h := marketdata.History{Symbol: p.Raw, Currency: p.Quote, Provider: "frankfurter", Interval: marketdata.Daily}
	for d, rates := range s.Rates {
		t, err := time.Parse(time.DateOnly, d)
		if err != nil {
			return marketdata.History{}, c.http.Bad(p.Raw, "date "+d, err)
		}
		r, ok := rates[p.Quote]
		if !ok {
			continue
		}
		if !validAmount(amount) || !marketdata.ValidRate(r) || !marketdata.ValidRate(r/amount) {
			return marketdata.History{}, c.http.Bad(p.Raw, fmt.Sprintf("rate %v for amount %v on %s", r, amount, d), nil)
		}
		r /= amount
		h.Bars = append(h.Bars, marketdata.Bar{Time: t, Open: r, High: r, Low: r, Close: r, AdjClose: r})
	}
	sort.Slice(h.Bars, func(i, j int) bool { return h.Bars[i].Time.Before(h.Bars[j].Time) })
	if len(h.Bars) == 0 {
		return h, c.http.NotFound(p.Raw, "no rates in range")
	}
	return h, nil
}

// RateOn returns the rate from → to on date (the last working day on or
// before it).
func (c *Client) RateOn(ctx context.Context, from, to string, date time.Time) (marketdata.Rate, error) {
	pair := from + "/" + to
	if !marketdata.IsCurrency(from) || !marketdata.IsCurrency(to) {
		return marketdata.Rate{}, marketdata.NewError("frankfurter", pair, marketdata.ErrInvalidSymbol, "want ISO 4217 codes")
	}
	body, lat, err := c.get(ctx, pair, "/"+date.UTC().Format(time.DateOnly), url.Values{"base": {from}, "symbols": {to}})
	if err != nil {
		return marketdata.Rate{}, err
	}
	l, err := ParseLatest(body)
	if err != nil {
		return marketdata.Rate{}, c.http.Bad(pair, "", err)
	}
	r, ok := l.Rates[to]
	if !ok || l.Base != from {
		return marketdata.Rate{}, c.http.NotFound(pair, "currency missing from answer")
	}
	return marketdata.Rate{From: from, To: to, Rate: r / l.Amount, Time: stamp(l.Date), Provider: "frankfurter", Latency: lat}, nil
}
