package marketdata

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Update is one message of a Watch stream.
type Update struct {
	Time    time.Time `json:"time"`
	Symbol  string    `json:"symbol"`
	Quote   Merged    `json:"quote"`           // valid when Err is nil; may be a low-confidence best guess (see Quote.Confidence)
	Err     error     `json:"-"`               // why this symbol has no quote this round
	Message string    `json:"error,omitempty"` // Err as text, for JSON
	Dropped uint64    `json:"dropped"`         // updates dropped so far because the consumer was slow
}

// Summary implements portfolio.Reportable.
func (u Update) Summary() string {
	if u.Err != nil {
		return u.Symbol + ": " + u.Err.Error()
	}
	return u.Quote.Summary()
}

// Watch polls symbols every interval (starting at once) and streams one
// Update per symbol per round on a bounded channel. When the consumer falls
// behind, the oldest queued update is dropped so the newest always gets in.
// The channel is closed when ctx ends or the Aggregator is closed; the
// polling goroutine is owned by the Aggregator and Close waits for it.
func (a *Aggregator) Watch(ctx context.Context, symbols []string, interval time.Duration) (<-chan Update, error) {
	syms, err := normalize(symbols)
	if err != nil {
		return nil, err
	}
	if interval < time.Millisecond {
		return nil, fmt.Errorf("marketdata: watch interval %s too short", interval)
	}
	if !a.track() {
		return nil, ErrClosed
	}
	ch := make(chan Update, max(a.opts.WatchBuffer, len(syms)))
	go func() {
		defer a.wg.Done()
		defer close(ch)
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		go func() { // tie the stream to the Aggregator's lifetime too
			select {
			case <-a.ctx.Done():
				cancel()
			case <-ctx.Done():
			}
		}()
		var dropped uint64
		send := func(u Update) {
			for {
				u.Dropped = dropped
				select {
				case ch <- u:
					return
				default:
				}
				select { // full: drop the oldest and retry
				case <-ch:
					dropped++
				default:
				}
			}
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			res, err := a.Quotes(ctx, syms)
			now := a.opts.Now()
			if ctx.Err() != nil {
				return
			}
			for _, s := range syms {
				u := Update{Time: now, Symbol: s}
				if err != nil {
					u.Err = err
				} else if m, ok := res.Get(s); ok {
					u.Quote = m
				} else {
					u.Err = noQuoteErr(s, res)
				}
				if u.Err != nil {
					u.Message = u.Err.Error()
				}
				send(u)
			}
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}()
	return ch, nil
}

func noQuoteErr(symbol string, res *Result) error {
	errs := []error{fmt.Errorf("%w for %s", ErrNoQuote, symbol)}
	for _, e := range res.Errors {
		if e.Symbol == symbol || e.Symbol == "" {
			errs = append(errs, e.Err)
		}
	}
	return errors.Join(errs...)
}
