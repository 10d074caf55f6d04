//go:build js

package securechat

// The WebAssembly build reads and writes frames and client states with
// jsonlite.go instead of encoding/json, whose reflection-driven decoder
// would weigh about 85 KB of the gzip-compressed module; the bytes are
// the same (see jsonlite.go and its tests).

func marshalFrame(f frame) []byte { return appendFrameJSON(nil, &f) }

func unmarshalFrame(b []byte) (frame, error) { return parseFrameJSON(b) }

func marshalState(st *clientState) ([]byte, error) { return appendStateJSON(nil, st), nil }

func unmarshalState(b []byte) (clientState, error) { return parseStateJSON(b) }
