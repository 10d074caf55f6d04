package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/finkit/finkit/auth"
)

// bigBooksCSV is n transactions over the three years before now in the
// demo's broker account: an opening deposit, then a buy a day, a few
// sells. Valuing it since inception is ~1,100 daily valuations.
func bigBooksCSV(n int, now time.Time) string {
	var b strings.Builder
	b.WriteString("date,account,kind,symbol,quantity,price,fee,amount,note\n")
	start := now.AddDate(-3, 0, 0)
	fmt.Fprintf(&b, "%s,broker,deposit,,,,,5000000,big 0\n", start.Format(time.DateOnly))
	days := int(now.Sub(start).Hours() / 24)
	for i := 1; i < n; i++ {
		d := start.AddDate(0, 0, 1+i*(days-1)/n).Format(time.DateOnly)
		sym := []string{"AAPL", "MSFT", "SPY", "NVDA"}[i%4]
		kind := "buy"
		if i%10 == 9 {
			kind = "sell" // of the buys of this symbol before
		}
		fmt.Fprintf(&b, "%s,broker,%s,%s,1,%d,1,,big %d\n", d, kind, sym, 100+i%50, i)
	}
	return b.String()
}

// importRows posts csv to the portfolio's import form and returns the
// message the page shows.
func (e *testEnv) importRows(t *testing.T, c *http.Client, csv string) string {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, err := mw.CreateFormFile("file", "t.csv")
	require.NoError(t, err)
	_, _ = io.WriteString(fw, csv)
	require.NoError(t, mw.Close())
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/portfolio/import", &body)
	require.NoError(t, err)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	return e.flashOfResponse(resp)
}

// accessLines returns the decoded access-log lines of path.
func (e *testEnv) accessLines(t *testing.T, path string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(e.logs.String(), "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(line), &m) == nil && m["msg"] == "http request" && m["path"] == path {
			out = append(out, m)
		}
	}
	return out
}

// TestClientThatLeavesStopsItsWork: a client that gives up on a heavy
// portfolio page (1,000 transactions over three years) while the server
// works on it. The handler stops (no page is rendered) and the
// request is logged as cancelled, 499 at Info; nothing is logged at Error.
// It used to be rendered in full for nobody, or logged as status=500 with
// "context canceled" at Error.
func TestClientThatLeavesStopsItsWork(t *testing.T) {
	e := newTestEnv(t)
	c := e.user(t, "leaver", auth.RoleUser)
	e.post(t, c, "/portfolio/demo", nil)
	msg := e.importRows(t, c, bigBooksCSV(1000, time.Now().UTC()))
	require.Contains(t, msg, "Imported 1000 new transactions", msg)

	var cancelled map[string]any
	for attempt := 0; attempt < 5 && cancelled == nil; attempt++ {
		if attempt > 0 { // a write, so the books are not served from the cache
			e.importRows(t, c, fmt.Sprintf("date,account,kind,amount,note\n2025-01-02,broker,deposit,1,again %d\n", attempt))
		}
		before := len(e.accessLines(t, "/portfolio"))
		ctx, cancel := context.WithCancel(context.Background())
		trace := &httptrace.ClientTrace{WroteRequest: func(httptrace.WroteRequestInfo) {
			time.AfterFunc(5*time.Millisecond, cancel) // the server has it: leave while it works
		}}
		req, err := http.NewRequestWithContext(httptrace.WithClientTrace(ctx, trace), http.MethodGet, e.srv.URL+"/portfolio", nil)
		require.NoError(t, err)
		resp, err := c.Do(req)
		if err == nil { // answered within 5 ms: try again
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			cancel()
			continue
		}
		require.True(t, errors.Is(err, context.Canceled), "%v", err)
		var line map[string]any
		require.Eventually(t, func() bool {
			lines := e.accessLines(t, "/portfolio")
			if len(lines) > before {
				line = lines[len(lines)-1]
			}
			return line != nil
		}, 10*time.Second, 5*time.Millisecond, "no access line for the cancelled request")
		cancelled = line
	}
	require.NotNil(t, cancelled, "every attempt was answered within 5 ms")
	assert.EqualValues(t, 499, cancelled["status"], "%v", cancelled)
	assert.Equal(t, true, cancelled["cancelled"])
	assert.Equal(t, "INFO", cancelled["level"])
	// At most a short error body (the session look-up may be what the
	// client's leaving cut short); never the page (tens of KB).
	assert.Less(t, cancelled["bytes"], float64(256), "the page was rendered for a client that had left")
	assert.NotContains(t, e.logs.String(), `"level":"ERROR"`)

	// The next request of the same client is served as usual.
	status, body, _ := e.get(t, c, "/portfolio")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, body, "NVDA")
}
