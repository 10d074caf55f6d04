package main

import (
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/vbauerster/mpb/v8"
	"github.com/vbauerster/mpb/v8/decor"
	"golang.org/x/term"
)

// isTerminal reports whether w is a terminal; progress bars are drawn only
// there.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// progress draws one bar per task (a file being uploaded, a Monte Carlo
// run) on a terminal through mpb, and nothing at all when it is off (output
// not a terminal, or --json).
type progress struct {
	p    *mpb.Progress // nil when off
	mu   sync.Mutex
	bars []*mpb.Bar
}

// newProgress draws on w when on is set.
func newProgress(w io.Writer, on bool) *progress {
	if !on {
		return &progress{}
	}
	return &progress{p: mpb.New(mpb.WithOutput(w), mpb.WithRefreshRate(120*time.Millisecond), mpb.WithAutoRefresh())}
}

// bar adds task i's bar, labelled name, and returns its update function:
// done of total units, and a short status shown after the percentage.
func (p *progress) bar(i int, name string) func(done, total int64, status string) {
	if p.p == nil {
		return func(int64, int64, string) {}
	}
	var state atomic.Value
	state.Store("")
	b := p.p.AddBar(0, mpb.BarWidth(30),
		mpb.PrependDecorators(decor.Name(name, decor.WC{W: 24, C: decor.DindentRight})),
		mpb.AppendDecorators(decor.Percentage(decor.WC{W: 5}), decor.Any(func(decor.Statistics) string { return " " + state.Load().(string) })),
	)
	p.mu.Lock()
	p.bars = append(p.bars, b)
	p.mu.Unlock()
	return func(done, total int64, status string) {
		state.Store(status)
		if total > 0 {
			b.SetTotal(total, false)
		}
		b.SetCurrent(done)
	}
}

// finish completes every bar where it stands and waits until the last
// frame is drawn.
func (p *progress) finish() {
	if p.p == nil {
		return
	}
	p.mu.Lock()
	for _, b := range p.bars {
		b.SetTotal(-1, true)
	}
	p.mu.Unlock()
	p.p.Wait()
}
