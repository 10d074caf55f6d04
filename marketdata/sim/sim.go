package sim

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/finkit/finkit/marketdata"
)

// Options configures a Provider. The zero value is usable: seed 0, no
// latency, no errors, the system clock.
type Options struct {
	Name        string           // provider name; default "sim"
	Seed        uint64           // same seed, same clock readings → same prices
	Latency     time.Duration    // delay before each answer (per call, not per symbol)
	Jitter      time.Duration    // extra random delay in [0, Jitter)
	ErrorRate   float64          // probability in [0,1] that a call fails with ErrUnavailable
	Noise       float64          // relative std-dev of this provider's price vs. the common path, e.g. 0.001
	Bias        float64          // relative offset added to every price (simulates a faulty source)
	AllSymbols  bool             // invent prices for unknown stock symbols instead of ErrNotFound
	Step        time.Duration    // model time resolution; default 1s
	Now         func() time.Time // clock; default time.Now
	StaleBy     time.Duration    // quotes are stamped this much in the past
	OutageEvery time.Duration    // with OutageFor: a scheduled outage at the start of every period…
	OutageFor   time.Duration    // …lasting this long (clock time since Start), for demos of the circuit breaker
	Start       time.Time        // start of the simulated path; default 2025-01-02 UTC
	HistoryDays int              // default history length when Start is zero; default 365
}

// Instrument describes a known symbol.
type Instrument struct {
	Symbol   string
	Name     string
	Currency string
	Kind     marketdata.Kind
	Price    float64 // price at Options.Start
	Drift    float64 // annual drift μ
	Vol      float64 // annual volatility σ
}

// instruments is the constant table of known symbols.
var instruments = []Instrument{
	{"AAPL", "Apple Inc.", "USD", marketdata.KindStock, 243.85, 0.10, 0.28},
	{"MSFT", "Microsoft Corporation", "USD", marketdata.KindStock, 418.58, 0.09, 0.25},
	{"GOOG", "Alphabet Inc. Class C", "USD", marketdata.KindStock, 190.63, 0.10, 0.30},
	{"AMZN", "Amazon.com, Inc.", "USD", marketdata.KindStock, 220.22, 0.10, 0.32},
	{"NVDA", "NVIDIA Corporation", "USD", marketdata.KindStock, 134.29, 0.20, 0.50},
	{"TSLA", "Tesla, Inc.", "USD", marketdata.KindStock, 403.84, 0.05, 0.60},
	{"SPY", "SPDR S&P 500 ETF Trust", "USD", marketdata.KindStock, 586.08, 0.08, 0.16},
	{"QQQ", "Invesco QQQ Trust", "USD", marketdata.KindStock, 511.23, 0.09, 0.20},
	{"EQNR.OL", "Equinor ASA", "NOK", marketdata.KindStock, 268.30, 0.04, 0.28},
	{"DNB.OL", "DNB Bank ASA", "NOK", marketdata.KindStock, 226.80, 0.06, 0.20},
	{"NHY.OL", "Norsk Hydro ASA", "NOK", marketdata.KindStock, 62.92, 0.05, 0.30},
	{"TEL.OL", "Telenor ASA", "NOK", marketdata.KindStock, 127.05, 0.03, 0.18},
	{"SAP.DE", "SAP SE", "EUR", marketdata.KindStock, 236.30, 0.10, 0.24},
	{"VOW3.DE", "Volkswagen AG", "EUR", marketdata.KindStock, 89.46, 0.00, 0.30},
	{"ASML.AS", "ASML Holding N.V.", "EUR", marketdata.KindStock, 680.10, 0.08, 0.35},
	{"HSBA.L", "HSBC Holdings plc", "GBP", marketdata.KindStock, 7.85, 0.05, 0.22},
	{"VOD.L", "Vodafone Group plc", "GBP", marketdata.KindStock, 0.68, 0.00, 0.25},
	{"7203.T", "Toyota Motor Corporation", "JPY", marketdata.KindStock, 2752, 0.05, 0.28},
	{"BTC-USD", "Bitcoin", "USD", marketdata.KindCrypto, 96886.88, 0.30, 0.65},
	{"ETH-USD", "Ethereum", "USD", marketdata.KindCrypto, 3451.12, 0.20, 0.80},
	{"SOL-USD", "Solana", "USD", marketdata.KindCrypto, 207.41, 0.20, 0.95},
	{"BTC-EUR", "Bitcoin", "EUR", marketdata.KindCrypto, 93614.47, 0.30, 0.65},
	{"BTC-NOK", "Bitcoin", "NOK", marketdata.KindCrypto, 1100000, 0.30, 0.65},
}

// usdPer is the USD value of one unit of each simulated currency at Start,
// with its annual volatility against USD.
var usdPer = map[string][2]float64{
	"USD": {1, 0},
	"EUR": {1.0354, 0.07},
	"GBP": {1.2385, 0.08},
	"NOK": {0.0882, 0.10},
	"SEK": {0.0905, 0.09},
	"DKK": {0.1388, 0.07},
	"CHF": {1.0995, 0.07},
	"JPY": {0.00636, 0.10},
	"CAD": {0.6952, 0.06},
	"AUD": {0.6207, 0.09},
}

// Instruments returns the known symbols.
func Instruments() []Instrument { return append([]Instrument(nil), instruments...) }

// Currencies returns the simulated currency codes.
func Currencies() []string {
	out := make([]string, 0, len(usdPer))
	for c := range usdPer {
		out = append(out, c)
	}
	return out
}

// Provider is the simulated provider. It implements marketdata.Provider,
// BatchProvider, RateProvider and HistoryProvider and is safe for concurrent
// use.
type Provider struct {
	opts   Options
	down   atomic.Bool
	mu     sync.Mutex
	paths  map[string]*path
	events *rand.Rand // error-rate and jitter draws; guarded by mu
	noise  *rand.Rand // per-provider noise; guarded by mu
}

type path struct {
	t    time.Time // model time of logP
	logP float64
	mu   float64
	vol  float64
	rng  *rand.Rand
}

// New returns a simulated provider.
func New(opts Options) (*Provider, error) {
	if opts.ErrorRate < 0 || opts.ErrorRate > 1 || math.IsNaN(opts.ErrorRate) {
		return nil, fmt.Errorf("sim: error rate %v outside [0,1]", opts.ErrorRate)
	}
	if opts.Noise < 0 || opts.Noise > 0.5 || math.IsNaN(opts.Noise) {
		return nil, fmt.Errorf("sim: noise %v outside [0,0.5]", opts.Noise)
	}
	if opts.Bias <= -1 || math.IsNaN(opts.Bias) || math.IsInf(opts.Bias, 0) {
		return nil, fmt.Errorf("sim: bias %v must be > -1", opts.Bias)
	}
	if opts.Latency < 0 || opts.Jitter < 0 || opts.Step < 0 || opts.HistoryDays < 0 || opts.OutageEvery < 0 || opts.OutageFor < 0 {
		return nil, fmt.Errorf("sim: negative duration")
	}
	if opts.Name == "" {
		opts.Name = "sim"
	}
	if opts.Step == 0 {
		opts.Step = time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Start.IsZero() {
		opts.Start = time.Date(2025, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	if opts.HistoryDays == 0 {
		opts.HistoryDays = 365
	}
	return &Provider{
		opts:   opts,
		paths:  make(map[string]*path),
		events: rand.New(rand.NewPCG(opts.Seed, hash(opts.Name+"/events"))),
		noise:  rand.New(rand.NewPCG(opts.Seed, hash(opts.Name+"/noise"))),
	}, nil
}

// Name returns the provider name.
func (p *Provider) Name() string { return p.opts.Name }

// SetOutage switches a simulated outage on or off: while on, every call
// fails with ErrUnavailable after the usual latency.
func (p *Provider) SetOutage(down bool) { p.down.Store(down) }

func hash(s string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return h.Sum64()
}

// lookup returns the instrument for a symbol.
func (p *Provider) lookup(symbol string) (Instrument, error) {
	sym, err := marketdata.ParseSymbol(symbol)
	if err != nil {
		return Instrument{}, &marketdata.Error{Provider: p.opts.Name, Symbol: symbol, Kind: marketdata.ErrInvalidSymbol, Err: err}
	}
	for _, in := range instruments {
		if in.Symbol == sym.Raw {
			return in, nil
		}
	}
	switch sym.Kind {
	case marketdata.KindFX:
		b, okb := usdPer[sym.Base]
		q, okq := usdPer[sym.Quote]
		if !okb || !okq {
			return Instrument{}, marketdata.NewError(p.opts.Name, symbol, marketdata.ErrNotFound, "currency not simulated")
		}
		vol := math.Sqrt(b[1]*b[1] + q[1]*q[1])
		return Instrument{Symbol: sym.Raw, Name: sym.Base + "/" + sym.Quote, Currency: sym.Quote, Kind: marketdata.KindFX, Price: b[0] / q[0], Vol: vol}, nil
	case marketdata.KindStock:
		if p.opts.AllSymbols {
			h := hash(sym.Raw)
			price := 10 + float64(h%49000)/100
			return Instrument{Symbol: sym.Raw, Name: sym.Raw, Currency: "USD", Kind: marketdata.KindStock, Price: price, Drift: 0.07, Vol: 0.30}, nil
		}
	}
	return Instrument{}, marketdata.NewError(p.opts.Name, symbol, marketdata.ErrNotFound, "unknown symbol")
}

// scheduledOutage reports whether the clock is inside a scheduled outage.
func (p *Provider) scheduledOutage() bool {
	if p.opts.OutageEvery <= 0 || p.opts.OutageFor <= 0 {
		return false
	}
	since := p.opts.Now().Sub(p.opts.Start)
	return since >= 0 && since%p.opts.OutageEvery < p.opts.OutageFor
}

// wait sleeps for the configured latency and decides whether the call fails.
func (p *Provider) wait(ctx context.Context, symbol string) error {
	d := p.opts.Latency
	p.mu.Lock()
	if p.opts.Jitter > 0 {
		d += time.Duration(p.events.Int64N(int64(p.opts.Jitter)))
	}
	fail := p.opts.ErrorRate > 0 && p.events.Float64() < p.opts.ErrorRate
	p.mu.Unlock()
	if d > 0 {
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return &marketdata.Error{Provider: p.opts.Name, Symbol: symbol, Kind: marketdata.ErrUnavailable, Err: ctx.Err()}
		case <-t.C:
		}
	} else if err := ctx.Err(); err != nil {
		return &marketdata.Error{Provider: p.opts.Name, Symbol: symbol, Kind: marketdata.ErrUnavailable, Err: err}
	}
	if p.down.Load() || p.scheduledOutage() {
		return &marketdata.Error{Provider: p.opts.Name, Symbol: symbol, Kind: marketdata.ErrUnavailable, Status: 503, Msg: "simulated outage"}
	}
	if fail {
		return &marketdata.Error{Provider: p.opts.Name, Symbol: symbol, Kind: marketdata.ErrUnavailable, Status: 500, Msg: "simulated error"}
	}
	return nil
}

const year = 365.25 * 24 * float64(time.Hour)

// priceAt advances the symbol's path to the model time of now and returns
// the common (noise-free) price. Currency pairs are not paths of their own:
// each currency follows one path against USD and a pair is the ratio of its
// two legs, so USDNOK is exactly 1/NOKUSD and EURNOK = EURUSD × USDNOK, as on
// a real market without arbitrage. Caller holds p.mu.
func (p *Provider) priceAt(in Instrument, now time.Time) float64 {
	if in.Kind == marketdata.KindFX {
		if base, quote, ok := strings.Cut(in.Name, "/"); ok {
			return p.usdValue(base, now) / p.usdValue(quote, now)
		}
	}
	pa := p.paths[in.Symbol]
	if pa == nil {
		pa = &path{t: p.opts.Start, logP: math.Log(in.Price), mu: in.Drift, vol: in.Vol,
			rng: rand.New(rand.NewPCG(p.opts.Seed, hash(in.Symbol)))}
		p.paths[in.Symbol] = pa
	}
	t := now.Truncate(p.opts.Step)
	if t.After(pa.t) {
		dt := float64(t.Sub(pa.t)) / year
		pa.logP += (pa.mu-pa.vol*pa.vol/2)*dt + pa.vol*math.Sqrt(dt)*pa.rng.NormFloat64()
		pa.t = t
	}
	return math.Exp(pa.logP)
}

// usdValue is the noise-free USD value of one unit of currency ccy at now.
// Caller holds p.mu.
func (p *Provider) usdValue(ccy string, now time.Time) float64 {
	v := usdPer[ccy]
	if v[1] == 0 {
		return v[0]
	}
	return p.priceAt(Instrument{Symbol: "currency:" + ccy, Currency: "USD", Price: v[0], Vol: v[1]}, now)
}

// quote builds a quote. Caller holds p.mu.
func (p *Provider) quote(in Instrument, now time.Time) marketdata.Quote {
	price := p.priceAt(in, now)
	if p.opts.Noise > 0 {
		price *= 1 + p.opts.Noise*p.noise.NormFloat64()
	}
	price *= 1 + p.opts.Bias
	return marketdata.Quote{Symbol: in.Symbol, Price: price, Currency: in.Currency,
		Time: now.Add(-p.opts.StaleBy), Provider: p.opts.Name}
}

// Quote returns the simulated price of symbol.
func (p *Provider) Quote(ctx context.Context, symbol string) (marketdata.Quote, error) {
	start := time.Now()
	in, err := p.lookup(symbol)
	if err != nil {
		return marketdata.Quote{}, err
	}
	if err := p.wait(ctx, symbol); err != nil {
		return marketdata.Quote{}, err
	}
	p.mu.Lock()
	q := p.quote(in, p.opts.Now())
	p.mu.Unlock()
	q.Symbol = symbol
	q.Latency = time.Since(start)
	return q, nil
}

// Quotes returns the simulated prices of many symbols in one call; unknown
// symbols are left out of the map.
func (p *Provider) Quotes(ctx context.Context, symbols []string) (map[string]marketdata.Quote, error) {
	start := time.Now()
	if err := p.wait(ctx, ""); err != nil {
		return nil, err
	}
	out := make(map[string]marketdata.Quote, len(symbols))
	now := p.opts.Now()
	p.mu.Lock()
	defer p.mu.Unlock()
	lat := time.Since(start)
	for _, s := range symbols {
		in, err := p.lookup(s)
		if err != nil {
			continue
		}
		q := p.quote(in, now)
		q.Symbol = s
		q.Latency = lat
		out[s] = q
	}
	return out, nil
}

// Rate returns the simulated exchange rate from → to.
func (p *Provider) Rate(ctx context.Context, from, to string) (marketdata.Rate, error) {
	start := time.Now()
	if !marketdata.IsCurrency(from) || !marketdata.IsCurrency(to) {
		return marketdata.Rate{}, marketdata.NewError(p.opts.Name, from+"/"+to, marketdata.ErrInvalidSymbol, "want ISO 4217 codes")
	}
	if from == to {
		return marketdata.Rate{From: from, To: to, Rate: 1, Time: p.opts.Now(), Provider: p.opts.Name}, nil
	}
	q, err := p.Quote(ctx, marketdata.FXSymbol(from, to))
	if err != nil {
		return marketdata.Rate{}, err
	}
	return marketdata.Rate{From: from, To: to, Rate: q.Price, Time: q.Time, Provider: p.opts.Name, Latency: time.Since(start)}, nil
}

// History returns simulated daily bars for symbol: weekdays for shares and
// currencies, every day for crypto. The shape of the series depends only on
// the seed, the symbol and the requested dates; it is scaled so that its
// last close is the quote path's price at the end of the range.
func (p *Provider) History(ctx context.Context, symbol string, req marketdata.HistoryRequest) (marketdata.History, error) {
	in, err := p.lookup(symbol)
	if err != nil {
		return marketdata.History{}, err
	}
	if req.Interval != "" && req.Interval != marketdata.Daily {
		return marketdata.History{}, marketdata.NewError(p.opts.Name, symbol, marketdata.ErrUnsupported, "only daily bars are simulated")
	}
	if err := p.wait(ctx, symbol); err != nil {
		return marketdata.History{}, err
	}
	end := req.End
	if end.IsZero() {
		end = p.opts.Now()
	}
	end = end.UTC().Truncate(24 * time.Hour)
	start := req.Start
	if start.IsZero() {
		start = end.AddDate(0, 0, -p.opts.HistoryDays)
	}
	start = start.UTC().Truncate(24 * time.Hour)
	if !start.Before(end) {
		return marketdata.History{}, fmt.Errorf("sim: %s: start %s not before end %s", symbol, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	if end.Sub(start) > 60*366*24*time.Hour {
		return marketdata.History{}, fmt.Errorf("sim: %s: range longer than 60 years", symbol)
	}
	rng := rand.New(rand.NewPCG(p.opts.Seed, hash(in.Symbol+"/history")))
	days := int(end.Sub(start)/(24*time.Hour)) + 1
	bars := make([]marketdata.Bar, 0, days)
	logP := math.Log(in.Price)
	dt := 1 / 365.25
	carry := 0.0
	for d := start; !d.After(end); d = d.AddDate(0, 0, 1) {
		wd := d.Weekday()
		step := (in.Drift-in.Vol*in.Vol/2)*dt + in.Vol*math.Sqrt(dt)*rng.NormFloat64()
		if in.Kind != marketdata.KindCrypto && (wd == time.Saturday || wd == time.Sunday) {
			carry += step // weekend moves show up in Monday's open
			continue
		}
		open := math.Exp(logP + carry)
		logP += carry + step
		carry = 0
		cl := math.Exp(logP)
		spread := in.Vol * math.Sqrt(dt) * math.Abs(rng.NormFloat64()) * 0.5
		hi := math.Max(open, cl) * (1 + spread)
		lo := math.Min(open, cl) * (1 - spread)
		vol := 0.0
		if in.Kind != marketdata.KindFX {
			vol = math.Round(1e6 * (1 + rng.Float64()))
		}
		bars = append(bars, marketdata.Bar{Time: d, Open: open, High: hi, Low: lo, Close: cl, AdjClose: cl, Volume: vol})
	}
	if len(bars) == 0 {
		return marketdata.History{}, marketdata.NewError(p.opts.Name, symbol, marketdata.ErrNotFound, "no trading days in range")
	}
	// Anchor the series to the live quote path, so that a chart ending now
	// ends at the price Quote reports.
	at := end.Add(24*time.Hour - time.Nanosecond)
	if now := p.opts.Now(); at.After(now) {
		at = now // never move the live path into the future
	}
	p.mu.Lock()
	anchor := p.priceAt(in, at)
	p.mu.Unlock()
	k := anchor / bars[len(bars)-1].Close
	for i := range bars {
		b := &bars[i]
		b.Open, b.High, b.Low, b.Close, b.AdjClose = b.Open*k, b.High*k, b.Low*k, b.Close*k, b.AdjClose*k
	}
	return marketdata.History{Symbol: symbol, Currency: in.Currency, Provider: p.opts.Name, Interval: marketdata.Daily, Bars: bars}, nil
}
