//go:build unix

package portfolio

import (
	"syscall"
	"time"
)

// processCPU returns the CPU time (user + system) used by this process so
// far. Benchmarks report it per operation because wall-clock time on a
// shared machine mostly measures the other tenants.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
