package securechat

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestReviewJSONLiteHostileDocuments: documents chosen to split a small
// JSON reader from encoding/json (duplicate and case-folded keys, null
// after a value, escapes, \u0000, lone and reversed surrogates, huge and
// odd numbers, deep nesting, trailing garbage, non-ASCII keys). Whatever
// jsonlite accepts, encoding/json accepts with the same result; nesting
// far beyond the limit is refused without exhausting the stack.
func TestReviewJSONLiteHostileDocuments(t *testing.T) {
	docs := []string{
		`{"type":"a","TYPE":"b","Type":"c"}`, `{"data":"AA==","data":null}`, `{"id":1,"id":null}`, `{"id":-0}`, `{"time":-0}`,
		`{"id":18446744073709551615}`, `{"id":18446744073709551616}`, `{"time":-9223372036854775808}`, `{"time":-9223372036854775809}`,
		`{"count":9223372036854775807}`, `{"id":1E2}`, `{"id":0.0}`, `{"id":00}`, `{"id":-}`, `{"id":+1}`, `{"id":.5}`, `{"id":1.}`,
		`{"extra":1e999999999}`, `{"extra":-0.0e-0}`, `{"type":"\u0000"}`, `{"type":"\u0000\ud800"}`, `{"type":"\udc00\ud800"}`,
		`{"type":"\ud800\ud800\udc00"}`, `{"type":"\ud800\\u0041"}`, `{"type":"\ud800\u00"}`, `{"type":"\uD83D\uDE00"}`, `{"type":"\u12"}`,
		`{"type":"\x"}`, `{"type":"\'"}`, "{\"type\":\"\x7f\"}", "{\"type\":\"\xc0\xaf\"}", "{\"type\":\"\xed\xb0\x80\"}", "{\"type\":\"\t\"}",
		`{"type":"a"}{"type":"b"}`, `{"type":"a"},`, ` {"type":"a"} ` + "\n\r\t", "\ufeff{}", `{"type":"a",}`, `{,"type":"a"}`, `{"type" "a"}`,
		`{"type":true}`, `{"type":[]}`, `{"type":{}}`, `{"data":""}`, `{"data":"A"}`, `{"data":"AA"}`, `{"data":"AA=="}`, `{"data":"A==="}`,
		`{"data":"AAA="}`, `{"data":"AB=="}`, "{\"data\":\"AA\\r\\n==\"}", `{"data":"AA\u003d\u003d"}`, `{"data":"-_8="}`, `{"data":"+/8="}`,
		`{"peer":"x","peer":null}`, `{"ID":5}`, `{"iD":5}`, `{"ſig":"AA=="}`, `{"\u0074ype":"x"}`, `{"ty\u0000pe":"x"}`, `{"type\u0000":"x"}`,
		`{"version":1,"Version":2}`, `{"sessions":{"p":["AA=="],"p":null}}`, `{"sessions":{"p":[null,""]}}`, `{"sessions":[]}`, `{"sessions":{"p":"AA=="}}`,
		`{"groups":[{"id":"a","ID":"b","Members":["x"],"members":["y","z"]}]}`, `{"groups":[null,{}]}`, `{"groups":{}}`, `{"groups":[{"Members":[null]}]}`,
		`{"groups":[{"Members":[1]}]}`, `{"prekeys":null}`, `{"version":null}`, `{"version":1.0}`, `null`, `{}`, `[]`, ``, `{`, `{"`,
	}
	deep := strings.Repeat(`{"extra":`, 100000) + "1" + strings.Repeat("}", 100000)
	docs = append(docs, deep, `{"extra":`+strings.Repeat("[", 17)+strings.Repeat("]", 17)+`}`, `{"extra":`+strings.Repeat("[", 15)+strings.Repeat("]", 15)+`}`)
	for _, d := range docs {
		if f, err := parseFrameJSON([]byte(d)); err == nil {
			var want frame
			require.NoError(t, json.Unmarshal([]byte(d), &want), "frame %q accepted, encoding/json refuses", d)
			require.True(t, reflect.DeepEqual(want, f), "frame %q:\n%#v\n%#v", d, want, f)
		}
		if st, err := parseStateJSON([]byte(d)); err == nil {
			var want clientState
			require.NoError(t, json.Unmarshal([]byte(d), &want), "state %q accepted, encoding/json refuses", d)
			require.True(t, reflect.DeepEqual(want, st), "state %q:\n%#v\n%#v", d, want, st)
		}
	}
	_, err := parseFrameJSON([]byte(deep))
	require.Error(t, err, "nesting beyond the limit is refused")
}
