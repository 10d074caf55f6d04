package mpart

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// TestMutatedSeeds compares mutated seed bodies (bytes changed, cut,
// boundaries inserted), each within a time limit (no input may hang
// either reader).
func TestMutatedSeeds(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	ss := seeds(t)
	for i := 0; i < 300; i++ {
		s := ss[rng.IntN(len(ss))]
		b := []byte(s[0])
		for k := rng.IntN(4); k >= 0 && len(b) > 0; k-- {
			switch rng.IntN(3) {
			case 0:
				b[rng.IntN(len(b))] = byte(rng.IntN(256))
			case 1:
				b = b[:rng.IntN(len(b))]
			case 2:
				j := rng.IntN(len(b))
				b = append(b[:j:j], append([]byte("\r\n--XyZ"), b[j:]...)...)
			}
		}
		done := make(chan struct{})
		go func() { defer close(done); compare(t, b, s[1]) }()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			panic(fmt.Sprintf("hang on %q", b))
		}
	}
}
