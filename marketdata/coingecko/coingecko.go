package coingecko

import (
	"context"
	"encoding/json"
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
const DefaultBaseURL = "https://api.coingecko.com/api/v3"

// DefaultLimit is the free demo plan's allowance of 30 calls per minute.
func DefaultLimit() marketdata.Limit { return marketdata.Limit{PerSecond: 0.5, Burst: 5} }

// Options configure a Client.
type Options struct {
	BaseURL    string
	APIKey     string            // optional demo key (or pro key with Pro)
	Pro        bool              // send the key as a pro key
	Coins      map[string]string // extra coin code → CoinGecko id, e.g. "PEPE": "pepe"
	HTTPClient *http.Client      // default: 10s timeout
	UserAgent  string
	MaxBytes   int64
}

// coinIDs maps common coin codes to CoinGecko ids.
var coinIDs = map[string]string{
	"BTC": "bitcoin", "ETH": "ethereum", "SOL": "solana", "XRP": "ripple", "ADA": "cardano",
	"DOGE": "dogecoin", "DOT": "polkadot", "LTC": "litecoin", "BNB": "binancecoin", "USDT": "tether",
	"USDC": "usd-coin", "AVAX": "avalanche-2", "LINK": "chainlink", "TRX": "tron", "XLM": "stellar",
	"BCH": "bitcoin-cash", "XMR": "monero", "ATOM": "cosmos", "SHIB": "shiba-inu", "TON": "the-open-network",
}

// Client is a CoinGecko client. It implements marketdata.BatchProvider and
// Supporter.
type Client struct {
	base  string
	http  *httpx.Client
	coins map[string]string
}

// New returns a Client.
func New(opts Options) (*Client, error) {
	base, err := httpx.BaseURL("coingecko", opts.BaseURL, DefaultBaseURL)
	if err != nil {
		return nil, err
	}
	coins := make(map[string]string, len(coinIDs)+len(opts.Coins))
	for k, v := range coinIDs {
		coins[k] = v
	}
	for k, v := range opts.Coins {
		if k == "" || v == "" || strings.ContainsAny(v, ",&?/ ") {
			return nil, fmt.Errorf("coingecko: bad coin mapping %q → %q", k, v)
		}
		coins[strings.ToUpper(k)] = v
	}
	c := &Client{base: base, http: httpx.New("coingecko", opts.HTTPClient, opts.UserAgent, opts.MaxBytes), coins: coins}
	if opts.APIKey != "" {
		h := "x-cg-demo-api-key"
		if opts.Pro {
			h = "x-cg-pro-api-key"
		}
		c.http.Header = http.Header{http.CanonicalHeaderKey(h): {opts.APIKey}}
	}
	return c, nil
}

// Name returns "coingecko".
func (c *Client) Name() string { return "coingecko" }

// CoinID returns the CoinGecko id and the lower-case vs currency of a crypto
// symbol such as "BTC-USD".
func (c *Client) CoinID(symbol string) (id, vs string, err error) {
	s, err := marketdata.ParseSymbol(symbol)
	if err != nil {
		return "", "", err
	}
	if s.Kind != marketdata.KindCrypto {
		return "", "", fmt.Errorf("%w: coingecko prices crypto only, not %q", marketdata.ErrUnsupported, symbol)
	}
	id, ok := c.coins[s.Base]
	if !ok {
		return "", "", fmt.Errorf("%w: no CoinGecko id known for %q", marketdata.ErrUnsupported, s.Base)
	}
	return id, strings.ToLower(s.Quote), nil
}

// Supports reports whether symbol is a crypto pair with a known coin id.
func (c *Client) Supports(symbol string) bool {
	_, _, err := c.CoinID(symbol)
	return err == nil
}

// Quote returns the price of one crypto symbol.
func (c *Client) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	return c.http.OneQuote(ctx, symbol, c.Quotes, "coin or currency missing from answer")
}

// Prices is a decoded simple-price answer: coin id → field → value, where
// fields are vs currencies ("usd") and extras ("usd_24h_change",
// "last_updated_at").
type Prices map[string]map[string]float64

// ParsePrices decodes a simple-price body. A {"status":{"error_code":…}}
// object is returned as an error message with the code.
func ParsePrices(body []byte) (Prices, int, string, error) {
	var status struct {
		Status *struct {
			ErrorCode    int    `json:"error_code"`
			ErrorMessage string `json:"error_message"`
		} `json:"status"`
		Error string `json:"error"`
	}
	if json.Unmarshal(body, &status) == nil {
		if status.Status != nil && status.Status.ErrorCode != 0 {
			return nil, status.Status.ErrorCode, status.Status.ErrorMessage, nil
		}
		if status.Error != "" {
			return nil, 0, status.Error, nil
		}
	}
	var p Prices
	if err := json.Unmarshal(body, &p); err != nil {
		return nil, 0, "", fmt.Errorf("decoding JSON: %w", err)
	}
	return p, 0, "", nil
}

// Quotes prices many crypto symbols in one request.
func (c *Client) Quotes(ctx context.Context, symbols []string) (map[string]marketdata.Quote, error) {
	start := time.Now()
	type want struct{ sym, id, vs string }
	wants := make([]want, 0, len(symbols))
	idSet, vsSet := map[string]bool{}, map[string]bool{}
	for _, s := range symbols {
		id, vs, err := c.CoinID(s)
		if err != nil {
			return nil, &marketdata.Error{Provider: "coingecko", Symbol: s, Kind: marketdata.ErrUnsupported, Err: err}
		}
		wants = append(wants, want{s, id, vs})
		idSet[id], vsSet[vs] = true, true
	}
	if len(wants) == 0 {
		return map[string]marketdata.Quote{}, nil
	}
	label := ""
	if len(symbols) == 1 {
		label = strings.ToUpper(symbols[0])
	}
	q := url.Values{"ids": {join(idSet)}, "vs_currencies": {join(vsSet)}, "include_last_updated_at": {"true"}}
	resp, err := c.http.Get(ctx, label, c.base+"/simple/price?"+q.Encode(), "application/json")
	if err != nil {
		return nil, err
	}
	if httpx.LooksLikeHTML(resp.Body) && resp.Status < 300 {
		return nil, c.http.Bad(label, "HTML instead of JSON", nil)
	}
	prices, code, msg, perr := ParsePrices(resp.Body)
	if resp.Status == http.StatusTooManyRequests || code == http.StatusTooManyRequests {
		return nil, &marketdata.Error{Provider: "coingecko", Symbol: label, Kind: marketdata.ErrRateLimited, Status: http.StatusTooManyRequests,
			RetryAfter: httpx.ParseRetryAfter(resp.Header.Get("Retry-After"), time.Now()), Msg: msg}
	}
	if err := c.http.Check(resp, label); err != nil {
		return nil, err
	}
	if perr != nil {
		return nil, c.http.Bad(label, "", perr)
	}
	if code != 0 || msg != "" {
		return nil, &marketdata.Error{Provider: "coingecko", Symbol: label, Kind: marketdata.ErrUnavailable, Status: code, Msg: msg}
	}
	lat := time.Since(start)
	out := make(map[string]marketdata.Quote, len(wants))
	for _, w := range wants {
		fields, ok := prices[w.id]
		if !ok {
			continue
		}
		p, ok := fields[w.vs]
		if !ok || !marketdata.ValidPrice(p) {
			continue
		}
		qt := marketdata.Quote{Symbol: strings.ToUpper(w.sym), Price: p, Currency: strings.ToUpper(w.vs), Provider: "coingecko", Latency: lat}
		if ts, ok := fields["last_updated_at"]; ok {
			// Without it the quote is undated (stale to the Aggregator).
			t, ok := httpx.UnixTime(int64(min(max(ts, -1), 1e15)), time.Now())
			if !ok {
				continue // stamped in the future: implausible
			}
			qt.Time = t
		}
		if ch, ok := fields[w.vs+"_24h_change"]; ok && ch > -100 {
			if pc := p / (1 + ch/100); marketdata.ValidPrice(pc) {
				qt.PrevClose = pc
			}
		}
		out[w.sym] = qt
	}
	return out, nil
}

func join(set map[string]bool) string {
	s := make([]string, 0, len(set))
	for k := range set {
		s = append(s, k)
	}
	sort.Strings(s)
	return strings.Join(s, ",")
}
