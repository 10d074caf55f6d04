// Package papertrade simulates trading without real money: a broker that
// fills orders from price bars, a backtesting engine that replays history
// through a Strategy, performance statistics, parameter optimization with
// walk-forward validation, a Monte Carlo runner that answers "does this
// strategy make money in the long run?", and a live paper Account that
// trades against real quotes and books its fills into a portfolio ledger.
package papertrade
