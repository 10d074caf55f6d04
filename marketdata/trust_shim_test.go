package marketdata_test

import (
	"errors"
	"testing"

	"github.com/finkit/finkit/marketdata"
)

// requireLowConfidence fails unless err says the consensus is not trusted,
// with the merged detail reachable through errors.As.
func requireLowConfidence(t *testing.T, err error) *marketdata.LowConfidenceError {
	t.Helper()
	var lc *marketdata.LowConfidenceError
	if !errors.Is(err, marketdata.ErrLowConfidence) || !errors.As(err, &lc) {
		t.Fatalf("want a low-confidence error, got %v", err)
	}
	return lc
}
