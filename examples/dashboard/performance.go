package main

import (
	"context"
	"time"

	"github.com/finkit/finkit/portfolio"
)

// performance measures the time- and money-weighted returns since
// inception of owner's books against simulated daily history, from the
// owner's cached series. Errors are shown, not fatal.
func (a *app) performance(ctx context.Context, owner string, st portfolio.Store, base string) (*portfolio.Performance, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return a.books.performance(ctx, owner, st, base)
}
