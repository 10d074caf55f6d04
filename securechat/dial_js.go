//go:build js

package securechat

import (
	"context"
	"errors"
	"sync"
	"syscall/js"
)

// wsConn is one WebSocket connection from a Client to its relay, carrying
// text frames. Under GOOS=js it is the browser's WebSocket, used through
// syscall/js, so that the WebAssembly module links neither net/http nor
// crypto/tls (about a third of its size).
type wsConn interface {
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, text []byte) error
	CloseNow() error
}

// Bounds of what a browser connection buffers between the WebSocket's
// message events and Client's reads: past them the connection is dropped
// (the relay redelivers what was not acknowledged).
const (
	maxQueuedFrames = 256
	maxQueuedBytes  = 8 << 20
)

var errBrowserSocketClosed = errors.New("securechat: WebSocket closed")

// browserConn adapts the browser's event-driven WebSocket to blocking
// reads. Its callbacks never block: they append to a bounded queue and
// signal.
type browserConn struct {
	ws    js.Value
	funcs []js.Func

	mu     sync.Mutex
	queue  [][]byte
	queued int
	err    error         // set once the socket is closed or failed
	signal chan struct{} // capacity 1: something was queued or err was set
	open   chan struct{} // closed on the open event
	once   sync.Once
}

// dial opens a browser WebSocket to url and waits for it to open.
func dial(ctx context.Context, url string) (_ wsConn, err error) {
	ctor := js.Global().Get("WebSocket")
	if ctor.Type() != js.TypeFunction {
		return nil, errors.New("securechat: this JavaScript environment has no WebSocket")
	}
	defer func() { // the constructor throws a SyntaxError for a bad URL
		if r := recover(); r != nil {
			err = errorf("%w: relay URL: %v", ErrMalformed, r)
		}
	}()
	c := &browserConn{ws: ctor.New(url), signal: make(chan struct{}, 1), open: make(chan struct{})}
	c.on("open", func(js.Value) { close(c.open) })
	c.on("message", c.onMessage)
	c.on("close", func(ev js.Value) {
		c.fail(errorf("%w (code %d)", errBrowserSocketClosed, ev.Get("code").Int()))
	})
	select {
	case <-c.open:
		return c, nil
	case <-c.signal: // closed before it opened
		c.CloseNow()
		return nil, c.failure()
	case <-ctx.Done():
		c.CloseNow()
		return nil, ctx.Err()
	}
}

func (c *browserConn) on(event string, fn func(ev js.Value)) {
	f := js.FuncOf(func(_ js.Value, args []js.Value) any {
		fn(args[0])
		return nil
	})
	c.funcs = append(c.funcs, f)
	c.ws.Set("on"+event, f)
}

func (c *browserConn) onMessage(ev js.Value) {
	data := ev.Get("data")
	if data.Type() != js.TypeString {
		c.fail(errorf("%w: binary frame from relay", ErrMalformed))
		return
	}
	b := []byte(data.String())
	if len(b) > maxFrameSize {
		c.fail(errorf("%w: frame of %d bytes from relay", ErrTooLarge, len(b)))
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.err != nil {
		return
	}
	if len(c.queue) >= maxQueuedFrames || c.queued+len(b) > maxQueuedBytes {
		c.err = errors.New("securechat: relay frames arrive faster than they are read")
		c.wake()
		return
	}
	c.queue = append(c.queue, b)
	c.queued += len(b)
	c.wake()
}

func (c *browserConn) wake() {
	select {
	case c.signal <- struct{}{}:
	default:
	}
}

func (c *browserConn) fail(err error) {
	c.mu.Lock()
	if c.err == nil {
		c.err = err
	}
	c.wake()
	c.mu.Unlock()
}

func (c *browserConn) failure() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Read returns the next text frame, in order; once the socket has closed
// the frames already received are still returned before the error.
func (c *browserConn) Read(ctx context.Context) ([]byte, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			b := c.queue[0]
			c.queue[0] = nil
			c.queue = c.queue[1:]
			c.queued -= len(b)
			c.mu.Unlock()
			return b, nil
		}
		err := c.err
		c.mu.Unlock()
		if err != nil {
			return nil, err
		}
		select {
		case <-c.signal:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// Write sends text as one text frame. The browser queues it; a socket that
// is closing drops it, which Client treats like any lost frame (it retries
// on the next connection).
func (c *browserConn) Write(ctx context.Context, text []byte) (err error) {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := c.failure(); err != nil {
		return err
	}
	defer func() { // send throws when the socket is not open
		if r := recover(); r != nil {
			err = errorf("%w: %v", errBrowserSocketClosed, r)
		}
	}()
	c.ws.Call("send", string(text))
	return nil
}

// CloseNow closes the socket and releases its callbacks.
func (c *browserConn) CloseNow() error {
	c.once.Do(func() {
		for _, ev := range []string{"onopen", "onmessage", "onclose", "onerror"} {
			c.ws.Set(ev, js.Null())
		}
		c.ws.Call("close")
		for _, f := range c.funcs {
			f.Release()
		}
		c.fail(errBrowserSocketClosed)
	})
	return nil
}
