package logging

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
)

type urlStringer struct{ u string }

func (s urlStringer) String() string { return s.u }

// TestReviewRedactionBypasses: hostile spellings of keys and URLs.
func TestReviewRedactionBypasses(t *testing.T) {
	u, _ := url.Parse("https://alice:" + secretValue + "@h.example/x")
	cases := []struct {
		name string
		attr slog.Attr
		msg  string
	}{
		{"key trailing space", slog.String("password ", secretValue), ""},
		{"key leading/inner space", slog.String("db password", secretValue), ""},
		{"key trailing tab", slog.String("token\t", secretValue), ""},
		{"key upper", slog.String("PASSWORD", secretValue), ""},
		{"encoded userinfo", slog.String("u", "see http://a%40b:"+secretValue+"@h/"), ""},
		{"user only", slog.String("u", "http://"+secretValue+"@h/"), ""},
		{"pass only", slog.String("u", "http://:"+secretValue+"@h/"), ""},
		{"mixed case query key", slog.String("u", "http://h/?ToKeN="+secretValue), ""},
		{"encoded query key", slog.String("u", "http://h/?to%6Ben="+secretValue), ""},
		{"amz sig", slog.String("u", "http://h/?X-Amz-Signature="+secretValue), ""},
		{"json in string", slog.String("body", `{"cb":"https://h/?access_token=`+secretValue+`"}`), ""},
		{"escaped json in string", slog.String("body", `{\"cb\":\"https://h/?access_token=`+secretValue+`\"}`), ""},
		{"message", slog.String("k", "v"), "fetch https://h/?apikey=" + secretValue},
		{"url.URL pointer", slog.Any("u", u), ""},
		{"wrapped url error", slog.Any("err", fmt.Errorf("x: %w", &url.Error{Op: "Get", URL: "https://h/?token=" + secretValue, Err: errors.New("boom")})), ""},
		{"bytes with url", slog.Any("raw", []byte("https://h/?token="+secretValue)), ""},
		{"stringer with url", slog.Any("s", urlStringer{"https://u:" + secretValue + "@h/"}), ""},
		{"group in array", slog.Any("arr", []any{map[string]any{"x": []any{map[string]any{"Password": secretValue}}}}), ""},
		{"php array key", slog.String("u", "https://h/?access_token[]="+secretValue), ""},
		{"indexed array key", slog.String("u", "https://h/?token[0]="+secretValue), ""},
		{"map key", slog.String("u", "https://h/?auth[password]="+secretValue), ""},
		{"map in error", slog.Any("m", map[string]any{"err": &url.Error{Op: "Get", URL: "https://h/?token=" + secretValue, Err: errors.New("x")}}), ""},
		{"url in map", slog.Any("m", map[string]any{"u": u}), ""},
		{"semicolon", slog.String("u", "https://h/?a=1;token="+secretValue), ""},
		{"url in []string in map[string]any", slog.Any("m", map[string]any{"l": []string{"https://h/?token=" + secretValue}}), ""},
	}
	for _, format := range []string{"json", "text"} {
		for _, tc := range cases {
			t.Run(format+"/"+tc.name, func(t *testing.T) {
				l, buf := newTestLogger(t, Options{Format: format})
				msg := tc.msg
				if msg == "" {
					msg = "m"
				}
				l.LogAttrs(t.Context(), slog.LevelInfo, msg, tc.attr)
				assert.NotContains(t, buf.String(), secretValue)
			})
		}
	}
}

func TestReviewTruncateRunes(t *testing.T) {
	for _, s := range []string{
		string(make([]byte, 0)) + repeat("é", 2000),
		repeat("a", 2047) + "€" + repeat("b", 10),
		repeat("\x80", 3000),
		repeat("a", 2046) + "\U0001F600",
	} {
		got := truncate(s, maxAccessField)
		assert.LessOrEqual(t, len(got), maxAccessField+40)
		if len(s) > maxAccessField {
			assert.Contains(t, got, "bytes truncated]")
		}
	}
}

func repeat(s string, n int) string {
	out := ""
	for i := 0; i < n; i++ {
		out += s
	}
	return out
}

// TestReviewAccessLogArrayQueryKey: with LogQuery, "token[]" in the query
// is as sensitive as "token".
func TestReviewAccessLogArrayQueryKey(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	h := Middleware{Logger: l, LogQuery: true}.Wrap(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	req := httptest.NewRequest(http.MethodGet, "/x?access_token[]="+secretValue+"&auth[password]="+secretValue, nil)
	h.ServeHTTP(httptest.NewRecorder(), req)
	assert.Contains(t, buf.String(), "http request")
	assert.NotContains(t, buf.String(), secretValue)
}
