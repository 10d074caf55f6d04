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
// latency, no errors, the system clock. Default gives the options of the
// default market, which the finkit dashboard and command line share.
type Options struct {
	Name        string           // provider name; default "sim"
	Seed        uint64           // same seed and Start, same market: the same price at the same instant
	Latency     time.Duration    // delay before each answer (per call, not per symbol)
	Jitter      time.Duration    // extra random delay in [0, Jitter)
	ErrorRate   float64          // probability in [0,1] that a call fails with ErrUnavailable
	Noise       float64          // relative std-dev of this provider's price vs. the market's, e.g. 0.001; one draw per symbol and instant (Step)
	NoiseSide   int              // 0: noise either way; +1 only above the market's price, -1 only below (two sources on opposite sides keep a median of three on the market)
	Bias        float64          // relative offset added to every price (simulates a faulty source)
	AllSymbols  bool             // invent prices for unknown stock symbols instead of ErrNotFound
	Step        time.Duration    // model time resolution; default 1s
	Now         func() time.Time // clock; default time.Now
	StaleBy     time.Duration    // quotes are this old: stamped and priced this much in the past
	OutageEvery time.Duration    // with OutageFor: a scheduled outage at the start of every period…
	OutageFor   time.Duration    // …lasting this long (clock time since Start), for demos of the circuit breaker
	Start       time.Time        // the day (UTC) the instruments close at their Instrument.Price; default DefaultStart
	HistoryDays int              // History's length when the request has no start; default 365
}

// Instrument describes a known symbol.
type Instrument struct {
	Symbol   string
	Name     string
	Currency string
	Kind     marketdata.Kind
	Price    float64 // close on the day of Options.Start
	Drift    float64 // annual drift μ
	Vol      float64 // annual volatility σ, over TradingDaysPerYear days
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
	{"BTC-EUR", "Bitcoin", "EUR", marketdata.KindCrypto, 93574.35, 0.30, 0.65},
	{"BTC-NOK", "Bitcoin", "NOK", marketdata.KindCrypto, 1098490.70, 0.30, 0.65},
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
//
// Its market is a pure function of the seed, the start and the clock: a
// symbol's close on a day, and its price at an instant, are the same in
// every Provider of the same seed and start, whatever was asked before, so
// a dashboard, its history and a command line built from Default agree to
// the digit (Noise and Bias then move one provider's answers around that
// common price).
type Provider struct {
	opts   Options
	down   atomic.Bool
	mu     sync.Mutex
	paths  map[string]*series // guarded by mu
	events *rand.Rand         // error-rate and jitter draws; guarded by mu
	noise  uint64             // key of this provider's noise draws
}

// New returns a simulated provider.
func New(opts Options) (*Provider, error) {
	if opts.ErrorRate < 0 || opts.ErrorRate > 1 || math.IsNaN(opts.ErrorRate) {
		return nil, fmt.Errorf("sim: error rate %v outside [0,1]", opts.ErrorRate)
	}
	if opts.Noise < 0 || opts.Noise > 0.5 || math.IsNaN(opts.Noise) {
		return nil, fmt.Errorf("sim: noise %v outside [0,0.5]", opts.Noise)
	}
	if opts.NoiseSide < -1 || opts.NoiseSide > 1 {
		return nil, fmt.Errorf("sim: noise side %d is not -1, 0 or +1", opts.NoiseSide)
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
		opts.Start = DefaultStart()
	}
	opts.Start = opts.Start.UTC().Truncate(24 * time.Hour)
	if opts.HistoryDays == 0 {
		opts.HistoryDays = 365
	}
	return &Provider{
		opts:   opts,
		paths:  make(map[string]*series),
		events: rand.New(rand.NewPCG(opts.Seed, hash(opts.Name+"/events"))),
		noise:  mix(opts.Seed ^ hash(opts.Name+"/noise")),
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

// seriesOf returns the cached path of key. Caller holds p.mu.
func (p *Provider) seriesOf(key string, in Instrument) *series {
	s := p.paths[key]
	if s == nil {
		s = newSeries(p.opts.Seed, key, in)
		p.paths[key] = s
	}
	return s
}

// leg is the path of one currency against USD; nil for USD (and any
// currency without volatility), whose value is constant. Caller holds p.mu.
func (p *Provider) leg(ccy string) (*series, float64) {
	v := usdPer[ccy]
	if v[1] == 0 {
		return nil, math.Log(v[0])
	}
	return p.seriesOf("currency:"+ccy, Instrument{Kind: marketdata.KindFX, Price: v[0], Vol: v[1]}), 0
}

// logPrice is the noise-free log price of in at tick n of day k, or its
// close that day when close is set. Currency pairs are not paths of their
// own: each currency follows one path against USD and a pair is the ratio
// of its two legs, so USDNOK is exactly 1/NOKUSD and EURNOK = EURUSD ×
// USDNOK, as on a real market without arbitrage. Caller holds p.mu.
func (p *Provider) logPrice(in Instrument, k int, n uint32, close bool) float64 {
	at := func(s *series, c float64) float64 {
		switch {
		case s == nil:
			return c
		case close:
			return s.logClose(p.opts.Start, k)
		}
		return s.logAt(p.opts.Start, k, n)
	}
	switch in.Kind {
	case marketdata.KindFX:
		if base, quote, ok := strings.Cut(in.Name, "/"); ok {
			return at(p.leg(base)) - at(p.leg(quote))
		}
	case marketdata.KindCrypto:
		if usd, ok := inUSD(in); ok && in.Currency != "USD" {
			return p.logPrice(usd, k, n, close) - at(p.leg(in.Currency))
		}
	}
	return at(p.seriesOf(in.Symbol, in), 0)
}

// inUSD returns the USD instrument of a coin quoted in another currency
// (BTC-USD for BTC-EUR): a coin has one price, converted at the simulated
// exchange rate, so BTC-EUR is always BTC-USD ÷ EURUSD.
func inUSD(in Instrument) (Instrument, bool) {
	coin, _, ok := strings.Cut(in.Symbol, "-")
	if !ok {
		return Instrument{}, false
	}
	for _, u := range instruments {
		if u.Symbol == coin+"-USD" {
			return u, true
		}
	}
	return Instrument{}, false
}

// trades reports whether in trades on day k: crypto every day, shares and
// currencies on weekdays.
func (p *Provider) trades(in Instrument, k int) bool {
	if in.Kind == marketdata.KindCrypto {
		return true
	}
	return weekday(p.opts.Start, k)
}

// priceAt returns the common (noise-free) price of in at t. Caller holds
// p.mu.
func (p *Provider) priceAt(in Instrument, t time.Time) (float64, error) {
	k, n, err := dayOf(p.opts.Start, t.Truncate(p.opts.Step))
	if err != nil {
		return 0, marketdata.NewError(p.opts.Name, in.Symbol, marketdata.ErrUnavailable, err.Error())
	}
	return math.Exp(p.logPrice(in, k, n, false)), nil
}

// quote builds a quote at the clock reading now; its price is the
// market's at the quote's time (now − StaleBy). Caller holds p.mu.
func (p *Provider) quote(in Instrument, now time.Time) (marketdata.Quote, error) {
	at := now.Add(-p.opts.StaleBy)
	price, err := p.priceAt(in, at)
	if err != nil {
		return marketdata.Quote{}, err
	}
	if p.opts.Noise > 0 {
		// One draw per provider, symbol and instant: asked twice at the
		// same instant, a noisy source gives the same answer.
		tick := at.Truncate(p.opts.Step).UnixNano() / int64(p.opts.Step)
		z := normal(p.noise, hash(in.Symbol), uint64(tick))
		if p.opts.NoiseSide != 0 {
			z = float64(p.opts.NoiseSide) * math.Abs(z)
		}
		price *= 1 + p.opts.Noise*z
	}
	price *= 1 + p.opts.Bias
	return marketdata.Quote{Symbol: in.Symbol, Price: price, Currency: in.Currency, Time: at, Provider: p.opts.Name}, nil
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
	q, err := p.quote(in, p.opts.Now())
	p.mu.Unlock()
	if err != nil {
		return marketdata.Quote{}, err
	}
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
		q, err := p.quote(in, now)
		if err != nil {
			continue
		}
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
// currencies, every day for crypto, never past the clock. A bar's close is
// the market's close of its day (the same in every request: the series
// does not depend on the requested range) and its open the previous
// close; the bar of a day still trading closes at the current price, so
// a chart ending now ends at the price Quote reports. High and low are
// drawn around open and close, not taken from the intraday path.
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
	now := p.opts.Now()
	end := req.End
	if end.IsZero() || end.After(now) {
		end = now // never a bar from the future
	}
	end = end.UTC().Truncate(24 * time.Hour)
	start := req.Start
	if start.IsZero() {
		start = end.AddDate(0, 0, -p.opts.HistoryDays)
	}
	start = start.UTC().Truncate(24 * time.Hour)
	if start.After(end) { // both days are included: a range within one day is its bar
		return marketdata.History{}, fmt.Errorf("sim: %s: start %s after end %s", symbol, start.Format(time.DateOnly), end.Format(time.DateOnly))
	}
	if end.Sub(start) > 60*366*24*time.Hour {
		return marketdata.History{}, fmt.Errorf("sim: %s: range longer than 60 years", symbol)
	}
	k0, _, err := dayOf(p.opts.Start, start)
	if err != nil {
		return marketdata.History{}, err
	}
	k1, _, err := dayOf(p.opts.Start, end)
	if err != nil {
		return marketdata.History{}, err
	}
	kNow, nNow, err := dayOf(p.opts.Start, now.Truncate(p.opts.Step))
	if err != nil {
		return marketdata.History{}, err
	}
	p.mu.Lock()
	bars := p.bars(in, k0, k1, kNow, nNow)
	p.mu.Unlock()
	if len(bars) == 0 {
		return marketdata.History{}, marketdata.NewError(p.opts.Name, symbol, marketdata.ErrNotFound, "no trading days in range")
	}
	return marketdata.History{Symbol: symbol, Currency: in.Currency, Provider: p.opts.Name, Interval: marketdata.Daily, Bars: bars}, nil
}

// bars builds the daily bars of days k0..k1; day kNow is still trading at
// tick nNow. Caller holds p.mu.
func (p *Provider) bars(in Instrument, k0, k1, kNow int, nNow uint32) []marketdata.Bar {
	key := mix(p.opts.Seed ^ hash(in.Symbol+"/bars"))
	dayVol := in.Vol / math.Sqrt(float64(in.TradingDaysPerYear()))
	last := min(k1, kNow)
	out := make([]marketdata.Bar, 0, max(last-k0+1, 0))
	logClose := p.closes(in)
	prevLog := logClose(k0 - 1)
	prev := math.Exp(prevLog)
	for k := k0; k <= last; k++ {
		if !p.trades(in, k) {
			continue
		}
		lc := logClose(k)
		if k == kNow {
			lc = p.logPrice(in, k, nNow, false)
		}
		open, cl := prev, prev
		if lc != prevLog {
			cl = math.Exp(lc)
		}
		spread := dayVol * math.Abs(normal(key, uint64(int64(k)), tagSpread)) * 0.5
		vol := 0.0
		if in.Kind != marketdata.KindFX {
			vol = math.Round(1e6 * (1 + uniform(key, uint64(int64(k)), tagVolume)))
		}
		out = append(out, marketdata.Bar{Time: dayTime(p.opts.Start, k), Open: open, Close: cl, AdjClose: cl,
			High: math.Max(open, cl) * (1 + spread), Low: math.Min(open, cl) * (1 - spread), Volume: vol})
		prevLog, prev = lc, cl
	}
	return out
}

// closes returns the log close of in on a day, with its paths looked up
// once. Caller holds p.mu.
func (p *Provider) closes(in Instrument) func(k int) float64 {
	if in.Kind == marketdata.KindFX || in.Kind == marketdata.KindCrypto && in.Currency != "USD" {
		return func(k int) float64 { return p.logPrice(in, k, 0, true) }
	}
	s := p.seriesOf(in.Symbol, in)
	return func(k int) float64 { return s.logClose(p.opts.Start, k) }
}
