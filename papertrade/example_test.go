package papertrade_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/finkit/finkit/papertrade"
	"github.com/finkit/finkit/portfolio"
	"github.com/shopspring/decimal"
)

// Backtest the SmaCross of backtesting.py's test suite on GOOG in Compat
// mode and print a few of the statistics backtesting.py 0.6.6 reports.
func ExampleRun() {
	bars, err := papertrade.ReadCSVFile("testdata/GOOG.csv")
	if err != nil {
		panic(err)
	}
	res, err := papertrade.Run(context.Background(), bars,
		&papertrade.SMACross{Fast: 10, Slow: 30},
		papertrade.Options{Cash: 10_000, Compat: true})
	if err != nil {
		panic(err)
	}
	s := res.Stats
	fmt.Printf("return %.4f%%, buy & hold %.4f%%\n", s.ReturnPct, s.BuyHoldReturnPct)
	fmt.Printf("%d trades, win rate %.2f%%, Sharpe %.4f, max drawdown %.2f%%\n",
		s.NumTrades, s.WinRatePct, s.SharpeRatio, s.MaxDrawdownPct)
	// Output:
	// return 414.2299%, buy & hold 522.0602%
	// 66 trades, win rate 46.97%, Sharpe 0.5806, max drawdown -47.98%
}

// Ask whether the strategy wins in the long run: 500 simulated one-year
// paths resampled from GOOG's history.
func ExampleMonteCarlo() {
	bars, err := papertrade.ReadCSVFile("testdata/GOOG.csv")
	if err != nil {
		panic(err)
	}
	newStrategy := func() papertrade.Strategy { return &papertrade.SMACross{Fast: 10, Slow: 30} }
	res, err := papertrade.MonteCarlo(context.Background(), bars, newStrategy, papertrade.MonteCarloOptions{
		Paths: 500, Bars: 252, Method: papertrade.Bootstrap, Seed: 1,
	})
	if err != nil {
		panic(err)
	}
	fmt.Println(res.Paths, "paths of", res.BarsPerPath, "bars")
	fmt.Println(res.ProbProfit > 0 && res.ProbProfit < 1, res.Return.P5 < res.Return.P95)
	// Output:
	// 500 paths of 252 bars
	// true true
}

func ExampleReadCSV() {
	csv := `Date,Open,High,Low,Close,Adj Close,Volume
2024-01-02,187.15,188.44,183.89,185.64,184.94,82488700
2024-01-03,184.22,185.88,183.43,184.25,183.55,58414500`
	bars, err := papertrade.ReadCSV(strings.NewReader(csv))
	if err != nil {
		panic(err)
	}
	for _, b := range bars {
		fmt.Println(b.Time.Format("2006-01-02"), b.Close)
	}
	// Output:
	// 2024-01-02 185.64
	// 2024-01-03 184.25
}

// Paper-trade against replayed quotes; fills are booked into a portfolio
// ledger.
func ExampleAccount() {
	bars, err := papertrade.ReadCSVFile("testdata/GOOG.csv")
	if err != nil {
		panic(err)
	}
	quotes, err := papertrade.NewReplayQuotes("USD", map[string][]papertrade.Bar{"GOOG": bars})
	if err != nil {
		panic(err)
	}
	ledger, err := portfolio.NewLedger(portfolio.Account{ID: "paper", Name: "Paper", Currency: "USD"})
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	acct, err := papertrade.NewAccount(ctx, papertrade.AccountOptions{
		ID: "paper", Quotes: quotes, Book: ledger, Deposit: decimal.NewFromInt(10_000),
	})
	if err != nil {
		panic(err)
	}
	if _, err := acct.Buy(ctx, "GOOG", decimal.NewFromInt(10)); err != nil {
		panic(err)
	}
	cash, _ := ledger.Cash("paper")
	fmt.Println("ledger cash:", cash.StringFixed(2))
	fmt.Println(acct.Summary())
	// Output:
	// ledger cash: 8996.60
	// paper account paper: cash 8996.60 USD, 1 positions, 0 pending orders
}

// Grid-search the SMA periods by Sharpe ratio, with a three-fold
// walk-forward to see whether the winners hold up out of sample.
func ExampleOptimize() {
	bars, err := papertrade.ReadCSVFile("testdata/GOOG.csv")
	if err != nil {
		panic(err)
	}
	factory := func(p papertrade.Params) (papertrade.Strategy, error) {
		return papertrade.NewStrategy("smacross", p)
	}
	res, err := papertrade.Optimize(context.Background(), bars, factory, papertrade.OptimizeOptions{
		Grid:        map[string][]float64{"fast": {5, 10, 20}, "slow": {30, 50, 100}},
		Metric:      "sharpe_ratio",
		WalkForward: 3,
	})
	if err != nil {
		panic(err)
	}
	best := res.Best()
	fmt.Printf("best: %s (Sharpe %.2f)\n", best.Params, best.Score)
	fmt.Println("folds:", len(res.Folds))
	// Output:
	// best: fast=10 slow=30 (Sharpe 0.58)
	// folds: 3
}

// A progress bar for long work: Progress is called after every backtest
// with the number done and the total (here the 4 runs of the grid, the 4
// of each of the 2 walk-forward folds and each fold's out-of-sample run).
func ExampleOptimize_progress() {
	bars, err := papertrade.ReadCSVFile("testdata/GOOG.csv")
	if err != nil {
		panic(err)
	}
	factory := func(p papertrade.Params) (papertrade.Strategy, error) {
		return papertrade.NewStrategy("smacross", p)
	}
	last := 0
	_, err = papertrade.Optimize(context.Background(), bars, factory, papertrade.OptimizeOptions{
		Grid:        map[string][]float64{"fast": {5, 10}, "slow": {30, 50}},
		WalkForward: 2,
		Progress: func(done, total int) {
			if done*4/total > last*4/total { // every quarter
				fmt.Printf("%3d%% (%d of %d)\n", done*100/total, done, total)
			}
			last = done
		},
	})
	if err != nil {
		panic(err)
	}
	// Output:
	//  28% (4 of 14)
	//  50% (7 of 14)
	//  78% (11 of 14)
	// 100% (14 of 14)
}
