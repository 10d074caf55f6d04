//go:build !unix

package portfolio

import "time"

// processCPU is not available here; benchmarks then report 0 CPU time.
func processCPU() time.Duration { return 0 }
