package marketdata

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Kind is the asset kind of a symbol.
type Kind string

// Asset kinds.
const (
	KindStock  Kind = "stock"  // shares, ETFs, funds: "AAPL", "EQNR.OL"
	KindFX     Kind = "fx"     // currency pairs: "EURUSD=X"
	KindCrypto Kind = "crypto" // coins against a currency: "BTC-USD"
)

// Quote is one provider's latest price for a symbol.
type Quote struct {
	Symbol    string        `json:"symbol"`
	Price     float64       `json:"price"`
	Currency  string        `json:"currency"` // ISO 4217, after unit fixes (GBp → GBP)
	Time      time.Time     `json:"time"`     // when the price was set by the market
	PrevClose float64       `json:"prev_close,omitempty"`
	Provider  string        `json:"provider"`
	Latency   time.Duration `json:"latency"` // round trip of the call that fetched it
}

// Summary implements portfolio.Reportable.
func (q Quote) Summary() string {
	s := fmt.Sprintf("%s %s %s (%s", q.Symbol, formatPrice(q.Price), q.Currency, q.Provider)
	if !q.Time.IsZero() {
		s += ", " + q.Time.UTC().Format("2006-01-02 15:04Z")
	}
	return s + ")"
}

// Rate is the price of one unit of From in To.
type Rate struct {
	From       string        `json:"from"`
	To         string        `json:"to"`
	Rate       float64       `json:"rate"`
	Time       time.Time     `json:"time"`
	Provider   string        `json:"provider"` // for a consensus: the agreeing providers, joined by "+"
	Latency    time.Duration `json:"latency"`
	Confidence Confidence    `json:"confidence,omitempty"` // set by the Aggregator (see Merged.Confidence)
}

// Summary implements portfolio.Reportable.
func (r Rate) Summary() string {
	s := fmt.Sprintf("1 %s = %s %s (%s", r.From, formatPrice(r.Rate), r.To, r.Provider)
	if !r.Time.IsZero() {
		s += ", " + r.Time.UTC().Format("2006-01-02")
	}
	if r.Confidence == ConfidenceLow {
		s += ", LOW CONFIDENCE"
	}
	return s + ")"
}

// Bar is one period (usually a day) of prices. AdjClose is the close
// adjusted for splits and dividends when the provider gives it, else Close.
type Bar struct {
	Time     time.Time `json:"time"`
	Open     float64   `json:"open"`
	High     float64   `json:"high"`
	Low      float64   `json:"low"`
	Close    float64   `json:"close"`
	AdjClose float64   `json:"adj_close,omitempty"`
	Volume   float64   `json:"volume"`
}

// Split is a stock split: Numerator new shares for Denominator old ones.
type Split struct {
	Time        time.Time `json:"time"`
	Numerator   float64   `json:"numerator"`
	Denominator float64   `json:"denominator"`
}

// Dividend is a cash dividend per share.
type Dividend struct {
	Time   time.Time `json:"time"`
	Amount float64   `json:"amount"`
}

// History is a bar series for one symbol, oldest first.
type History struct {
	Symbol    string     `json:"symbol"`
	Currency  string     `json:"currency"`
	Provider  string     `json:"provider"`
	Interval  Interval   `json:"interval"`
	Bars      []Bar      `json:"bars"`
	Splits    []Split    `json:"splits,omitempty"`
	Dividends []Dividend `json:"dividends,omitempty"`
	Live      bool       `json:"live,omitempty"` // the last bar is still trading (incomplete)
}

// Interval is the bar length of a history request.
type Interval string

// Bar intervals. Not every provider offers intraday bars.
const (
	Daily   Interval = "1d"
	Weekly  Interval = "1wk"
	Minute  Interval = "1m"
	Minute5 Interval = "5m"
	Hourly  Interval = "1h"
	Monthly Interval = "1mo"
)

// HistoryRequest says which bars to fetch. Zero Start means as far back as
// the provider's default; zero End means now; empty Interval means Daily.
type HistoryRequest struct {
	Start    time.Time
	End      time.Time
	Interval Interval
}

// Provider fetches the latest quote of one symbol. Implementations must be
// safe for concurrent use and return *Error values wrapping the sentinels.
type Provider interface {
	Name() string
	Quote(ctx context.Context, symbol string) (Quote, error)
}

// BatchProvider can fetch many symbols in one upstream call. The result maps
// each found symbol (as asked) to its quote; symbols missing from the map
// were not found. The error is for the whole call.
type BatchProvider interface {
	Provider
	Quotes(ctx context.Context, symbols []string) (map[string]Quote, error)
}

// RateProvider fetches an exchange rate.
type RateProvider interface {
	Name() string
	Rate(ctx context.Context, from, to string) (Rate, error)
}

// HistoryProvider fetches a bar series.
type HistoryProvider interface {
	Name() string
	History(ctx context.Context, symbol string, req HistoryRequest) (History, error)
}

func formatPrice(p float64) string {
	switch {
	case p >= 1000:
		return strconv.FormatFloat(p, 'f', 2, 64)
	case p >= 1:
		return strconv.FormatFloat(p, 'f', 4, 64)
	default:
		return strconv.FormatFloat(p, 'g', 6, 64)
	}
}

// Symbol is a parsed symbol in Yahoo notation.
type Symbol struct {
	Raw    string // as given, upper-cased
	Kind   Kind
	Base   string // stock ticker without suffix, coin code, or FX base currency
	Quote  string // FX/crypto quote currency; empty for stocks
	Suffix string // exchange suffix of a stock without the dot ("OL", "L"), or ""
}

// ParseSymbol classifies a symbol: "EURUSD=X" is an FX pair, "BTC-USD" (a
// coin code, a dash and a 3-letter currency) is crypto, anything else is a
// stock, optionally with an exchange suffix after the last dot.
func ParseSymbol(s string) (Symbol, error) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if s == "" || len(s) > 32 {
		return Symbol{}, fmt.Errorf("%w: %q", ErrInvalidSymbol, s)
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '-' || c == '=' || c == '^' || c == '_') {
			return Symbol{}, fmt.Errorf("%w: %q", ErrInvalidSymbol, s)
		}
	}
	if pair, ok := strings.CutSuffix(s, "=X"); ok {
		if len(pair) == 6 && IsCurrency(pair[:3]) && IsCurrency(pair[3:]) {
			return Symbol{Raw: s, Kind: KindFX, Base: pair[:3], Quote: pair[3:]}, nil
		}
		if len(pair) == 3 && IsCurrency(pair) { // "NOK=X" means USDNOK
			return Symbol{Raw: s, Kind: KindFX, Base: "USD", Quote: pair}, nil
		}
		return Symbol{}, fmt.Errorf("%w: %q is not a currency pair", ErrInvalidSymbol, s)
	}
	if base, quote, ok := strings.Cut(s, "-"); ok && len(quote) == 3 && IsCurrency(quote) && base != "" && !strings.ContainsAny(base, ".=^") {
		return Symbol{Raw: s, Kind: KindCrypto, Base: base, Quote: quote}, nil
	}
	if strings.ContainsAny(s, "=") {
		return Symbol{}, fmt.Errorf("%w: %q", ErrInvalidSymbol, s)
	}
	sym := Symbol{Raw: s, Kind: KindStock, Base: s}
	if i := strings.LastIndexByte(s, '.'); i > 0 && i < len(s)-1 {
		sym.Base, sym.Suffix = s[:i], s[i+1:]
	}
	return sym, nil
}

// IsCurrency reports whether c looks like an ISO 4217 code (three upper-case
// ASCII letters).
func IsCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for i := 0; i < 3; i++ {
		if c[i] < 'A' || c[i] > 'Z' {
			return false
		}
	}
	return true
}

// FXSymbol returns the Yahoo-style symbol of a currency pair, "EURUSD=X".
func FXSymbol(from, to string) string { return from + to + "=X" }

// The plausible ranges of provider data. A price or rate outside them (or
// not finite) is a provider error, never a number to compute with: every
// product and quotient of two plausible values stays far from overflow, and
// decimal.NewFromFloat never sees an infinity.
const (
	MinPrice = 1e-12 // smallest plausible price (the cheapest tokens trade near 1e-9)
	MaxPrice = 1e12  // largest plausible price (Bitcoin in rials is near 1e11)
	MinRate  = 1e-9  // smallest plausible exchange rate
	MaxRate  = 1e9   // largest plausible exchange rate
)

// ValidPrice reports whether p is a finite price in [MinPrice, MaxPrice].
func ValidPrice(p float64) bool { return p >= MinPrice && p <= MaxPrice }

// ValidRate reports whether r is a finite exchange rate in [MinRate, MaxRate].
func ValidRate(r float64) bool { return r >= MinRate && r <= MaxRate }

// MaxRetryAfter caps how long a provider's Retry-After may pause it: a
// hostile or broken header must not switch a source off for days.
const MaxRetryAfter = time.Hour

// MaxClockSkew is how far a quote's time may lie ahead of the clock before
// the quote is rejected as implausible (a source stamped in the future would
// otherwise look fresher than every honest one).
const MaxClockSkew = 15 * time.Minute

// timeWindow is the range of plausible market times at a given clock:
// from 1970 to MaxClockSkew ahead of the clock, and never past year 9999
// (which JSON cannot encode).
type timeWindow struct{ lo, hi time.Time }

func windowAt(now time.Time) timeWindow {
	w := timeWindow{lo: time.Unix(0, 0), hi: time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC)}
	if !now.IsZero() && now.Add(MaxClockSkew).Before(w.hi) {
		w.hi = now.Add(MaxClockSkew)
	}
	return w
}

func (w timeWindow) contains(t time.Time) bool { return !t.Before(w.lo) && !t.After(w.hi) }
