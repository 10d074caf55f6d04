package alphavantage

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the API root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://www.alphavantage.co"

// DefaultLimit is the free key's allowance: 25 requests per day, and no more
// than 5 per minute.
func DefaultLimit() marketdata.Limit {
	return marketdata.Limit{PerSecond: 5.0 / 60, Burst: 1, PerDay: 25}
}

// Options configure a Client.
type Options struct {
	BaseURL    string
	APIKey     string // default: $ALPHAVANTAGE_API_KEY
	HTTPClient *http.Client
	UserAgent  string
	MaxBytes   int64
	// Aliases lists known renames: asked symbol → the "01. symbol" Alpha
	// Vantage may answer with. Any other answered symbol is refused.
	Aliases map[string]string
}

// Client is an Alpha Vantage client. It implements marketdata.Provider,
// HistoryProvider and Supporter.
type Client struct {
	base    string
	key     string
	http    *httpx.Client
	ny      *time.Location
	aliases map[string]string
}

// New returns a Client; it fails without an API key.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("alphavantage", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	key := opts.APIKey
	if key == "" {
		key = os.Getenv("ALPHAVANTAGE_API_KEY")
	}
	if key == "" {
		return nil, fmt.Errorf("alphavantage: no API key (Options.APIKey or ALPHAVANTAGE_API_KEY)")
	}
	ny, err := time.LoadLocation("America/New_York")
	if err != nil {
		ny = time.FixedZone("EST", -5*3600)
	}
	return &Client{base: base, key: key, http: httpx.New("alphavantage", opts.HTTPClient, opts.UserAgent, opts.MaxBytes), ny: ny,
		aliases: httpx.Aliases(opts.Aliases)}, nil
}

// Name returns "alphavantage".
func (c *Client) Name() string { return "alphavantage" }

// Supports reports whether symbol is a US share (no exchange suffix).
func (c *Client) Supports(symbol string) bool {
	s, err := marketdata.ParseSymbol(symbol)
	return err == nil && s.Kind == marketdata.KindStock && s.Suffix == "" && !strings.ContainsAny(s.Base, "^")
}

// Classify inspects a 200 body for Alpha Vantage's in-band errors: "Note"
// and "Information" (rate limits, also invalid keys) and "Error Message".
func Classify(body []byte) (msg string, kind error) {
	var m struct {
		Note        string `json:"Note"`
		Information string `json:"Information"`
		Error       string `json:"Error Message"`
	}
	if json.Unmarshal(body, &m) != nil {
		return "", nil
	}
	switch {
	case m.Error != "":
		return m.Error, marketdata.ErrNotFound
	case m.Note != "" || m.Information != "":
		msg := m.Note + m.Information
		low := strings.ToLower(msg)
		if strings.Contains(low, "apikey") && (strings.Contains(low, "invalid") || strings.Contains(low, "missing")) {
			return msg, marketdata.ErrUnavailable
		}
		return msg, marketdata.ErrRateLimited
	}
	return "", nil
}

func (c *Client) query(ctx context.Context, symbol string, q url.Values) ([]byte, time.Duration, error) {
	start := time.Now()
	q.Set("apikey", c.key)
	resp, err := c.http.Get(ctx, symbol, c.base+"/query?"+q.Encode(), "application/json")
	if err != nil {
		return nil, 0, err
	}
	if err := c.http.Check(resp, symbol); err != nil {
		return nil, 0, err
	}
	if httpx.LooksLikeHTML(resp.Body) {
		return nil, 0, c.http.Bad(symbol, "HTML instead of JSON", nil)
	}
	if msg, kind := Classify(resp.Body); kind != nil {
		return nil, 0, &marketdata.Error{Provider: "alphavantage", Symbol: symbol, Kind: kind, Msg: msg}
	}
	return resp.Body, time.Since(start), nil
}

// GlobalQuote is the decoded "Global Quote" object.
type GlobalQuote struct {
	Symbol           string
	Open, High, Low  float64
	Price            float64
	Volume           float64
	LatestTradingDay time.Time
	PreviousClose    float64
}

// ParseGlobalQuote decodes a GLOBAL_QUOTE body. An empty object means the
// symbol is unknown (ErrNotFound).
func ParseGlobalQuote(body []byte) (GlobalQuote, error) {
	var env struct {
		Q map[string]string `json:"Global Quote"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return GlobalQuote{}, fmt.Errorf("%w: decoding JSON: %v", marketdata.ErrBadResponse, err)
	}
	if len(env.Q) == 0 {
		return GlobalQuote{}, fmt.Errorf("%w: empty Global Quote", marketdata.ErrNotFound)
	}
	var g GlobalQuote
	g.Symbol = env.Q["01. symbol"]
	num := func(k string, dst *float64) error {
		v, ok := env.Q[k]
		if !ok {
			return fmt.Errorf("%w: missing %q", marketdata.ErrBadResponse, k)
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
			return fmt.Errorf("%w: %s = %q", marketdata.ErrBadResponse, k, v)
		}
		*dst = f
		return nil
	}
	for _, f := range []struct {
		k   string
		dst *float64
	}{{"02. open", &g.Open}, {"03. high", &g.High}, {"04. low", &g.Low}, {"05. price", &g.Price}, {"06. volume", &g.Volume}, {"08. previous close", &g.PreviousClose}} {
		if err := num(f.k, f.dst); err != nil {
			return GlobalQuote{}, err
		}
	}
	d, err := time.Parse(time.DateOnly, env.Q["07. latest trading day"])
	if err != nil {
		return GlobalQuote{}, fmt.Errorf("%w: latest trading day %q", marketdata.ErrBadResponse, env.Q["07. latest trading day"])
	}
	g.LatestTradingDay = d
	if !(g.Price > 0) {
		return GlobalQuote{}, fmt.Errorf("%w: zero price", marketdata.ErrNotFound)
	}
	if !marketdata.ValidPrice(g.Price) {
		return GlobalQuote{}, fmt.Errorf("%w: price %v outside the plausible range", marketdata.ErrBadResponse, g.Price)
	}
	return g, nil
}

func (c *Client) wrap(symbol string, err error) error {
	kind := marketdata.ErrBadResponse
	if errors.Is(err, marketdata.ErrNotFound) {
		kind = marketdata.ErrNotFound
	}
	return &marketdata.Error{Provider: "alphavantage", Symbol: symbol, Kind: kind, Msg: strings.TrimPrefix(err.Error(), kind.Error()+": ")}
}

// Quote returns the latest price of a US share, in USD.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	sym := strings.ToUpper(strings.TrimSpace(symbol))
	if !c.Supports(sym) {
		return marketdata.Quote{}, c.http.Unsupported(sym, "US shares only")
	}
	body, lat, err := c.query(ctx, sym, url.Values{"function": {"GLOBAL_QUOTE"}, "symbol": {sym}})
	if err != nil {
		return marketdata.Quote{}, err
	}
	g, err := ParseGlobalQuote(body)
	if err != nil {
		return marketdata.Quote{}, c.wrap(sym, err)
	}
	if !httpx.SameSymbol(sym, g.Symbol, c.aliases) {
		return marketdata.Quote{}, c.http.Bad(sym, "answered for "+g.Symbol, nil)
	}
	d := g.LatestTradingDay
	// Stamped at the close; during the trading day that is still ahead, and
	// the price is as of now.
	close := time.Date(d.Year(), d.Month(), d.Day(), 16, 0, 0, 0, c.ny).UTC()
	if now := time.Now().UTC(); close.After(now) {
		close = now
	}
	return marketdata.Quote{Symbol: sym, Price: g.Price, Currency: "USD", Time: close, PrevClose: g.PreviousClose, Provider: "alphavantage", Latency: lat}, nil
}

// ParseDaily decodes a TIME_SERIES_DAILY body into bars, oldest first.
func ParseDaily(body []byte) ([]marketdata.Bar, error) {
	var env struct {
		Series map[string]map[string]string `json:"Time Series (Daily)"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: decoding JSON: %v", marketdata.ErrBadResponse, err)
	}
	if len(env.Series) == 0 {
		return nil, fmt.Errorf("%w: no daily series", marketdata.ErrNotFound)
	}
	bars := make([]marketdata.Bar, 0, len(env.Series))
	for day, f := range env.Series {
		t, err := time.Parse(time.DateOnly, day)
		if err != nil {
			return nil, fmt.Errorf("%w: date %q", marketdata.ErrBadResponse, day)
		}
		b := marketdata.Bar{Time: t}
		for k, dst := range map[string]*float64{"1. open": &b.Open, "2. high": &b.High, "3. low": &b.Low, "4. close": &b.Close, "5. volume": &b.Volume} {
			v, err := strconv.ParseFloat(strings.TrimSpace(f[k]), 64)
			if err != nil || v < 0 || math.IsInf(v, 0) || math.IsNaN(v) {
				return nil, fmt.Errorf("%w: %s %s = %q", marketdata.ErrBadResponse, day, k, f[k])
			}
			*dst = v
		}
		if !(b.Close > 0) {
			return nil, fmt.Errorf("%w: %s close %v", marketdata.ErrBadResponse, day, b.Close)
		}
		b.AdjClose = b.Close
		bars = append(bars, b)
	}
	sort.Slice(bars, func(i, j int) bool { return bars[i].Time.Before(bars[j].Time) })
	return bars, nil
}

// History returns daily bars (the last 100 days, or all with a Start older
// than that) between req.Start and req.End.
func (c *Client) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	sym := strings.ToUpper(strings.TrimSpace(symbol))
	if !c.Supports(sym) {
		return marketdata.History{}, c.http.Unsupported(sym, "US shares only")
	}
	if req.Interval != "" && req.Interval != marketdata.Daily {
		return marketdata.History{}, c.http.Unsupported(sym, "interval "+string(req.Interval))
	}
	size := "compact"
	if !req.Start.IsZero() && time.Since(req.Start) > 140*24*time.Hour {
		size = "full"
	}
	body, _, err := c.query(ctx, sym, url.Values{"function": {"TIME_SERIES_DAILY"}, "symbol": {sym}, "outputsize": {size}})
	if err != nil {
		return marketdata.History{}, err
	}
	bars, err := ParseDaily(body)
	if err != nil {
		return marketdata.History{}, c.wrap(sym, err)
	}
	h := marketdata.History{Symbol: sym, Currency: "USD", Provider: "alphavantage", Interval: marketdata.Daily}
	for _, b := range bars {
		if (!req.Start.IsZero() && b.Time.Before(req.Start.UTC().Truncate(24*time.Hour))) || (!req.End.IsZero() && b.Time.After(req.End)) {
			continue
		}
		h.Bars = append(h.Bars, b)
	}
	return h, nil
}
