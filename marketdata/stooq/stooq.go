package stooq

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the site root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://stooq.com"

// Options configure a Client.
type Options struct {
	Name       string // provider name; default "stooq" (set it to run two mirrors side by side)
	BaseURL    string
	HTTPClient *http.Client // default: 10s timeout
	UserAgent  string
	MaxBytes   int64
}

// Client is a Stooq client. It implements marketdata.BatchProvider,
// RateProvider, HistoryProvider and Supporter.
type Client struct {
	name string
	base string
	http *httpx.Client
	loc  *time.Location
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("stooq", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	loc, err := time.LoadLocation("Europe/Warsaw") // Stooq stamps quotes in Polish time
	if err != nil {
		loc = time.FixedZone("CET", 3600)
	}
	if opts.Name == "" {
		opts.Name = "stooq"
	}
	return &Client{name: opts.Name, base: base, http: httpx.New(opts.Name, opts.HTTPClient, opts.UserAgent, opts.MaxBytes), loc: loc}, nil
}

// Name returns the provider name, "stooq" unless Options.Name says otherwise.
func (c *Client) Name() string { return c.name }

// Upstream returns "stooq" whatever the name: two clients (mirrors, or one
// site under two names) count as one source in the Aggregator's consensus.
func (c *Client) Upstream() string { return "stooq" }

var markets = map[string]struct{ stooq, currency string }{
	"":   {"us", "USD"},
	"US": {"us", "USD"},
	"DE": {"de", "EUR"},
	"F":  {"de", "EUR"},
	"T":  {"jp", "JPY"},
	"HK": {"hk", "HKD"},
}

// Symbol maps a Yahoo-notation symbol to Stooq's symbol and the currency of
// its prices.
func Symbol(symbol string) (stooqSym, currency string, err error) {
	s, err := marketdata.ParseSymbol(symbol)
	if err != nil {
		return "", "", err
	}
	switch s.Kind {
	case marketdata.KindFX:
		return strings.ToLower(s.Base + s.Quote), s.Quote, nil
	case marketdata.KindStock:
		m, ok := markets[s.Suffix]
		if !ok || strings.ContainsAny(s.Base, "^=") {
			return "", "", fmt.Errorf("%w: stooq market for %q", marketdata.ErrUnsupported, symbol)
		}
		return strings.ToLower(s.Base) + "." + m.stooq, m.currency, nil
	}
	return "", "", fmt.Errorf("%w: stooq has no %s quotes", marketdata.ErrUnsupported, s.Kind)
}

// Supports reports whether Stooq covers symbol.
func (c *Client) Supports(symbol string) bool {
	_, _, err := Symbol(symbol)
	return err == nil
}

func (c *Client) symErr(symbol string, err error) error {
	kind := marketdata.ErrInvalidSymbol
	if errors.Is(err, marketdata.ErrUnsupported) {
		kind = marketdata.ErrUnsupported
	}
	return &marketdata.Error{Provider: c.name, Symbol: symbol, Kind: kind, Err: err}
}

// Quote returns the latest price of one symbol.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	return c.http.OneQuote(ctx, symbol, c.Quotes, "N/D")
}

// Quotes fetches many symbols in one request. Symbols Stooq does not know
// are missing from the map; a symbol it does not cover fails the call with
// ErrUnsupported.
func (c *Client) Quotes(ctx context.Context, symbols []string) (map[string]marketdata.Quote, error) {
	start := time.Now()
	if len(symbols) == 0 {
		return map[string]marketdata.Quote{}, nil
	}
	want := make(map[string][]string, len(symbols)) // stooq symbol → as asked ("AAPL" and "AAPL.US" are one)
	cur := make(map[string]string, len(symbols))
	list := make([]string, 0, len(symbols))
	for _, s := range symbols {
		ss, c2, err := Symbol(s)
		if err != nil {
			return nil, c.symErr(s, err)
		}
		if _, dup := want[ss]; !dup {
			list = append(list, ss)
		}
		want[ss], cur[ss] = append(want[ss], s), c2
	}
	u := c.base + "/q/l/?s=" + url.QueryEscape(strings.Join(list, " ")) + "&f=sd2t2ohlcv&h&e=csv"
	label := ""
	if len(symbols) == 1 {
		label = symbols[0]
	}
	resp, err := c.http.Get(ctx, label, u, "text/csv")
	if err != nil {
		return nil, err
	}
	if err := c.http.Check(resp, label); err != nil {
		return nil, err
	}
	if err := c.bodyError(resp.Body, label); err != nil {
		return nil, err
	}
	rows, err := ParseQuotes(resp.Body, c.loc)
	if err != nil {
		return nil, c.http.Bad(label, "", err)
	}
	lat := time.Since(start)
	out := make(map[string]marketdata.Quote, len(rows))
	for key, r := range unique(rows) {
		for _, asked := range want[key] {
			out[asked] = marketdata.Quote{Symbol: strings.ToUpper(asked), Price: r.Close, Currency: cur[key], Time: r.Time, Provider: c.name, Latency: lat}
		}
	}
	return out, nil
}

// unique returns the usable rows by lower-case symbol. A symbol with two
// rows that differ is ambiguous and left out (missing from the answer)
// rather than resolved silently to one of them.
func unique(rows []QuoteRow) map[string]QuoteRow {
	out := make(map[string]QuoteRow, len(rows))
	bad := map[string]bool{}
	for _, r := range rows {
		key := strings.ToLower(r.Symbol)
		if prev, seen := out[key]; seen && prev != r {
			bad[key] = true
		}
		if r.OK {
			out[key] = r
		} else if _, seen := out[key]; seen {
			bad[key] = true
		}
	}
	for k := range bad {
		delete(out, k)
	}
	return out
}

// bodyError recognises Stooq's plain-text refusals and HTML pages.
func (c *Client) bodyError(body []byte, symbol string) error {
	if httpx.LooksLikeHTML(body) {
		return c.http.Bad(symbol, "HTML instead of CSV", nil)
	}
	low := bytes.ToLower(body)
	if bytes.Contains(low, []byte("exceeded the daily hits limit")) {
		return c.http.RateLimited(symbol, httpx.Snippet(body), 0)
	}
	return nil
}

// QuoteRow is one row of a quote CSV. OK is false for "N/D" rows.
type QuoteRow struct {
	Symbol                 string
	Time                   time.Time
	Open, High, Low, Close float64
	Volume                 float64
	OK                     bool
}

// ParseQuotes parses a /q/l/ CSV (Symbol,Date,Time,Open,High,Low,Close,Volume
// with a header). Times are read in loc.
func ParseQuotes(body []byte, loc *time.Location) ([]QuoteRow, error) {
	cr := csv.NewReader(bytes.NewReader(body))
	cr.FieldsPerRecord = -1
	head, err := cr.Read()
	if err != nil {
		return nil, fmt.Errorf("reading header: %w", err)
	}
	if len(head) < 7 || !strings.EqualFold(strings.TrimPrefix(head[0], "\ufeff"), "symbol") || !strings.EqualFold(head[6], "close") {
		return nil, fmt.Errorf("unexpected header %q", strings.Join(head, ","))
	}
	var rows []QuoteRow
	for {
		rec, err := cr.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		if len(rec) < 7 {
			return nil, fmt.Errorf("short row %q", strings.Join(rec, ","))
		}
		r := QuoteRow{Symbol: strings.TrimSpace(rec[0])}
		if rec[1] == "N/D" || rec[6] == "N/D" {
			rows = append(rows, r)
			continue
		}
		ts := rec[1]
		if rec[2] != "" && rec[2] != "N/D" {
			ts += " " + rec[2]
		} else {
			ts += " 00:00:00"
		}
		if r.Time, err = time.ParseInLocation(time.DateTime, ts, loc); err != nil {
			return nil, fmt.Errorf("time %q: %w", ts, err)
		}
		r.Time = r.Time.UTC()
		vals := []*float64{&r.Open, &r.High, &r.Low, &r.Close}
		for i, p := range vals {
			if *p, err = parsePos(rec[3+i]); err != nil {
				return nil, err
			}
		}
		if len(rec) > 7 && rec[7] != "" && rec[7] != "N/D" {
			if r.Volume, err = parsePos(rec[7]); err != nil {
				return nil, err
			}
		}
		r.OK = marketdata.ValidPrice(r.Close)
		rows = append(rows, r)
	}
	return rows, nil
}

func parsePos(s string) (float64, error) {
	v, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(v >= 0) || v > 1e15 {
		return 0, fmt.Errorf("bad number %q", s)
	}
	return v, nil
}

// Rate returns the latest FROMTO rate.
func (c *Client) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	q, err := c.Quote(ctx, marketdata.FXSymbol(from, to))
	if err != nil {
		return marketdata.Rate{}, err
	}
	return marketdata.Rate{From: from, To: to, Rate: q.Price, Time: q.Time, Provider: c.name, Latency: q.Latency}, nil
}

// History returns daily bars. Only daily, weekly and monthly intervals exist.
func (c *Client) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	ss, cur, err := Symbol(symbol)
	if err != nil {
		return marketdata.History{}, c.symErr(symbol, err)
	}
	iv := map[marketdata.Interval]string{"": "d", marketdata.Daily: "d", marketdata.Weekly: "w", marketdata.Monthly: "m"}[req.Interval]
	if iv == "" {
		return marketdata.History{}, marketdata.NewError(c.name, symbol, marketdata.ErrUnsupported, "interval "+string(req.Interval))
	}
	q := url.Values{"s": {ss}, "i": {iv}}
	if !req.Start.IsZero() {
		q.Set("d1", req.Start.UTC().Format("20060102"))
	}
	if !req.End.IsZero() {
		q.Set("d2", req.End.UTC().Format("20060102"))
	}
	sym := strings.ToUpper(symbol)
	resp, err := c.http.Get(ctx, sym, c.base+"/q/d/l/?"+q.Encode(), "text/csv")
	if err != nil {
		return marketdata.History{}, err
	}
	if err := c.http.Check(resp, sym); err != nil {
		return marketdata.History{}, err
	}
	if err := c.bodyError(resp.Body, sym); err != nil {
		return marketdata.History{}, err
	}
	if t := strings.TrimSpace(string(resp.Body)); strings.EqualFold(t, "no data") || t == "" {
		return marketdata.History{}, c.http.NotFound(sym, "no data")
	}
	bars, err := marketdata.ReadBarsCSV(bytes.NewReader(resp.Body))
	if err != nil {
		return marketdata.History{}, c.http.Bad(sym, "", err)
	}
	return marketdata.History{Symbol: sym, Currency: cur, Provider: c.name, Interval: marketdata.Interval(map[string]string{"d": "1d", "w": "1wk", "m": "1mo"}[iv]), Bars: bars}, nil
}
