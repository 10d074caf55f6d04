//go:build !js

package securechat

import "encoding/json"

// The native build reads and writes frames and client states with
// encoding/json; the WebAssembly build uses jsonlite.go (codec_js.go),
// which writes the same bytes.

func marshalFrame(f frame) []byte {
	b, _ := json.Marshal(f) // a frame always marshals
	return b
}

func unmarshalFrame(b []byte) (frame, error) {
	var f frame
	err := json.Unmarshal(b, &f)
	return f, err
}

func marshalState(st *clientState) ([]byte, error) { return json.Marshal(st) }

func unmarshalState(b []byte) (clientState, error) {
	var st clientState
	err := json.Unmarshal(b, &st)
	return st, err
}
