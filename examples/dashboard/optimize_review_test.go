package main

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/papertrade"
)

// A range whose step is too small to move its start ("5:5:1e-300": one
// value by the count, but start + i·step rounds back to 5 for ever) is
// refused at once; it looped, appending 5 until memory ran out.
func TestOptimizeRangeWithAVanishingStep(t *testing.T) {
	var fast papertrade.ParamInfo
	for _, s := range papertrade.Strategies() {
		for _, p := range s.Params {
			if s.Name == "smacross" && p.Name == "fast" {
				fast = p
			}
		}
	}
	require.Equal(t, "fast", fast.Name)
	for _, spec := range []string{"5:5:1e-300", "5:5.0000000001:1e-12", "5:6:1e-308", "1e-300:2e-300:1e-300", "1e10:1e10:1e-9", "99999:99999:0.000001"} {
		done := make(chan error, 1)
		go func() {
			vals, err := parseRange(fast, spec)
			if err == nil {
				assert.LessOrEqual(t, len(vals), maxOptValues, spec)
			}
			done <- err
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatalf("parseRange(%q) still running after 5 s", spec)
		}
	}
	vals, err := parseRange(fast, "5:20:5")
	require.NoError(t, err)
	assert.Equal(t, []float64{5, 10, 15, 20}, vals)
	vals, err = parseRange(fast, "5:5:1")
	require.NoError(t, err)
	assert.Equal(t, []float64{5}, vals)
}
