package portfolio_test

import (
	"testing"

	"github.com/finkit/finkit/portfolio"
	"github.com/finkit/finkit/portfolio/storetest"
)

func TestMemStore(t *testing.T) {
	storetest.Run(t, func(*testing.T) portfolio.Shelf { return portfolio.NewMemStore() })
}
