// Command gen writes transactions.csv, the demo portfolio priced in the
// default simulated market (see package demo). Run it with
// `go generate ./examples/dashboard/demo`.
package main

import (
	"context"
	"fmt"
	"os"

	"github.com/finkit/finkit/examples/dashboard/demo"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	m, err := demo.Market()
	if err != nil {
		return err
	}
	b, err := demo.CSV(context.Background(), m)
	if err != nil {
		return err
	}
	return os.WriteFile("transactions.csv", b, 0o644)
}
