//go:build !unix

package papertrade

import "time"

func processCPU() time.Duration { return 0 }
