package logging

import (
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/url"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRedactDecodedJSONWithArrays: decoded JSON nests objects in arrays,
// and maps hold other kinds of maps; a secret at any of those places is
// redacted, and the shape (arrays stay arrays) is kept.
func TestRedactDecodedJSONWithArrays(t *testing.T) {
	var body map[string]any
	require.NoError(t, json.Unmarshal([]byte(`{"users":[{"name":"ann","password":"`+secretValue+`"},{"name":"bob","tokens":["`+secretValue+`"]}],
		"matrix":[[{"api_key":"`+secretValue+`"}]]}`), &body))
	var list []any
	require.NoError(t, json.Unmarshal([]byte(`[{"secret":"`+secretValue+`"},"plain"]`), &list))
	cases := []struct {
		name string
		attr slog.Attr
	}{
		{"array of objects", slog.Any("body", body)},
		{"top-level array", slog.Any("list", list)},
		{"map holding map[string]string", slog.Any("m", map[string]any{"inner": map[string]string{"token": secretValue}})},
		{"map holding http.Header", slog.Any("m", map[string]any{"headers": http.Header{"Authorization": {"Bearer " + secretValue}}})},
		{"map holding url.Values", slog.Any("m", map[string]any{"form": url.Values{"password": {secretValue}}})},
		{"slice of maps", slog.Any("rows", []map[string]any{{"session_id": secretValue}})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			l, buf := newTestLogger(t, Options{})
			l.LogAttrs(t.Context(), slog.LevelInfo, "msg", tc.attr)
			assert.NotContains(t, buf.String(), secretValue)
			assert.Contains(t, buf.String(), RedactedValue)
		})
	}
	l, buf := newTestLogger(t, Options{})
	l.Info("msg", "body", body)
	line := decodeLines(t, buf)[0]
	users, ok := lookup(line, "body", "users")
	require.True(t, ok, "%v", line)
	arr, ok := users.([]any)
	require.True(t, ok, "an array stays an array: %T", users)
	require.Len(t, arr, 2)
	assert.Equal(t, "ann", arr[0].(map[string]any)["name"])
	assert.Equal(t, RedactedValue, arr[0].(map[string]any)["password"])
	assert.Equal(t, secretValue, body["users"].([]any)[0].(map[string]any)["password"], "the caller's value is not modified")
}

// TestRedactMoreDefaultKeys: common names of secrets are redacted by
// default.
func TestRedactMoreDefaultKeys(t *testing.T) {
	for _, key := range []string{"secret_key", "aws_secret_access_key", "access_key", "AccessKeyId", "passwords", "tokens", "pwd", "credentials",
		"credential", "jwt", "passwordHash", "password_hash", "X-Auth", "x-auth-token", "client_secret", "signature"} {
		l, buf := newTestLogger(t, Options{})
		l.Info("msg", key, secretValue)
		assert.NotContains(t, buf.String(), secretValue, key)
	}
	// Not everything that looks like a word is a secret.
	l, buf := newTestLogger(t, Options{})
	l.Info("msg", "user", "ann", "path", "/x", "status", 200, "keyboard", "qwerty")
	assert.NotContains(t, buf.String(), RedactedValue)
}

// TestRedactURLsInValues: a URL carries secrets in its userinfo and its
// query; they are redacted wherever a URL is logged — a string, a
// *url.URL, an error from http.Client, the message.
func TestRedactURLsInValues(t *testing.T) {
	u, err := url.Parse("https://ann:" + secretValue + "@api.example.com/v1/quote?symbol=AAPL&apikey=" + secretValue)
	require.NoError(t, err)
	uerr := &url.Error{Op: "Get", URL: "https://api.example.com/q?symbol=X&apikey=" + secretValue, Err: errors.New("dial tcp: connection refused")}
	for _, format := range []string{"json", "text"} {
		l, buf := newTestLogger(t, Options{Format: format})
		l.Info("fetching https://api.example.com/q?token="+secretValue+" now",
			"url", "https://ann:"+secretValue+"@example.com/x",
			"target", u,
			"target_value", *u,
			"err", uerr,
			"wrapped", errors.Join(errors.New("quote"), uerr),
			"note", "see http://example.com/cb?code="+secretValue+"&state=ok for details",
			"signed", "https://bucket.s3.amazonaws.com/f?X-Amz-Credential="+secretValue+"&X-Amz-Signature="+secretValue+"&X-Amz-Expires=60",
		)
		out := buf.String()
		assert.NotContains(t, out, secretValue, format)
		assert.Contains(t, out, "symbol=AAPL", "%s: harmless parameters stay", format)
		assert.Contains(t, out, "api.example.com/v1/quote", format)
		assert.Contains(t, out, "connection refused", format)
		assert.Contains(t, out, "X-Amz-Expires=60", format)
	}
}
