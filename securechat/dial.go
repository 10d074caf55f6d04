//go:build !js

package securechat

import (
	"context"

	"github.com/coder/websocket"
)

// wsConn is one WebSocket connection from a Client to its relay, carrying
// text frames: github.com/coder/websocket here, the browser's own WebSocket
// under GOOS=js (dial_js.go), so that a browser build links neither
// net/http nor crypto/tls.
type wsConn interface {
	Read(ctx context.Context) ([]byte, error)
	Write(ctx context.Context, text []byte) error
	CloseNow() error
}

type netConn struct{ ws *websocket.Conn }

// dial opens a connection to the relay at url, refusing frames larger
// than maxFrameSize.
func dial(ctx context.Context, url string) (wsConn, error) {
	ws, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return nil, err
	}
	ws.SetReadLimit(maxFrameSize)
	return netConn{ws}, nil
}

func (c netConn) Read(ctx context.Context) ([]byte, error) {
	_, b, err := c.ws.Read(ctx)
	return b, err
}

func (c netConn) Write(ctx context.Context, text []byte) error {
	return c.ws.Write(ctx, websocket.MessageText, text)
}

func (c netConn) CloseNow() error { return c.ws.CloseNow() }
