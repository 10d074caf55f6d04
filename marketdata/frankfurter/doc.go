// Package frankfurter is a client of the Frankfurter API (v1), a free JSON
// service for the ECB reference rates with any base currency: latest rates
// (/latest?base=USD&symbols=EUR,GBP), rates on a date and time series
// (/2024-01-02..2024-01-31). Error answers are JSON {"message": "not found"}.
package frankfurter
