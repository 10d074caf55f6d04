package pdfexport

import (
	"context"
	"fmt"
)

// Per-conversion limits on what a page may hold of the converter's shared
// machinery at once.
const (
	// lookupsPerConversion bounds the DNS lookups one conversion has in
	// progress for the private-network policy; a page whose names never
	// resolve waits for its own lookups only.
	lookupsPerConversion = 8

	// tunnelsPerConversion bounds the CONNECT tunnels (https, WebSocket)
	// one conversion has open through the egress proxy at once.
	tunnelsPerConversion = 32
)

// budget is what one conversion (one tab and its browser context) may use
// of the converter's shared resources. Every DNS lookup the policy makes for
// the page, in the Fetch interception or in the egress proxy, takes a token
// of its budget, so a page whose lookups hang delays only itself. The
// budget's context ends when the tab is closed, which abandons the lookups
// still waiting.
type budget struct {
	ctx     context.Context
	cancel  context.CancelFunc
	lookups chan struct{}
	tunnels chan struct{}
}

// newBudget returns a budget that lives until parent ends or cancel is
// called.
func newBudget(parent context.Context) *budget {
	ctx, cancel := context.WithCancel(parent)
	return &budget{ctx: ctx, cancel: cancel,
		lookups: make(chan struct{}, lookupsPerConversion),
		tunnels: make(chan struct{}, tunnelsPerConversion),
	}
}

// lookup waits for a DNS lookup token and returns the function that gives
// it back. A nil budget has no limit: the caller's own goroutine pays for
// its lookups (ConvertTo's check of the page URL).
func (b *budget) lookup(ctx context.Context) (release func(), err error) {
	if b == nil {
		return func() {}, nil
	}
	select {
	case b.lookups <- struct{}{}:
		return func() { <-b.lookups }, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("%w: waiting to resolve: %v", ErrBlockedURL, ctx.Err())
	case <-b.ctx.Done():
		return nil, fmt.Errorf("%w: the conversion ended", ErrBlockedURL)
	}
}

// tunnel takes a tunnel token without waiting and returns the function
// that gives it back, or ok false when the conversion has all its tunnels
// open. A nil budget has no limit.
func (b *budget) tunnel() (release func(), ok bool) {
	if b == nil {
		return func() {}, true
	}
	select {
	case b.tunnels <- struct{}{}:
		return func() { <-b.tunnels }, true
	default:
		return nil, false
	}
}

type budgetKey struct{}

// withBudget returns ctx carrying b, for the egress proxy's dials.
func withBudget(ctx context.Context, b *budget) context.Context {
	return context.WithValue(ctx, budgetKey{}, b)
}

// budgetFrom returns the budget in ctx, or nil.
func budgetFrom(ctx context.Context) *budget {
	b, _ := ctx.Value(budgetKey{}).(*budget)
	return b
}
