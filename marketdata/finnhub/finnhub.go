package finnhub

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/internal/httpx"
)

// DefaultBaseURL is the API root used when Options.BaseURL is empty.
const DefaultBaseURL = "https://finnhub.io/api/v1"

// DefaultLimit is the free plan's allowance of 60 calls per minute.
func DefaultLimit() marketdata.Limit { return marketdata.Limit{PerSecond: 1, Burst: 5} }

// Options configure a Client.
type Options struct {
	BaseURL    string
	APIKey     string // default: $FINNHUB_API_KEY
	HTTPClient *http.Client
	UserAgent  string
	MaxBytes   int64
}

// Client is a Finnhub client. It implements marketdata.Provider,
// RateProvider and Supporter.
type Client struct {
	base string
	http *httpx.Client
}

// New returns a Client; it fails without an API key.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("finnhub", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	key := opts.APIKey
	if key == "" {
		key = os.Getenv("FINNHUB_API_KEY")
	}
	if key == "" {
		return nil, fmt.Errorf("finnhub: no API key (Options.APIKey or FINNHUB_API_KEY)")
	}
	c := &Client{base: base, http: httpx.New("finnhub", opts.HTTPClient, opts.UserAgent, opts.MaxBytes)}
	c.http.Header = http.Header{"X-Finnhub-Token": {key}}
	return c, nil
}

// Name returns "finnhub".
func (c *Client) Name() string { return "finnhub" }

// Symbol maps a Yahoo-notation symbol to Finnhub's and the price currency:
// "AAPL" → "AAPL" (USD), "EURUSD=X" → "OANDA:EUR_USD" (USD).
func Symbol(symbol string) (string, string, error) {
	s, err := marketdata.ParseSymbol(symbol)
	if err != nil {
		return "", "", err
	}
	switch {
	case s.Kind == marketdata.KindFX:
		return "OANDA:" + s.Base + "_" + s.Quote, s.Quote, nil
	case s.Kind == marketdata.KindStock && s.Suffix == "" && !strings.ContainsAny(s.Base, "^"):
		return s.Base, "USD", nil
	}
	return "", "", fmt.Errorf("%w: finnhub quotes US shares and OANDA pairs, not %q", marketdata.ErrUnsupported, symbol)
}

// Supports reports whether Finnhub covers symbol.
func (c *Client) Supports(symbol string) bool {
	_, _, err := Symbol(symbol)
	return err == nil
}

// Raw is Finnhub's quote object: current, change, change %, high, low,
// open, previous close and time (Unix seconds).
type Raw struct {
	C  float64 `json:"c"`
	D  float64 `json:"d"`
	DP float64 `json:"dp"`
	H  float64 `json:"h"`
	L  float64 `json:"l"`
	O  float64 `json:"o"`
	PC float64 `json:"pc"`
	T  int64   `json:"t"`
}

// ParseQuote decodes a quote body. An all-zero answer is ErrNotFound.
func ParseQuote(body []byte) (Raw, error) {
	var r Raw
	if err := json.Unmarshal(body, &r); err != nil {
		return Raw{}, fmt.Errorf("%w: decoding JSON: %v", marketdata.ErrBadResponse, err)
	}
	if r.C == 0 && r.H == 0 && r.L == 0 && r.O == 0 && r.PC == 0 {
		return Raw{}, fmt.Errorf("%w: all-zero quote (no data)", marketdata.ErrNotFound)
	}
	for _, v := range []float64{r.C, r.H, r.L, r.O, r.PC} {
		if v != 0 && !marketdata.ValidPrice(v) {
			return Raw{}, fmt.Errorf("%w: value %v", marketdata.ErrBadResponse, v)
		}
	}
	if !(r.C > 0) {
		return Raw{}, fmt.Errorf("%w: no current price", marketdata.ErrNotFound)
	}
	if _, ok := httpx.UnixTime(r.T, time.Now()); !ok || r.T < 0 {
		return Raw{}, fmt.Errorf("%w: time %d", marketdata.ErrBadResponse, r.T)
	}
	return r, nil
}

// Quote returns the latest price of symbol.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	start := time.Now()
	sym := strings.ToUpper(strings.TrimSpace(symbol))
	fs, cur, err := Symbol(sym)
	if err != nil {
		return marketdata.Quote{}, &marketdata.Error{Provider: "finnhub", Symbol: sym, Kind: marketdata.ErrUnsupported, Err: err}
	}
	resp, err := c.http.Get(ctx, sym, c.base+"/quote?symbol="+url.QueryEscape(fs), "application/json")
	if err != nil {
		return marketdata.Quote{}, err
	}
	if err := c.http.Check(resp, sym); err != nil {
		return marketdata.Quote{}, err
	}
	if httpx.LooksLikeHTML(resp.Body) {
		return marketdata.Quote{}, c.http.Bad(sym, "HTML instead of JSON", nil)
	}
	var e struct {
		Error string `json:"error"`
	}
	if json.Unmarshal(resp.Body, &e) == nil && e.Error != "" {
		kind := marketdata.ErrUnavailable
		if strings.Contains(strings.ToLower(e.Error), "limit") {
			kind = marketdata.ErrRateLimited
		}
		return marketdata.Quote{}, &marketdata.Error{Provider: "finnhub", Symbol: sym, Kind: kind, Msg: e.Error}
	}
	r, err := ParseQuote(resp.Body)
	if err != nil {
		kind := marketdata.ErrBadResponse
		if errors.Is(err, marketdata.ErrNotFound) {
			kind = marketdata.ErrNotFound
		}
		return marketdata.Quote{}, &marketdata.Error{Provider: "finnhub", Symbol: sym, Kind: kind, Msg: strings.TrimPrefix(err.Error(), kind.Error()+": ")}
	}
	q := marketdata.Quote{Symbol: sym, Price: r.C, Currency: cur, PrevClose: r.PC, Provider: "finnhub", Latency: time.Since(start)}
	q.Time, _ = httpx.UnixTime(r.T, time.Now()) // t = 0: undated, which the Aggregator treats as stale
	return q, nil
}

// Rate returns the OANDA rate from → to.
func (c *Client) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	q, err := c.Quote(ctx, marketdata.FXSymbol(from, to))
	if err != nil {
		return marketdata.Rate{}, err
	}
	return marketdata.Rate{From: from, To: to, Rate: q.Price, Time: q.Time, Provider: "finnhub", Latency: q.Latency}, nil
}
