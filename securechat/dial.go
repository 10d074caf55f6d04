//go:build !js

package securechat

import (
	"net/http"

	"github.com/coder/websocket"
)

// dialOptions configures the WebSocket dial outside the browser.
func dialOptions(hc *http.Client) *websocket.DialOptions {
	return &websocket.DialOptions{HTTPClient: hc, CompressionMode: websocket.CompressionDisabled}
}
