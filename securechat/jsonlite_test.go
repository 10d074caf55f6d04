package securechat

import (
	"encoding/json"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// trickyStrings are the strings where a JSON writer or reader can go
// wrong: escapes, HTML characters encoding/json escapes, line
// separators, control characters, invalid UTF-8, surrogates.
var trickyStrings = []string{"", "deliver", "a\"b\\c", "<script>&amp;", "\u2028\u2029", "\x00\x01\x1f\x7f", "tab\tnl\ncr\r\b\f",
	"\xff\xfe", "é漢字🙂", "\xed\xa0\x80", "/slash/", "x\xc3"}

func randomFrame(r *rand.Rand) frame {
	pick := func() string { return trickyStrings[r.IntN(len(trickyStrings))] }
	bytesOrNil := func() []byte {
		switch r.IntN(3) {
		case 0:
			return nil
		case 1:
			return []byte{}
		}
		b := make([]byte, r.IntN(70))
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		return b
	}
	nums := []int64{0, 1, -1, 1<<53 + 1, -1 << 63, 1<<63 - 1}
	return frame{Type: pick(), ID: []uint64{0, 1, 1<<64 - 1, 12345}[r.IntN(4)], Peer: PeerID(pick()), Data: bytesOrNil(), Sig: bytesOrNil(),
		Time: nums[r.IntN(len(nums))], Count: int(nums[r.IntN(len(nums))]), Code: pick(), Error: pick()}
}

func randomState(r *rand.Rand) clientState {
	st := clientState{Version: r.IntN(3), Prekeys: randomFrame(r).Data}
	if r.IntN(4) > 0 {
		st.Sessions = map[PeerID][][]byte{}
		for range r.IntN(4) {
			var list [][]byte
			if r.IntN(5) > 0 {
				for range r.IntN(3) {
					list = append(list, randomFrame(r).Sig)
				}
				if list == nil {
					list = [][]byte{}
				}
			}
			st.Sessions[PeerID(trickyStrings[r.IntN(len(trickyStrings))])] = list
		}
	}
	if r.IntN(4) > 0 {
		st.Groups = []Group{}
		for range r.IntN(3) {
			g := Group{ID: trickyStrings[r.IntN(len(trickyStrings))], Owner: PeerID(trickyStrings[r.IntN(len(trickyStrings))])}
			if r.IntN(3) > 0 {
				g.Members = []PeerID{}
				for range r.IntN(3) {
					g.Members = append(g.Members, PeerID(trickyStrings[r.IntN(len(trickyStrings))]))
				}
			}
			st.Groups = append(st.Groups, g)
		}
	}
	return st
}

// TestJSONLiteMatchesEncodingJSON: frames and states written by
// appendFrameJSON/appendStateJSON are json.Marshal's bytes, and read back
// by parseFrameJSON/parseStateJSON they equal what json.Unmarshal gives.
func TestJSONLiteMatchesEncodingJSON(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range 3000 {
		f := randomFrame(r)
		want, err := json.Marshal(f)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendFrameJSON(nil, &f)), "frame %d", i)
		var back frame
		require.NoError(t, json.Unmarshal(want, &back))
		got, err := parseFrameJSON(want)
		require.NoError(t, err, "%s", want)
		require.True(t, reflect.DeepEqual(back, got), "%s:\n%#v\n%#v", want, back, got)

		st := randomState(r)
		want, err = json.Marshal(st)
		require.NoError(t, err)
		require.Equal(t, string(want), string(appendStateJSON(nil, &st)), "state %d", i)
		var stBack clientState
		require.NoError(t, json.Unmarshal(want, &stBack))
		stGot, err := parseStateJSON(want)
		require.NoError(t, err, "%s", want)
		require.True(t, reflect.DeepEqual(stBack, stGot), "%s:\n%#v\n%#v", want, stBack, stGot)
	}
}

// jsonLiteSeeds are documents the readers must treat as encoding/json
// does, or refuse.
var jsonLiteSeeds = []string{
	`{"type":"deliver","id":3,"data":"aGVsbG8=","time":1700000000000}`,
	`{"TYPE":"x","Id":1}`, `{"type":"a","type":"b"}`, `{"type":null,"data":null}`, `{"type":"\ud83d\ude00\ud800x\udc00"}`,
	`{"type":"x","id":-1}`, `{"type":"x","id":1.5}`, `{"type":"x","id":1e3}`, `{"type":"x","count":9223372036854775808}`,
	`{"type":"x","data":"aGVsbG8"}`, `{"type":"x","data":"aGVs\nbG8="}`, `{"type":"x","data":[1,2]}`, `{"type":"x","extra":{"a":[1,{"b":null}]}}`,
	`{"typ\u0065":"x"}`, `{"\u212ape":"x"}`, `{"type":"x"} `, `{"type":"x"}x`, `[]`, `null`, `"x"`, `{"type":01}`, `{"type":"\x01"}`,
	`{"version":1,"prekeys":"AA==","sessions":{"p":["AA==",null],"q":null},"groups":[{"ID":"g","Owner":"o","Members":["a"]},null]}`,
	`{"version":1,"groups":[{"id":"g","members":null}],"Groups":[]}`, `{"sessions":{"p":[]},"sessions":{"q":[]}}`,
}

func FuzzJSONLiteFrame(f *testing.F) {
	for _, s := range jsonLiteSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseFrameJSON(b)
		if err != nil {
			return // refusing more than encoding/json is allowed
		}
		var want frame
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nencoding/json %#v\njsonlite      %#v", b, want, got)
		}
	})
}

func FuzzJSONLiteState(f *testing.F) {
	for _, s := range jsonLiteSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseStateJSON(b)
		if err != nil {
			return
		}
		var want clientState
		if err := json.Unmarshal(b, &want); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", b, err)
		}
		if !reflect.DeepEqual(want, got) {
			t.Fatalf("%q:\nencoding/json %#v\njsonlite      %#v", b, want, got)
		}
	})
}

func TestJSONLiteSeeds(t *testing.T) {
	accepted := 0
	for _, s := range jsonLiteSeeds {
		if _, err := parseFrameJSON([]byte(s)); err == nil {
			accepted++
		}
	}
	assert.Positive(t, accepted)
}
