//go:build unix

package papertrade

import (
	"syscall"
	"time"
)

// processCPU is the user+system CPU time this process has used. Benchmarks
// report throughput per CPU second beside wall time, because the machines
// they run on are shared and wall time suffers from other people's work.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
