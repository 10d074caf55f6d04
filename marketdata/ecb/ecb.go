package ecb

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the site root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://www.ecb.europa.eu"

// Paths of the files below the base URL.
const (
	DailyPath  = "/stats/eurofxref/eurofxref-daily.xml"
	Hist90Path = "/stats/eurofxref/eurofxref-hist-90d.xml"
	HistPath   = "/stats/eurofxref/eurofxref-hist.xml"
)

// Options configure a Client.
type Options struct {
	BaseURL    string
	HTTPClient *http.Client // default: 10s timeout
	UserAgent  string
	MaxBytes   int64 // default 32 MiB (the full history file is large)
	Now        func() time.Time
}

// Client is an ECB reference-rate client. It implements
// marketdata.BatchProvider (for "EURUSD=X"-style symbols), RateProvider,
// HistoryProvider and Supporter.
type Client struct {
	base string
	http *httpx.Client
	now  func() time.Time
	loc  *time.Location
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("ecb", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	if opts.MaxBytes == 0 {
		opts.MaxBytes = 32 << 20
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		loc = time.FixedZone("CET", 3600)
	}
	return &Client{base: base, http: httpx.New("ecb", opts.HTTPClient, opts.UserAgent, opts.MaxBytes), now: opts.Now, loc: loc}, nil
}

// Name returns "ecb".
func (c *Client) Name() string { return "ecb" }

// Upstream returns "ecb": Frankfurter republishes these reference rates, so
// the Aggregator counts the two as one source (marketdata.Upstreamer).
func (c *Client) Upstream() string { return "ecb" }

// Supports reports whether symbol is a currency pair.
func (c *Client) Supports(symbol string) bool {
	s, err := marketdata.ParseSymbol(symbol)
	return err == nil && s.Kind == marketdata.KindFX
}

// Day is one day of reference rates: units of each currency per euro.
type Day struct {
	Date  time.Time          // midnight UTC of the reference date
	Rates map[string]float64 // currency → units per EUR; EUR itself is 1
}

// Cross returns how many units of to one unit of from buys on this day.
func (d Day) Cross(from, to string) (float64, bool) {
	f, okf := d.Rates[from]
	t, okt := d.Rates[to]
	if !okf || !okt || !marketdata.ValidRate(f) || !marketdata.ValidRate(t) {
		return 0, false
	}
	r := t / f
	return r, marketdata.ValidRate(r)
}

// Parse decodes an eurofxref XML file (daily or history) into days, oldest
// first.
func Parse(body []byte) ([]Day, error) {
	var env struct {
		XMLName xml.Name
		Cube    struct {
			Days []struct {
				Time  string `xml:"time,attr"`
				Rates []struct {
					Currency string `xml:"currency,attr"`
					Rate     string `xml:"rate,attr"`
				} `xml:"Cube"`
			} `xml:"Cube"`
		} `xml:"Cube"`
	}
	if err := xml.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("decoding XML: %w", err)
	}
	if env.XMLName.Local != "Envelope" {
		return nil, fmt.Errorf("root element %q, want Envelope", env.XMLName.Local)
	}
	days := make([]Day, 0, len(env.Cube.Days))
	for _, d := range env.Cube.Days {
		t, err := time.Parse(time.DateOnly, d.Time)
		if err != nil {
			return nil, fmt.Errorf("date %q: %w", d.Time, err)
		}
		day := Day{Date: t, Rates: make(map[string]float64, len(d.Rates)+1)}
		day.Rates["EUR"] = 1
		for _, r := range d.Rates {
			if !marketdata.IsCurrency(r.Currency) {
				return nil, fmt.Errorf("%s: currency %q", d.Time, r.Currency)
			}
			v, err := strconv.ParseFloat(strings.TrimSpace(r.Rate), 64)
			if err != nil || !marketdata.ValidRate(v) {
				return nil, fmt.Errorf("%s: %s rate %q", d.Time, r.Currency, r.Rate)
			}
			day.Rates[r.Currency] = v
		}
		days = append(days, day)
	}
	if len(days) == 0 {
		return nil, fmt.Errorf("no rates in file")
	}
	sort.Slice(days, func(i, j int) bool { return days[i].Date.Before(days[j].Date) })
	return days, nil
}

func (c *Client) fetch(ctx context.Context, path, symbol string) ([]Day, time.Duration, error) {
	start := time.Now()
	resp, err := c.http.Get(ctx, symbol, c.base+path, "application/xml")
	if err != nil {
		return nil, 0, err
	}
	if err := c.http.Check(resp, symbol); err != nil {
		return nil, 0, err
	}
	if httpx.LooksLikeHTML(resp.Body) || !bytes.Contains(resp.Body, []byte("<")) {
		return nil, 0, c.http.Bad(symbol, "not an XML rates file: "+httpx.Snippet(resp.Body), nil)
	}
	days, err := Parse(resp.Body)
	if err != nil {
		return nil, 0, c.http.Bad(symbol, "", err)
	}
	return days, time.Since(start), nil
}

// stamp returns the publication time of a reference date (16:00 CET).
func (c *Client) stamp(d time.Time) time.Time {
	return time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, c.loc).UTC()
}

// Latest returns the latest day of reference rates.
func (c *Client) Latest(ctx context.Context) (Day, error) {
	days, _, err := c.fetch(ctx, DailyPath, "")
	if err != nil {
		return Day{}, err
	}
	return days[len(days)-1], nil
}

// Rate returns the latest reference rate from → to, crossed through EUR.
func (c *Client) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	pair := from + "/" + to
	if !marketdata.IsCurrency(from) || !marketdata.IsCurrency(to) {
		return marketdata.Rate{}, marketdata.NewError("ecb", pair, marketdata.ErrInvalidSymbol, "want ISO 4217 codes")
	}
	days, lat, err := c.fetch(ctx, DailyPath, pair)
	if err != nil {
		return marketdata.Rate{}, err
	}
	d := days[len(days)-1]
	r, ok := d.Cross(from, to)
	if !ok {
		return marketdata.Rate{}, c.http.NotFound(pair, "no ECB reference rate")
	}
	return marketdata.Rate{From: from, To: to, Rate: r, Time: c.stamp(d.Date), Provider: "ecb", Latency: lat}, nil
}

// Quote returns the reference rate of a pair symbol such as "EURNOK=X".
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	return c.http.OneQuote(ctx, symbol, c.Quotes, "no ECB reference rate")
}

// Quotes prices many pair symbols from one daily file.
func (c *Client) Quotes(ctx context.Context, symbols []string) (map[string]marketdata.Quote, error) {
	parsed, err := c.http.FXSymbols(symbols...)
	if err != nil {
		return nil, err
	}
	days, lat, err := c.fetch(ctx, DailyPath, "")
	if err != nil {
		return nil, err
	}
	d := days[len(days)-1]
	out := make(map[string]marketdata.Quote, len(symbols))
	for i, p := range parsed {
		if r, ok := d.Cross(p.Base, p.Quote); ok {
			out[symbols[i]] = marketdata.Quote{Symbol: p.Raw, Price: r, Currency: p.Quote, Time: c.stamp(d.Date), Provider: "ecb", Latency: lat}
		}
	}
	return out, nil
}

// History returns daily reference rates of a pair symbol between req.Start
// and req.End, from the 90-day file when the range allows, else from the
// full history since 1999.
func (c *Client) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	ps, err := c.http.FXSymbols(symbol)
	if err != nil {
		return marketdata.History{}, err
	}
	p := ps[0]
	if req.Interval != "" && req.Interval != marketdata.Daily {
		return marketdata.History{}, marketdata.NewError("ecb", p.Raw, marketdata.ErrUnsupported, "interval "+string(req.Interval))
	}
	end := req.End
	if end.IsZero() {
		end = c.now()
	}
	start := req.Start
	if start.IsZero() {
		start = end.AddDate(0, 0, -90)
	}
	path := HistPath
	if c.now().Sub(start) <= 92*24*time.Hour {
		path = Hist90Path
	}
	days, _, err := c.fetch(ctx, path, p.Raw)
	if err != nil {
		return marketdata.History{}, err
	}
	h := marketdata.History{Symbol: p.Raw, Currency: p.Quote, Provider: "ecb", Interval: marketdata.Daily}
	lo := start.UTC().Truncate(24 * time.Hour)
	for _, d := range days {
		if d.Date.Before(lo) || d.Date.After(end) {
			continue
		}
		if r, ok := d.Cross(p.Base, p.Quote); ok {
			h.Bars = append(h.Bars, marketdata.Bar{Time: d.Date, Open: r, High: r, Low: r, Close: r, AdjClose: r})
		}
	}
	if len(h.Bars) == 0 {
		return h, c.http.NotFound(p.Raw, "no reference rates in range")
	}
	return h, nil
}
