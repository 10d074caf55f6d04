package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/finkit/finkit/marketdata"
	"github.com/finkit/finkit/marketdata/alphavantage"
	"github.com/finkit/finkit/marketdata/coingecko"
	"github.com/finkit/finkit/marketdata/ecb"
	"github.com/finkit/finkit/marketdata/finnhub"
	"github.com/finkit/finkit/marketdata/frankfurter"
	"github.com/finkit/finkit/marketdata/norgesbank"
	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/marketdata/stooq"
	"github.com/finkit/finkit/marketdata/yahoo"
)

// providerNames lists the market-data sources the CLI can build.
var providerNames = []string{"sim", "yahoo", "stooq", "ecb", "frankfurter", "coingecko", "alphavantage", "finnhub", "norgesbank"}

// mdFlags are the flags shared by quote, stats and fx.
type mdFlags struct {
	providers string
	baseURLs  string
	timeout   time.Duration
	seed      uint64
	asJSON    bool
	now       func() time.Time // the sim provider's clock (env.now)
}

func (f *mdFlags) register(fs interface {
	StringVar(*string, string, string, string)
	DurationVar(*time.Duration, string, time.Duration, string)
	Uint64Var(*uint64, string, uint64, string)
	BoolVar(*bool, string, bool, string)
}, defProviders string) {
	if defProviders != "" {
		fs.StringVar(&f.providers, "providers", defProviders, "comma-separated sources: "+strings.Join(providerNames, ","))
	}
	fs.StringVar(&f.baseURLs, "base-url", "", "override API roots, e.g. yahoo=http://127.0.0.1:8081,ecb=http://… (mirrors, tests)")
	fs.DurationVar(&f.timeout, "timeout", 10*time.Second, "overall deadline")
	fs.Uint64Var(&f.seed, "seed", sim.DefaultSeed, "seed of the sim provider (the default is the dashboard's market)")
	fs.BoolVar(&f.asJSON, "json", false, "print JSON")
}

// buildProviders turns provider names into clients. API keys come from the
// environment (COINGECKO_API_KEY, ALPHAVANTAGE_API_KEY, FINNHUB_API_KEY).
func buildProviders(f *mdFlags) ([]any, error) {
	bases := map[string]string{}
	if f.baseURLs != "" {
		for _, kv := range strings.Split(f.baseURLs, ",") {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" || v == "" {
				return nil, usageErrorf("--base-url wants NAME=URL, got %q", kv)
			}
			bases[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	var out []any
	seen := map[string]bool{}
	for _, name := range strings.Split(f.providers, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		if name == "" || seen[name] {
			continue
		}
		seen[name] = true
		var p any
		var err error
		switch name {
		case "sim":
			o := sim.Default("sim")
			o.Seed, o.Now = f.seed, f.now
			p, err = sim.New(o)
		case "yahoo":
			p, err = yahoo.New(yahoo.Options{BaseURL: bases[name]})
		case "stooq":
			p, err = stooq.New(stooq.Options{BaseURL: bases[name]})
		case "ecb":
			p, err = ecb.New(ecb.Options{BaseURL: bases[name]})
		case "frankfurter":
			p, err = frankfurter.New(frankfurter.Options{BaseURL: bases[name]})
		case "coingecko":
			p, err = coingecko.New(coingecko.Options{BaseURL: bases[name], APIKey: os.Getenv("COINGECKO_API_KEY")})
		case "alphavantage":
			p, err = alphavantage.New(alphavantage.Options{BaseURL: bases[name]})
		case "finnhub":
			p, err = finnhub.New(finnhub.Options{BaseURL: bases[name]})
		case "norgesbank":
			p, err = norgesbank.New(norgesbank.Options{BaseURL: bases[name]})
		default:
			return nil, usageErrorf("unknown provider %q (known: %s)", name, strings.Join(providerNames, ", "))
		}
		if err != nil {
			return nil, fmt.Errorf("provider %s: %w", name, err)
		}
		out = append(out, p)
	}
	for name := range bases {
		if !seen[name] {
			return nil, usageErrorf("--base-url for %q, which is not in --providers", name)
		}
	}
	if len(out) == 0 {
		return nil, usageErrorf("no providers")
	}
	return out, nil
}

// newAggregator builds an Aggregator over the named providers.
func newAggregator(f *mdFlags) (*marketdata.Aggregator, error) {
	ps, err := buildProviders(f)
	if err != nil {
		return nil, err
	}
	opts := marketdata.Options{Timeout: f.timeout, ProviderTimeout: f.timeout, RateProviders: []marketdata.RateProvider{},
		// Stay inside the free plans of the keyed APIs.
		Limits: map[string]marketdata.Limit{"alphavantage": alphavantage.DefaultLimit(), "finnhub": finnhub.DefaultLimit(), "coingecko": coingecko.DefaultLimit()}}
	for _, p := range ps {
		if q, ok := p.(marketdata.Provider); ok {
			opts.Providers = append(opts.Providers, q)
		}
		if r, ok := p.(marketdata.RateProvider); ok {
			opts.RateProviders = append(opts.RateProviders, r)
		}
	}
	return marketdata.New(opts)
}

func runQuote(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("quote", e)
	f := mdFlags{now: e.now}
	f.register(fs, "sim")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() == 0 {
		return usageErrorf("want at least one SYMBOL")
	}
	agg, err := newAggregator(&f)
	if err != nil {
		return err
	}
	defer agg.Close()
	res, err := agg.Quotes(ctx, fs.Args())
	if err != nil {
		if errors.Is(err, marketdata.ErrInvalidSymbol) {
			return usageErrorf("%v", err)
		}
		return err
	}
	if f.asJSON {
		if err := writeJSON(e.stdout, res); err != nil {
			return err
		}
	} else if err := printQuotes(e.stdout, res); err != nil {
		return err
	}
	if len(res.Quotes) == 0 {
		return fmt.Errorf("%w for %s", marketdata.ErrNoQuote, strings.Join(res.Missing, ", "))
	}
	return nil
}

func printQuotes(w io.Writer, res *marketdata.Result) error {
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	for _, m := range res.Quotes {
		fmt.Fprintf(tw, "%s\t%s\t%s\tconsensus of %d (%d agree, %s confidence), spread %.4f (%.2f%%)%s\n", m.Symbol, price(m.Price), m.Currency,
			m.Independent, m.Agreeing, m.Confidence, m.Spread, m.SpreadPct, flags(m))
		for _, s := range m.Sources {
			note := ""
			switch {
			case s.Error != "":
				note = "not used: " + s.Error
			case s.Outlier:
				note = fmt.Sprintf("outlier %+.2f%%", s.Deviation*100)
			case s.Duplicate:
				note = "same upstream as another source, not counted"
			case s.Undated:
				note = "undated"
			case s.Stale:
				note = "stale"
			}
			if s.Converted {
				note = strings.TrimSpace(fmt.Sprintf("from %s %s %s", price(s.OrigPrice), s.OrigCurrency, note))
			}
			fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", s.Provider, price(s.Price), s.Currency, s.Latency.Round(time.Millisecond), note)
		}
	}
	for _, s := range res.Missing {
		fmt.Fprintf(tw, "%s\t-\t\tno quote\n", s)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, res.Fetch.Summary())
	if len(res.Errors) > 0 {
		fmt.Fprintln(w, "source errors:")
		for _, pe := range res.Errors {
			fmt.Fprintf(w, "  %s\n", pe.Message)
		}
	}
	return nil
}

func flags(m marketdata.Merged) string {
	var f []string
	if m.Outliers > 0 {
		f = append(f, fmt.Sprintf("%d outlier(s)", m.Outliers))
	}
	if m.Stale {
		f = append(f, "stale")
	}
	if !m.Confidence.Trusted() {
		f = append(f, "LOW CONFIDENCE: "+m.Reason)
	}
	if len(f) == 0 {
		return ""
	}
	return ", " + strings.Join(f, ", ")
}

func price(p float64) string {
	switch {
	case p >= 1000:
		return fmt.Sprintf("%.2f", p)
	case p >= 1:
		return fmt.Sprintf("%.4f", p)
	}
	return fmt.Sprintf("%.6g", p)
}

func runFX(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("fx", e)
	f := mdFlags{now: e.now}
	f.register(fs, "sim")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return usageErrorf("want FROM TO")
	}
	from, to := strings.ToUpper(fs.Arg(0)), strings.ToUpper(fs.Arg(1))
	if !marketdata.IsCurrency(from) || !marketdata.IsCurrency(to) {
		return usageErrorf("want ISO 4217 currency codes, got %q %q", fs.Arg(0), fs.Arg(1))
	}
	agg, err := newAggregator(&f)
	if err != nil {
		return err
	}
	defer agg.Close()
	r, err := agg.FXRate(ctx, from, to)
	if err != nil {
		return err
	}
	if f.asJSON {
		return writeJSON(e.stdout, r)
	}
	_, err = fmt.Fprintln(e.stdout, r.Summary())
	return err
}

func runStats(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("stats", e)
	provider := fs.String("provider", "sim", "history source: sim, yahoo, stooq, ecb, frankfurter, alphavantage, norgesbank")
	csvPath := fs.String("csv", "", "read daily bars from this CSV file (Date,Open,High,Low,Close[,Adj Close],Volume) instead")
	from := fs.String("from", "", "first date YYYY-MM-DD (default: one year before --to; ten years for sim)")
	toStr := fs.String("to", "", "last date YYYY-MM-DD (default: today)")
	rf := fs.Float64("risk-free", 0.0, "annual risk-free rate for Sharpe, e.g. 0.03")
	adj := fs.Bool("adj", false, "use adjusted closes")
	bins := fs.Int("bins", 10, "histogram bins")
	f := mdFlags{now: e.now}
	f.register(fs, "")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	var bars []marketdata.Bar
	symbol := ""
	switch {
	case *csvPath != "":
		if fs.NArg() > 1 {
			return usageErrorf("want at most one SYMBOL with --csv")
		}
		symbol = *csvPath
		if fs.NArg() == 1 {
			symbol = fs.Arg(0)
		}
		fh, err := os.Open(*csvPath)
		if err != nil {
			return err
		}
		defer fh.Close()
		if bars, err = marketdata.ReadBarsCSV(fh); err != nil {
			return fmt.Errorf("%s: %w", *csvPath, err)
		}
	default:
		if fs.NArg() != 1 {
			return usageErrorf("want one SYMBOL (or --csv FILE)")
		}
		symbol = fs.Arg(0)
		f.providers = *provider
		h, err := fetchHistory(ctx, &f, symbol, *from, *toStr)
		if err != nil {
			return err
		}
		bars = h.Bars
	}
	st, err := marketdata.Analyze(bars, marketdata.StatsOptions{RiskFree: *rf, AdjClose: *adj})
	if err != nil {
		return err
	}
	closes := marketdata.Closes(nil, bars, *adj)
	rets, err := marketdata.Returns(nil, closes)
	if err != nil {
		return err
	}
	hist, err := marketdata.ReturnHistogram(rets, *bins)
	if err != nil {
		return usageErrorf("%v", err)
	}
	if f.asJSON {
		return writeJSON(e.stdout, struct {
			Symbol    string               `json:"symbol"`
			Stats     marketdata.Stats     `json:"stats"`
			Histogram marketdata.Histogram `json:"histogram"`
		}{symbol, st, hist})
	}
	return printStats(e.stdout, symbol, st, hist)
}

// fetchHistory asks f's one provider (f.providers names it) for symbol's
// daily history from..to (dateRange's defaults).
func fetchHistory(ctx context.Context, f *mdFlags, symbol, from, to string) (marketdata.History, error) {
	req, err := dateRange(from, to, f.providers == "sim")
	if err != nil {
		return marketdata.History{}, err
	}
	ps, err := buildProviders(f)
	if err != nil {
		return marketdata.History{}, err
	}
	hp, ok := ps[0].(marketdata.HistoryProvider)
	if !ok {
		return marketdata.History{}, usageErrorf("provider %q has no history", f.providers)
	}
	ctx, cancel := context.WithTimeout(ctx, f.timeout)
	defer cancel()
	h, err := hp.History(ctx, symbol, req)
	if errors.Is(err, marketdata.ErrInvalidSymbol) {
		return h, usageErrorf("%v", err)
	}
	return h, err
}

func dateRange(from, to string, long bool) (marketdata.HistoryRequest, error) {
	var req marketdata.HistoryRequest
	var err error
	if to != "" {
		if req.End, err = time.Parse(time.DateOnly, to); err != nil {
			return req, usageErrorf("--to: %v", err)
		}
	} else {
		req.End = time.Now().UTC()
	}
	if from != "" {
		if req.Start, err = time.Parse(time.DateOnly, from); err != nil {
			return req, usageErrorf("--from: %v", err)
		}
	} else if long {
		req.Start = req.End.AddDate(-10, 0, 0)
	} else {
		req.Start = req.End.AddDate(-1, 0, 0)
	}
	if !req.Start.Before(req.End) {
		return req, usageErrorf("--from must be before --to")
	}
	return req, nil
}

func printStats(w io.Writer, symbol string, s marketdata.Stats, h marketdata.Histogram) error {
	fmt.Fprintf(w, "%s: %d bars %s .. %s, last close %s (%+.4f, %+.2f%% vs previous close)\n\n", symbol, s.Bars,
		s.First.Format(time.DateOnly), s.Last.Format(time.DateOnly), price(s.LastClose), s.Change, s.ChangePct)
	fmt.Fprint(w, s.Table())
	fmt.Fprintln(w)
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	row := func(k, format string, v ...any) { fmt.Fprintf(tw, "%s\t"+format+"\n", append([]any{k}, v...)...) }
	row("up / down / flat days", "%d / %d / %d (%.1f%% up)", s.UpDays, s.DownDays, s.FlatDays, s.UpPct)
	row("average gain / loss", "%+.3f%% / %+.3f%%", s.AvgGain*100, s.AvgLoss*100)
	row("largest daily gain", "%+.3f%% on %s", s.MaxGain*100, s.MaxGainDate.Format(time.DateOnly))
	row("largest daily loss", "%+.3f%% on %s", s.MaxLoss*100, s.MaxLossDate.Format(time.DateOnly))
	row("longest up / down streak", "%d days (to %s) / %d days (to %s)", s.LongestUp, date(s.LongestUpEnd), s.LongestDown, date(s.LongestDownEnd))
	row("mean / sd of daily returns", "%+.4f%% / %.4f%%", s.MeanReturn*100, s.StdDev*100)
	row("annualized volatility", "%.2f%%", s.Volatility*100)
	rec := "not recovered"
	if s.Recovered {
		rec = "recovered " + s.Recovery.Format(time.DateOnly)
	}
	row("max drawdown", "%.2f%% (peak %s, trough %s, %s)", s.MaxDrawdown*100, date(s.DrawdownPeak), date(s.DrawdownLow), rec)
	row("CAGR", "%.2f%% over %.2f years", s.CAGR*100, s.Years)
	if s.Flat {
		row("Sharpe", "n/a (flat series)")
	} else {
		row("Sharpe", "%.3f", s.Sharpe)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintln(w, "\ndaily returns histogram:")
	top := 0
	for _, c := range h.Counts {
		top = max(top, c)
	}
	for i, c := range h.Counts {
		bar := strings.Repeat("#", c*40/max(top, 1))
		fmt.Fprintf(w, "  %+7.2f%% .. %+7.2f%% %5d %s\n", h.Edges[i]*100, h.Edges[i+1]*100, c, bar)
	}
	return nil
}

func date(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Format(time.DateOnly)
}
