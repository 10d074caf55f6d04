// Package papertrade simulates trading without real money: a broker that
// fills orders from price bars, a backtesting engine that replays history
// through a Strategy, performance statistics, parameter optimization with
// walk-forward validation, a Monte Carlo runner that answers "does this
// strategy make money in the long run?", and a live paper Account that
// trades against real quotes and books its fills into a portfolio ledger.
//
// # Backtests
//
// Load bars with ReadCSV (Yahoo, Stooq and backtesting.py/pandas layouts
// are detected from the header) or convert a marketdata History with
// FromHistory (Bar is marketdata's Bar), then run a Strategy (here backtesting.py's README example, which the
// default mode reproduces figure for figure):
//
//	bars, err := papertrade.ReadCSVFile("GOOG.csv")
//	res, err := papertrade.Run(ctx, bars, &papertrade.SMACross{Fast: 10, Slow: 20, NoClose: true},
//		papertrade.Options{Cash: 10_000, Commission: papertrade.RelativeCommission(0.002),
//			ExclusiveOrders: true, KeepOpen: true})
//	fmt.Println(res.Stats.Table())
//
// A Strategy declares its indicators in Init (SMA, EMA, RSI, Highest,
// Lowest, or a streaming Updater) without seeing any bar, and trades in
// Next, which gets a Context that only exposes bars and indicator values up
// to the current bar, while custom Updaters are fed each bar just before
// that bar's Next: look-ahead is impossible by construction
// (TestNoLookAheadProperty replaces every bar after a random bar i and
// checks that random strategies reading all indicator state decide the
// same up to i). As in backtesting.py, the first Next comes once every
// indicator has a value and there is a previous bar to compare with (bar 1
// + the longest warm-up).
// The indicators are marketdata's (one implementation): SMA, EMA and RSI
// here are its values as NaN-padded series aligned with the bars, and the
// engine streams them a block of bars at a time with the same arithmetic,
// so a strategy sees exactly what the batch functions return.
// Built-in strategies: BuyAndHold, SMACross, RSIReversion, Breakout and the
// seeded RandomTrader, the coin-flip baseline any strategy must beat.
// Strategies describes them for apps (names, labels, parameters with their
// types int, float or bool, defaults, ranges and descriptions), and
// NewStrategy builds one by name from Params, refusing an unknown
// parameter or a value of the wrong type.
//
// # Broker semantics
//
// These follow backtesting.py 0.6.6:
//
//   - Market orders fill at the next bar's open (with
//     Options.TradeOnClose, at the close of the bar they were placed on).
//     Limit orders fill when a bar trades through the limit, at the limit,
//     or at the open when the bar gaps past it; stop orders become market
//     (or limit) orders once a bar trades through the stop. Stop-loss and
//     take-profit brackets close their trade; when both could have hit in
//     one bar, the stop-loss wins (pessimistic).
//   - "All in" (the default size) buys floor(available equity × (1−ε) ÷
//     (price + per-unit fee)) whole units, like backtesting.py's
//     size=1−ε; SizeUnits and SizeCash give other sizes, Options.Fractional
//     allows fractional units.
//   - Commissions (CommissionModel: fixed + rate × notional, with a
//     minimum, or any Commission) are charged at entry, on the fill price,
//     and at exit; the function sees the trade's signed size both times.
//     The spread (SpreadBps) worsens the entry price only, as in
//     backtesting.py. Stops and limits trigger when a bar touches them.
//   - Without Options.Hedging an order first closes opposite trades, oldest
//     first (FIFO); Options.ExclusiveOrders closes everything before each
//     new order. Trades still open after the last bar are closed
//     (backtesting.py's finalize_trades=True) unless Options.KeepOpen
//     leaves them open (finalize_trades=False).
//
// The engine keeps float64 figures in its hot loop (the run over 1,000,000
// bars does not allocate per bar); Fill.Transaction and Result.Book are the
// one place where they become decimal money, booked into a portfolio
// ledger (a Booker) in one atomic batch.
//
// # Statistics and backtesting.py
//
// Stats are computed with the definitions of backtesting.py 0.6.6's
// _stats.py: returns annualized from the geometric mean of the daily (or
// weekly, monthly) equity returns, the undefined first one left out, over
// 252 trading days (365 when the data has weekends: the rule of
// marketdata.TradingDaysPerYear, which marketdata.Analyze uses too);
// volatility from the compounded variance (the standard deviation of a
// year's compounded return, which grows with the mean return: not the
// σ·√days of marketdata.Stats.Volatility, though both annualise over the
// same days); Sharpe = annual return ÷ annual volatility; Sortino
// from the daily downside deviation; Calmar = annual return ÷ max drawdown;
// CAGR over calendar years of 365.25 days; alpha and beta from per-bar log
// returns against buy and hold (measured from the first bar the strategy
// could trade); SQN = √n × mean P&L ÷ std P&L; Kelly = win rate − loss rate
// ÷ (average win ÷ average loss); durations rounded up to the data's
// resolution. Figures with no value are NaN (null in JSON): Return (Ann.)
// of a one-bar series, beta when every market return is the same, trade
// statistics without trades.
//
// With Options.Compat the engine reproduces backtesting.py 0.6.6 exactly,
// trade for trade and bar for bar. The golden tests (golden_files_test.go)
// replay its output files in testdata/backtesting-py (every statistic,
// every trade and the equity curve, to 1e-9 relative): the SmaCross(10, 30)
// of its test suite on its GOOG.csv with 10,000 cash and no commission,
// with the last trade closed (Return 414.2299%, Sharpe 0.580623) and left
// open, and its README example (SMA 10/20 with buy() and sell() only,
// SMACross.NoClose here, commission 0.2%, exclusive orders, last trade
// left open; Sharpe 0.600740, Sortino 1.145087). Options.CompatVersion =
// BacktestingPy065 reproduces backtesting.py 0.6.5 instead, whose
// statistics count the undefined first daily return as a 0 return (Sharpe
// 0.580378 and 0.600487 on those runs) and divide calendar days by 252 for
// CAGR; its broker is the same.
//
// backtesting.py's own bracket-order tests (test_trade_enter_hit_sl_on_same_day,
// test_stop_price_between_sl_tp), its commission test and its
// spread/commission equity figures (test_spread_commission) are replayed as
// golden tests too.
//
// The default mode uses the same statistics, and the same broker except
// for these conventions, where backtesting.py is arguably wrong
// (TestDefaultModeDifferences shows each on a small case):
//
//   - "All in" sizing with a fixed fee: backtesting.py divides the
//     commission for the order's fraction by that fraction and adds it to
//     every unit's price, so a fixed fee is charged as if per unit (9 units
//     instead of 90 for 1,000 cash at 10 with a fee of 100); the default
//     buys as many units as the cash pays for, fees included.
//   - Sizing with open trades: backtesting.py marks them at the close of
//     the bar being filled, a price not known when the order fills at its
//     open; the default marks them at that open.
//   - Commission records: backtesting.py recomputes a trade's entry fee for
//     the size closed (a fixed fee counts again on each partial close); the
//     default records the fee actually paid.
//   - Trades still open at the end: backtesting.py runs its broker once
//     more on the last bar, so they close at that bar's open (and orders
//     placed on the last bar fill there too); the default closes them at
//     the last close, the price the final equity is marked at, and
//     cancels pending orders.
//   - With TradeOnClose the default processes market orders, which fill at
//     the previous close, before the stop and limit orders of the bar;
//     backtesting.py takes them in queue order and can record a market
//     exit stamped on the bar before its trade's entry (finkit clamps such
//     an exit to the entry bar, in Compat mode too).
//   - Exclusive orders: backtesting.py cancels the pending orders while
//     iterating over the queue it removes them from, so the order after
//     each cancelled one survives; the default cancels all of them (but
//     stop-loss and take-profit brackets).
//
// Where the two disagree otherwise, finkit is right: after a wipe-out
// (equity at or below zero) backtesting.py closes only every other open
// trade, finkit closes them all.
//
// # Optimization and Monte Carlo
//
// Optimize runs a parameter grid in parallel (bounded by Workers), ranks
// the runs by a statistic, and with WalkForward optimizes on each window and
// tests the winner on the next, so over-fitting shows as a low
// OptimizeResult.Efficiency.
//
// MonteCarlo simulates price paths from the input (GBM calibrated to its
// log-return drift and volatility, or a circular block bootstrap of its bars
// that keeps fat tails and, drawing every bar equally often, the input's
// mean return), runs the strategy and buy-and-hold on every path with a
// worker pool, and reports return, CAGR and drawdown distributions, the
// probability of profit with its standard error and Wilson 95% interval, the
// probability of beating buy-and-hold on the same path, the risk of ruin and
// a one-line verdict. Path i draws from its own PCG generator seeded with
// (Seed, i), so results are bit-identical for any number of workers.
//
// Both are long work: both stop when their context is cancelled, and both
// report progress to an optional callback (MonteCarloOptions.Progress,
// OptimizeOptions.Progress) with the units done and the total, serialized
// and only ever growing, so an app can show a progress bar of a run in the
// background (the dashboard's Monte Carlo jobs do).
//
// # Performance
//
// Run's bar loop allocates nothing per bar (only fills do), computes the
// streaming indicators (SMA, EMA) a block of bars ahead of the loop, and
// the statistics take two passes over the results: one for the drawdown
// curve, its periods and the equity peak, one for the period returns and
// beta's per-bar log returns. Those logarithms are computed as
// 2·atanh((a-b)/(a+b)), a short series for per-bar returns within
// [-20%, +25%] (math.Log beyond), which is twice as fast as math.Log and
// within 2 ulps of the exact value. The variance of period returns is
// summed in the same pass, shifted by the first return, so volatility and
// Sharpe can differ from a two-pass variance in the 12th digit.
// BenchmarkSMACrossRun1M, BenchmarkSMACrossEngine1M and
// BenchmarkSMACrossBaseline1M report bars per CPU second.
//
// # Live paper trading
//
// Account trades against a portfolio.PriceSource (marketdata's Aggregator,
// or ReplayQuotes over historical bars): market orders fill at the latest
// quote plus slippage, limit orders when Poll sees a quote cross. Cash and
// positions are decimal, every fill is booked into the ledger, and a new
// Account over a ledger that can be read back (Holdings) resumes where the
// last one stopped. LedgerStore keeps a ledger and a portfolio.Store (such
// as portfolio/sqlstore) in step, so positions and P&L persist across
// restarts.
//
// Several processes (dashboard instances) may run the same paper account
// on one store: with AccountOptions.Orders, each order change is one
// read-modify-write of the kept record (portfolio.StateStore.UpdateState),
// so none loses another's orders and the MaxPending cap counts them all;
// a fill claims its order before booking it under an id derived from the
// order, so it fills once. Poll reads the orders and, through
// LedgerStore.Refresh, the books as stored. Orders outside the bounds
// (MaxOrderQuantity, MaxOrderPrice, OrderDecimals) are refused with
// ErrInvalidQuantity or ErrInvalidLimit.
package papertrade
