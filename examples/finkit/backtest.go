package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/finkit/finkit/marketdata/sim"
	"github.com/finkit/finkit/papertrade"
)

// strategyFlags are the flags shared by backtest, montecarlo and optimize:
// the data, the strategy, and every engine option that changes results.
type strategyFlags struct {
	csv           string
	symbol        string
	from, to      string
	md            mdFlags
	strategy      string
	cash          float64
	commission    float64
	commFixed     float64
	commMin       float64
	spreadBps     float64
	margin        float64
	onClose       bool
	hedging       bool
	exclusive     bool
	keepOpen      bool
	fractional    bool
	compat        bool
	compatVersion string
	riskFree      float64
	asJSON        bool
	params        map[string]*paramFlag // by flag name
}

func addStrategyFlags(fs *flag.FlagSet, withParams bool) *strategyFlags {
	sf := &strategyFlags{md: mdFlags{seed: sim.DefaultSeed}}
	fs.StringVar(&sf.csv, "csv", "", "OHLCV CSV file (Date,Open,High,Low,Close[,Volume]); or --symbol")
	fs.StringVar(&sf.symbol, "symbol", "", "replay this symbol's daily history from --provider instead of a CSV file")
	fs.StringVar(&sf.md.providers, "provider", "sim", "with --symbol, the history source: sim (offline), yahoo, stooq, alphavantage, …")
	fs.StringVar(&sf.from, "from", "", "with --symbol, the first date YYYY-MM-DD (default: ten years back for sim, one year for others)")
	fs.StringVar(&sf.to, "to", "", "with --symbol, the last date YYYY-MM-DD (default: today)")
	fs.StringVar(&sf.strategy, "strategy", "smacross", "strategy: "+strings.Join(papertrade.StrategyNames(), ", "))
	fs.Float64Var(&sf.cash, "cash", 10_000, "starting cash")
	fs.Float64Var(&sf.commission, "commission", 0, "commission per fill in percent of the notional, as on the dashboard (0.2 = 0.2 %; backtesting.py's commission=0.002)")
	fs.Float64Var(&sf.commFixed, "commission-fixed", 0, "fixed commission per fill, in account currency (with --commission: fixed + relative)")
	fs.Float64Var(&sf.commMin, "commission-min", 0, "minimum commission per fill")
	fs.Float64Var(&sf.spreadBps, "spread-bps", 0, "spread/slippage in basis points, charged on entry (backtesting.py's spread × 10,000)")
	fs.Float64Var(&sf.margin, "margin", 1, "required margin ratio (1: no leverage; 0.02: 50:1)")
	fs.BoolVar(&sf.onClose, "trade-on-close", false, "fill market orders at the signal bar's close")
	fs.BoolVar(&sf.hedging, "hedging", false, "allow long and short trades at once (no FIFO netting)")
	fs.BoolVar(&sf.exclusive, "exclusive-orders", false, "each new order closes open trades and cancels pending orders first")
	fs.BoolVar(&sf.keepOpen, "keep-open", false, "leave the last trade open instead of closing it (backtesting.py's finalize_trades=False)")
	fs.BoolVar(&sf.fractional, "fractional", false, "allow fractional units")
	fs.BoolVar(&sf.compat, "compat", false, "reproduce backtesting.py exactly, quirks included")
	fs.StringVar(&sf.compatVersion, "compat-version", "", "with --compat, the backtesting.py release to reproduce: "+papertrade.BacktestingPy066+" (default) or "+papertrade.BacktestingPy065)
	fs.Float64Var(&sf.riskFree, "risk-free", 0, "annual risk-free rate for Sharpe, Sortino and alpha (0.02 = 2%)")
	fs.BoolVar(&sf.asJSON, "json", false, "print JSON")
	if withParams {
		sf.addParamFlags(fs)
	}
	return sf
}

// paramFlag is a strategy parameter as a typed flag: an int, a number, or
// a bool given without a value (--long-only).
type paramFlag struct {
	info papertrade.ParamInfo
	v    float64
}

func (p *paramFlag) String() string {
	if p == nil {
		return ""
	}
	return p.info.Format(p.v)
}

func (p *paramFlag) Set(s string) error {
	v, err := p.info.Parse(s)
	if err != nil {
		return err
	}
	p.v = v
	return nil
}

func (p *paramFlag) IsBoolFlag() bool { return p.info.Type == papertrade.ParamBool }

// addParamFlags defines a flag for every parameter of every built-in
// strategy (papertrade.Strategies), typed as the parameter is, named after
// it (--fast), or after the strategy and it where the command already has
// a flag of that name (montecarlo's --seed: --random-seed). Call it after
// the command's own flags.
func (sf *strategyFlags) addParamFlags(fs *flag.FlagSet) {
	sf.params = map[string]*paramFlag{}
	for _, s := range papertrade.Strategies() {
		for _, p := range s.Params {
			name := p.Name
			if fs.Lookup(name) != nil {
				name = s.Name + "-" + name
			}
			pf := &paramFlag{info: p, v: p.Default}
			usage := fmt.Sprintf("%s: %s", s.Name, p.Description)
			if p.Type != papertrade.ParamBool {
				usage = fmt.Sprintf("%s: %s (`%s` from %s to %s)", s.Name, p.Description, p.Type, p.Format(p.Min), p.Format(p.Max))
			}
			fs.Var(pf, name, usage)
			sf.params[name] = pf
		}
	}
}

// setParams returns the strategy parameters given on the command line;
// papertrade.NewStrategy refuses those the chosen strategy does not have.
func (sf *strategyFlags) setParams(fs *flag.FlagSet) papertrade.Params {
	p := papertrade.Params{}
	fs.Visit(func(f *flag.Flag) {
		if pf, ok := sf.params[f.Name]; ok {
			p[pf.info.Name] = pf.v
		}
	})
	return p
}

// load reads the bars from --csv, or fetches --symbol's history from
// --provider (a still-trading last bar is left out by FromHistory).
func (sf *strategyFlags) load(ctx context.Context) ([]papertrade.Bar, papertrade.Options, error) {
	if (sf.csv == "") == (sf.symbol == "") {
		return nil, papertrade.Options{}, usageErrorf("give --csv FILE or --symbol SYMBOL (one of them)")
	}
	if !(sf.margin > 0) {
		// The engine reads a zero margin as "no leverage"; on the command
		// line it is a mistake.
		return nil, papertrade.Options{}, usageErrorf("--margin %v must be in (0, 1]", sf.margin)
	}
	if sf.symbol != "" {
		sf.md.timeout = 30 * time.Second
		h, err := fetchHistory(ctx, &sf.md, sf.symbol, sf.from, sf.to)
		if err != nil {
			return nil, papertrade.Options{}, err
		}
		bars, err := papertrade.FromHistory(h, false)
		if err != nil {
			return nil, papertrade.Options{}, fmt.Errorf("%s: %w", sf.symbol, err)
		}
		return bars, sf.options(), nil
	}
	if sf.from != "" || sf.to != "" {
		return nil, papertrade.Options{}, usageErrorf("--from and --to go with --symbol; a CSV file is used whole")
	}
	bars, err := papertrade.ReadCSVFile(sf.csv)
	if err != nil {
		return nil, papertrade.Options{}, err
	}
	return bars, sf.options(), nil
}

// source names the bars: the CSV file, or the symbol and its provider.
func (sf *strategyFlags) source() string {
	if sf.symbol != "" {
		return sf.symbol + " from " + sf.md.providers
	}
	return sf.csv
}

// options are the engine options the flags give.
func (sf *strategyFlags) options() papertrade.Options {
	opts := papertrade.Options{
		Cash: sf.cash, SpreadBps: sf.spreadBps, Margin: sf.margin, TradeOnClose: sf.onClose,
		Hedging: sf.hedging, ExclusiveOrders: sf.exclusive, KeepOpen: sf.keepOpen,
		Fractional: sf.fractional, Compat: sf.compat, CompatVersion: sf.compatVersion,
		RiskFreeRate: sf.riskFree,
	}
	if sf.commission != 0 || sf.commFixed != 0 || sf.commMin != 0 {
		opts.Commission = papertrade.CommissionModel{Fixed: sf.commFixed, Rate: sf.commission / 100, Minimum: sf.commMin}
	}
	return opts
}

// runBacktest implements `finkit backtest`.
func runBacktest(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("backtest", e)
	sf := addStrategyFlags(fs, true)
	sf.md.now = e.now
	showTrades := fs.Bool("trades", false, "also list the trades")
	showEquity := fs.Bool("equity", false, "with --json, also output the equity curve (one value per bar)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	bars, opts, err := sf.load(ctx)
	if err != nil {
		return err
	}
	strategy, err := papertrade.NewStrategy(sf.strategy, sf.setParams(fs))
	if err != nil {
		return usageErrorf("%v", err)
	}
	e.log.Debug("backtest", "strategy", sf.strategy, "bars", len(bars), "csv", sf.csv)
	res, err := papertrade.Run(ctx, bars, strategy, opts)
	if err != nil {
		return err
	}
	if sf.asJSON {
		out := map[string]any{"strategy": res.Strategy, "stats": res.Stats}
		if *showTrades {
			out["trades"] = res.Trades
		}
		if *showEquity {
			out["equity"] = res.Equity
		}
		return writeJSON(e.stdout, out)
	}
	if _, err := fmt.Fprintf(e.stdout, "%s on %s (%d bars)\n\n%s", res.Strategy, sf.source(), len(bars), res.Stats.Table()); err != nil {
		return err
	}
	if *showTrades {
		return printTrades(e.stdout, res.Trades)
	}
	return nil
}

func printTrades(w io.Writer, trades []papertrade.Trade) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "\nsize\tentry time\tentry\texit time\texit\tpnl\treturn %\tfees\t")
	for _, t := range trades {
		exit := t.ExitTime.Format("2006-01-02 15:04")
		if t.Open {
			exit = "open"
		}
		fmt.Fprintf(tw, "%g\t%s\t%.4f\t%s\t%.4f\t%.2f\t%.2f\t%.2f\t\n", t.Size, t.EntryTime.Format("2006-01-02 15:04"), t.EntryPrice,
			exit, t.ExitPrice, t.PnL, t.ReturnPct*100, t.Commission)
	}
	return tw.Flush()
}

// runMonteCarlo implements `finkit montecarlo`.
func runMonteCarlo(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("montecarlo", e)
	sf := addStrategyFlags(fs, false)
	sf.md.now = e.now
	paths := fs.Int("paths", 1000, "number of simulated paths")
	nbars := fs.Int("bars", 0, "bars per path (default: as many as the CSV has)")
	years := fs.Float64("years", 0, "path length in years (instead of --bars)")
	method := fs.String("method", "gbm", "path model: gbm or bootstrap")
	block := fs.Int("block", 20, "bootstrap block length in bars")
	seed := fs.Uint64("seed", 1, "random seed (same seed, same answer)")
	workers := fs.Int("workers", 0, "parallel workers (default: CPU count)")
	sf.addParamFlags(fs)
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	bars, opts, err := sf.load(ctx)
	if err != nil {
		return err
	}
	params := sf.setParams(fs)
	if _, err := papertrade.NewStrategy(sf.strategy, params); err != nil {
		return usageErrorf("%v", err)
	}
	if *method != "gbm" && *method != "bootstrap" {
		return usageErrorf("--method must be gbm or bootstrap, not %q", *method)
	}
	factory := func() papertrade.Strategy {
		s, _ := papertrade.NewStrategy(sf.strategy, params)
		return s
	}
	// A bar on the terminal while it runs; nothing when the output goes to
	// a file or a pipe, or with --json.
	bar := newProgress(e.stderr, e.barsOn(sf.asJSON))
	update := bar.bar(0, "simulating paths")
	res, err := papertrade.MonteCarlo(ctx, bars, factory, papertrade.MonteCarloOptions{
		Paths: *paths, Bars: *nbars, Years: *years, Method: papertrade.Method(*method), BlockSize: *block,
		Seed: *seed, Workers: *workers, Backtest: opts,
		Progress: func(done, total int) { update(int64(done), int64(total), "") },
	})
	bar.finish()
	if err != nil {
		return err
	}
	if sf.asJSON {
		return writeJSON(e.stdout, res)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "%s: %d %s paths of %d bars (%.1f years), seed %d\n\n", res.Strategy, res.Paths, res.Method, res.BarsPerPath, res.Years, res.Seed)
	fmt.Fprintln(tw, "\tmean\tp5\tp25\tmedian\tp75\tp95\t")
	for _, row := range []struct {
		name string
		d    papertrade.Distribution
	}{{"return %", res.Return}, {"buy & hold %", res.BuyHoldReturn}, {"CAGR %", res.CAGR}, {"max drawdown %", res.MaxDrawdown}} {
		d := row.d
		fmt.Fprintf(tw, "%s\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t%.2f\t\n", row.name, d.Mean, d.P5, d.P25, d.Median, d.P75, d.P95)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nP(profit)          %.1f%% (95%% interval %.1f%%–%.1f%%)\n", res.ProbProfit*100, res.ProbProfitLo95*100, res.ProbProfitHi95*100)
	fmt.Fprintf(e.stdout, "P(beat buy & hold) %.1f%% (95%% interval %.1f%%–%.1f%%)\n", res.ProbBeatBH*100, res.ProbBeatBHLo95*100, res.ProbBeatBHHi95*100)
	fmt.Fprintf(e.stdout, "risk of ruin       %.1f%% (equity below %.0f%% of cash)\n\n", res.RiskOfRuin*100, res.RuinLevel*100)
	fmt.Fprintln(e.stdout, "return % histogram:")
	maxCount := 0
	for _, b := range res.Histogram {
		maxCount = max(maxCount, b.Count)
	}
	for _, b := range res.Histogram {
		bar := strings.Repeat("#", b.Count*40/max(1, maxCount))
		fmt.Fprintf(e.stdout, "%10.1f … %10.1f %6d %s\n", b.Lo, b.Hi, b.Count, bar)
	}
	_, err = fmt.Fprintf(e.stdout, "\n%s\n", res.Verdict)
	return err
}

// gridFlag collects --grid name=v1,v2,… or name=start:stop:step.
type gridFlag map[string][]float64

func (g gridFlag) String() string { return fmt.Sprint(map[string][]float64(g)) }

func (g gridFlag) Set(s string) error {
	name, spec, ok := strings.Cut(s, "=")
	if !ok || name == "" || spec == "" {
		return fmt.Errorf("want name=v1,v2,… or name=start:stop:step, got %q", s)
	}
	var vals []float64
	if parts := strings.Split(spec, ":"); len(parts) == 3 {
		var f [3]float64
		for i, p := range parts {
			v, err := strconv.ParseFloat(p, 64)
			if err != nil {
				return fmt.Errorf("%q: %v", p, err)
			}
			f[i] = v
		}
		if f[2] <= 0 || f[1] < f[0] || (f[1]-f[0])/f[2] > 10_000 {
			return fmt.Errorf("bad range %q", spec)
		}
		for v := f[0]; v <= f[1]+1e-9; v += f[2] {
			vals = append(vals, v)
		}
	} else {
		for _, p := range strings.Split(spec, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return fmt.Errorf("%q: %v", p, err)
			}
			vals = append(vals, v)
		}
	}
	g[name] = vals
	return nil
}

// checkGrid refuses a grid over a parameter the strategy does not have, or
// with a value the parameter cannot take (10.5 for a period), before any
// backtest runs.
func checkGrid(strategy string, grid gridFlag) error {
	for name, vals := range grid {
		for _, v := range vals {
			if _, err := papertrade.NewStrategy(strategy, papertrade.Params{name: v}); err != nil {
				return err
			}
		}
	}
	return nil
}

// runOptimize implements `finkit optimize`.
func runOptimize(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet("optimize", e)
	sf := addStrategyFlags(fs, false)
	sf.md.now = e.now
	grid := gridFlag{}
	fs.Var(grid, "grid", "parameter values, repeatable: name=v1,v2,… or name=start:stop:step")
	metric := fs.String("metric", "sqn", "statistic to maximize (a --json stats key, e.g. sharpe_ratio, return_pct)")
	top := fs.Int("top", 10, "how many parameter sets to print")
	walk := fs.Int("walk-forward", 0, "walk-forward folds (0: none)")
	workers := fs.Int("workers", 0, "parallel backtests (default: CPU count)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return usageErrorf("unexpected arguments %q", fs.Args())
	}
	if len(grid) == 0 {
		return usageErrorf("give at least one --grid")
	}
	bars, opts, err := sf.load(ctx)
	if err != nil {
		return err
	}
	name := sf.strategy
	if err := checkGrid(name, grid); err != nil {
		return usageErrorf("%v", err)
	}
	factory := func(p papertrade.Params) (papertrade.Strategy, error) { return papertrade.NewStrategy(name, p) }
	var constraint func(papertrade.Params) bool
	if _, f := grid["fast"]; f {
		if _, s := grid["slow"]; s {
			constraint = func(p papertrade.Params) bool { return p["fast"] < p["slow"] }
		}
	}
	bar := newProgress(e.stderr, e.barsOn(sf.asJSON))
	update := bar.bar(0, "backtesting the grid")
	res, err := papertrade.Optimize(ctx, bars, factory, papertrade.OptimizeOptions{
		Grid: grid, Metric: *metric, Constraint: constraint, Workers: *workers, Backtest: opts, WalkForward: *walk,
		Progress: func(done, total int) { update(int64(done), int64(total), fmt.Sprintf("%d/%d backtests", done, total)) },
	})
	bar.finish()
	if err != nil {
		return err
	}
	if *top > 0 && len(res.Runs) > *top {
		res.Runs = res.Runs[:*top]
	}
	if sf.asJSON {
		return writeJSON(e.stdout, res)
	}
	tw := tabwriter.NewWriter(e.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "rank\tparams\t%s\treturn %%\tmax dd %%\ttrades\t\n", res.Metric)
	for i, r := range res.Runs {
		fmt.Fprintf(tw, "%d\t%s\t%.4g\t%.2f\t%.2f\t%d\t\n", i+1, r.Params, r.Score, r.Stats.ReturnPct, r.Stats.MaxDrawdownPct, r.Stats.NumTrades)
	}
	if len(res.Folds) > 0 {
		fmt.Fprintf(tw, "\nwalk-forward\tbest in sample\tin-sample %s\tout-of-sample %s\tout return %%\tout buy&hold %%\t\n", res.Metric, res.Metric)
		for _, f := range res.Folds {
			fmt.Fprintf(tw, "%s → %s\t%s\t%.4g\t%.4g\t%.2f\t%.2f\t\n", f.OutStart.Format("2006-01-02"), f.OutEnd.Format("2006-01-02"),
				f.Best, f.InSample, f.OutOfSample, f.OutReturnPct, f.OutBuyHoldPct)
		}
		fmt.Fprintf(tw, "\nwalk-forward efficiency (out/in): %.2f\n", res.Efficiency)
	}
	return tw.Flush()
}
