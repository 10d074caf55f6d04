package httpx

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/marketdata"
)

func TestCheckMapsStatuses(t *testing.T) {
	c := New("p", nil, "", 0)
	tests := []struct {
		status int
		want   error
	}{
		{429, marketdata.ErrRateLimited},
		{404, marketdata.ErrNotFound},
		{401, marketdata.ErrUnavailable},
		{403, marketdata.ErrUnavailable},
		{500, marketdata.ErrUnavailable},
		{503, marketdata.ErrUnavailable},
		{400, marketdata.ErrBadResponse},
	}
	for _, tt := range tests {
		err := c.Check(&Response{Status: tt.status, Header: http.Header{"Retry-After": {"7"}}, Body: []byte("x")}, "SYM")
		require.ErrorIs(t, err, tt.want, tt.status)
		assert.Contains(t, err.Error(), "p SYM")
	}
	assert.NoError(t, c.Check(&Response{Status: 204}, ""))
	err := c.Check(&Response{Status: 429, Header: http.Header{"Retry-After": {"7"}}}, "")
	assert.Equal(t, 7*time.Second, marketdata.RetryAfter(err))
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 3, 2, 12, 0, 0, 0, time.UTC)
	assert.Equal(t, 119*time.Second, ParseRetryAfter("119", now))
	assert.Equal(t, 90*time.Second, ParseRetryAfter("Mon, 02 Mar 2026 12:01:30 GMT", now))
	assert.Zero(t, ParseRetryAfter("", now))
	assert.Zero(t, ParseRetryAfter("-3", now))
	assert.Zero(t, ParseRetryAfter("soon", now))
}

func TestLooksLikeHTML(t *testing.T) {
	assert.True(t, LooksLikeHTML([]byte("  <!DOCTYPE html><html>")))
	assert.True(t, LooksLikeHTML([]byte("<HTML><BODY>")))
	assert.False(t, LooksLikeHTML([]byte(`{"a":"<body>"}`+string(make([]byte, 600)))))
	assert.False(t, LooksLikeHTML([]byte("Date,Close\n")))
}

func TestGetSendsHeadersAndRedactsURL(t *testing.T) {
	var ua, key string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ua, key = r.UserAgent(), r.Header.Get("X-Key")
		w.Write([]byte("ok"))
	}))
	c := New("p", nil, "", 0)
	c.Header = http.Header{"X-Key": {"secret"}}
	r, err := c.Get(context.Background(), "", srv.URL+"/x", "")
	require.NoError(t, err)
	assert.Equal(t, "ok", string(r.Body))
	assert.Contains(t, ua, "finkit")
	assert.Equal(t, "secret", key)
	srv.Close()
	_, err = c.Get(context.Background(), "", srv.URL+"/x?apikey=hunter2", "")
	require.ErrorIs(t, err, marketdata.ErrUnavailable)
	assert.NotContains(t, err.Error(), "hunter2")
}

func TestOneQuote(t *testing.T) {
	c := New("p", nil, "", 0)
	var asked []string
	batch := func(_ context.Context, syms []string) (map[string]marketdata.Quote, error) {
		asked = syms
		return map[string]marketdata.Quote{"AAPL": {Symbol: "AAPL", Price: 1}}, nil
	}
	q, err := c.OneQuote(context.Background(), "AAPL", batch, "gone")
	require.NoError(t, err)
	assert.Equal(t, 1.0, q.Price)
	assert.Equal(t, []string{"AAPL"}, asked)

	_, err = c.OneQuote(context.Background(), "msft", batch, "gone")
	assert.ErrorIs(t, err, marketdata.ErrNotFound)
	assert.ErrorContains(t, err, "MSFT")

	boom := func(context.Context, []string) (map[string]marketdata.Quote, error) {
		return nil, marketdata.ErrUnavailable
	}
	_, err = c.OneQuote(context.Background(), "AAPL", boom, "gone")
	assert.ErrorIs(t, err, marketdata.ErrUnavailable)
}

func TestFXSymbols(t *testing.T) {
	c := New("p", nil, "", 0)
	ps, err := c.FXSymbols("EURNOK=X", "usdjpy=x")
	require.NoError(t, err)
	require.Len(t, ps, 2)
	assert.Equal(t, "EUR", ps[0].Base)
	assert.Equal(t, "NOK", ps[0].Quote)
	assert.Equal(t, "JPY", ps[1].Quote)
	for _, bad := range []string{"AAPL", "", "BTC-USD"} {
		_, err := c.FXSymbols("EURNOK=X", bad)
		assert.ErrorIs(t, err, marketdata.ErrUnsupported, bad)
	}
}

func TestBaseURL(t *testing.T) {
	tests := []struct{ given, want, err string }{
		{"", "https://api.example.com/v1", ""},
		{"http://127.0.0.1:8080/", "http://127.0.0.1:8080", ""},
		{"https://h/x//", "https://h/x", ""},
		{"ftp://h/", "", "p: bad base URL"},
		{"/relative", "", "p: bad base URL"},
		{"http://", "", "p: bad base URL"},
		{"::", "", "p: bad base URL"},
	}
	for _, tt := range tests {
		got, err := BaseURL("p", tt.given, "https://api.example.com/v1/")
		if tt.err != "" {
			assert.ErrorContains(t, err, tt.err, tt.given)
			continue
		}
		require.NoError(t, err, tt.given)
		assert.Equal(t, tt.want, got, tt.given)
	}
}
