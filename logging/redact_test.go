package logging

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const secretValue = "s3cr3t-VALUE-9f2c"

// newTestLogger returns a finkit logger writing JSON to the returned buffer.
func newTestLogger(t *testing.T, opts Options) (*slog.Logger, *bytes.Buffer) {
	t.Helper()
	var buf bytes.Buffer
	if opts.Output == nil && opts.File.Path == "" {
		opts.Output = &buf
	}
	if opts.Level == "" {
		opts.Level = "debug"
	}
	l, c, err := New(opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	return l, &buf
}

// decodeLines parses each JSON line in buf.
func decodeLines(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		if line == "" {
			continue
		}
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &m), "line: %s", line)
		out = append(out, m)
	}
	return out
}

// lookup follows path through nested JSON objects.
func lookup(m map[string]any, path ...string) (any, bool) {
	var cur any = m
	for _, p := range path {
		obj, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = obj[p]; !ok {
			return nil, false
		}
	}
	return cur, true
}

// keyVariants spells key the ways callers do: as given, upper case,
// with '-' and '_' swapped or removed, and as a suffix of a longer key.
func keyVariants(key string) []string {
	return []string{
		key,
		strings.ToUpper(key),
		strings.ReplaceAll(key, "_", "-"),
		strings.ReplaceAll(strings.ReplaceAll(key, "_", ""), "-", ""),
		"X-" + strings.ToUpper(strings.ReplaceAll(key, "_", "-")),
		"db_" + key,
	}
}

type groupValuer struct {
	key string
	val string
}

func (g groupValuer) LogValue() slog.Value {
	return slog.GroupValue(slog.String(g.key, g.val), slog.Int("n", 1))
}

func TestRedactDefaultKeysEverywhere(t *testing.T) {
	type logFunc func(l *slog.Logger, key string)
	placements := []struct {
		name string
		log  logFunc
		path func(key string) []string
	}{
		{"top level", func(l *slog.Logger, k string) {
			l.Info("m", k, secretValue)
		}, func(k string) []string { return []string{k} }},
		{"LogAttrs", func(l *slog.Logger, k string) {
			l.LogAttrs(context.Background(), slog.LevelWarn, "m", slog.String(k, secretValue))
		}, func(k string) []string { return []string{k} }},
		{"nested group depth 1", func(l *slog.Logger, k string) {
			l.Info("m", slog.Group("req", slog.String(k, secretValue), slog.Int("n", 1)))
		}, func(k string) []string { return []string{"req", k} }},
		{"nested group depth 3", func(l *slog.Logger, k string) {
			l.Info("m", slog.Group("a", slog.Group("b", slog.Group("c", slog.String(k, secretValue)))))
		}, func(k string) []string { return []string{"a", "b", "c", k} }},
		{"With", func(l *slog.Logger, k string) {
			l.With(k, secretValue).Info("m")
		}, func(k string) []string { return []string{k} }},
		{"With group value", func(l *slog.Logger, k string) {
			l.With(slog.Group("cfg", slog.String(k, secretValue))).Info("m")
		}, func(k string) []string { return []string{"cfg", k} }},
		{"WithGroup then attr", func(l *slog.Logger, k string) {
			l.WithGroup("g").Info("m", k, secretValue)
		}, func(k string) []string { return []string{"g", k} }},
		{"WithGroup then With", func(l *slog.Logger, k string) {
			l.WithGroup("g").With(k, secretValue).Info("m")
		}, func(k string) []string { return []string{"g", k} }},
		{"LogValuer group", func(l *slog.Logger, k string) {
			l.Info("m", "v", groupValuer{k, secretValue})
		}, func(k string) []string { return []string{"v", k} }},
		{"LogValuer in group", func(l *slog.Logger, k string) {
			l.Info("m", slog.Group("outer", slog.Any("v", groupValuer{k, secretValue})))
		}, func(k string) []string { return []string{"outer", "v", k} }},
		{"context attrs", func(l *slog.Logger, k string) {
			l.InfoContext(WithAttrs(context.Background(), slog.String(k, secretValue)), "m")
		}, func(k string) []string { return []string{k} }},
	}
	for _, key := range DefaultRedactKeys() {
		for _, variant := range keyVariants(key) {
			for _, p := range placements {
				t.Run(key+"/"+variant+"/"+p.name, func(t *testing.T) {
					l, buf := newTestLogger(t, Options{})
					p.log(l, variant)
					assert.NotContains(t, buf.String(), secretValue)
					lines := decodeLines(t, buf)
					require.Len(t, lines, 1)
					got, ok := lookup(lines[0], p.path(variant)...)
					require.True(t, ok, "path %v missing in %s", p.path(variant), buf)
					assert.Equal(t, RedactedValue, got)
				})
			}
		}
	}
}

func TestRedactHeaders(t *testing.T) {
	h := http.Header{}
	h.Set("Authorization", "Bearer "+secretValue)
	h.Add("Cookie", "sid="+secretValue)
	h.Set("X-Api-Key", secretValue)
	h.Set("Proxy-Authorization", "Basic "+secretValue)
	h.Set("X-Auth-Token", secretValue)
	h.Set("Accept", "text/html")
	h.Add("Accept-Language", "en")
	h.Add("Accept-Language", "fr")

	l, buf := newTestLogger(t, Options{})
	l.Info("request", "headers", h)
	l.Info("nested", slog.Group("req", slog.Any("headers", h)))
	assert.NotContains(t, buf.String(), secretValue)
	lines := decodeLines(t, buf)
	require.Len(t, lines, 2)
	for i, prefix := range [][]string{{"headers"}, {"req", "headers"}} {
		for _, name := range []string{"Authorization", "Cookie", "X-Api-Key", "Proxy-Authorization", "X-Auth-Token"} {
			got, ok := lookup(lines[i], append(prefix, name)...)
			require.True(t, ok, name)
			assert.Equal(t, RedactedValue, got, name)
		}
		got, _ := lookup(lines[i], append(prefix, "Accept")...)
		assert.Equal(t, "text/html", got)
		got, _ = lookup(lines[i], append(prefix, "Accept-Language")...)
		assert.Equal(t, "en, fr", got)
	}
}

func TestRedactLeavesOtherKeysAlone(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	l.Info("m", "user", "alice", "tokens_used", 3, "session_count", 2, "cookies_enabled", true,
		slog.Group("g", "amount", "12.50"))
	lines := decodeLines(t, buf)
	require.Len(t, lines, 1)
	assert.Equal(t, "alice", lines[0]["user"])
	assert.EqualValues(t, 3, lines[0]["tokens_used"])
	assert.EqualValues(t, 2, lines[0]["session_count"])
	assert.Equal(t, true, lines[0]["cookies_enabled"])
	got, _ := lookup(lines[0], "g", "amount")
	assert.Equal(t, "12.50", got)
}

func TestRedactExtraKeys(t *testing.T) {
	l, buf := newTestLogger(t, Options{RedactKeys: []string{"iban", "card-number"}})
	l.Info("m", "IBAN", secretValue, "card_number", secretValue, "user", "bob")
	assert.NotContains(t, buf.String(), secretValue)
	assert.Contains(t, buf.String(), `"user":"bob"`)
}

func TestRedactSensitiveGroupName(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	l.WithGroup("session").Info("m", "id", secretValue, slog.Group("inner", "x", secretValue))
	l.WithGroup("Session").With("id", secretValue).Info("m")
	l.Info("m", slog.Group("Api-Key", "a", secretValue))
	assert.NotContains(t, buf.String(), secretValue)
	lines := decodeLines(t, buf)
	require.Len(t, lines, 3)
	got, _ := lookup(lines[0], "session", "id")
	assert.Equal(t, RedactedValue, got)
	got, _ = lookup(lines[1], "Session", "id")
	assert.Equal(t, RedactedValue, got)
	assert.Equal(t, RedactedValue, lines[2]["Api-Key"])
}

type countingValuer struct{ n *atomic.Int32 }

func (c countingValuer) LogValue() slog.Value {
	c.n.Add(1)
	return slog.StringValue("computed")
}

func TestLogValuerResolvedOnceAndNotForSensitiveKeys(t *testing.T) {
	l, buf := newTestLogger(t, Options{})
	var n atomic.Int32
	l.Info("m", "v", countingValuer{&n})
	assert.EqualValues(t, 1, n.Load(), "LogValue called once")
	l.Info("m", "token", countingValuer{&n})
	assert.EqualValues(t, 1, n.Load(), "LogValue not called for a sensitive key")
	lines := decodeLines(t, buf)
	assert.Equal(t, "computed", lines[0]["v"])
	assert.Equal(t, RedactedValue, lines[1]["token"])
}

func TestSecret(t *testing.T) {
	s := Secret(secretValue)
	for _, verb := range []string{"%s", "%v", "%+v", "%#v", "%q", "%x", "%X", "%10s", "%d"} {
		assert.NotContains(t, fmt.Sprintf(verb, s), secretValue, verb)
	}
	assert.Equal(t, RedactedValue, s.String())
	j, err := json.Marshal(struct{ P Secret }{s})
	require.NoError(t, err)
	assert.JSONEq(t, `{"P":"[REDACTED]"}`, string(j))
	assert.Equal(t, secretValue, string(s), "conversion reveals the value")

	// With a plain slog handler too: Secret works without finkit's handler.
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("m", "apiKey", s, "x", slog.Any("nested", s))
	assert.NotContains(t, buf.String(), secretValue)
	l, buf2 := newTestLogger(t, Options{})
	l.Info("m", "anything", s)
	assert.NotContains(t, buf2.String(), secretValue)
}

func TestKeySetMatch(t *testing.T) {
	ks := newKeySet(DefaultRedactKeys())
	for _, k := range []string{
		"password", "PASSWORD", "Passwd", "user_password", "db-pass-word", "secret", "client_secret",
		"token", "access_token", "AccessToken", "refresh-token", "authorization", "Proxy-Authorization",
		"cookie", "Set-Cookie", "set_cookie", "SETCOOKIE", "api_key", "apikey", "X-API-KEY", "Api-Key_",
		"private_key", "privateKey", "session", "user_session", "session_id", "SessionID", "password__", "-token-",
	} {
		assert.True(t, ks.match(k), k)
	}
	for _, k := range []string{
		"", "-", "_", "user", "amount", "session_count", "cookies", "key", "pass",
		"passwords_changed", "secrets_count", "authorized", "ключ", "pässword",
	} {
		assert.False(t, ks.match(k), k)
	}
}

func TestHandlerPassesUnchangedRecord(t *testing.T) {
	// A record with nothing to change must reach the inner handler as is.
	var got slog.Record
	inner := recordingHandler{rec: &got}
	h := NewRedactHandler(inner)
	r := slog.NewRecord(testTime, slog.LevelInfo, "m", 0)
	r.AddAttrs(slog.String("a", "1"), slog.Int("b", 2))
	require.NoError(t, h.Handle(context.Background(), r))
	assert.Equal(t, 2, got.NumAttrs())
	assert.Equal(t, testTime, got.Time)
}

func TestHandlerManyAttrs(t *testing.T) {
	// More attributes than fit the stack buffer, plus context attributes.
	l, buf := newTestLogger(t, Options{})
	ctx := WithAttrs(context.Background(), slog.String("request_id", "r1"), slog.String("route", "/x"))
	var attrs []slog.Attr
	for i := range 20 {
		attrs = append(attrs, slog.Int(fmt.Sprintf("k%02d", i), i))
	}
	attrs = append(attrs, slog.String("password", secretValue))
	l.LogAttrs(ctx, slog.LevelInfo, "m", attrs...)
	assert.NotContains(t, buf.String(), secretValue)
	lines := decodeLines(t, buf)
	require.Len(t, lines, 1)
	assert.Equal(t, "r1", lines[0]["request_id"])
	assert.Equal(t, "/x", lines[0]["route"])
	assert.EqualValues(t, 19, lines[0]["k19"])
	assert.Len(t, lines[0], 3+2+21) // time, level, msg; ctx attrs; record attrs
}

func TestRedactHeaderPointersAndMaps(t *testing.T) {
	h := http.Header{"Cookie": {"sid=" + secretValue}, "Accept": {"text/html"}}
	form := url.Values{"username": {"alice"}, "password": {secretValue}}
	deep := map[string]any{"a": map[string]any{"b": map[string]any{"api_key": secretValue}}, "n": 1}
	cyclic := map[string]any{"x": 1}
	cyclic["self"] = cyclic

	l, buf := newTestLogger(t, Options{})
	l.Info("pointer", "headers", &h)
	l.Info("form", "form", form)
	l.Info("strings", "m", map[string]string{"Access-Token": secretValue, "plain": "ok"})
	l.With("cfg", map[string][]string{"private_key": {secretValue}}).Info("with")
	l.Info("deep", slog.Group("g", "obj", deep))
	l.Info("cyclic", "c", cyclic)
	l.Info("untouched", "m", map[string]string{"plain": "ok"}, "nilheader", (*http.Header)(nil))
	assert.NotContains(t, buf.String(), secretValue)

	lines := decodeLines(t, buf)
	require.Len(t, lines, 7)
	got, _ := lookup(lines[0], "headers", "Cookie")
	assert.Equal(t, RedactedValue, got)
	got, _ = lookup(lines[0], "headers", "Accept")
	assert.Equal(t, "text/html", got)
	got, _ = lookup(lines[1], "form", "password")
	assert.Equal(t, RedactedValue, got)
	got, _ = lookup(lines[1], "form", "username")
	assert.Equal(t, []any{"alice"}, got)
	got, _ = lookup(lines[2], "m", "plain")
	assert.Equal(t, "ok", got)
	got, _ = lookup(lines[4], "g", "obj", "a", "b", "api_key")
	assert.Equal(t, RedactedValue, got)
	got, _ = lookup(lines[4], "g", "obj", "n")
	assert.EqualValues(t, 1, got)
	got, _ = lookup(lines[6], "m", "plain")
	assert.Equal(t, "ok", got)
}
