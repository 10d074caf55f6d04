//go:build !js

package securechat

import "log/slog"

// ClientLogger is the type of ClientOptions.Logger: a *slog.Logger. (In
// the WebAssembly build it is an *EventLogger, so that log/slog, a tenth
// of the module, is not linked.)
type ClientLogger = *slog.Logger

// clientLog is the client's logger: l (slog.Default when nil) with the
// client's own id.
func clientLog(l ClientLogger, self PeerID) logger {
	if l == nil {
		l = slog.Default()
	}
	return l.With("self", self)
}
