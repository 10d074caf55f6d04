// Package portfolio is the domain core of finkit: the types the whole project
// talks in (Account, Transaction, Stock and the Reportable interface) and a
// ledger that books transactions with exact decimal arithmetic.
//
// Money and quantities are github.com/shopspring/decimal values; analytics
// elsewhere in finkit use float64 and convert in one visible place.
package portfolio
