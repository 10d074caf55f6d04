//go:build js

package securechat

import (
	"net/http"

	"github.com/coder/websocket"
)

// dialOptions configures the WebSocket dial in the browser (GOOS=js), where
// the browser's own WebSocket is used: ClientOptions.HTTPClient does not
// apply, and the browser negotiates compression itself.
func dialOptions(_ *http.Client) *websocket.DialOptions {
	return &websocket.DialOptions{}
}
