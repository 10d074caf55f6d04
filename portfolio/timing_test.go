package portfolio

import (
	"context"
	"errors"
	"testing"
)

// An undeclared FlowTiming used to behave like FlowsAtStart without a word.
func TestInvalidTimingRefused(t *testing.T) {
	points := []ValuePoint{{Value: 100}, {Value: 110}}
	for _, timing := range []FlowTiming{-1, FlowsAtStart + 1, 99} {
		if _, err := TWR(points, timing); !errors.Is(err, ErrInvalidTiming) {
			t.Errorf("TWR(timing %d) error = %v, want ErrInvalidTiming", timing, err)
		}
		l, err := NewLedger(Account{ID: "a", Name: "A", Currency: "USD"})
		if err != nil {
			t.Fatal(err)
		}
		_, err = l.Performance(context.Background(), PerformanceOptions{Timing: timing, Base: "USD"})
		if !errors.Is(err, ErrInvalidTiming) {
			t.Errorf("Performance(timing %d) error = %v, want ErrInvalidTiming", timing, err)
		}
	}
	for _, timing := range []FlowTiming{FlowsSplit, FlowsAtEnd, FlowsAtStart} {
		if _, err := TWR(points, timing); err != nil {
			t.Errorf("TWR(timing %d) error = %v", timing, err)
		}
	}
}
