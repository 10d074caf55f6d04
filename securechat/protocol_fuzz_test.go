//go:build !js

package securechat

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
)

// FuzzDecodeFrame feeds the relay's frame decoder (it reads what any
// anonymous peer sends) arbitrary bytes: it never panics, every failure is
// ErrMalformed, and a decoded frame survives an encode/decode round trip
// unchanged, so the relay and the client read the same frame from the same
// bytes. errorFor, which turns an error frame back into a sentinel, must
// return an error for every frame.
func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"challenge","data":"AAEC"}`,
		`{"type":"auth","data":"AAEC","sig":"AAEC"}`,
		`{"type":"fetch","id":7,"peer":"abc"}`,
		`{"type":"send","id":18446744073709551615,"data":""}`,
		`{"type":"deliver","id":1,"data":"AA==","time":-1}`,
		`{"type":"error","id":1,"code":"internal","error":"x"}`,
		`{"type":"error","code":"rate_limited"}`,
		`{"type":""}`, `{}`, `[]`, `null`, `{"type":1}`, `{"id":-1,"type":"ok"}`,
		`{"type":"ok","count":1e400}`, `{"type":"ok","data":"!!"}`,
		"{\"type\":\"ok\",\"error\":\"\xff\xfe\"}", `{"type":"ok","type":"ack"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		fr, err := decodeFrame(b)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("decode error %v is not ErrMalformed", err)
			}
			return
		}
		if fr.Type == "" {
			t.Fatal("decoded a frame without a type")
		}
		if errorFor(fr) == nil {
			t.Fatal("errorFor returned nil")
		}
		again, err := json.Marshal(fr)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		back, err := decodeFrame(again)
		if err != nil {
			t.Fatalf("decode of our own encoding %s: %v", again, err)
		}
		if !reflect.DeepEqual(normal(fr), normal(back)) {
			t.Fatalf("round trip changed the frame:\n%#v\n%#v", fr, back)
		}
	})
}

// normal maps an empty byte slice to nil: omitempty drops both.
func normal(f frame) frame {
	if len(f.Data) == 0 {
		f.Data = nil
	}
	if len(f.Sig) == 0 {
		f.Sig = nil
	}
	return f
}
