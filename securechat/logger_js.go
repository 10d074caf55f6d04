//go:build js

package securechat

import (
	"strconv"
	"time"
)

// ClientLogger is the type of ClientOptions.Logger in the WebAssembly
// build: an *EventLogger. (Natively it is a *slog.Logger; log/slog would
// weigh a tenth of the module.)
type ClientLogger = *EventLogger

// EventLogger takes the client's warnings in the WebAssembly build: Event
// is called with the level ("WARN"), the message and its attributes as
// " key=value" pairs. Debug events are dropped. A nil EventLogger, or one
// without Event, drops everything.
type EventLogger struct {
	Event func(level, msg, detail string)
}

func clientLog(l ClientLogger, _ PeerID) logger {
	if l == nil {
		return &EventLogger{}
	}
	return l
}

// Debug drops the event.
func (l *EventLogger) Debug(string, ...any) {}

// Warn passes msg and args (alternating keys and values, as with
// log/slog) to Event.
func (l *EventLogger) Warn(msg string, args ...any) {
	if l == nil || l.Event == nil {
		return
	}
	detail := ""
	for i := 0; i+1 < len(args); i += 2 {
		key, _ := args[i].(string)
		detail += " " + key + "=" + logValue(args[i+1])
	}
	l.Event("WARN", msg, detail)
}

// logValue formats the values the client logs without fmt.
func logValue(v any) string {
	switch x := v.(type) {
	case nil:
		return "<nil>"
	case string:
		return x
	case PeerID:
		return string(x)
	case error:
		return x.Error()
	case time.Duration:
		return x.String()
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case uint64:
		return strconv.FormatUint(x, 10)
	case interface{ String() string }:
		return x.String()
	}
	return "?"
}
